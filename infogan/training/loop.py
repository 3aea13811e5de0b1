"""The TF1 training loop (docs/tf1_semantics.md §7, §9): data, NumPy draw order, logs and plots."""
import contextlib
import dataclasses
import os
import shutil
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from infogan import data
from infogan.config import (ConfigError, Preflighted, check_compilation, check_data, preflighted,
                            save_run_config)
from infogan.model.losses import (D_STEP_INFOGAN_LOSS, DISCRIMINATOR_OBJECTIVE,
                                  G_STEP_INFOGAN_LOSS, GENERATOR_OBJECTIVE, MUTUAL_INFO_SCALARS,
                                  MUTUAL_INFO_WEIGHT)
from infogan.model.models import architecture_lines, build_models, noise_to_tensor
from infogan.model.noise import make_noise_sampler
from infogan.training import checkpoints, placement as placement_lib, run_folder
from infogan.training.plotter import Plotter
from infogan.training.progress import Progress
from infogan.training.step import build_optimizers
from infogan.training.stop_requests import StopRequests
from infogan.training.summaries import SummaryLogger
from infogan.training.tf1_checkpoint import load_tf1_checkpoint

EPOCH_LINE = "epoch %d >> discriminator LL %.2f (lr=%.6f), generator LL %.2f (lr=%.6f)"
INFOGAN_SUFFIX = ", infogan loss %.2f"


def seed_everything(seed):
    """Seeds NumPy exactly as the TF1 code did, and also Python's and TF's generators."""
    keras.utils.set_random_seed(seed)  # random, NumPy, TF and Keras initialisers
    np.random.seed(seed)


def load_images(config):
    """The configured training data (`data.open_dataset`), checked before anything is written.

    MNIST and Fashion-MNIST are held in memory; an image folder is streamed from its scan, its
    decoded images cached first when `config.data.cache_dir` is set.

    Args:
      config: a `Preflighted`, whose data is not checked again (an image folder is opened from
        its scan), or a `TrainConfig`, whose data is checked first (`check_data`).

    Returns:
      (`data.Dataset`, dataset name); `dataset.shape` is (N, H, W, C) as an image array's.

    Raises:
      DatasetError; ConfigError, ArchitectureError: see `check_data`.
    """
    if isinstance(config, Preflighted):
        config, found = config.config, config.dataset
    else:
        found = check_data(config)
    return data.open_dataset(config.data, found.folder), config.data.source.name


def epoch_line(epoch, means, discriminator_lr, generator_lr, infogan):
    """The TF1 epoch summary line."""
    line = EPOCH_LINE % (epoch, means[DISCRIMINATOR_OBJECTIVE], discriminator_lr,
                         means[GENERATOR_OBJECTIVE], generator_lr)
    return line + INFOGAN_SUFFIX % means["infogan_loss"] if infogan else line


class RunComplete(ConfigError):
    """A resumed run has already trained as long as its configuration asks."""


class TrainingDiverged(RuntimeError):
    """An objective, weight or optimiser value became NaN or infinite; the message names what,
    when, and the last finite checkpoint."""


@dataclasses.dataclass
class TrainingResult:
    """What `train_models` leaves: the log folder, and the networks and optimisers as training
    left them (after the last plot)."""
    log_dir: str
    models: object
    optimizers: object


def train(config, wait_guard=placement_lib.unguarded):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    See `train_models`, which this calls.

    Returns:
      the log folder.
    """
    return train_models(config, wait_guard).log_dir


def train_models(config, wait_guard=placement_lib.unguarded):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    With `config.run.resume`, continues the run in `config.run.logdir` from its newest usable
    checkpoint and computes exactly what the uninterrupted run would have. The log folder is locked
    while training. SIGINT (Ctrl-C) and SIGTERM stop after the current iteration, with a checkpoint.

    Args:
      config: a `TrainConfig`, checked by `preflight` first, or the `Preflighted` that `preflight`
        returned (not checked again).
      wait_guard: bounds the waits for other machines that hold Python's lock
        (`placement.make_placement`); by default there is none.

    Returns:
      TrainingResult.

    Raises:
      ConfigError, DatasetError, ArchitectureError: bad input, before training starts.
      TrainingDiverged: an objective, weight or optimiser value became NaN/Inf (the last finite
        checkpoint is kept).
      CheckpointWriteError: a checkpoint could not be written (disk full...).
      TrainingStopped: a stop signal arrived (a checkpoint was written, unless it came while the
        run was starting or was a second one).
      WorkersLost: multi_worker_mirrored: a worker stopped answering.
    """
    checked = preflighted(config)
    config = checked.config
    config.execution.policy().prepare_process()  # TensorFlow is loaded: warns if it differs
    check_compilation(config.execution, len(tf.config.list_physical_devices("GPU")))
    seed_everything(config.run.seed)
    dataset, _ = load_images(checked)
    num_batches = checkpoints.batches_per_epoch(dataset.num_images, config.run.batch_size)
    where = _Whereabouts(log_dir=config.run.logdir if config.run.resume else None)
    with StopRequests() as stop, contextlib.ExitStack() as held:
        try:
            return _train_in(config, dataset, num_batches, stop, held, where, wait_guard)
        except KeyboardInterrupt:
            raise _interrupted(config, stop, where) from None


@dataclasses.dataclass
class _Whereabouts:
    """How far `train_models` got: the run's folder once it exists, the loop once it runs."""
    log_dir: Optional[str] = None
    run: Optional["TrainingRun"] = None


def _interrupted(config, stop, where):
    """The TrainingStopped for a signal that stopped the run at once: while it was starting, or a
    second signal while it trained (before the checkpoint the first one asked for)."""
    if where.run is None:
        if config.run.resume:
            state = "nothing was trained, and the run in %s is as it was." % where.log_dir
        elif where.log_dir is not None:
            state = ("its folder %s holds no checkpoint yet; resuming starts it from its first "
                     "iteration." % where.log_dir)
        else:
            state = "nothing was written"
        message = "stopped by %s while the run was starting; %s" % (stop.name, state)
        return TrainingStopped(message, stop.signum, log_dir=where.log_dir)
    newest = where.run.checkpoints.newest
    if newest is None:
        state = "no checkpoint was written yet; resuming starts the run from its first iteration"
    else:
        state = "its newest checkpoint is %s" % newest
    message = ("stopped at once by a second signal (%s first) at iteration %d, without a "
               "checkpoint of it; %s." % (stop.name, where.run.iteration, state))
    return TrainingStopped(message, stop.signum, where.run.iteration, newest, where.log_dir)


def _train_in(config, dataset, num_batches, stop, held, where, wait_guard):
    """`train_models` once the data is loaded: the placement, the run's folder, the models, then
    the loop. Records in `where` how far it got."""
    execution = config.execution
    placement = placement_lib.make_placement(  # before any TensorFlow op (multi-worker needs it)
        execution.distribution_strategy, execution.num_gpus, execution.num_cpu_devices,
        execution.worker_timeout, execution.tpu, execution.allreduce_precision, wait_guard)
    if not placement.is_chief:
        config = config.replace(logdir=placement.private_run_folder(
            config.run.logdir, config.run.resume, held))
        where.log_dir = config.run.logdir
    newest = None
    if config.run.resume:
        held.enter_context(run_folder.RunLock(config.run.logdir))
        newest = checkpoints.peek_newest(config.run.logdir)
        if newest is not None:  # before the networks are built and printed
            check_same_dataset(config, newest.num_images, dataset.num_images)
            check_not_complete(config, (newest.iteration, newest.epoch, newest.batch_index),
                               num_batches)
    loop_state = checkpoints.LoopState(dataset.num_images, num_batches)
    with placement.scope():
        models = build_models(config.model, dataset.image_shape,
                              execution=config.execution.policy())
        optimizers = build_optimizers(models, config.run.generator_lr, config.run.discriminator_lr,
                                      exchange_dtype=placement.allreduce_precision,
                                      mutual_info_warmup=config.run.mutual_info_warmup)
        if config.run.resume:
            log_dir, run_checkpoints = config.run.logdir, _resume(
                config, models, optimizers, loop_state, num_batches, checked=newest is not None)
        else:
            log_dir, run_checkpoints = _start(config, models, optimizers, loop_state, held)
            where.log_dir = log_dir
    logger = held.enter_context(contextlib.closing(SummaryLogger(log_dir)))
    logger.start_session(int(loop_state.iteration.numpy()))
    sample_noise = make_noise_sampler(config.model)
    plotter = Plotter(models, logger, os.path.join(log_dir, "images"), sample_noise,
                      config.run.batch_size)
    iteration_fn = placement.compile_iteration(models, optimizers)
    progress = Progress(num_batches, config.run.epochs, terminal=config.run.progress_bar,
                        status_every=config.run.status_every)
    run = TrainingRun(config, dataset, sample_noise, iteration_fn, optimizers, logger, plotter,
                      run_checkpoints, loop_state, stop, progress)
    where.run = run
    stop.defer()
    try:
        run.run()
    except tf.errors.OpError as error:
        if not placement.multi_worker:
            raise
        raise placement_lib.WorkersLost(
            run.iteration, "%s: %s" % (type(error).__name__, str(error).splitlines()[0][:200]),
            config.run.logdir if placement.is_chief else None) from None
    return TrainingResult(log_dir, models, optimizers)


def _start(config, models, optimizers, loop_state, held):
    """A new run: its locked log folder, config.json, the starting state. Returns (log folder,
    RunCheckpoints)."""
    log_dir, lock = run_folder.create_locked(config)
    held.enter_context(lock)
    tf1_checkpoint = config.run.tf1_checkpoint
    try:
        run_checkpoints = checkpoints.RunCheckpoints(log_dir, models, optimizers, loop_state)
        run_folder.check_room(log_dir, run_checkpoints.nbytes, checkpoints.MAX_TO_KEEP + 1)
        if tf1_checkpoint is not None:
            with_adam = load_tf1_checkpoint(tf1_checkpoint, models, optimizers)
        save_run_config(log_dir, config.replace(logdir=log_dir))
    except BaseException as error:  # a signal too: a folder without config.json is no run
        shutil.rmtree(log_dir, ignore_errors=True)  # it held nothing of the user's
        if not isinstance(error, OSError):
            raise
        raise ConfigError("cannot write in the log folder %s (%s)" % (log_dir, error.strerror)) from None
    print("\n".join(architecture_lines(models)))  # once nothing can refuse the run any more
    if tf1_checkpoint is not None:
        print("Starting from the TF1 checkpoint %r (%s)" % (
            tf1_checkpoint, "with its Adam state" if with_adam else "fresh Adam state"))
    loop_state.capture(0, 0, 0, np.arange(loop_state.permutation.shape[0], dtype=np.int32),
                       {key: [] for key in checkpoints.HISTORY_KEYS})
    print("Saving tensorboard logs to %r" % (log_dir,))
    return log_dir, run_checkpoints


def _resume(config, models, optimizers, loop_state, num_batches, checked):
    """Restores a run from its newest usable checkpoint (the folder is locked). Returns its
    RunCheckpoints. `checked`: the newest checkpoint's header was read and the run found not
    complete (an older checkpoint restored instead is less complete still).

    Raises:
      ConfigError: no usable checkpoint, or the run has nothing left to do.
    """
    removed = run_folder.remove_interrupted_writes(config.run.logdir)
    if removed:
        print("Removed what interrupted checkpoint writes left: %s" % ", ".join(removed))
    run_checkpoints = checkpoints.RunCheckpoints(config.run.logdir, models, optimizers, loop_state)
    if not checkpoints.checkpoints_on_disk(run_checkpoints.directory):
        print("\n".join(architecture_lines(models)))
        _restart(config, models, optimizers, loop_state)
        return run_checkpoints
    path = run_checkpoints.restore_latest()
    iteration, epoch = int(loop_state.iteration.numpy()), int(loop_state.epoch.numpy())
    done = int(loop_state.batch_index.numpy())
    if not checked:
        check_not_complete(config, (iteration, epoch, done), num_batches)
    print("\n".join(architecture_lines(models)))  # once nothing can refuse the run any more
    loop_state.restore_numpy_rng()
    print("Resuming %r from %s (epoch %d, batch %d of %d, iteration %d)" % (
        config.run.logdir, path, epoch, done, num_batches, iteration))
    return run_checkpoints


def _restart(config, models, optimizers, loop_state):
    """A run stopped before its first checkpoint (killed, or its machine lost) starts again from
    its first iteration, in its own folder: the seed gives the same initial state, and TensorBoard
    drops the events the stopped attempt wrote (SummaryLogger.start_session)."""
    if config.run.tf1_checkpoint is not None:
        load_tf1_checkpoint(config.run.tf1_checkpoint, models, optimizers)
    loop_state.capture(0, 0, 0, np.arange(loop_state.permutation.shape[0], dtype=np.int32),
                       {key: [] for key in checkpoints.HISTORY_KEYS})
    print("The run in %r has no checkpoint yet (it stopped before its first one); starting it "
          "again from its first iteration" % (config.run.logdir,))


def check_same_dataset(config, trained_on, now):
    """Refuses to resume on a dataset of another size than the run's checkpoints were written with
    (images added to or removed from an image folder): its batches would not be the run's.

    Raises:
      ConfigError: naming both sizes and what to do.
    """
    if trained_on != now:
        raise ConfigError(
            "the dataset of the run in %s has changed: its checkpoints were written with %d "
            "training images, and %s now gives %d; put the data back as it was when the run "
            "started (or start a new run on the data as it is now)" % (
                config.run.logdir, trained_on, config.data.dataset or "MNIST", now))


def check_not_complete(config, position, num_batches):
    """Refuses to resume a run that has nothing left to do.

    Args:
      position: (iteration, epoch, batches done in it) of its checkpoint.

    Raises:
      RunComplete: saying so, and which flag extends it.
    """
    iteration, epoch, done = position
    finished = epoch + (done == num_batches) >= config.run.epochs
    if finished or iteration >= (config.run.max_iterations or float("inf")):
        limit = ("its %d epochs" % config.run.epochs if finished
                 else "--max_iterations %d" % config.run.max_iterations)
        raise RunComplete("the run in %s is complete: it reached %s (iteration %d); to train it "
                          "further, pass a larger %s with --resume" % (
                              config.run.logdir, limit, iteration,
                              "--epochs" if finished else "--max_iterations"))


class TrainingRun:
    """The TF1 epoch loop, from wherever `loop_state` says the run is.

    A checkpoint is written right after a training step, before that step's plot and epoch line:
    the loop starts by doing those (a resumed run redoes what an interrupted one may have done).
    """

    def __init__(self, config, dataset, sample_noise, iteration_fn, optimizers, logger, plotter,
                 run_checkpoints, loop_state, stop, progress):
        self.config, self.dataset, self.sample_noise = config, dataset, sample_noise
        self.iteration_fn, self.optimizers, self.logger = iteration_fn, optimizers, logger
        self.plotter, self.checkpoints, self.state = plotter, run_checkpoints, loop_state
        self.stop, self.progress = stop, progress
        infogan = config.model.infogan
        self.g_scalars = (GENERATOR_OBJECTIVE,) + (MUTUAL_INFO_SCALARS if infogan else ())
        self.mutual_info_weight = None  # this iteration's, with --mutual_info_warmup
        self.num_batches = checkpoints.batches_per_epoch(dataset.num_images, config.run.batch_size)

    def run(self):
        """Trains until `config.run.epochs` (or `config.run.max_iterations`) is reached."""
        self.iteration = int(self.state.iteration.numpy())
        epoch, done = int(self.state.epoch.numpy()), int(self.state.batch_index.numpy())
        indices, history = self.state.permutation.numpy(), self.state.restored_history()
        if self.stop.signal is not None:  # it came while the run was starting
            self._stop(epoch, done, indices, history)
        self._after_step(epoch, done, history)
        batch_size = self.config.run.batch_size
        while True:
            if done == self.num_batches:
                epoch, done, history = epoch + 1, 0, {key: [] for key in checkpoints.HISTORY_KEYS}
            if epoch >= self.config.run.epochs:
                return
            if done == 0:
                np.random.shuffle(indices)  # in place, carried over epochs, as in TF1
            for batch in self.dataset.batches(indices[done * batch_size:], batch_size):
                self._record(self._step(batch), history)
                done += 1
                self.progress.update(self.iteration, epoch, done, history)
                limit = self.iteration == self.config.run.max_iterations
                if (limit or done == self.num_batches or self.stop.signal is not None
                        or self.iteration % self.config.run.checkpoint_every == 0):
                    self._save(epoch, done, indices, history)
                if self.stop.signal is not None:
                    self._stop(epoch, done, indices, history, saved=True)
                self._after_step(epoch, done, history)
                if limit:
                    return

    def _after_step(self, epoch, done, history):
        """The plot due after this iteration, and the epoch line when the epoch is complete."""
        if self.iteration > 0 and self.iteration % self.config.run.plot_every == 0:
            self.plotter.plot(self.iteration)
            self.logger.flush()
        if done == self.num_batches:
            means = {key: np.mean(values) if values else None for key, values in history.items()}
            self.progress.finish_line()
            print(epoch_line(epoch, means, self.optimizers.discriminator.learning_rate.numpy(),
                             self.optimizers.generator.learning_rate.numpy(),
                             self.config.model.infogan), flush=True)

    def _step(self, batch):
        batch_size = self.config.run.batch_size
        # D's noise, then each G step's (with one G step: the TF1 code's two draws, in its order)
        noises = [self.sample_noise(batch_size) for _ in range(1 + self.config.run.generator_steps)]
        self.mutual_info_weight = self.optimizers.start_iteration(self.iteration)
        results = self.iteration_fn(tf.constant(batch), *map(noise_to_tensor, noises))
        results = {key: value.numpy() for key, value in results.items()}
        for key, value in results.items():
            # With no continuous code, std_contig is the mean of nothing: NaN in TF1 too.
            undefined = key == "std_contig" and self.config.model.num_continuous == 0
            if not np.isfinite(value) and not undefined:
                self.progress.finish_line()
                raise TrainingDiverged("%s became %s at iteration %d; training stopped. %s" % (
                    key, value, self.iteration, self._last_checkpoint_text()))
        return results

    def _last_checkpoint_text(self):
        newest = self.checkpoints.newest
        if newest is None:
            return ("No checkpoint was written before it (the first comes after --checkpoint_every "
                    "%d iterations)." % self.config.run.checkpoint_every)
        return "The last finite checkpoint is %s." % newest

    def _record(self, results, history):
        self.logger.scalars(self.iteration, {DISCRIMINATOR_OBJECTIVE: results[DISCRIMINATOR_OBJECTIVE]})
        self.logger.scalars(self.iteration, {tag: results[tag] for tag in self.g_scalars})
        if self.mutual_info_weight is not None:
            self.logger.scalars(self.iteration, {MUTUAL_INFO_WEIGHT: self.mutual_info_weight})
        history[DISCRIMINATOR_OBJECTIVE].append(results[DISCRIMINATOR_OBJECTIVE])
        history[GENERATOR_OBJECTIVE].append(results[GENERATOR_OBJECTIVE])
        if self.config.model.infogan:
            history["infogan_loss"] += [results[D_STEP_INFOGAN_LOSS], results[G_STEP_INFOGAN_LOSS]]
        self.iteration += 1

    def _save(self, epoch, done, indices, history):
        self.logger.flush()  # events up to this checkpoint are on disk before it exists
        self.state.capture(self.iteration, epoch, done, indices, history)
        try:
            return self.checkpoints.save(self.iteration)
        except checkpoints.NonFiniteState:
            self.progress.finish_line()
            raise TrainingDiverged(
                "the weights or optimiser state became NaN or infinite by iteration %d (the "
                "objectives were still finite); training stopped and no checkpoint was written of "
                "it. %s" % (self.iteration, self._last_checkpoint_text())) from None

    def _stop(self, epoch, done, indices, history, saved=False):
        """Honours a stop signal: a checkpoint (unless just written), then TrainingStopped."""
        path = self.checkpoints.newest if saved else self._save(epoch, done, indices, history)
        self.progress.finish_line()
        raise TrainingStopped(
            "stopped by %s at iteration %d (epoch %d, batch %d of %d); checkpoint %s written." % (
                self.stop.name, self.iteration, epoch, done, self.num_batches, path),
            self.stop.signum, self.iteration, path, os.path.dirname(self.checkpoints.directory))


class TrainingStopped(RuntimeError):
    """A stop signal ended training: after a checkpoint, or at once (while the run was starting,
    or a second signal).

    Attributes:
      signum: the signal's number.
      iteration: the iteration training had reached (None: it had not begun).
      checkpoint: the run's newest checkpoint (None: it has none).
      log_dir: the folder to resume the run from (None: nothing was written).
    """

    def __init__(self, message, signum, iteration=None, checkpoint=None, log_dir=None):
        super().__init__(message)
        self.signum, self.iteration = signum, iteration
        self.checkpoint, self.log_dir = checkpoint, log_dir
