"""`infogan-evaluate` (`python -m infogan evaluate`): how well a trained InfoGAN disentangles.

    infogan-evaluate --logdir mnist_log/infogan
    infogan-evaluate --tf1_checkpoint /tmp/tf1_run/model.ckpt
"""

from absl import flags

from infogan.cli import common
from infogan.config import ConfigError
from infogan.data.idx import FASHION_MNIST

FLAGS = flags.FLAGS
PROGRAM = "evaluate"
DESCRIPTION = (
    "Measures a trained InfoGAN on the 10000 test images of its dataset (MNIST or Fashion-MNIST; "
    "an image folder has no labels to measure against): the Q network's most likely "
    "category of each image, mapped to the labels one-to-one (Hungarian; the InfoGAN paper's "
    "accuracy) and many-to-one; the mapping itself (categories are learned without labels, so "
    "category 3 need not be the digit 3); NMI and ARI; the confusion matrix; and for each "
    "continuous code the correlation between the code and Q's estimate of it on generated images. "
    "Figures go to <logdir>/eval/. The newest usable checkpoint is read (an unreadable one is "
    "skipped with a warning); nothing else is written to the run.")
FLAG_NAMES = ("logdir", "checkpoint", "tf1_checkpoint", "mnist_dir")


def define_flags():
    """Defines this command's flags."""
    flags.DEFINE_string("logdir", None, "Log folder of a run (holds config.json and checkpoints/).")
    flags.DEFINE_string("checkpoint", None, "A checkpoint prefix of that run, e.g. "
                        "<logdir>/checkpoints/ckpt-500 (default: its newest usable one).")
    flags.DEFINE_string("tf1_checkpoint", None, "Evaluate this checkpoint of the TF1 code (trained "
                        "with its default networks) instead of a run of the port.")
    flags.DEFINE_string("mnist_dir", None, "Folder of the test set's IDX files, MNIST or "
                        "Fashion-MNIST as the run trained on (default: the run's).")


def help_page():
    """This command's --help."""
    return common.help_text("usage: infogan-evaluate --logdir DIR [flags]   (or python -m infogan "
                            "evaluate ...)", DESCRIPTION, [("Flags", FLAG_NAMES)])


def run_from_flags():
    """Evaluates what the flags name; returns the results of `evaluate` or `evaluate_tf1_checkpoint`
    (with `figures_error` when the figures could not be written)."""
    if (FLAGS.logdir is None) == (FLAGS.tf1_checkpoint is None):
        raise ConfigError("pass either --logdir, the log folder of a run, or --tf1_checkpoint")
    if FLAGS.tf1_checkpoint is not None and FLAGS.checkpoint is not None:
        raise ConfigError("--checkpoint picks a checkpoint of --logdir; with --tf1_checkpoint leave it out")
    common.import_tensorflow(common.show_tensorflow_logs())
    from infogan.data import DatasetError
    from infogan.tools import evaluate
    from infogan.training.tf1_checkpoint import CheckpointMismatchError
    try:
        if FLAGS.tf1_checkpoint is None:
            return evaluate.evaluate(FLAGS.logdir, FLAGS.checkpoint, FLAGS.mnist_dir)
        return evaluate.evaluate_tf1_checkpoint(FLAGS.tf1_checkpoint, mnist_dir=FLAGS.mnist_dir)
    except evaluate.FiguresNotWritten as error:
        return dict(error.results, figures_error=str(error), figures_skipped="see below")
    except CheckpointMismatchError as error:
        raise ConfigError("--tf1_checkpoint takes the TF1 code's default networks; %s" % error) from None
    except DatasetError as error:
        raise ConfigError(str(error)) from None


def report_lines(results):
    """The printed report of `evaluate`'s results."""
    mapping = ", ".join("%d->%s" % (category, "-" if label is None else label)
                        for category, label in enumerate(results["mapping"]))
    label = "class" if results.get("dataset") == FASHION_MNIST else "digit"
    lines = ["checkpoint: %s" % results["checkpoint"],
             "categorical accuracy, one-to-one (Hungarian): %.2f%%" % (100 * results["one_to_one"]),
             "categorical accuracy, many-to-one: %.2f%%" % (100 * results["many_to_one"]),
             "NMI %.3f, ARI %.3f" % (results["nmi"], results["ari"]),
             "category -> %s (one-to-one): %s" % (label, mapping),
             "confusion matrix (rows: Q category, columns: %s label):" % label,
             str(results["confusion"])]
    lines += ["continuous code %d: correlation(code, Q mean) = %.3f" % (code, value)
              for code, value in enumerate(results.get("continuous_correlations", []))]
    if "figures_skipped" in results:
        lines.append("figures: not written (%s)" % results["figures_skipped"])
    else:
        lines.append("figures: %s" % ", ".join(results["figures"]))
    return lines


def report():
    """Prints the measures of the run the flags name; when only the figures could not be
    written, that is one error line after the results (exit status 2).

    Raises:
      ConfigError: the figures could not be written (the measures are printed first).
    """
    results = run_from_flags()
    print("\n".join(report_lines(results)))
    if "figures_error" in results:  # every measure was taken and printed; only the figures failed
        raise ConfigError("%s; the results above are complete" % results["figures_error"])


def run():
    """Console entry point; bad input is one line with exit status 2."""
    common.run_command(PROGRAM, define_flags, help_page, report)


if __name__ == "__main__":
    run()
