"""Generate images from a trained run: `python -m infogan.sample --logdir DIR`.

    python -m infogan.sample --logdir mnist_log/infogan --num 20 --category 3 --out threes.png
    python -m infogan.sample --logdir mnist_log/infogan --continuous 0.5,-1 --out fixed.png
    python -m infogan.sample --logdir mnist_log/infogan --sweep 0 --out sweep.png
    python -m infogan.sample --logdir mnist_log/infogan --export generator_savedmodel

The generator runs in inference mode, as for the TF1 code's TensorBoard images. `--export` writes
a SavedModel usable without this package: `tf.saved_model.load(DIR)(noise)` -> images.
"""
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags

from infogan import plots
from infogan.config import ConfigError
from infogan.evaluate import restore_models
from infogan.model import noise_to_tensor
from infogan.training import make_noise_sampler

COLUMNS = 10


def parse_values(text, count, kind, name):
    """Parses `--name a,b,...` into `count` numbers of `kind`; None when not given."""
    if text is None:
        return None
    try:
        values = [kind(value) for value in text.split(",")]
    except ValueError:
        raise ConfigError("--%s takes %d comma-separated numbers, got %r" % (name, count, text)) from None
    if len(values) != count:
        raise ConfigError("--%s takes %d values (one per code), got %d" % (name, count, len(values)))
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
    noise = make_noise_sampler(model_config)(num)
    if not model_config.infogan:
        return noise
    offset = 0
    for code, cardinality in enumerate(model_config.categorical_cardinality):
        if categories is not None:
            if not 0 <= categories[code] < cardinality:
                raise ConfigError("--category %d is outside 0..%d" % (categories[code], cardinality - 1))
            noise[:, offset:offset + cardinality] = np.eye(cardinality)[categories[code]]
        offset += cardinality
    if continuous is not None:
        noise[:, offset:offset + model_config.num_continuous] = continuous
    if sweep is not None:
        if not 0 <= sweep < model_config.num_continuous:
            raise ConfigError("--sweep must name a continuous code 0..%d" % (model_config.num_continuous - 1))
        rows = -(-num // COLUMNS)
        noise = np.repeat(noise[:rows], COLUMNS, axis=0)  # each row: one sample, swept
        noise[:, offset + sweep] = np.tile(np.linspace(plots.SWEEP[0], plots.SWEEP[1], COLUMNS), rows)
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

FLAGS = flags.FLAGS


def define_flags():
    """Defines this command's flags (only when run as a program)."""
    flags.DEFINE_string("logdir", None, "Log folder of a run.")
    flags.DEFINE_string("checkpoint", None, "A checkpoint path (default: the run's newest).")
    flags.DEFINE_integer("num", 20, "Number of images.")
    flags.DEFINE_string("category", None, "Category per categorical code, e.g. 3 (or 3,1 with two codes).")
    flags.DEFINE_string("continuous", None, "Value per continuous code, e.g. 0.5,-1.")
    flags.DEFINE_integer("sweep", None, "Sweep this continuous code over [-2, 2] along each row.")
    flags.DEFINE_integer("seed", 0, "NumPy seed of the random codes.")
    flags.DEFINE_string("out", "samples.png", "PNG to write.")
    flags.DEFINE_string("export", None, "Also write the generator as a SavedModel here.")



def run(argv):
    """Generates the requested images (and the export); returns the files written."""
    del argv
    if FLAGS.logdir is None:
        raise ConfigError("pass --logdir, the log folder of a run")
    config, models, _ = restore_models(FLAGS.logdir, FLAGS.checkpoint)
    model = config.model
    categories = parse_values(FLAGS.category, len(model.categorical_cardinality), int, "category")
    continuous = parse_values(FLAGS.continuous, model.num_continuous, float, "continuous")
    noise = make_noise(model, FLAGS.num, categories, continuous, FLAGS.sweep, FLAGS.seed)
    images = models.generator(noise_to_tensor(noise), training=False).numpy()
    rows = -(-len(images) // COLUMNS)
    padded = np.ones((rows * COLUMNS,) + images.shape[1:], images.dtype)
    padded[:len(images)] = images
    grid = padded.reshape((rows, COLUMNS) + images.shape[1:])
    labels = plots.sweep_labels(COLUMNS) if FLAGS.sweep is not None else None
    plots.save_grid_figure(FLAGS.out, grid, "samples", labels)
    written = [FLAGS.out]
    if FLAGS.export:
        written.append(export_generator(models, FLAGS.export))
    return written


def main(argv):
    try:
        print("\n".join("wrote %s" % path for path in run(argv)))
    except ConfigError as error:
        print("sample: error: %s" % error, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
