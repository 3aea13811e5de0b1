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
import signal
import sys
from typing import Optional

from absl import flags

from infogan.cli import common, watchdog
from infogan.config import (ConfigError, TrainConfig, config_fields, preflight, resumed_config,
                            with_recipe)
from infogan.model.options import BEYOND_TF1, PORT, TF1

FLAGS = flags.FLAGS
PROGRAM = "infogan-train"  # in messages when sys.argv names no program
GROUP_TITLES = {TF1: "Flags of the TF1 code's train.py (same names and defaults)",
                PORT: "Added by the port: runs, data, checkpoints",
                BEYOND_TF1: "Added by the port: beyond the TF1 code (off by default)"}
# Every flag is a field of TrainConfig's parts: (part, field), in order.
FLAG_FIELDS = tuple((part, field) for part, field in config_fields() if field.metadata["flag"])


def _group(group):
    return tuple(field.name for _, field in FLAG_FIELDS if field.metadata["group"] == group)


TF1_FLAGS, PORT_FLAGS, BEYOND_TF1_FLAGS = _group(TF1), _group(PORT), _group(BEYOND_TF1)
LIST_FLAGS = tuple(field.name for _, field in FLAG_FIELDS if isinstance(field.default, tuple))
# What may change when a run is resumed: how long it trains and how fast, not what it models.
RESUME_FLAGS = tuple(field.name for _, field in FLAG_FIELDS
                     if field.metadata["resumable"]) + ("verbosity",)
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
    """Defines a flag for each flag field of TrainConfig's parts: its name, type, default, help
    and choices (the TF1 code's flags keep their names and defaults)."""
    for _, field in FLAG_FIELDS:
        _define(field)


def _define(field):
    metadata, default = field.metadata, field.default
    help_text = metadata["help"].replace("{resumable}", ", ".join(
        "--" + name for name in RESUME_FLAGS if name not in ("resume", "verbosity")))
    if metadata["choices"] is not None:
        flags.DEFINE_enum(field.name, default, list(metadata["choices"]), help_text)
    elif isinstance(default, tuple):
        flags.DEFINE_list(field.name, [str(value) for value in default], help_text)
    elif metadata["flag_type"] is str or field.type in (str, Optional[str]):
        flags.DEFINE_string(field.name, None if metadata["flag_type"] else default, help_text)
    elif field.type is bool:
        flags.DEFINE_boolean(field.name, default, help_text)
    elif field.type is float:
        flags.DEFINE_float(field.name, default, help_text)
    else:
        flags.DEFINE_integer(field.name, default, help_text)


def help_page():
    """This command's --help."""
    return common.help_text(
        "usage: python train.py [flags]   (installed: infogan-train [flags])", DESCRIPTION,
        [(GROUP_TITLES[group], _group(group)) for group in GROUP_TITLES])


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


def _flag_value(field):
    """The field's value of the parsed flag."""
    value = getattr(FLAGS, field.name)
    if field.metadata["from_flag"] is not None:
        return field.metadata["from_flag"](value)
    if isinstance(field.default, tuple):
        try:
            return tuple(int(item) for item in value)
        except ValueError:
            raise ConfigError("--%s takes integers, got %s" % (field.name, " ".join(value))) from None
    return value


def config_from_flags():
    """Builds a TrainConfig from the parsed flags (from the run's config.json with --resume), the
    --recipe's values under those given explicitly.

    Raises:
      ConfigError.
    """
    if FLAGS.resume is not None:
        return _resumed_config()
    config = TrainConfig.create(**{field.name: _flag_value(field) for _, field in FLAG_FIELDS})
    _check_devices_have_a_strategy(FLAGS.distribution_strategy)
    return with_recipe(config, FLAGS.recipe,
                       keep=[field.name for _, field in FLAG_FIELDS if FLAGS[field.name].present])


def _check_devices_have_a_strategy(strategy):
    given = ["--" + name for name in ("num_gpus", "num_cpu_devices") if FLAGS[name].present]
    if given and strategy == "off":
        raise ConfigError("%s choose the devices of a strategy: add --distribution_strategy "
                          "mirrored (or one_device)" % " and ".join(given))


def _resumed_config():
    from infogan.training.run_folder import latest_run
    source = TrainConfig.create(dataset=FLAGS.dataset).data.source
    log_dir = FLAGS.resume or latest_run(os.getcwd(), source.name, FLAGS.infogan)
    changes = {field.name: _flag_value(field) for _, field in FLAG_FIELDS
               if field.name != "resume" and field.metadata["resumable"] and FLAGS[field.name].present}
    if changes.get("distribution_strategy") == "off":  # back to one device: no device layout
        changes.setdefault("num_gpus", 0)
        changes.setdefault("num_cpu_devices", 1)
    _check_devices_have_a_strategy(changes.get("distribution_strategy", "mirrored"))
    config = resumed_config(log_dir, **changes)
    ignored = [field.name for _, field in FLAG_FIELDS
               if FLAGS[field.name].present and not field.metadata["resumable"]]
    if ignored:
        print("warning: --resume takes the run's flags from its config.json; ignoring %s" % ", ".join(
            "--" + name for name in ignored), file=sys.stderr)
    return config


def train_from_flags():
    """Trains with the flags (checked before TensorFlow is imported: a bad flag prints one line
    only). Returns the exit status: 0 done, 1 diverged or a worker lost, 2 bad input or a disk
    problem, 128 + N stopped by signal N.

    Raises:
      ConfigError, ArchitectureError: bad flags.
    """
    checked = preflight(config_from_flags())
    config = checked.config
    config.execution.policy().prepare_process()  # what TensorFlow reads when it loads
    try:
        common.import_tensorflow(common.show_tensorflow_logs())
        common.warn_about_precision(config.execution.precision)
        return _train(checked)
    except KeyboardInterrupt:
        state = ("the run in %s is as it was" % config.run.logdir if config.run.resume
                 else "nothing was written")
        print("%s: interrupted while starting, before training; %s" % (
            common.program_name(PROGRAM), state), file=sys.stderr)
        return 128 + signal.SIGINT


def _train(checked):
    """Trains a preflighted config; what ends the run early is one line on stderr and the exit
    status."""
    import tensorflow as tf
    from infogan.data import DatasetError
    from infogan.training.checkpoints import CheckpointWriteError
    from infogan.training.loop import TrainingDiverged, TrainingStopped, train
    from infogan.training.placement import WorkersLost
    from infogan.training.run_folder import is_disk_full
    program = common.program_name(PROGRAM)
    try:
        log_dir = train(checked, wait_guard=watchdog.exit_after(program))
    except (DatasetError, CheckpointWriteError) as error:
        raise ConfigError(str(error)) from None
    except TrainingDiverged as error:
        print("%s: error: %s" % (program, error), file=sys.stderr)
        return 1
    except TrainingStopped as stopped:
        print("%s: %s" % (program, stopped_line(stopped)), file=sys.stderr)
        return 128 + stopped.signum
    except WorkersLost as lost:
        print("%s: %s. Restart every worker with the same command and --resume=%s" % (
            program, lost, lost.log_dir or "<the run's --logdir>"), file=sys.stderr)
        return 1
    except (OSError, tf.errors.OpError) as error:
        if not is_disk_full(error):
            raise
        raise ConfigError("the disk is full (%s); free some space, then continue the run with "
                          "--resume" % str(error).strip().splitlines()[0]) from None
    print("\n".join(next_steps(checked.config, log_dir)), file=sys.stderr)
    return 0


def stopped_line(stopped):
    """What a TrainingStopped says on the command line: what happened, and how to resume."""
    if stopped.log_dir is None:
        return str(stopped)
    return "%s Resume with: %s --resume=%s" % (stopped, common.rerun_command(PROGRAM),
                                               stopped.log_dir)


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
                     "smaller --plot_every plots sooner." % config.run.plot_every)
    from infogan.training.checkpoints import peek_newest
    newest = peek_newest(log_dir)
    max_iterations = config.run.max_iterations
    if max_iterations is not None and newest and newest.iteration >= max_iterations:
        lines.append("It stopped at --max_iterations %d; to train further: %s --resume=%s "
                     "--max_iterations N, with a larger N." % (
                         max_iterations, common.command("train"), shown))
    lines += ["Next:", "  %s --logdir %s" % (common.tool("tensorboard"), shown)]
    model = config.model
    if config.data.dataset is None and model.infogan and model.categorical_cardinality:
        lines.append("  %s --logdir %s" % (common.command("evaluate"), shown))
    sweep = " --sweep 0 --out sweep0.png" if model.infogan and model.num_continuous else ""
    lines.append("  %s --logdir %s%s" % (common.command("sample"), shown, sweep))
    return lines


def run():
    """Console entry point (`infogan-train`, `python train.py`)."""
    common.run_command(PROGRAM, define_flags, help_page, train_from_flags, join_list_arguments)
