"""`infogan-sample` (`python -m infogan sample`): images from a trained run, and its generator
exported as a SavedModel.

    infogan-sample --logdir mnist_log/infogan --num 20 --category 3 --out category3.png
    infogan-sample --logdir mnist_log/infogan --continuous 0.5,-1 --out fixed.png
    infogan-sample --logdir mnist_log/infogan --sweep 0 --out sweep.png
    infogan-sample --logdir mnist_log/infogan --export generator_savedmodel
"""
import os

from absl import flags

from infogan.cli import common
from infogan.config import ConfigError, unwritable_reason
from infogan.plots import MAX_GRID_ROWS, ROW_SIZE

FLAGS = flags.FLAGS
PROGRAM = "sample"
DESCRIPTION = (
    "Generates images from a trained run (its newest usable checkpoint), with chosen or random "
    "codes, as one PNG grid of 10 columns whose title names the chosen codes. Categories are learned "
    "without labels: --category 3 is the generator's category 3, not the digit 3 (infogan-evaluate "
    "prints which digit each category came to mean). --export also writes the generator as a "
    "SavedModel that needs nothing from this package: tf.saved_model.load(DIR)(noise) -> images.")
FLAG_NAMES = ("logdir", "checkpoint", "num", "category", "continuous", "sweep", "seed", "out", "export")


def define_flags():
    """Defines this command's flags."""
    flags.DEFINE_string("logdir", None, "Log folder of a run.")
    flags.DEFINE_string("checkpoint", None, "A checkpoint prefix of that run (default: its newest "
                        "usable one).")
    flags.DEFINE_integer("num", 20, "Number of images (rounded up to whole rows with --sweep), at "
                         "most %d: %d rows of %d, the tallest PNG Matplotlib draws." % (
                             MAX_GRID_ROWS * ROW_SIZE, MAX_GRID_ROWS, ROW_SIZE))
    flags.DEFINE_string("category", None, "The value of each categorical code, e.g. 3, or 3,1 with "
                        "two codes (a learned category, not a digit label). Default: random.")
    flags.DEFINE_string("continuous", None, "The value of each continuous code, e.g. 0.5,-1 "
                        "(training drew them from [-1, 1]). Default: random.")
    flags.DEFINE_integer("sweep", None, "Sweep this continuous code over [-2, 2] along each row.")
    flags.DEFINE_integer("seed", 0, "NumPy seed of the random codes and noise.")
    flags.DEFINE_string("out", "samples.png", "The PNG to write (its folder must exist).")
    flags.DEFINE_string("export", None, "Also write the generator as a SavedModel in this new (or "
                        "empty) folder.")


def help_page():
    """This command's --help."""
    return common.help_text("usage: infogan-sample --logdir DIR [flags]   (or python -m infogan "
                            "sample ...)", DESCRIPTION, [("Flags", FLAG_NAMES)])


def check_flags():
    """Refuses flag values that cannot work, before anything is loaded.

    Raises:
      ConfigError.
    """
    if FLAGS.logdir is None:
        raise ConfigError("pass --logdir, the log folder of a run")
    if not 1 <= FLAGS.num <= MAX_GRID_ROWS * ROW_SIZE:
        raise ConfigError("--num must be an integer from 1 to %d (%d rows of %d images, the tallest "
                          "PNG Matplotlib draws), got %d" % (MAX_GRID_ROWS * ROW_SIZE, MAX_GRID_ROWS,
                                                            ROW_SIZE, FLAGS.num))
    if not 0 <= FLAGS.seed < 2 ** 32:
        raise ConfigError("--seed must be an integer from 0 to 2**32 - 1 (NumPy's range), got %d"
                          % FLAGS.seed)
    _check_out(FLAGS.out)
    if FLAGS.export is not None:
        _check_export(FLAGS.export)


def _check_out(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError("--out %s: the folder %s does not exist; create it or pick another --out"
                          % (path, folder))
    if os.path.isdir(path):
        raise ConfigError("--out %s is a folder; pass the path of a .png file" % path)
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path)
                                                    and not os.access(path, os.W_OK)):
        raise ConfigError("--out %s cannot be written: %s is not writable; pick an --out in a "
                          "folder you can write to" % (path, path if os.path.exists(path) else folder))


def _check_export(path):
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise ConfigError("--export %s already exists and is not an empty folder; pass a new folder "
                          "so nothing is overwritten" % path)
    reason = unwritable_reason(path)
    if reason is not None:
        raise ConfigError("--export %s cannot be written: %s; pass a folder you can write to"
                          % (path, reason))


def run_from_flags():
    """Generates the requested images (and the export); returns the files written."""
    check_flags()
    common.import_tensorflow(common.show_tensorflow_logs())
    from infogan import plots
    from infogan.tools import sample
    from infogan.tools.evaluate import restore_models
    config, models, _ = restore_models(FLAGS.logdir, FLAGS.checkpoint)
    model = config.model
    categories = sample.parse_values(FLAGS.category, len(model.categorical_cardinality), int, "category")
    continuous = sample.parse_values(FLAGS.continuous, model.num_continuous, float, "continuous")
    noise = sample.make_noise(model, FLAGS.num, categories, continuous, FLAGS.sweep, FLAGS.seed)
    labels = plots.sweep_labels(sample.COLUMNS) if FLAGS.sweep is not None else None
    title = sample.describe_codes(categories, continuous, FLAGS.sweep)
    written = [sample.write_samples(models, noise, FLAGS.out, title, labels)]
    if FLAGS.export:
        written.append(sample.export_generator(models, FLAGS.export))
    return written


def report():
    """Writes what the flags ask for and prints the files written."""
    print("\n".join("wrote %s" % path for path in run_from_flags()))


def run():
    """Console entry point; bad input is one line with exit status 2."""
    common.run_command(PROGRAM, define_flags, help_page, report)


if __name__ == "__main__":
    run()
