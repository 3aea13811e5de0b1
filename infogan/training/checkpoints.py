"""Checkpoints that hold everything that determines the rest of a run.

A checkpoint holds the networks (with their batch-norm statistics), both optimisers (slots, beta
powers, learning rates), the loop position (iteration, epoch, next batch, the epoch's permutation
and the objectives seen so far in the epoch) and the NumPy RNG state, so a resumed run draws,
computes and prints exactly what the uninterrupted run would have.
"""
import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from infogan.config import ConfigError, TrainConfig
from infogan.model.config import ModelConfig

CONFIG_FILE = "config.json"
CHECKPOINT_SUBDIR = "checkpoints"
MAX_TO_KEEP = 3
HISTORY_KEYS = ("discriminator_objective", "generator_objective", "infogan_loss")


class LoopState(tf.Module):
    """Position of the training loop and the NumPy RNG, as checkpointable variables.

    Args:
      num_images: size of the dataset (length of the permutation).
      num_batches: batches per epoch (bounds the per-epoch history).
    """

    def __init__(self, num_images, num_batches):
        super().__init__(name="loop")
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.batch_index = tf.Variable(0, dtype=tf.int64, name="batch_index")
        self.permutation = tf.Variable(np.arange(num_images, dtype=np.int32), name="permutation")
        # Per-epoch history: D objective and G objective per batch, two infogan losses per batch.
        self.history = tf.Variable(np.zeros((3, 2 * num_batches), np.float32), name="history")
        self.history_lengths = tf.Variable(np.zeros(3, np.int64), name="history_lengths")
        self.rng_keys = tf.Variable(np.zeros(624, np.int64), name="rng_keys")
        self.rng_scalars = tf.Variable(np.zeros(2, np.int64), name="rng_position_has_gauss")
        self.rng_gauss = tf.Variable(0.0, dtype=tf.float64, name="rng_cached_gaussian")

    def capture(self, iteration, epoch, batch_index, permutation, history):
        """Stores the loop position, the epoch's history lists and the NumPy RNG state."""
        self.iteration.assign(iteration)
        self.epoch.assign(epoch)
        self.batch_index.assign(batch_index)
        self.permutation.assign(permutation)
        padded = np.zeros(self.history.shape, np.float32)
        for row, key in enumerate(HISTORY_KEYS):
            padded[row, :len(history[key])] = history[key]
        self.history.assign(padded)
        self.history_lengths.assign([len(history[key]) for key in HISTORY_KEYS])
        _, keys, position, has_gauss, gauss = np.random.get_state()
        self.rng_keys.assign(keys.astype(np.int64))
        self.rng_scalars.assign([position, has_gauss])
        self.rng_gauss.assign(gauss)

    def restore_numpy_rng(self):
        """Puts the stored state back into NumPy's global generator."""
        position, has_gauss = self.rng_scalars.numpy()
        np.random.set_state(("MT19937", self.rng_keys.numpy().astype(np.uint32), int(position),
                             int(has_gauss), float(self.rng_gauss.numpy())))

    def restored_history(self):
        """The epoch's history lists as they were when captured (float32 values)."""
        values, lengths = self.history.numpy(), self.history_lengths.numpy()
        return {key: list(values[row, :lengths[row]]) for row, key in enumerate(HISTORY_KEYS)}


def network_objects(models):
    """The networks of `models` by their checkpoint names (no q_network in GAN mode)."""
    objects = dict(generator=models.generator, discriminator=models.discriminator)
    if models.q_network is not None:
        objects["q_network"] = models.q_network
    return objects


def latest_checkpoint(log_dir):
    """The newest checkpoint path of a run, or None."""
    return tf.train.latest_checkpoint(os.path.join(log_dir, CHECKPOINT_SUBDIR))


def restore_training_state(path, models, optimizers=None):
    """Loads a run's checkpoint into `models` (and both optimisers when given), not the loop."""
    objects = network_objects(models)
    if optimizers is not None:
        objects.update(discriminator_optimizer=optimizers.discriminator,
                       generator_optimizer=optimizers.generator)
    tf.train.Checkpoint(**objects).restore(path).expect_partial()


class RunCheckpoints:
    """The checkpoints of one run, in `<log_dir>/checkpoints`, the last MAX_TO_KEEP kept."""

    def __init__(self, log_dir, models, optimizers, loop_state):
        self.checkpoint = tf.train.Checkpoint(
            discriminator_optimizer=optimizers.discriminator, generator_optimizer=optimizers.generator,
            loop=loop_state, **network_objects(models))
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(log_dir, CHECKPOINT_SUBDIR), max_to_keep=MAX_TO_KEEP)

    def save(self, iteration):
        """Writes a checkpoint numbered by the iteration; returns its path."""
        return self.manager.save(checkpoint_number=iteration)

    def restore_latest(self, warn=print):
        """Restores the newest readable checkpoint, falling back to older ones with a warning.

        Returns:
          the restored checkpoint path.

        Raises:
          ConfigError: there is no readable checkpoint.
        """
        candidates = list(reversed(self.manager.checkpoints))
        if not candidates:
            raise ConfigError("no checkpoint in %s to resume from" % self.manager.directory)
        for path in candidates:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
                return path
            except Exception as error:  # noqa: BLE001 - any unreadable file means: fall back
                warn("warning: checkpoint %s is unreadable (%s); trying the previous one"
                     % (path, str(error).splitlines()[0]))
        raise ConfigError("every checkpoint in %s is unreadable; cannot resume"
                          % self.manager.directory)


def save_config(log_dir, config):
    """Writes the run's TrainConfig as JSON next to its checkpoints."""
    with open(os.path.join(log_dir, CONFIG_FILE), "w") as stream:
        json.dump(dataclasses.asdict(config), stream, indent=2, sort_keys=True)


def load_config(log_dir):
    """Reads the TrainConfig a run was started with.

    Raises:
      ConfigError: the folder holds no config.json (it is not a run of this package).
    """
    path = os.path.join(log_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise ConfigError("%s holds no %s: pass the log folder of a run started by this package"
                          % (log_dir, CONFIG_FILE))
    with open(path) as stream:
        values = json.load(stream)
    model = values.pop("model")
    model["categorical_cardinality"] = tuple(model["categorical_cardinality"])
    values["scale_dataset"] = tuple(values["scale_dataset"])
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(model=ModelConfig(**model), **{k: v for k, v in values.items() if k in known})


def latest_run(log_root, dataset_name, infogan=True):
    """The most recently written run folder `<log_root>/<dataset>_log/<infogan|gan>[-k]`.

    Raises:
      ConfigError: there is none to resume.
    """
    parent = os.path.join(log_root, "%s_log" % dataset_name)
    base = "infogan" if infogan else "gan"
    runs = [os.path.join(parent, name) for name in (os.listdir(parent) if os.path.isdir(parent) else [])
            if (name == base or name.startswith(base + "-"))
            and os.path.exists(os.path.join(parent, name, CONFIG_FILE))]
    if not runs:
        raise ConfigError("no run to resume under %s; pass --resume=LOGDIR" % parent)
    return max(runs, key=lambda run: os.path.getmtime(os.path.join(run, CHECKPOINT_SUBDIR))
               if os.path.isdir(os.path.join(run, CHECKPOINT_SUBDIR)) else 0.0)


def resume_config(log_dir, epochs=None):
    """The saved config of the run in `log_dir`, set to resume there (optionally with new epochs)."""
    config = load_config(log_dir)
    changes = dict(resume=True, logdir=log_dir)
    if epochs is not None:
        changes["epochs"] = epochs
    return dataclasses.replace(config, **changes)
