"""Checkpoints that hold everything that determines the rest of a run.

A checkpoint holds the networks (with their batch-norm statistics), both optimisers (slots, beta
powers, learning rates), the loop position (iteration, epoch, next batch, the epoch's permutation
and the objectives seen so far in the epoch) and the NumPy RNG state, so a resumed run draws,
computes and prints exactly what the uninterrupted run would have.

A checkpoint is written right after a training step, before the plot and the epoch line that may
follow that step; a resumed run does those first. Only finite states are written.
"""
import dataclasses
import os
import re
import time

import numpy as np
import tensorflow as tf

from infogan.config import ConfigError
from infogan.training import run_folder

CHECKPOINT_SUBDIR = run_folder.CHECKPOINT_SUBDIR
MAX_TO_KEEP = 3
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
HISTORY_KEYS = ("discriminator_objective", "generator_objective", "infogan_loss")


def batches_per_epoch(num_images, batch_size):
    """The batches of one epoch, the last one short when `batch_size` does not divide
    `num_images`."""
    return -(-num_images // batch_size)


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


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full, permissions); nothing half-written is left."""


class NonFiniteState(RuntimeError):
    """The weights or the optimiser state hold NaN or Inf: no checkpoint is written of them."""


def latest_checkpoint(log_dir):
    """The newest complete checkpoint of a run (by number, from the files on disk), or None.

    The state file `checkpoints/checkpoint` is not consulted: it can be stale, damaged or written
    on another machine, and no complete checkpoint is ever hidden by it.
    """
    on_disk = checkpoints_on_disk(os.path.join(log_dir, CHECKPOINT_SUBDIR))
    return on_disk[-1] if on_disk else None


@dataclasses.dataclass(frozen=True)
class CheckpointPeek:
    """What a run's newest checkpoint says of the loop, read without building any model."""
    iteration: int
    epoch: int
    batch_index: int
    num_images: int  # the length of the dataset's permutation the run was trained on

    def epochs_completed(self, batch_size):
        """The whole epochs trained up to this checkpoint, in batches of `batch_size` rows."""
        return self.epoch + (self.batch_index == batches_per_epoch(self.num_images, batch_size))


def peek_newest(log_dir):
    """The loop position and dataset size of a run's newest checkpoint; None when there is none or
    it cannot be read (the full restore then falls back and says why)."""
    path = latest_checkpoint(log_dir)
    if path is None:
        return None
    try:
        reader = tf.train.load_checkpoint(path)
        values = [int(reader.get_tensor("loop/%s/.ATTRIBUTES/VARIABLE_VALUE" % name))
                  for name in ("iteration", "epoch", "batch_index")]
        shape = reader.get_variable_to_shape_map()["loop/permutation/.ATTRIBUTES/VARIABLE_VALUE"]
    except Exception:  # noqa: BLE001 - unreadable: the full restore will fall back and say why
        return None
    return CheckpointPeek(*values, num_images=int(shape[0]))


def checkpoints_on_disk(directory):
    """Paths of the complete checkpoints in `directory` (an index and its data), oldest first."""
    numbers = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        match = _CHECKPOINT_INDEX.match(name)
        if match and os.path.isfile(os.path.join(directory, "ckpt-%s.data-00000-of-00001"
                                                 % match.group(1))):
            numbers.append(int(match.group(1)))
    return [os.path.join(directory, "ckpt-%d" % number) for number in sorted(numbers)]


def sync_state_file(directory):
    """Makes `checkpoints/checkpoint` list exactly the complete checkpoints on disk (only the
    process that holds the run's lock may call it), replacing it atomically.

    Paths are written relative to the folder, so a run folder can be moved or copied. Timestamps
    are the files' times, capped at the clock, and the preserved-timestamp mark is 0: a
    `tf.train.CheckpointManager` then tracks (and rotates) every listed checkpoint, whatever the
    clock said when they were written.

    Raises:
      OSError: it cannot be written.
    """
    on_disk = checkpoints_on_disk(directory)
    if not on_disk:
        return
    now = time.time()
    names = [os.path.basename(path) for path in on_disk]
    lines = ['model_checkpoint_path: "%s"' % names[-1]]
    lines += ['all_model_checkpoint_paths: "%s"' % name for name in names]
    lines += ["all_model_checkpoint_timestamps: %r" % min(os.path.getmtime(path + ".index"), now)
              for path in on_disk]
    lines.append("last_preserved_timestamp: 0.0")
    path = os.path.join(directory, "checkpoint")
    temporary = "%s.tmp%d" % (path, os.getpid())
    with open(temporary, "w") as stream:
        stream.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


class RunCheckpoints:
    """The checkpoints of one run, in `<log_dir>/checkpoints`, the last MAX_TO_KEEP kept.

    Only finite states are written, so every kept checkpoint can be resumed from.
    """

    def __init__(self, log_dir, models, optimizers, loop_state):
        extra = {} if optimizers.loss_scale is None else {"loss_scale": optimizers.loss_scale}
        self.checkpoint = tf.train.Checkpoint(
            discriminator_optimizer=optimizers.discriminator, generator_optimizer=optimizers.generator,
            loop=loop_state, **network_objects(models), **extra)
        self.directory = os.path.join(log_dir, CHECKPOINT_SUBDIR)
        sync_state_file(self.directory)  # the manager then tracks every complete checkpoint
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=MAX_TO_KEEP)
        self._float_variables = [v for v in _tracked_variables(models, optimizers)
                                 if tf.as_dtype(v.dtype).is_floating]
        self._all_finite = tf.function(self._check_finite, autograph=False)

    def _check_finite(self):
        return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in self._float_variables])

    def state_is_finite(self):
        """True when no weight, batch-norm statistic or optimiser value is NaN or infinite."""
        return bool(self._all_finite())

    @property
    def nbytes(self):
        """About the size of one checkpoint on disk."""
        return sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size for v in self._float_variables)

    @property
    def newest(self):
        """The newest checkpoint's path, or None."""
        return self.manager.latest_checkpoint

    def save(self, iteration):
        """Writes a checkpoint numbered by the iteration; returns its path.

        Raises:
          NonFiniteState: the state holds NaN/Inf (nothing is written).
          CheckpointWriteError: the write failed; its temporary files are removed.
        """
        if not self.state_is_finite():
            raise NonFiniteState("the weights or optimiser state hold NaN or Inf at iteration %d"
                                 % iteration)
        try:
            return self.manager.save(checkpoint_number=iteration)
        except (OSError, tf.errors.OpError) as error:
            self._remove_partial(iteration)
            reason = "the disk is full" if run_folder.is_disk_full(error) else (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
            raise CheckpointWriteError("cannot write checkpoint ckpt-%d in %s: %s" % (
                iteration, self.directory, reason)) from None

    def _remove_partial(self, iteration):
        run_folder.remove_interrupted_writes(os.path.dirname(self.directory))
        for name in os.listdir(self.directory) if os.path.isdir(self.directory) else []:
            if name.startswith("ckpt-%d." % iteration):
                os.remove(os.path.join(self.directory, name))

    def restore_latest(self, warn=print):
        """Restores the newest usable checkpoint, falling back to older ones with a warning: one
        that cannot be read, or (written by an older version) holds NaN or Inf.

        Returns:
          the restored checkpoint path.

        Raises:
          ConfigError: there is no usable checkpoint.
        """
        return restore_newest_usable(
            checkpoints_on_disk(self.directory), self.directory,
            lambda path: self.checkpoint.restore(path).assert_existing_objects_matched(),
            self.state_is_finite, warn)


def restore_newest_usable(candidates, directory, restore, is_finite, warn=print):
    """Restores the newest of `candidates` (paths, oldest first) that can be read and is finite.

    Args:
      restore: path -> None, raises when the checkpoint cannot be read.
      is_finite: () -> whether what was restored holds no NaN/Inf.
      warn: prints each fallback's reason.

    Returns:
      the restored path.

    Raises:
      ConfigError: none can be used (or there is none).
    """
    if not candidates:
        raise ConfigError("no checkpoint in %s (a run writes its first one after --checkpoint_every "
                          "iterations, or when it is stopped with Ctrl-C)" % directory)
    for path in reversed(list(candidates)):
        try:
            restore(path)
        except Exception as error:  # noqa: BLE001 - any unreadable file means: fall back
            warn("warning: checkpoint %s is unreadable (%s); trying the previous one"
                 % (path, _first_line(error)))
            continue
        if is_finite():
            return path
        warn("warning: checkpoint %s holds NaN or Inf; trying the previous one" % path)
    raise ConfigError("no checkpoint in %s can be used (each is unreadable or holds NaN/Inf)"
                      % directory)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def restore_networks(log_dir, models, checkpoint_path=None, warn=print):
    """Loads a run's networks from `checkpoint_path`, or from its newest usable checkpoint.

    Returns:
      the checkpoint path used.

    Raises:
      ConfigError: the given checkpoint cannot be read, or the run has no usable one.
    """
    checkpoint = tf.train.Checkpoint(**network_objects(models))
    variables = [v for net in network_objects(models).values() for v in net.variables]

    def restore(path):
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()

    def is_finite():
        return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables
                   if tf.as_dtype(v.dtype).is_floating)

    if checkpoint_path is not None:
        try:
            restore(checkpoint_path)
        except Exception as error:  # noqa: BLE001 - tell the user what is wrong with it
            raise ConfigError("--checkpoint %s cannot be read as a checkpoint of this run (%s); pass "
                              "a prefix such as %s" % (checkpoint_path, _first_line(error), os.path.join(
                                  log_dir, CHECKPOINT_SUBDIR, "ckpt-500"))) from None
        return checkpoint_path
    directory = os.path.join(log_dir, CHECKPOINT_SUBDIR)
    return restore_newest_usable(checkpoints_on_disk(directory), directory, restore, is_finite, warn)


def _tracked_variables(models, optimizers):
    networks = [net for net in network_objects(models).values()]
    variables = [v for net in networks for v in net.variables]
    for optimizer in (optimizers.discriminator, optimizers.generator):
        variables += list(optimizer.first_moments) + list(optimizer.second_moments)
        variables += [optimizer.beta1_power, optimizer.beta2_power, optimizer.learning_rate]
    return variables
