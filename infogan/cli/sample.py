"""`infogan-sample` (`python -m infogan sample`): images from a trained run, and its generator
exported as a SavedModel.

    infogan-sample --logdir mnist_log/infogan --num 20 --category 3 --out category3.png
    infogan-sample --logdir mnist_log/infogan --continuous 0.5,-1 --out fixed.png
    infogan-sample --logdir mnist_log/infogan --sweep 0 --out sweep.png
    infogan-sample --logdir mnist_log/infogan --export generator_savedmodel
"""
import sys

from absl import app, flags

from infogan.config import ConfigError

FLAGS = flags.FLAGS


def define_flags():
    """Defines this command's flags."""
    flags.DEFINE_string("logdir", None, "Log folder of a run.")
    flags.DEFINE_string("checkpoint", None, "A checkpoint path (default: the run's newest).")
    flags.DEFINE_integer("num", 20, "Number of images.")
    flags.DEFINE_string("category", None, "Category per categorical code, e.g. 3 (or 3,1 with two codes).")
    flags.DEFINE_string("continuous", None, "Value per continuous code, e.g. 0.5,-1.")
    flags.DEFINE_integer("sweep", None, "Sweep this continuous code over [-2, 2] along each row.")
    flags.DEFINE_integer("seed", 0, "NumPy seed of the random codes.")
    flags.DEFINE_string("out", "samples.png", "PNG to write.")
    flags.DEFINE_string("export", None, "Also write the generator as a SavedModel here.")


def run_from_flags():
    """Generates the requested images (and the export); returns the files written."""
    if FLAGS.logdir is None:
        raise ConfigError("pass --logdir, the log folder of a run")
    from infogan import plots
    from infogan.tools import sample
    from infogan.tools.evaluate import restore_models
    config, models, _ = restore_models(FLAGS.logdir, FLAGS.checkpoint)
    model = config.model
    categories = sample.parse_values(FLAGS.category, len(model.categorical_cardinality), int, "category")
    continuous = sample.parse_values(FLAGS.continuous, model.num_continuous, float, "continuous")
    noise = sample.make_noise(model, FLAGS.num, categories, continuous, FLAGS.sweep, FLAGS.seed)
    labels = plots.sweep_labels(sample.COLUMNS) if FLAGS.sweep is not None else None
    written = [sample.write_samples(models, noise, FLAGS.out, labels)]
    if FLAGS.export:
        written.append(sample.export_generator(models, FLAGS.export))
    return written


def main(argv):
    """Prints the files written; errors as one line with exit status 2."""
    del argv
    try:
        print("\n".join("wrote %s" % path for path in run_from_flags()))
    except ConfigError as error:
        print("sample: error: %s" % error, file=sys.stderr)
        sys.exit(2)


def run():
    """Console entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
