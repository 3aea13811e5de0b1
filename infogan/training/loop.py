"""The TF1 training loop (docs/tf1_semantics.md §7, §9): data, NumPy draw order, logs and plots."""
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from infogan import config as config_lib
from infogan import data
from infogan.config import ConfigError
from infogan.distribute import strategies
from infogan.model.models import build_models, kernels_for, noise_to_tensor
from infogan.model.noise import make_noise_sampler
from infogan.training import checkpoints, run_folder
from infogan.training.plotter import Plotter
from infogan.training.progress import Progress
from infogan.training.step import (D_STEP_INFOGAN_LOSS, DISCRIMINATOR_OBJECTIVE,
                                   G_STEP_INFOGAN_LOSS, GENERATOR_OBJECTIVE, MUTUAL_INFO_SCALARS,
                                   build_optimizers, make_train_iteration)
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
    """The configured training data, checked before anything is written.

    MNIST and Fashion-MNIST are held in memory; an image folder is listed, header-checked and
    streamed, its decoded images cached first when `config.cache_dir` is set.

    Returns:
      (`data.Dataset`, dataset name); `dataset.shape` is (N, H, W, C) as an image array's.

    Raises:
      DatasetError, ConfigError (generator and images of different shapes).
    """
    if config.idx_kind is not None:
        return data.mnist_dataset(config.idx_dir, config.max_images, config.idx_kind), config.dataset_name
    from infogan.data import image_cache  # Pillow and tf.data: folders only
    from infogan.data import image_folder
    width, height = config.scale_dataset
    dataset = image_folder.open_image_folder(
        config.dataset, width, height, config.max_images, config.force_grayscale,
        seed=config.seed, name=config.dataset_name, order=config.image_order)
    config_lib.check_image_shape(config.model, dataset.image_shape)  # before a cache is built
    if config.cache_dir is not None:
        dataset = image_cache.cached(dataset, config.cache_dir)
    return dataset, config.dataset_name


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


def train(config):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    See `train_models`, which this calls.

    Returns:
      the log folder.
    """
    return train_models(config).log_dir


def train_models(config):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    With `config.resume`, continues the run in `config.logdir` from its newest usable checkpoint
    and computes exactly what the uninterrupted run would have. The log folder is locked while
    training. SIGINT (Ctrl-C) and SIGTERM stop after the current iteration, with a checkpoint.

    Args:
      config: a `TrainConfig`.

    Returns:
      TrainingResult.

    Raises:
      ConfigError, DatasetError, ArchitectureError: bad input, before training starts.
      TrainingDiverged: an objective, weight or optimiser value became NaN/Inf (the last finite
        checkpoint is kept).
      CheckpointWriteError: a checkpoint could not be written (disk full...).
      TrainingStopped: a stop signal arrived (a checkpoint was written).
    """
    config_lib.validate(config)
    seed_everything(config.seed)
    dataset, _ = load_images(config)
    config_lib.check_image_shape(config.model, dataset.image_shape)
    config_lib.check_batch_size(config, dataset.num_images)
    num_batches = -(-dataset.num_images // config.batch_size)
    where = _Whereabouts(log_dir=config.logdir if config.resume else None)
    with StopRequests() as stop, contextlib.ExitStack() as held:
        try:
            return _train_in(config, dataset, num_batches, stop, held, where)
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
    resume = "Resume with: %s --resume=%s" % (command_name(), where.log_dir)
    if where.run is None:
        if config.resume:
            state = "nothing was trained, and the run in %s is as it was. %s" % (where.log_dir, resume)
        elif where.log_dir is not None:
            state = ("its folder %s holds no checkpoint yet; resuming starts it from its first "
                     "iteration. %s" % (where.log_dir, resume))
        else:
            state = "nothing was written"
        message = "stopped by %s while the run was starting; %s" % (stop.name, state)
    else:
        newest = where.run.checkpoints.newest
        if newest is None:
            state = "no checkpoint was written yet; resuming starts the run from its first iteration"
        else:
            state = "its newest checkpoint is %s" % newest
        message = ("stopped at once by a second signal (%s first) at iteration %d, without a "
                   "checkpoint of it; %s. %s" % (stop.name, where.run.iteration, state, resume))
    return TrainingStopped(message, stop.exit_status)


def _train_in(config, dataset, num_batches, stop, held, where):
    """`train_models` once the data is loaded: the strategy, the run's folder, the models, then the
    loop. Records in `where` how far it got."""
    strategy = make_strategy(config)  # before any TensorFlow op (multi-worker needs it)
    if strategy is not None and not strategies.is_chief(strategy):
        config = private_run_folder(config, held)
        where.log_dir = config.logdir
    if config.resume:
        held.enter_context(run_folder.RunLock(config.logdir))
        newest = checkpoints.peek_newest(config.logdir)
        if newest is not None:  # before the networks are built and printed
            check_same_dataset(config, newest.num_images, dataset.num_images)
            check_not_complete(config, (newest.iteration, newest.epoch, newest.batch_index),
                               num_batches)
    loop_state = checkpoints.LoopState(dataset.num_images, num_batches)
    with strategy.scope() if strategy else contextlib.nullcontext():
        models = build_models(config.model, dataset.image_shape, debug=True,
                              kernels=kernels_for(config.fast, config.precision))
        optimizers = build_optimizers(models, config.generator_lr, config.discriminator_lr,
                                      exchange_dtype=config.allreduce_precision)
        if config.resume:
            log_dir, run_checkpoints = config.logdir, _resume(config, models, optimizers,
                                                              loop_state, num_batches)
        else:
            log_dir, run_checkpoints = _start(config, models, optimizers, loop_state, held)
            where.log_dir = log_dir
    logger = held.enter_context(contextlib.closing(SummaryLogger(log_dir)))
    logger.start_session(int(loop_state.iteration.numpy()))
    sample_noise = make_noise_sampler(config.model)
    plotter = Plotter(models, logger, os.path.join(log_dir, "images"), sample_noise,
                      config.batch_size)
    if strategy is None:
        iteration_fn = make_train_iteration(models, optimizers, jit_compile=config.jit_compile)
    else:
        iteration_fn = strategies.make_distributed_iteration(strategy, models, optimizers)
    progress = Progress(num_batches, config.epochs, terminal=config.progress_bar,
                        status_every=config.status_every)
    run = TrainingRun(config, dataset, sample_noise, iteration_fn, optimizers, logger, plotter,
                      run_checkpoints, loop_state, stop, progress)
    where.run = run
    stop.defer()
    try:
        run.run()
    except tf.errors.OpError as error:
        if config.distribution_strategy != "multi_worker_mirrored":
            raise
        raise TrainingStopped(
            "a worker stopped answering at iteration %d (%s: %s); the others stopped too. "
            "Restart every worker with the same command and --resume=%s" % (
                run.iteration, type(error).__name__, str(error).splitlines()[0][:200],
                config.logdir if strategies.is_chief(strategy) else "<the run's --logdir>"),
            1) from None
    return TrainingResult(log_dir, models, optimizers)


def make_strategy(config):
    """The run's tf.distribute strategy (None: one device, the TF1 code's path).

    Raises:
      ConfigError: the device layout cannot be set (TensorFlow already started with another).
    """
    try:
        return strategies.make_strategy(config.distribution_strategy, config.num_gpus,
                                        config.num_cpu_devices, config.worker_timeout, config.tpu)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    except tf.errors.OpError as error:
        raise ConfigError("the workers of TF_CONFIG did not all come up within --worker_timeout %g "
                          "s (%s); start every worker with the same command" % (
                              config.worker_timeout, type(error).__name__)) from None
    except RuntimeError as error:
        raise ConfigError("--num_cpu_devices %d: TensorFlow has already started with %d CPU "
                          "devices (%s); set it in a new process" % (
                              config.num_cpu_devices, len(tf.config.list_logical_devices("CPU")),
                              error)) from None


def private_run_folder(config, held):
    """A non-chief worker's config: the run in a temporary folder, removed at the end (the chief
    alone writes the run's folder); a resumed run starts from a copy of the run's checkpoints.

    Raises:
      ConfigError: the run's folder cannot be read from this worker.
    """
    folder = tempfile.mkdtemp(prefix="infogan-worker-")
    held.callback(shutil.rmtree, folder, ignore_errors=True)
    if config.resume:
        try:
            shutil.copytree(os.path.join(config.logdir, "checkpoints"),
                            os.path.join(folder, "checkpoints"))
            shutil.copy(os.path.join(config.logdir, config_lib.CONFIG_FILE), folder)
        except OSError as error:
            raise ConfigError("this worker cannot read the run %s (%s); multi-worker resume needs "
                              "the run's folder on a file system every worker sees" % (
                                  config.logdir, error.strerror or error)) from None
    return dataclasses.replace(config, logdir=folder)


def _start(config, models, optimizers, loop_state, held):
    """A new run: its locked log folder, config.json, the starting state. Returns (log folder,
    RunCheckpoints)."""
    if config.tf1_checkpoint is not None:
        with_adam = load_tf1_checkpoint(config.tf1_checkpoint, models, optimizers)
        print("Starting from the TF1 checkpoint %r (%s)" % (
            config.tf1_checkpoint, "with its Adam state" if with_adam else "fresh Adam state"))
    log_dir, lock = run_folder.create_locked(config)
    held.enter_context(lock)
    try:
        run_checkpoints = checkpoints.RunCheckpoints(log_dir, models, optimizers, loop_state)
        run_folder.check_room(log_dir, run_checkpoints.nbytes, checkpoints.MAX_TO_KEEP + 1)
        config_lib.save_run_config(log_dir, dataclasses.replace(config, logdir=log_dir))
    except BaseException as error:  # a signal too: a folder without config.json is no run
        shutil.rmtree(log_dir, ignore_errors=True)  # it held nothing of the user's
        if not isinstance(error, OSError):
            raise
        raise ConfigError("cannot write in the log folder %s (%s)" % (log_dir, error.strerror)) from None
    loop_state.capture(0, 0, 0, np.arange(loop_state.permutation.shape[0], dtype=np.int32),
                       {key: [] for key in checkpoints.HISTORY_KEYS})
    print("Saving tensorboard logs to %r" % (log_dir,))
    return log_dir, run_checkpoints


def _resume(config, models, optimizers, loop_state, num_batches):
    """Restores a run from its newest usable checkpoint (the folder is locked). Returns its
    RunCheckpoints.

    Raises:
      ConfigError: no usable checkpoint, or the run has nothing left to do.
    """
    removed = run_folder.remove_interrupted_writes(config.logdir)
    if removed:
        print("Removed what interrupted checkpoint writes left: %s" % ", ".join(removed))
    run_checkpoints = checkpoints.RunCheckpoints(config.logdir, models, optimizers, loop_state)
    if not checkpoints.checkpoints_on_disk(run_checkpoints.directory):
        _restart(config, models, optimizers, loop_state)
        return run_checkpoints
    path = run_checkpoints.restore_latest()
    iteration, epoch = int(loop_state.iteration.numpy()), int(loop_state.epoch.numpy())
    done = int(loop_state.batch_index.numpy())
    check_not_complete(config, (iteration, epoch, done), num_batches)
    loop_state.restore_numpy_rng()
    print("Resuming %r from %s (epoch %d, batch %d of %d, iteration %d)" % (
        config.logdir, path, epoch, done, num_batches, iteration))
    return run_checkpoints


def _restart(config, models, optimizers, loop_state):
    """A run stopped before its first checkpoint (killed, or its machine lost) starts again from
    its first iteration, in its own folder: the seed gives the same initial state, and TensorBoard
    drops the events the stopped attempt wrote (SummaryLogger.start_session)."""
    if config.tf1_checkpoint is not None:
        load_tf1_checkpoint(config.tf1_checkpoint, models, optimizers)
    loop_state.capture(0, 0, 0, np.arange(loop_state.permutation.shape[0], dtype=np.int32),
                       {key: [] for key in checkpoints.HISTORY_KEYS})
    print("The run in %r has no checkpoint yet (it stopped before its first one); starting it "
          "again from its first iteration" % (config.logdir,))


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
                config.logdir, trained_on, config.dataset or "MNIST", now))


def check_not_complete(config, position, num_batches):
    """Refuses to resume a run that has nothing left to do.

    Args:
      position: (iteration, epoch, batches done in it) of its checkpoint.

    Raises:
      RunComplete: saying so, and which flag extends it.
    """
    iteration, epoch, done = position
    finished = epoch + (done == num_batches) >= config.epochs
    if finished or iteration >= (config.max_iterations or float("inf")):
        limit = ("its %d epochs" % config.epochs if finished
                 else "--max_iterations %d" % config.max_iterations)
        raise RunComplete("the run in %s is complete: it reached %s (iteration %d); to train it "
                          "further, pass a larger %s with --resume" % (
                              config.logdir, limit, iteration,
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
        self.num_batches = -(-dataset.num_images // config.batch_size)

    def run(self):
        """Trains until `config.epochs` (or `config.max_iterations`) is reached."""
        self.iteration = int(self.state.iteration.numpy())
        epoch, done = int(self.state.epoch.numpy()), int(self.state.batch_index.numpy())
        indices, history = self.state.permutation.numpy(), self.state.restored_history()
        if self.stop.signal is not None:  # it came while the run was starting
            self._stop(epoch, done, indices, history)
        self._after_step(epoch, done, history)
        batch_size = self.config.batch_size
        while True:
            if done == self.num_batches:
                epoch, done, history = epoch + 1, 0, {key: [] for key in checkpoints.HISTORY_KEYS}
            if epoch >= self.config.epochs:
                return
            if done == 0:
                np.random.shuffle(indices)  # in place, carried over epochs, as in TF1
            for batch in self.dataset.batches(indices[done * batch_size:], batch_size):
                self._record(self._step(batch), history)
                done += 1
                self.progress.update(self.iteration, epoch, done, history)
                limit = self.iteration == self.config.max_iterations
                if (limit or done == self.num_batches or self.stop.signal is not None
                        or self.iteration % self.config.checkpoint_every == 0):
                    self._save(epoch, done, indices, history)
                if self.stop.signal is not None:
                    self._stop(epoch, done, indices, history, saved=True)
                self._after_step(epoch, done, history)
                if limit:
                    return

    def _after_step(self, epoch, done, history):
        """The plot due after this iteration, and the epoch line when the epoch is complete."""
        if self.iteration > 0 and self.iteration % self.config.plot_every == 0:
            self.plotter.plot(self.iteration)
            self.logger.flush()
        if done == self.num_batches:
            means = {key: np.mean(values) if values else None for key, values in history.items()}
            self.progress.finish_line()
            print(epoch_line(epoch, means, self.optimizers.discriminator.learning_rate.numpy(),
                             self.optimizers.generator.learning_rate.numpy(),
                             self.config.model.infogan), flush=True)

    def _step(self, batch):
        batch_size = self.config.batch_size
        d_noise, g_noise = self.sample_noise(batch_size), self.sample_noise(batch_size)
        results = self.iteration_fn(tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise))
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
                    "%d iterations)." % self.config.checkpoint_every)
        return "The last finite checkpoint is %s." % newest

    def _record(self, results, history):
        self.logger.scalars(self.iteration, {DISCRIMINATOR_OBJECTIVE: results[DISCRIMINATOR_OBJECTIVE]})
        self.logger.scalars(self.iteration, {tag: results[tag] for tag in self.g_scalars})
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
            "stopped by %s at iteration %d (epoch %d, batch %d of %d); checkpoint %s written. "
            "Resume with: %s --resume=%s" % (
                self.stop.name, self.iteration, epoch, done, self.num_batches, path,
                command_name(), os.path.dirname(self.checkpoints.directory)),
            self.stop.exit_status)


class TrainingStopped(RuntimeError):
    """A stop signal ended training after a checkpoint; `exit_status` is 128 + the signal."""

    def __init__(self, message, exit_status):
        super().__init__(message)
        self.exit_status = exit_status


def command_name():
    """How the user started training: `python train.py` or `infogan-train` (for messages)."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python %s" % program if program.endswith(".py") else (program or "infogan-train")
