"""`infogan-parity` (`python -m infogan.parity`): does the port compute what the TF1 code computed?

    python -m infogan.parity                                  # default networks, batch 64, 20 iterations
    python -m infogan.parity --iterations 5 --batch_size 8
    python -m infogan.parity --tf1_checkpoint run/model.ckpt   # both start from a TF1 checkpoint
    python -m infogan.parity --epochs 1 --max_images 6400      # both whole training loops
    python -m infogan.parity --tf1_repo ~/src/tensorflow-infogan   # the original code, not our reference
    python -m infogan.parity --dataset FOLDER --scale_dataset 64 64 ... --epochs 1   # an image folder

The TF1 side is the TF1-style reference graph (infogan/parity/reference.py) or, with --tf1_repo, an
unmodified checkout of the original code run through infogan/parity/shim.py. Both sides start from
the same weights (the reference's fresh initialisation, the checkout's, or --tf1_checkpoint) and
get the same real batches and noise, drawn in the TF1 code's NumPy order (infogan/parity/runner.py);
an image folder's rows are in the TF1 code's listing order.
Compared: every logged value of every iteration, every image summary of every plot (every 10
iterations unless --plot_every is given), every variable at the end, and with --epochs the
printed epoch lines. Takes the train.py flags. Exit status: 0 when every target is met, 1 when
one is not, 2 for a usage error.
"""

from absl import flags

from infogan.cli import common
from infogan.cli import train as train_cli
from infogan.config import ConfigError, config_fields, preflight
from infogan.data import TF1_ORDER
from infogan.model.architecture import parse_architecture
from infogan.model.options import BEYOND_TF1
from infogan.parity import IMAGE_RACE_LEVELS

FLAGS = flags.FLAGS
PROGRAM = "infogan-parity"  # in messages when sys.argv names no program
PARITY_PLOT_EVERY = 10  # --plot_every unless given: the comparison sees plots early
OWN_FLAGS = ("iterations", "tf1_repo", "forward_tolerance", "objective_tolerance",
             "parameter_tolerance", "image_tolerance")
DESCRIPTION = (
    "Does the port compute what the TF1 code computed? Runs the TF1 side (the TF1-style reference "
    "graph, or with --tf1_repo an unmodified checkout of the original code) and the port from the "
    "same state on the same batches and noise, and compares every logged value of every iteration, "
    "every image summary (plots every 10 iterations unless --plot_every is given), every variable "
    "at the end, and with --epochs both training loops' epoch lines. Takes train.py's flags for the "
    "model and data. Exit status: 0 every target met, 1 one is not, 2 bad input.")


def define_flags():
    """The train.py flags, plus the comparison's own."""
    train_cli.define_flags()
    flags.DEFINE_integer("iterations", 20, "Iterations to compare (without --epochs), on the first "
                         "iterations x batch_size images (fewer with --max_images).")
    flags.DEFINE_float("forward_tolerance", 1e-5, "Largest absolute difference of forward outputs.")
    flags.DEFINE_float("objective_tolerance", 1e-4,
                       "Largest relative difference of the logged values at any iteration.")
    flags.DEFINE_float("parameter_tolerance", 1e-3,
                       "Largest relative difference of any variable after the iterations.")
    flags.DEFINE_float("image_tolerance", 1.0, "Largest difference of an image summary's pixels, "
                       "in 1/255 steps. With --tf1_repo on an image folder or with several "
                       "categorical codes, larger differences up to %g steps are warnings when "
                       "every other target is met: the TF1 code's plots race with its batch-norm "
                       "update, so run the TF1 side on a quiet machine to compare images."
                       % IMAGE_RACE_LEVELS)
    flags.DEFINE_string("tf1_repo", None, "Compare with this checkout of the original TF1 code "
                        "(run through infogan/parity/shim.py) instead of the TF1 reference graph.")


# What parity runs where it sets a train.py flag otherwise (its --help shows these).
PARITY_DEFAULTS = {
    "epochs": "none (--iterations iterations; N: N whole epochs of both training loops)",
    "max_images": "none (--iterations x --batch_size images; with --epochs, all)",
    "plot_every": str(PARITY_PLOT_EVERY),
}


def help_page():
    """This command's --help."""
    return common.help_text(
        "usage: python -m infogan.parity [flags]   (installed: infogan-parity [flags])",
        DESCRIPTION, [("The comparison", OWN_FLAGS),
                      ("train.py's flags (model, data, seed; --epochs compares whole training "
                       "loops)", train_cli.TF1_FLAGS + ("mnist_dir", "tf1_checkpoint"))],
        defaults=PARITY_DEFAULTS)


def check_tf1_computation(config):
    """Refuses settings that the TF1 code has no counterpart of (the comparison would be moot).

    Raises:
      ConfigError naming them.
    """
    model = config.model
    beyond = []
    for part, field in config_fields():
        value = getattr(getattr(config, part), field.name)
        if field.metadata["group"] == BEYOND_TF1 and value != field.default:
            beyond.append("--%s" % field.name if value is True else "--%s %s" % (field.name, value))
    beyond += [flag for flag, used in (
        ("--image_order %s" % config.data.image_order, config.data.image_order != TF1_ORDER),
        (":bn / :nobn in --generator or --discriminator", any(
            spec.batch_norm is not None for description in (model.generator, model.discriminator)
            for spec in parse_architecture(description))))
        if used]
    if beyond:
        raise ConfigError("parity compares the TF1 code's computation, which has no %s; drop it"
                          % ", no ".join(beyond))


def compare_from_flags():
    """Runs the comparison the flags ask for. Returns the exit status: 0 every target met, 1 one
    is not.

    Raises:
      ConfigError, ArchitectureError: bad flags (before TensorFlow is imported).
    """
    config = train_cli.config_from_flags()
    if not FLAGS["plot_every"].present:  # plot within the default 20 iterations too
        config = config.replace(plot_every=PARITY_PLOT_EVERY)
    preflight(config)
    check_tf1_computation(config)
    if FLAGS.iterations <= 0:
        raise ConfigError("--iterations must be a positive integer, got %d" % FLAGS.iterations)
    common.import_tensorflow(common.show_tensorflow_logs())
    return 0 if _run(config) else 1


def _run(config):
    from infogan.parity.compare import Tolerances
    from infogan.data import DatasetError
    from infogan.parity import runner
    tolerances = Tolerances(FLAGS.forward_tolerance, FLAGS.objective_tolerance,
                            FLAGS.parameter_tolerance, FLAGS.image_tolerance)
    try:
        return runner.run(config, FLAGS.iterations, tolerances, FLAGS.tf1_repo,
                          epoch_mode=FLAGS["epochs"].present)
    except DatasetError as error:
        raise ConfigError(str(error)) from None


def run():
    """Console entry point."""
    common.run_command(PROGRAM, define_flags, help_page, compare_from_flags,
                       train_cli.join_list_arguments)


if __name__ == "__main__":
    run()
