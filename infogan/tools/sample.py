"""Images with chosen codes from a trained generator, and its SavedModel export (`infogan-sample`).

The generator runs in inference mode, as for the TF1 code's TensorBoard images. `--export` writes
a SavedModel usable without this package: `tf.saved_model.load(DIR)(noise)` -> images.
"""
import math

import numpy as np
import tensorflow as tf

from infogan import plots
from infogan.config import ConfigError
from infogan.model.models import noise_to_tensor
from infogan.model.noise import NoiseLayout

COLUMNS = 10


def parse_values(text, count, kind, name):
    """Parses `--name a,b,...` into `count` numbers of `kind`; None when not given.

    Raises:
      ConfigError: not `count` finite numbers.
    """
    if text is None:
        return None
    try:
        values = [kind(value) for value in text.split(",")]
    except ValueError:
        raise ConfigError("--%s takes %d comma-separated numbers, got %r" % (name, count, text)) from None
    if len(values) != count:
        raise ConfigError("--%s takes %d values (one per code), got %d" % (name, count, len(values)))
    if not all(math.isfinite(value) for value in values):
        raise ConfigError("--%s takes finite numbers, got %r" % (name, text))
    return values


def make_noise(model_config, num, categories=None, continuous=None, sweep=None, seed=0):
    """Noise for `num` samples with chosen codes.

    Args:
      categories: one category per categorical code, or None for random ones.
      continuous: one value per continuous code, or None for random ones.
      sweep: index of a continuous code to sweep over [-2, 2] along each row of COLUMNS images.

    Returns:
      float64 noise [num, z_size] (num rounded up to whole rows when sweeping).
    """
    np.random.seed(seed)
    layout = NoiseLayout.of(model_config)
    noise = layout.sample(num)
    if not model_config.infogan:
        if categories is not None or continuous is not None or sweep is not None:
            raise ConfigError("this run is a plain GAN (--noinfogan): it has no codes to choose; "
                              "drop --category, --continuous and --sweep")
        return noise
    for code, category in enumerate(categories or ()):
        cardinality = layout.categorical_cardinality[code]
        if not 0 <= category < cardinality:
            raise ConfigError("--category %d is outside 0..%d" % (category, cardinality - 1))
        layout.set_category(noise, code, category)
    if continuous is not None:
        noise[:, layout.continuous_slice] = continuous
    if sweep is not None:
        if not 0 <= sweep < layout.num_continuous:
            raise ConfigError("--sweep must name a continuous code 0..%d" % (layout.num_continuous - 1))
        rows = -(-num // COLUMNS)
        noise = np.repeat(noise[:rows], COLUMNS, axis=0)  # each row: one sample, swept
        noise[:, layout.continuous_column(sweep)] = np.tile(
            np.linspace(plots.SWEEP[0], plots.SWEEP[1], COLUMNS), rows)
    return noise


class ExportedGenerator(tf.Module):
    """The generator alone, callable on a float32 noise batch [n, z_size]."""

    def __init__(self, generator, z_size):
        super().__init__(name="infogan_generator")
        self.generator = generator
        self.z_size = tf.constant(z_size)
        self.__call__ = tf.function(
            lambda noise: self.generator(noise, training=False),
            input_signature=[tf.TensorSpec([None, z_size], tf.float32, name="noise")])


def export_generator(models, directory):
    """Writes the generator as a SavedModel; returns the directory."""
    module = ExportedGenerator(models.generator, models.config.z_size)
    tf.saved_model.save(module, directory, signatures=module.__call__.get_concrete_function())
    return directory


def describe_codes(categories=None, continuous=None, sweep=None):
    """A figure title naming the chosen codes, e.g. "categorical code 0 = 3; continuous code 1 swept
    over [-2, 2]"."""
    parts = ["categorical code %d = %d" % (code, value) for code, value in enumerate(categories or [])]
    parts += ["continuous code %d = %g" % (code, value) for code, value in enumerate(continuous or [])
              if code != sweep]
    if sweep is not None:
        parts.append("continuous code %d swept over [%g, %g]" % (sweep, plots.SWEEP[0], plots.SWEEP[1]))
    return "; ".join(parts) or "random codes"


def write_samples(models, noise, path, title="random codes", sweep_labels=None):
    """Generates images from `noise` (inference mode) and writes them as a grid of COLUMNS.

    Args:
      title: the figure's title (see `describe_codes`).
      sweep_labels: column labels when each row sweeps a code.

    Returns:
      the path written.
    """
    images = models.generator(noise_to_tensor(noise), training=False).numpy()
    rows = -(-len(images) // COLUMNS)
    padded = np.ones((rows * COLUMNS,) + images.shape[1:], images.dtype)
    padded[:len(images)] = images
    grid = padded.reshape((rows, COLUMNS) + images.shape[1:])
    plots.save_grid_figure(path, grid, title, sweep_labels)
    return path
