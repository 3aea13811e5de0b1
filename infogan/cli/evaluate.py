"""`infogan-evaluate` (`python -m infogan evaluate`): how well a trained InfoGAN disentangles.

    infogan-evaluate --logdir mnist_log/infogan
    infogan-evaluate --tf1_checkpoint /tmp/tf1_run/model.ckpt
"""
import sys

from absl import app, flags

from infogan.config import ConfigError

FLAGS = flags.FLAGS


def define_flags():
    """Defines this command's flags."""
    flags.DEFINE_string("logdir", None, "Log folder of a run (holds config.json and checkpoints/).")
    flags.DEFINE_string("checkpoint", None, "A checkpoint path (default: the run's newest).")
    flags.DEFINE_string("mnist_dir", None, "MNIST folder (default: the run's).")
    flags.DEFINE_string("tf1_checkpoint", None, "Evaluate this checkpoint of the TF1 code (trained "
                        "with its default networks) instead of a run of the port.")


def run_from_flags():
    """Evaluates what the flags name; returns the results of `evaluate` or `evaluate_tf1_checkpoint`."""
    if (FLAGS.logdir is None) == (FLAGS.tf1_checkpoint is None):
        raise ConfigError("pass either --logdir, the log folder of a run, or --tf1_checkpoint")
    from infogan.tools import evaluate
    from infogan.training.tf1_checkpoint import CheckpointMismatchError
    if FLAGS.tf1_checkpoint is None:
        return evaluate.evaluate(FLAGS.logdir, FLAGS.checkpoint, FLAGS.mnist_dir)
    if FLAGS.checkpoint is not None:
        raise ConfigError("--checkpoint picks a checkpoint of --logdir; with --tf1_checkpoint leave it out")
    try:
        return evaluate.evaluate_tf1_checkpoint(FLAGS.tf1_checkpoint, mnist_dir=FLAGS.mnist_dir)
    except CheckpointMismatchError as error:
        raise ConfigError("--tf1_checkpoint takes the TF1 code's default networks; %s" % error) from None


def main(argv):
    """Prints the measures; errors as one line with exit status 2."""
    del argv
    try:
        results = run_from_flags()
    except ConfigError as error:
        print("evaluate: error: %s" % error, file=sys.stderr)
        sys.exit(2)
    print("checkpoint: %s" % results["checkpoint"])
    print("categorical accuracy, one-to-one (Hungarian): %.2f%%" % (100 * results["one_to_one"]))
    print("categorical accuracy, many-to-one: %.2f%%" % (100 * results["many_to_one"]))
    print("confusion matrix (rows: Q category, columns: digit label):")
    print(results["confusion"])
    for code, value in enumerate(results.get("continuous_correlations", [])):
        print("continuous code %d: correlation(code, Q mean) = %.3f" % (code, value))
    print("figures: %s" % ", ".join(results["figures"]))


def run():
    """Console entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
