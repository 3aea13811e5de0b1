"""The TF1 training loop (docs/tf1_semantics.md §7, §9): data, NumPy draw order, logs and plots."""
import dataclasses
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from infogan import config as config_lib
from infogan.training import checkpoints
from infogan import data
from infogan.model.models import build_models, noise_to_tensor
from infogan.model.noise import create_gan_noise_sample, create_infogan_noise_sample
from infogan.training.plotter import Plotter
from infogan.training.summaries import SummaryLogger
from infogan.training.tf1_checkpoint import load_tf1_checkpoint
from infogan.training.step import (D_STEP_INFOGAN_LOSS, DISCRIMINATOR_OBJECTIVE, G_STEP_INFOGAN_LOSS,
                                GENERATOR_OBJECTIVE, MUTUAL_INFO_SCALARS, build_optimizers,
                                make_train_iteration)

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
        seed=config.seed, name=config.dataset_name)
    config_lib.check_image_shape(config.model, dataset.image_shape)  # before a cache is built
    if config.cache_dir is not None:
        dataset = image_cache.cached(dataset, config.cache_dir)
    return dataset, config.dataset_name


def create_log_dir(config):
    """Creates a new, empty log folder and returns its path; never reuses an existing run.

    The default is `<log root>/<dataset>_log/<infogan|gan>`, else the first free of `...-0`, `...-1`...
    """
    if config.logdir is not None:
        if os.path.isdir(config.logdir) and os.listdir(config.logdir):
            raise config_lib.ConfigError(
                "log folder %s already holds files; pass a new --logdir so nothing is overwritten"
                % config.logdir)
        os.makedirs(config.logdir, exist_ok=True)
        return config.logdir
    base = os.path.join(config.log_root_dir, "%s_log" % config.dataset_name,
                        "infogan" if config.model.infogan else "gan")
    os.makedirs(os.path.dirname(base), exist_ok=True)
    candidate, suffix = base, 0
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            candidate, suffix = "%s-%d" % (base, suffix), suffix + 1


def _progress_bar(config, num_batches):
    enabled = sys.stdout.isatty() if config.progress_bar is None else config.progress_bar
    return keras.utils.Progbar(num_batches, stateful_metrics=None) if enabled else None


def epoch_line(epoch, means, discriminator_lr, generator_lr, infogan):
    """The TF1 epoch summary line."""
    line = EPOCH_LINE % (epoch, means[DISCRIMINATOR_OBJECTIVE], discriminator_lr,
                         means[GENERATOR_OBJECTIVE], generator_lr)
    return line + INFOGAN_SUFFIX % means["infogan_loss"] if infogan else line


class TrainingDiverged(RuntimeError):
    """An objective became NaN or infinite; the message names it and the iteration."""


def make_noise_sampler(model_config):
    """The TF1 noise sampler for InfoGAN or GAN mode."""
    if model_config.infogan:
        return create_infogan_noise_sample(model_config.categorical_cardinality,
                                           model_config.num_continuous, model_config.style_size)
    return create_gan_noise_sample(model_config.style_size)


def train(config):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    With `config.resume`, continues the run in `config.logdir` from its newest readable checkpoint
    and computes exactly what the uninterrupted run would have.

    Args:
      config: a `TrainConfig`.

    Returns:
      the log folder.

    Raises:
      ConfigError, DatasetError, ArchitectureError: before anything is written.
      TrainingDiverged: an objective became NaN/Inf (the last good checkpoint is kept).
    """
    config_lib.validate(config)
    seed_everything(config.seed)
    dataset, _ = load_images(config)
    config_lib.check_image_shape(config.model, dataset.image_shape)
    models = build_models(config.model, dataset.image_shape, debug=True)
    optimizers = build_optimizers(models, config.generator_lr, config.discriminator_lr)
    if config.tf1_checkpoint is not None and not config.resume:
        with_adam = load_tf1_checkpoint(config.tf1_checkpoint, models, optimizers)
        print("Starting from the TF1 checkpoint %r (%s)" % (
            config.tf1_checkpoint, "with its Adam state" if with_adam else "fresh Adam state"))
    loop_state = checkpoints.LoopState(dataset.num_images, -(-dataset.num_images // config.batch_size))
    if config.resume:
        log_dir = config.logdir
        run_checkpoints = checkpoints.RunCheckpoints(log_dir, models, optimizers, loop_state)
        path = run_checkpoints.restore_latest()
        loop_state.restore_numpy_rng()
        print("Resuming %r from %s (epoch %d, iteration %d)" % (
            log_dir, path, loop_state.epoch.numpy(), loop_state.iteration.numpy()))
    else:
        log_dir = create_log_dir(config)
        checkpoints.save_config(log_dir, dataclasses.replace(config, logdir=log_dir))
        run_checkpoints = checkpoints.RunCheckpoints(log_dir, models, optimizers, loop_state)
        loop_state.capture(0, 0, 0, np.arange(dataset.num_images, dtype=np.int32),
                           {key: [] for key in checkpoints.HISTORY_KEYS})
        print("Saving tensorboard logs to %r" % (log_dir,))
    sample_noise = make_noise_sampler(config.model)
    logger = SummaryLogger(log_dir)
    plotter = Plotter(models, logger, os.path.join(log_dir, "images"), sample_noise, config.batch_size)
    iteration_fn = make_train_iteration(models, optimizers, jit_compile=config.jit_compile)
    run = TrainingRun(config, dataset, sample_noise, iteration_fn,
                      optimizers, logger, plotter, run_checkpoints, loop_state)
    try:
        run.run()
    finally:
        logger.close()
    return log_dir


class TrainingRun:
    """The TF1 epoch loop, from wherever `loop_state` says the run is."""

    def __init__(self, config, dataset, sample_noise, iteration_fn, optimizers, logger, plotter,
                 run_checkpoints, loop_state):
        self.config, self.dataset, self.sample_noise = config, dataset, sample_noise
        self.iteration_fn, self.optimizers, self.logger = iteration_fn, optimizers, logger
        self.plotter, self.checkpoints, self.state = plotter, run_checkpoints, loop_state
        infogan = config.model.infogan
        self.g_scalars = (GENERATOR_OBJECTIVE,) + (MUTUAL_INFO_SCALARS if infogan else ())
        self.num_batches = -(-dataset.num_images // config.batch_size)

    def run(self):
        """Trains until `config.epochs` (or `config.max_iterations`) is reached."""
        self.iteration = int(self.state.iteration.numpy())
        indices = self.state.permutation.numpy()
        first_batch, history = int(self.state.batch_index.numpy()), self.state.restored_history()
        for epoch in range(int(self.state.epoch.numpy()), self.config.epochs):
            if first_batch == 0:
                np.random.shuffle(indices)  # in place, carried over epochs, as in TF1
            if not self._epoch(epoch, indices, first_batch, history):
                return
            first_batch, history = 0, {key: [] for key in checkpoints.HISTORY_KEYS}
            self._save(epoch + 1, 0, indices, history)

    def _epoch(self, epoch, indices, first_batch, history):
        """Runs batches first_batch.. of an epoch; False if max_iterations stopped it first."""
        batch_size = self.config.batch_size
        progress = _progress_bar(self.config, self.num_batches)
        batches = self.dataset.batches(indices[first_batch * batch_size:], batch_size)
        for batch_index, batch in enumerate(batches, start=first_batch):
            results = self._step(batch)
            self._record(results, history)
            if progress is not None:
                progress.update(batch_index + 1, values=[
                    ("D LL", results[DISCRIMINATOR_OBJECTIVE]), ("G LL", results[GENERATOR_OBJECTIVE])])
            if self.iteration % self.config.plot_every == 0:
                self.plotter.plot(self.iteration)
                self.logger.flush()
            stop = self.iteration == self.config.max_iterations
            epoch_end = batch_index + 1 == self.num_batches  # saved after the epoch line instead
            if stop or (self.iteration % self.config.checkpoint_every == 0 and not epoch_end):
                self._save(epoch, batch_index + 1, indices, history)
            if stop:
                return False
        means = {key: np.mean(values) if values else None for key, values in history.items()}
        print(epoch_line(epoch, means, self.optimizers.discriminator.learning_rate.numpy(),
                         self.optimizers.generator.learning_rate.numpy(), self.config.model.infogan),
              flush=True)
        return True

    def _step(self, batch):
        batch_size = self.config.batch_size
        d_noise, g_noise = self.sample_noise(batch_size), self.sample_noise(batch_size)
        results = self.iteration_fn(tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise))
        results = {key: value.numpy() for key, value in results.items()}
        for key, value in results.items():
            # With no continuous code, std_contig is the mean of nothing: NaN in TF1 too.
            undefined = key == "std_contig" and self.config.model.num_continuous == 0
            if not np.isfinite(value) and not undefined:
                raise TrainingDiverged(
                    "%s became %s at iteration %d; training stopped, the last good checkpoint is "
                    "kept in %s" % (key, value, self.iteration, self.checkpoints.manager.directory))
        return results

    def _record(self, results, history):
        self.logger.scalars(self.iteration, {DISCRIMINATOR_OBJECTIVE: results[DISCRIMINATOR_OBJECTIVE]})
        self.logger.scalars(self.iteration, {tag: results[tag] for tag in self.g_scalars})
        history[DISCRIMINATOR_OBJECTIVE].append(results[DISCRIMINATOR_OBJECTIVE])
        history[GENERATOR_OBJECTIVE].append(results[GENERATOR_OBJECTIVE])
        if self.config.model.infogan:
            history["infogan_loss"] += [results[D_STEP_INFOGAN_LOSS], results[G_STEP_INFOGAN_LOSS]]
        self.iteration += 1

    def _save(self, epoch, batch_index, indices, history):
        self.logger.flush()  # events up to this checkpoint are on disk before it exists
        self.state.capture(self.iteration, epoch, batch_index, indices, history)
        self.checkpoints.save(self.iteration)
