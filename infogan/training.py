"""The TF1 training loop (SPEC sections 7 and 9): data, NumPy draw order, logs and plots."""
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from infogan import config as config_lib
from infogan import data, plots
from infogan.model import build_models, noise_to_tensor
from infogan.noise import create_gan_noise_sample, create_infogan_noise_sample
from infogan.summaries import SummaryLogger
from infogan.train_step import (D_STEP_INFOGAN_LOSS, DISCRIMINATOR_OBJECTIVE, G_STEP_INFOGAN_LOSS,
                                GENERATOR_OBJECTIVE, MUTUAL_INFO_SCALARS, build_optimizers,
                                make_train_iteration)

EPOCH_LINE = "epoch %d >> discriminator LL %.2f (lr=%.6f), generator LL %.2f (lr=%.6f)"
INFOGAN_SUFFIX = ", infogan loss %.2f"
GAN_PLOT_IMAGES = 10


def seed_everything(seed):
    """Seeds NumPy exactly as the TF1 code did, and also Python's and TF's generators."""
    keras.utils.set_random_seed(seed)  # random, NumPy, TF and Keras initialisers
    np.random.seed(seed)


def load_images(config):
    """Returns (float32 images [N, H, W, C], dataset name) for the configured dataset."""
    if config.dataset is None:
        return data.load_mnist(config.mnist_dir, config.max_images), "mnist"
    width, height = config.scale_dataset
    images = data.load_image_folder(config.dataset, width, height, config.max_images,
                                    config.force_grayscale)
    return images, config.dataset_name


def create_log_dir(config):
    """Creates a new, empty log folder and returns its path; never reuses an existing run.

    The default is `<log_root>/<dataset>_log/<infogan|gan>`, else the first free of `...-0`, `...-1`...
    """
    if config.logdir is not None:
        if os.path.isdir(config.logdir) and os.listdir(config.logdir):
            raise config_lib.ConfigError(
                "log folder %s already holds files; pass a new --logdir so nothing is overwritten"
                % config.logdir)
        os.makedirs(config.logdir, exist_ok=True)
        return config.logdir
    base = os.path.join(config.log_root, "%s_log" % config.dataset_name,
                        "infogan" if config.model.infogan else "gan")
    os.makedirs(os.path.dirname(base), exist_ok=True)
    candidate, suffix = base, 0
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            candidate, suffix = "%s-%d" % (base, suffix), suffix + 1


class Plotter:
    """Writes the TF1 image summaries and one Matplotlib PNG per plotted set."""

    def __init__(self, models, logger, image_dir, sample_noise, batch_size):
        self.models, self.logger, self.image_dir = models, logger, image_dir
        self.sample_noise, self.batch_size = sample_noise, batch_size
        generator = models.generator
        self._generate = tf.function(lambda z: generator(z, training=False), autograph=False)
        os.makedirs(image_dir, exist_ok=True)

    def generate(self, noise):
        return self._generate(noise_to_tensor(noise)).numpy()

    def plot(self, iteration):
        """Draws the plot noise (same NumPy calls as TF1) and writes the images of `iteration`."""
        config = self.models.config
        if not config.infogan:
            images = self.generate(self.sample_noise(self.batch_size))[:GAN_PLOT_IMAGES]
            for index, image in enumerate(images):
                self.logger.image(iteration, plots.tf1_image_tag("fake images", index), image)
            self._save(iteration, "fake_images", images[None], "fake images", None)
            return
        codes = (config.categorical_cardinality, config.num_continuous, config.style_size)
        for code, (names, grid) in enumerate(plots.categorical_variations(self.generate, *codes)):
            for category, name in enumerate(names):
                self.logger.image(iteration, plots.tf1_image_tag(name), plots.image_strip(grid[:, category]))
            self._save(iteration, "categorical_%d" % code, grid, "categorical code %d" % code,
                       [str(c) for c in range(grid.shape[1])])
        for code, (names, grid) in enumerate(plots.continuous_variations(self.generate, *codes)):
            for sample, name in enumerate(names):
                self.logger.image(iteration, plots.tf1_image_tag(name), plots.image_strip(grid[sample]))
            sweep = np.linspace(plots.SWEEP[0], plots.SWEEP[1], grid.shape[1])
            self._save(iteration, "continuous_%d" % code, grid, "continuous code %d" % code,
                       ["%.2f" % value for value in sweep])

    def _save(self, iteration, kind, grid, title, column_labels):
        path = os.path.join(self.image_dir, "iteration_%07d_%s.png" % (iteration, kind))
        plots.save_grid_figure(path, grid, "%s, iteration %d" % (title, iteration), column_labels)


def _progress_bar(config, num_batches):
    enabled = sys.stdout.isatty() if config.progress_bar is None else config.progress_bar
    return keras.utils.Progbar(num_batches, stateful_metrics=None) if enabled else None


def epoch_line(epoch, means, discriminator_lr, generator_lr, infogan):
    """The TF1 epoch summary line."""
    line = EPOCH_LINE % (epoch, means[DISCRIMINATOR_OBJECTIVE], discriminator_lr,
                         means[GENERATOR_OBJECTIVE], generator_lr)
    return line + INFOGAN_SUFFIX % means["infogan_loss"] if infogan else line


def train(config):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs.

    Args:
      config: a `TrainConfig`.

    Returns:
      the log folder.

    Raises:
      ConfigError, DatasetError, ArchitectureError: before anything is written.
    """
    config_lib.validate(config)
    seed_everything(config.seed)
    images, _ = load_images(config)
    config_lib.check_image_shape(config.model, images.shape[1:])
    model_config = config.model
    models = build_models(model_config, images.shape[1:], debug=True)
    optimizers = build_optimizers(models, config.generator_lr, config.discriminator_lr)
    iteration_fn = make_train_iteration(models, optimizers)
    if model_config.infogan:
        sample_noise = create_infogan_noise_sample(model_config.categorical_cardinality,
                                                   model_config.num_continuous, model_config.style_size)
    else:
        sample_noise = create_gan_noise_sample(model_config.style_size)

    log_dir = create_log_dir(config)
    print("Saving tensorboard logs to %r" % (log_dir,))
    logger = SummaryLogger(log_dir)
    plotter = Plotter(models, logger, os.path.join(log_dir, "images"), sample_noise, config.batch_size)
    try:
        _run_epochs(config, images, sample_noise, iteration_fn, optimizers, logger, plotter)
    finally:
        logger.close()
    return log_dir


def _run_epochs(config, images, sample_noise, iteration_fn, optimizers, logger, plotter):
    infogan = config.model.infogan
    g_scalars = (GENERATOR_OBJECTIVE,) + (MUTUAL_INFO_SCALARS if infogan else ())
    num_images, batch_size = images.shape[0], config.batch_size
    indices = np.arange(num_images, dtype=np.int32)
    iteration = 0
    for epoch in range(config.epochs):
        history = {DISCRIMINATOR_OBJECTIVE: [], GENERATOR_OBJECTIVE: [], "infogan_loss": []}
        np.random.shuffle(indices)
        progress = _progress_bar(config, -(-num_images // batch_size))
        for batch_index, start in enumerate(range(0, num_images, batch_size)):
            batch = images[indices[start:start + batch_size]]
            d_noise, g_noise = sample_noise(batch_size), sample_noise(batch_size)
            results = {key: value.numpy() for key, value in iteration_fn(
                tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise)).items()}
            logger.scalars(iteration, {DISCRIMINATOR_OBJECTIVE: results[DISCRIMINATOR_OBJECTIVE]})
            logger.scalars(iteration, {tag: results[tag] for tag in g_scalars})
            history[DISCRIMINATOR_OBJECTIVE].append(results[DISCRIMINATOR_OBJECTIVE])
            history[GENERATOR_OBJECTIVE].append(results[GENERATOR_OBJECTIVE])
            if infogan:
                history["infogan_loss"] += [results[D_STEP_INFOGAN_LOSS], results[G_STEP_INFOGAN_LOSS]]
            iteration += 1
            if progress is not None:
                progress.update(batch_index + 1, values=[
                    ("D LL", results[DISCRIMINATOR_OBJECTIVE]), ("G LL", results[GENERATOR_OBJECTIVE])])
            if iteration % config.plot_every == 0:
                plotter.plot(iteration)
                logger.flush()
        means = {key: np.mean(values) if values else None for key, values in history.items()}
        print(epoch_line(epoch, means, optimizers.discriminator.learning_rate.numpy(),
                         optimizers.generator.learning_rate.numpy(), infogan), flush=True)
        logger.flush()
