"""infogan-tf2: a faithful TensorFlow 2 port of JonathanRaiman/tensorflow-infogan.

    from infogan import ModelConfig, TrainConfig, train
    log_dir = train(TrainConfig(epochs=1, max_images=640, logdir="/tmp/run"))

The package, by folder: `model` (networks, batch norms, objectives, noise, and their global-batch
maths inside tf.distribute replicas), `training` (the training step, loop, where it runs: one
device or a tf.distribute strategy, optimiser, checkpoints, logs), `data` (MNIST and image
folders), `tools` (evaluation and sampling), `cli` (the commands), and `parity`, the kit that
compares the port with the TF1 code and a strategy with one device (the rest never imports it).

Names are imported on first use, so `import infogan` loads no TensorFlow.
"""
import importlib

_EXPORTS = {
    "config": ("ConfigError", "TrainConfig"),
    "data": ("DatasetError",),
    "model.architecture": ("ArchitectureError", "parse_architecture", "parse_math"),
    "model.config": ("ModelConfig",),
    "model.models": ("InfoGANModels", "build_models"),
    "model.networks": ("Discriminator", "Generator", "MutualInfoHead", "Network",
                       "discriminator_forward", "generator_forward", "leaky_rectify", "run_network"),
    "model.noise": ("create_categorical_noise", "create_continuous_noise", "create_gan_noise_sample",
                    "create_infogan_noise_sample", "encode_infogan_noise", "make_one_hot"),
    "model.objectives": ("TINY", "reconstruct_mutual_info"),
    "tools.evaluate": ("evaluate",),
    "training.launch": ("train",),
    "training.loop": ("TrainingDiverged",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError("module 'infogan' has no attribute %r" % name)
    return getattr(importlib.import_module("infogan." + _MODULE_OF[name]), name)


def __dir__():
    return __all__
