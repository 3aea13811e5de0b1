"""The flags of the TF1 train.py (docs/tf1_semantics.md §8), and the absl entry point.

List flags take `--scale_dataset=64,64` and also the original space-separated form
`--scale_dataset 64 64`; booleans take `--X` and `--noX`.
"""
import dataclasses
import os
import signal
import sys

from absl import app, flags
from absl import logging as absl_logging

from infogan.model.architecture import ArchitectureError
from infogan.config import DEFAULT_MNIST_DIR, ConfigError, TrainConfig
from infogan.config import validate
from infogan.data import DEFAULT_FASHION_MNIST_DIR
from infogan.model.config import DEFAULT_DISCRIMINATOR, DEFAULT_GENERATOR, ModelConfig

FLAGS = flags.FLAGS
LIST_FLAGS = ("scale_dataset", "categorical_cardinality")
USAGE_ERROR = 2


def define_flags():
    """Defines the original flags with their names, types and defaults, plus --logdir and --mnist_dir."""
    flags.DEFINE_integer("epochs", 100, "Number of passes over the data.")
    flags.DEFINE_string("dataset", None, "Folder of .png/.jpg images, or fashion_mnist; MNIST when "
                        "not given.")
    flags.DEFINE_integer("max_images", None, "Use at most this many images.")
    flags.DEFINE_list("scale_dataset", ["28", "28"], "Resize images to WIDTH,HEIGHT.")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_float("generator_lr", 1e-3, "Generator (and mutual information) learning rate.")
    flags.DEFINE_float("discriminator_lr", 2e-4, "Discriminator learning rate.")
    flags.DEFINE_float("categorical_lambda", 1.0, "Weight of the categorical log-likelihood.")
    flags.DEFINE_float("continuous_lambda", 1.0, "Weight of the continuous log-likelihood.")
    flags.DEFINE_list("categorical_cardinality", ["10"],
                      "Cardinality of the categorical variables used in the generator.")
    flags.DEFINE_string("generator", DEFAULT_GENERATOR, "Generator network architecture.")
    flags.DEFINE_string("discriminator", DEFAULT_DISCRIMINATOR,
                        "Discriminator network architecture, except last layer.")
    flags.DEFINE_integer("num_continuous", 2, "Number of continuous latent codes.")
    flags.DEFINE_integer("seed", 1234, "Seed of NumPy (as in TF1) and also of TF.")
    flags.DEFINE_integer("style_size", 62, "Width of the incompressible style noise.")
    flags.DEFINE_integer("plot_every", 200, "How often should plots be made (note: slow + costly).")
    flags.DEFINE_boolean("infogan", True, "Train GAN or InfoGAN.")
    flags.DEFINE_boolean("use_batch_norm", True, "Use batch normalization.")
    flags.DEFINE_boolean("fix_std", True, "Fix continuous var standard deviation to 1.")
    flags.DEFINE_boolean("force_grayscale", False, "Convert images to single grayscale output channel.")
    flags.DEFINE_string("logdir", None, "Log folder (default: <dataset>_log/<infogan|gan>[-k] "
                        "next to train.py); must be new or empty.")
    flags.DEFINE_string("mnist_dir", DEFAULT_MNIST_DIR, "Folder holding the MNIST IDX .gz files.")
    flags.DEFINE_string("tf1_checkpoint", None, "Start from this checkpoint of the TF1 code (its "
                        "prefix or folder): weights, batch-norm statistics, learning rates, Adam state.")
    flags.DEFINE_integer("checkpoint_every", 500, "Iterations between checkpoints (also saved at "
                         "every epoch end) in <logdir>/checkpoints.")
    flags.DEFINE_integer("max_iterations", None, "Stop, with a checkpoint, after this many iterations.")
    flags.DEFINE_string("resume", None, "Continue a run from its newest checkpoint: --resume=LOGDIR, "
                        "or bare --resume for the newest default run. Other flags but --epochs and "
                        "--jit_compile are taken from the run's config.json.")
    flags.DEFINE_boolean("jit_compile", False, "Compile the training step with XLA. Off by default: "
                         "its fused kernels round differently, so the run is no longer bit-identical "
                         "to TF1 (see the README's Speed section for when it pays).")
    flags.DEFINE_string("fashion_mnist_dir", DEFAULT_FASHION_MNIST_DIR,
                        "Folder holding the Fashion-MNIST IDX .gz files (--dataset fashion_mnist).")
    flags.DEFINE_string("cache_dir", None, "Image folders: keep the decoded, resized images in this "
                        "folder (built before training, reused by later runs).")


def join_list_arguments(argv, list_flags=LIST_FLAGS):
    """Rewrites `--name a b c` (argparse nargs style) into `--name=a,b,c` for each list flag,
    and a bare `--resume` (no value) into `--resume=`."""
    result, index = [], 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--resume" and (index == len(argv) or argv[index].startswith("-")):
            argument = "--resume="
        elif argument.lstrip("-") in list_flags and argument.startswith("--"):
            values = []
            while index < len(argv) and not argv[index].startswith("-"):
                values.append(argv[index].strip(","))
                index += 1
            argument = "%s=%s" % (argument, ",".join(values))
        result.append(argument)
    return result


def parse_flags(argv):
    """absl flags parser for app.run: accepts the space-separated list form, exits 2 on bad flags."""
    try:
        return FLAGS(join_list_arguments(argv))
    except flags.Error as error:
        fail(str(error))


def fail(message):
    """Prints one error line and exits with status 2."""
    print("train.py: error: %s" % message, file=sys.stderr)
    sys.exit(USAGE_ERROR)


def _integers(name):
    try:
        return tuple(int(value) for value in getattr(FLAGS, name))
    except ValueError:
        fail("--%s takes integers, got %s" % (name, ",".join(getattr(FLAGS, name))))


def config_from_flags():
    """Builds a TrainConfig from the parsed flags (from the run's config.json with --resume)."""
    if FLAGS.resume is not None:
        from infogan.training import checkpoints  # noqa: imports TensorFlow, fine once flags parsed
        log_dir = FLAGS.resume or checkpoints.latest_run(
            os.getcwd(), TrainConfig(dataset=FLAGS.dataset).dataset_name, FLAGS.infogan)
        config = checkpoints.resume_config(log_dir, FLAGS.epochs if FLAGS["epochs"].present else None)
        if FLAGS["jit_compile"].present:  # a speed setting: may change between sessions
            config = dataclasses.replace(config, jit_compile=FLAGS.jit_compile)
        return config
    model = ModelConfig(
        generator=FLAGS.generator, discriminator=FLAGS.discriminator,
        categorical_cardinality=_integers("categorical_cardinality"),
        num_continuous=FLAGS.num_continuous, style_size=FLAGS.style_size,
        use_batch_norm=FLAGS.use_batch_norm, fix_std=FLAGS.fix_std, infogan=FLAGS.infogan,
        categorical_lambda=FLAGS.categorical_lambda, continuous_lambda=FLAGS.continuous_lambda)
    return TrainConfig(
        model=model, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        generator_lr=FLAGS.generator_lr, discriminator_lr=FLAGS.discriminator_lr,
        plot_every=FLAGS.plot_every, seed=FLAGS.seed, dataset=FLAGS.dataset,
        mnist_dir=FLAGS.mnist_dir, max_images=FLAGS.max_images,
        scale_dataset=_integers("scale_dataset"), force_grayscale=FLAGS.force_grayscale,
        logdir=FLAGS.logdir, tf1_checkpoint=FLAGS.tf1_checkpoint,
        fashion_mnist_dir=FLAGS.fashion_mnist_dir, cache_dir=FLAGS.cache_dir,
        checkpoint_every=FLAGS.checkpoint_every, max_iterations=FLAGS.max_iterations,
        jit_compile=FLAGS.jit_compile)


def main(argv):
    """Entry point of train.py: train with the flags, errors as one line with exit status 2."""
    if len(argv) > 1:
        fail("unexpected arguments %s" % " ".join(argv[1:]))
    if not FLAGS["verbosity"].present:
        absl_logging.set_verbosity(absl_logging.WARNING)  # TF's INFO lines would break the TF1 output
    # SIGTERM ends the run like Ctrl-C: logs are flushed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        config = config_from_flags()
        validate(config)  # before TensorFlow is imported: a bad flag prints one line only
    except (ConfigError, ArchitectureError) as error:
        fail(str(error))
    from infogan.data import DatasetError
    from infogan.training.loop import TrainingDiverged, train
    try:
        train(config)
    except (ConfigError, DatasetError, ArchitectureError) as error:
        fail(str(error))
    except TrainingDiverged as error:
        print("train.py: error: %s" % error, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted: the TensorBoard logs written so far are on disk.", file=sys.stderr)
        sys.exit(130)


def run():
    """Console entry point (`infogan-train`, `python train.py`)."""
    define_flags()
    app.run(main, flags_parser=parse_flags)
