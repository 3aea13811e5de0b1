"""`python train.py` / `infogan-train`: the flags of the TF1 train.py (docs/tf1_semantics.md §8),
the port's additions, and the entry point.

List flags take the original space-separated form `--scale_dataset 64 64` and also
`--scale_dataset=64,64`; booleans take `--X` and `--noX`. Every flag is checked before TensorFlow
loads; bad input is one line `<program>: error: ...` (the program as typed: `train.py`,
`infogan-train`, ...) with exit status 2. A run that ends ends by saying where its logs are and
what to run next.
"""
import glob
import os
import re
import shlex
import sys

from absl import app, flags

from infogan.cli import common
from infogan.config import (ALLREDUCE_PRECISIONS, DEFAULT_MNIST_DIR, DISTRIBUTION_STRATEGIES,
                            MAX_CPU_DEVICES, PRECISIONS, RECIPES, ConfigError, TrainConfig,
                            resumed_config, validate, with_recipe)
from infogan.data import DEFAULT_FASHION_MNIST_DIR, IMAGE_ORDERS, TF1_ORDER
from infogan.model.architecture import ArchitectureError
from infogan.model.config import (DEFAULT_DISCRIMINATOR, DEFAULT_GENERATOR, MUTUAL_INFO_LOSSES,
                                  SEPARATE_UPDATE, ModelConfig)
from infogan.model.noise import STYLE_NOISES
from infogan.training.launch import execution_policy

FLAGS = flags.FLAGS
PROGRAM = "infogan-train"  # in messages when sys.argv names no program
LIST_FLAGS = ("scale_dataset", "categorical_cardinality")
TF1_FLAGS = ("epochs", "dataset", "max_images", "scale_dataset", "batch_size", "generator_lr",
             "discriminator_lr", "categorical_lambda", "continuous_lambda",
             "categorical_cardinality", "generator", "discriminator", "num_continuous", "seed",
             "style_size", "plot_every", "infogan", "use_batch_norm", "fix_std", "force_grayscale")
PORT_FLAGS = ("logdir", "resume", "max_iterations", "checkpoint_every", "status_every",
              "mnist_dir", "fashion_mnist_dir", "cache_dir", "image_order", "tf1_checkpoint")
BEYOND_TF1_FLAGS = ("recipe", "mutual_info_loss", "style_noise", "fast", "precision", "jit_compile",
                    "distribution_strategy", "num_gpus", "num_cpu_devices", "worker_timeout",
                    "tpu", "allreduce_precision")
# What may change when a run is resumed: how long it trains and how fast, not what it models.
RESUME_FLAGS = ("resume", "epochs", "max_iterations", "checkpoint_every", "status_every",
                "jit_compile", "fast", "distribution_strategy", "num_gpus", "num_cpu_devices",
                "worker_timeout", "tpu", "allreduce_precision", "verbosity")
DESCRIPTION = (
    "Trains InfoGAN on MNIST (shipped with the package) or a folder of images, computing, printing "
    "and logging what the TF1 code did. The defaults are the TF1 code's: 100 epochs of 860 "
    "iterations, with checkpoints of about 160 MB each (3 kept). How long that takes depends on "
    "the machine: an epoch took 4 to 5.3 minutes on 2 cores of an AMD EPYC (Zen 4), 13 on 2 "
    "cores of an older one (AVX2), so 7 to 22 hours for the 100. For a first try: --epochs 1 "
    "--max_images 10000 --plot_every 50 (157 iterations, images every 50). "
    "Logs go to ./mnist_log/infogan (TensorBoard: tensorboard --logdir mnist_log); Ctrl-C stops "
    "with a checkpoint that --resume continues.")


def define_flags():
    """Defines the TF1 code's flags (names, types, defaults) and the port's additions."""
    flags.DEFINE_integer("epochs", 100, "Passes over the data.")
    flags.DEFINE_string("dataset", None, "A folder of .png/.jpg images (searched recursively), or "
                        "fashion_mnist; the shipped MNIST when not given.")
    flags.DEFINE_integer("max_images", None, "Use at most this many images (MNIST: the first N of "
                         "its 55000 training images; a folder: a seeded random sample).")
    flags.DEFINE_list("scale_dataset", ["28", "28"], "Resize images to WIDTH HEIGHT (image folders "
                      "only; MNIST is 28 28).")
    flags.DEFINE_integer("batch_size", 64, "Images per batch.")
    flags.DEFINE_float("generator_lr", 1e-3, "Adam learning rate of the generator and of the "
                       "mutual-information update (which also moves D and Q).")
    flags.DEFINE_float("discriminator_lr", 2e-4, "Adam learning rate of the discriminator.")
    flags.DEFINE_float("categorical_lambda", 1.0, "Weight of the categorical codes' "
                       "log-likelihood in the mutual-information loss.")
    flags.DEFINE_float("continuous_lambda", 1.0, "Weight of the continuous codes' log-likelihood "
                       "in the mutual-information loss.")
    flags.DEFINE_list("categorical_cardinality", ["10"], "Number of values of each categorical "
                      "latent code, e.g. 10, or 20 20 20 for three codes; none is allowed.")
    flags.DEFINE_string("generator", DEFAULT_GENERATOR, "Generator architecture: comma-separated "
                        "conv:K:S:N[:act], deconv:K:S:N[:act], fc:N[:act], reshape:d1:d2:... "
                        "(batch norm on every layer but the last).")
    flags.DEFINE_string("discriminator", DEFAULT_DISCRIMINATOR, "Discriminator architecture, as "
                        "--generator, without its last layer (a dense 1 with a sigmoid is added).")
    flags.DEFINE_integer("num_continuous", 2, "Number of continuous latent codes (uniform in "
                         "[-1, 1]).")
    flags.DEFINE_integer("seed", 1234, "Seed of NumPy's generator (draws noise and batches, as in "
                         "TF1) and of TensorFlow's initialisers (the TF1 code left those unseeded).")
    flags.DEFINE_integer("style_size", 62, "Width of the incompressible (style) noise.")
    flags.DEFINE_integer("plot_every", 200, "Iterations between TensorBoard image plots (each "
                         "also saved as a PNG under <logdir>/images).")
    flags.DEFINE_boolean("infogan", True, "Train InfoGAN (latent codes and the Q network); "
                         "--noinfogan trains a plain GAN.")
    flags.DEFINE_boolean("use_batch_norm", True, "Batch normalisation in G and D.")
    flags.DEFINE_boolean("fix_std", True, "Fix the continuous codes' standard deviation to 1 "
                         "(--nofix_std: Q also predicts it).")
    flags.DEFINE_boolean("force_grayscale", False, "Convert images to one channel (image folders).")
    flags.DEFINE_string("logdir", None, "Log folder: must be new or empty. Default: "
                        "./<dataset>_log/<infogan|gan>, else the first free of ...-0, ...-1.")
    flags.DEFINE_string("resume", None, "Continue a run from its newest checkpoint: --resume=LOGDIR, "
                        "or bare --resume for the newest default run here. The run's flags come "
                        "from its config.json; %s may be given anew." % ", ".join(
                            "--" + name for name in RESUME_FLAGS if name not in ("resume", "verbosity")))
    flags.DEFINE_integer("max_iterations", None, "Stop, with a checkpoint, after this many "
                         "iterations in all.")
    flags.DEFINE_integer("checkpoint_every", 500, "Iterations between checkpoints (also written at "
                         "every epoch end and on Ctrl-C/SIGTERM) in <logdir>/checkpoints.")
    flags.DEFINE_integer("status_every", 120, "When the output is not a terminal: seconds between "
                         "status lines (0: none). On a terminal a progress bar is drawn instead.")
    flags.DEFINE_string("mnist_dir", DEFAULT_MNIST_DIR, "Folder of the four MNIST IDX .gz files.")
    flags.DEFINE_string("fashion_mnist_dir", DEFAULT_FASHION_MNIST_DIR,
                        "Folder of the four Fashion-MNIST IDX .gz files (--dataset fashion_mnist).")
    flags.DEFINE_string("cache_dir", None, "Image folders: keep the decoded, resized images in this "
                        "folder (built before training, reused by later runs).")
    flags.DEFINE_enum("image_order", TF1_ORDER, list(IMAGE_ORDERS), "Image folders' row order, "
                      "which fixes every batch: tf1 (the TF1 code's: os.walk, each folder's files "
                      "as the file system lists them) or sorted (the same on every machine).")
    flags.DEFINE_string("tf1_checkpoint", None, "Start from this checkpoint of the TF1 code (its "
                        "prefix or folder): weights, batch-norm statistics, learning rates, Adam state.")
    flags.DEFINE_boolean("jit_compile", False, "Compile the training step with XLA. Not "
                         "bit-identical to the TF1 code (its kernels round differently).")
    flags.DEFINE_enum("recipe", "tf1", list(RECIPES), "A named set of flag values: tf1 (the TF1 "
                      "code's defaults) or paper (the InfoGAN paper's MNIST setup, see "
                      "docs/training.md); flags given explicitly override it.")
    flags.DEFINE_enum("mutual_info_loss", SEPARATE_UPDATE, list(MUTUAL_INFO_LOSSES), "Where the "
                      "mutual-information loss goes: separate (the TF1 code: its own update of G, "
                      "D and Q with G's Adam) or gan_losses (openai/InfoGAN: subtracted from D's and "
                      "G's losses; D's Adam then also updates Q).")
    flags.DEFINE_enum("style_noise", "normal", list(STYLE_NOISES), "The style noise's "
                      "distribution: normal (the TF1 code's N(0, 1)) or uniform (openai/InfoGAN's "
                      "U(-1, 1)).")
    flags.DEFINE_boolean("fast", False, "Faster kernels for the same maths: TensorFlow's fused batch "
                         "norm, a native leaky ReLU and oneDNN's CPU kernels. Results agree with "
                         "the default to float32 rounding, not bit for bit.")
    flags.DEFINE_enum("distribution_strategy", "off", list(DISTRIBUTION_STRATEGIES), "Train on "
                      "several devices with tf.distribute: off (one device, as the TF1 code), "
                      "one_device, mirrored (the devices of this host), multi_worker_mirrored "
                      "(several hosts, from TF_CONFIG) or tpu (see --tpu); batch statistics and "
                      "objectives over the global --batch_size.")
    flags.DEFINE_string("tpu", None, "--distribution_strategy tpu: the TPU's name, grpc:// "
                        "address, or local on a TPU VM (default: the TPU_NAME variable).")
    flags.DEFINE_enum("allreduce_precision", "float32", list(ALLREDUCE_PRECISIONS), "With a "
                      "strategy of several replicas: exchange gradients between them in float32, "
                      "or in bfloat16 (half the bytes; rounds each gradient to 8 bits of "
                      "mantissa).")
    flags.DEFINE_integer("num_gpus", 0, "With a strategy: the local GPUs to use (0: the CPU).")
    flags.DEFINE_float("worker_timeout", 300, "multi_worker_mirrored: seconds to wait for every "
                       "worker to come up, and for a worker that stops answering; tpu: for the "
                       "TPU system.")
    flags.DEFINE_integer("num_cpu_devices", 1, "With a strategy: split the host CPU into this many "
                         "logical devices (to try mirrored without GPUs), at most %d: each adds a "
                         "replica and its threads on the same cores, and TensorFlow takes minutes "
                         "to set up thousands." % MAX_CPU_DEVICES)
    flags.DEFINE_enum("precision", "float32", list(PRECISIONS), "float32, or a Keras "
                      "mixed-precision policy: matrix products in bfloat16/float16, batch-norm "
                      "statistics, objectives and the MI terms in float32 (not bit-identical).")


def help_page():
    """This command's --help."""
    return common.help_text(
        "usage: python train.py [flags]   (installed: infogan-train [flags])", DESCRIPTION,
        [("Flags of the TF1 code's train.py (same names and defaults)", TF1_FLAGS),
         ("Added by the port: runs, data, checkpoints", PORT_FLAGS),
         ("Added by the port: beyond the TF1 code (off by default)", BEYOND_TF1_FLAGS)])


_NUMBER = re.compile(r"^-?\d")


def join_list_arguments(argv, list_flags=LIST_FLAGS):
    """Rewrites `--name a b c` (argparse nargs style) into `--name=a,b,c` for each list flag
    (negative numbers count as values), and a bare `--resume` (no value) into `--resume=`."""
    result, index = [], 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--resume" and (index == len(argv) or argv[index].startswith("-")):
            argument = "--resume="
        elif argument.lstrip("-") in list_flags and argument.startswith("--"):
            values = []
            while index < len(argv) and (not argv[index].startswith("-")
                                         or _NUMBER.match(argv[index])):
                values.append(argv[index].strip(","))
                index += 1
            argument = "%s=%s" % (argument, ",".join(values))
        result.append(argument)
    return result


def parse_flags(argv):
    """absl flags parser for app.run: --help, the space-separated list form, one-line errors."""
    return common.parse(argv, PROGRAM, help_page, join_list_arguments)


def fail(message):
    """Prints one error line and exits with status 2."""
    common.fail(PROGRAM, message)


def _integers(name):
    try:
        return tuple(int(value) for value in getattr(FLAGS, name))
    except ValueError:
        raise ConfigError("--%s takes integers, got %s" % (name, " ".join(getattr(FLAGS, name)))) from None


def config_from_flags():
    """Builds a TrainConfig from the parsed flags (from the run's config.json with --resume).

    Raises:
      ConfigError.
    """
    if FLAGS.resume is not None:
        return _resumed_config()
    model = ModelConfig(
        generator=FLAGS.generator, discriminator=FLAGS.discriminator,
        categorical_cardinality=_integers("categorical_cardinality"),
        num_continuous=FLAGS.num_continuous, style_size=FLAGS.style_size,
        use_batch_norm=FLAGS.use_batch_norm, fix_std=FLAGS.fix_std, infogan=FLAGS.infogan,
        categorical_lambda=FLAGS.categorical_lambda, continuous_lambda=FLAGS.continuous_lambda,
        mutual_info_loss=FLAGS.mutual_info_loss, style_noise=FLAGS.style_noise)
    config = TrainConfig(
        model=model, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        generator_lr=FLAGS.generator_lr, discriminator_lr=FLAGS.discriminator_lr,
        plot_every=FLAGS.plot_every, seed=FLAGS.seed, dataset=FLAGS.dataset,
        mnist_dir=FLAGS.mnist_dir, max_images=FLAGS.max_images,
        scale_dataset=_integers("scale_dataset"), force_grayscale=FLAGS.force_grayscale,
        logdir=FLAGS.logdir, tf1_checkpoint=FLAGS.tf1_checkpoint,
        fashion_mnist_dir=FLAGS.fashion_mnist_dir, cache_dir=FLAGS.cache_dir,
        image_order=FLAGS.image_order,
        checkpoint_every=FLAGS.checkpoint_every, max_iterations=FLAGS.max_iterations,
        status_every=FLAGS.status_every, jit_compile=FLAGS.jit_compile, fast=FLAGS.fast,
        precision=FLAGS.precision, distribution_strategy=FLAGS.distribution_strategy,
        num_gpus=FLAGS.num_gpus, num_cpu_devices=FLAGS.num_cpu_devices,
        worker_timeout=FLAGS.worker_timeout, tpu=FLAGS.tpu,
        allreduce_precision=FLAGS.allreduce_precision)
    _check_devices_have_a_strategy(FLAGS.distribution_strategy)
    return with_recipe(config, FLAGS.recipe, keep=[name for name in TF1_FLAGS + BEYOND_TF1_FLAGS
                                                   if FLAGS[name].present])


def _check_devices_have_a_strategy(strategy):
    given = ["--" + name for name in ("num_gpus", "num_cpu_devices") if FLAGS[name].present]
    if given and strategy == "off":
        raise ConfigError("%s choose the devices of a strategy: add --distribution_strategy "
                          "mirrored (or one_device)" % " and ".join(given))


def _resumed_config():
    from infogan.training.run_folder import latest_run
    log_dir = FLAGS.resume or latest_run(os.getcwd(), TrainConfig(dataset=FLAGS.dataset).dataset_name,
                                         FLAGS.infogan)
    changes = {name: getattr(FLAGS, name) for name in RESUME_FLAGS
               if name not in ("resume", "verbosity") and FLAGS[name].present}
    if changes.get("distribution_strategy") == "off":  # back to one device: no device layout
        changes.setdefault("num_gpus", 0)
        changes.setdefault("num_cpu_devices", 1)
    _check_devices_have_a_strategy(changes.get("distribution_strategy", "mirrored"))
    config = resumed_config(log_dir, **changes)
    ignored = [name for name in TF1_FLAGS + PORT_FLAGS + BEYOND_TF1_FLAGS
               if FLAGS[name].present and name not in RESUME_FLAGS]
    if ignored:
        print("warning: --resume takes the run's flags from its config.json; ignoring %s" % ", ".join(
            "--" + name for name in ignored), file=sys.stderr)
    return config


def main(argv):
    """Entry point: trains with the flags. Exit status: 0 done, 1 diverged, 2 bad input or a disk
    problem, 128 + N stopped by signal N (after a checkpoint)."""
    common.begin(argv, PROGRAM)  # TF's INFO lines would break the TF1 output
    try:
        config = config_from_flags()
        validate(config)  # before TensorFlow is imported: a bad flag prints one line only
    except (ConfigError, ArchitectureError) as error:
        fail(error)
    execution_policy(config).prepare_process()  # what TensorFlow reads when it loads
    try:
        common.import_tensorflow(common.show_tensorflow_logs())
        common.warn_about_precision(config.precision)
        _train(config)
    except KeyboardInterrupt:
        state = ("the run in %s is as it was" % config.logdir if config.resume
                 else "nothing was written")
        print("%s: interrupted while starting, before training; %s" % (
            common.program_name(PROGRAM), state), file=sys.stderr)
        sys.exit(130)


def _train(config):
    import tensorflow as tf
    from infogan.data import DatasetError
    from infogan.training.checkpoints import CheckpointWriteError
    from infogan.training.loop import TrainingDiverged, TrainingStopped, train
    from infogan.training.run_folder import is_disk_full
    try:
        log_dir = train(config)
    except (ConfigError, DatasetError, ArchitectureError, CheckpointWriteError) as error:
        fail(error)
    except TrainingDiverged as error:
        print("%s: error: %s" % (common.program_name(PROGRAM), error), file=sys.stderr)
        sys.exit(1)
    except TrainingStopped as stopped:
        print("%s: %s" % (common.program_name(PROGRAM), stopped), file=sys.stderr)
        sys.exit(stopped.exit_status)
    except (OSError, tf.errors.OpError) as error:
        if not is_disk_full(error):
            raise
        fail("the disk is full (%s); free some space, then continue the run with --resume"
             % str(error).strip().splitlines()[0])
    print("\n".join(next_steps(config, log_dir)), file=sys.stderr)


def next_steps(config, log_dir):
    """What a run prints when it ends (on stderr, after the TF1 code's lines on stdout): where its
    logs are, and the commands that look at it, in the form the user started training with.

    Args:
      config: the run's TrainConfig.
      log_dir: its log folder.

    Returns:
      the lines.
    """
    shown = shlex.quote(common.shown_path(log_dir))
    images = os.path.join(log_dir, "images")
    lines = ["Logs: %s (checkpoints, TensorBoard events, and every plot as a PNG in %s)"
             % (shown, shlex.quote(common.shown_path(images)))]
    if not glob.glob(os.path.join(images, "*.png")):
        lines.append("No images were plotted: the run ended before iteration --plot_every %d; a "
                     "smaller --plot_every plots sooner." % config.plot_every)
    from infogan.training.checkpoints import peek_newest
    newest = peek_newest(log_dir)
    if config.max_iterations is not None and newest and newest.iteration >= config.max_iterations:
        lines.append("It stopped at --max_iterations %d; to train further: %s --resume=%s "
                     "--max_iterations N, with a larger N." % (
                         config.max_iterations, common.command("train"), shown))
    lines += ["Next:", "  %s --logdir %s" % (common.tool("tensorboard"), shown)]
    model = config.model
    if config.dataset is None and model.infogan and model.categorical_cardinality:
        lines.append("  %s --logdir %s" % (common.command("evaluate"), shown))
    sweep = " --sweep 0 --out sweep0.png" if model.infogan and model.num_continuous else ""
    lines.append("  %s --logdir %s%s" % (common.command("sample"), shown, sweep))
    return lines


def run():
    """Console entry point (`infogan-train`, `python train.py`)."""
    define_flags()
    app.run(main, flags_parser=parse_flags)
