"""infogan-tf2: a faithful TensorFlow 2 port of JonathanRaiman/tensorflow-infogan.

The original names keep their roles; see the README's table for the TF1 -> TF2 mapping.
Names are imported on first use, so `import infogan.cli` checks flags before TensorFlow loads.
"""
import importlib

_EXPORTS = {
    "architecture": ("ArchitectureError", "parse_architecture", "parse_math"),
    "networks": ("Discriminator", "Generator", "MutualInfoHead", "Network", "discriminator_forward",
                 "generator_forward", "leaky_rectify", "run_network"),
    "noise": ("create_categorical_noise", "create_continuous_noise", "create_gan_noise_sample",
              "create_infogan_noise_sample", "encode_infogan_noise", "make_one_hot"),
    "objectives": ("TINY", "reconstruct_mutual_info"),
    "training": ("train",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError("module 'infogan' has no attribute %r" % name)
    return getattr(importlib.import_module("infogan." + _MODULE_OF[name]), name)


def __dir__():
    return __all__
