"""The TF1 code's plots: image summaries of the variation sets every `--plot_every` iterations,
and one Matplotlib PNG per plotted set in `<logdir>/images/` (docs/tf1_semantics.md §9).

Like the TF1 code, each plotting pass runs the generator in inference mode and moves its conv
batch norms' EMAs towards that pass's batch statistics, so later strips of a plot see the moved
averages.
"""
import os

import tensorflow as tf

from infogan import plots
from infogan.model.models import noise_to_tensor

GAN_PLOT_IMAGES = 10  # TF1: tf.summary.image("fake images", ..., max_images=10)


class Plotter:
    """Writes the TF1 image summaries and one Matplotlib PNG per plotted set."""

    def __init__(self, models, logger, image_dir, sample_noise, batch_size):
        self.models, self.logger, self.image_dir = models, logger, image_dir
        self.sample_noise, self.batch_size = sample_noise, batch_size
        generator = models.generator
        # Inference mode that moves the conv EMAs, as every TF1 plotting pass did.
        self._generate = tf.function(
            lambda z: generator(z, training=False, update_in_inference=True), autograph=False)
        os.makedirs(image_dir, exist_ok=True)

    def generate(self, noise):
        """G(noise) in inference mode, moving G's conv EMA shadows as the TF1 code did."""
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
        for plotted in plots.variation_sets(self.generate, config):
            for name, images in plotted["strips"]:
                self.logger.image(iteration, plots.tf1_image_tag(name), plots.image_strip(images))
            self._save(iteration, plotted["kind"], plotted["grid"], plotted["title"],
                       plotted["column_labels"])

    def _save(self, iteration, kind, grid, title, column_labels):
        path = os.path.join(self.image_dir, "iteration_%07d_%s.png" % (iteration, kind))
        plots.save_grid_figure(path, grid, "%s, iteration %d" % (title, iteration), column_labels)
