"""Running a user's checkout of the TF1 code through `infogan.parity.shim`, in a child process.

    run = run_checkout("/src/tensorflow-infogan", train_config, work_dir, state=None)
    run.epoch_lines, run.records, run.images, run.initial_state, run.final_state
"""
import dataclasses
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional

import numpy as np

from infogan.config import ConfigError, config_fields
from infogan.data import FASHION_MNIST
from infogan.model.options import TF1

# The folder holding the `infogan` package: the child process imports it from there.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDER_ONLY_FLAGS = ("scale_dataset", "force_grayscale")  # passed with an image folder only


@dataclasses.dataclass
class CheckoutRun:
    """What a run of the checkout printed and recorded.

    Attributes:
      epoch_lines: its `epoch ...` lines.
      records: per iteration, {TensorBoard tag: value} of its scalar summaries.
      images: {step: {tag: uint8 pixels [H, W, C]}} of its image summaries.
      initial_state, final_state: {TF1 name: array} of every variable at start and end.
    """
    epoch_lines: List[str]
    records: List[Dict[str, float]]
    images: Dict[int, Dict[str, np.ndarray]]
    initial_state: Dict[str, np.ndarray]
    final_state: Optional[Dict[str, np.ndarray]]


def train_flags(config):
    """The checkout's train.py flags for a TrainConfig (argparse style: lists space-separated).

    Returns:
      list of command-line arguments; an image folder is passed as an absolute path (the TF1
      code opens each file found below it by joining the two).

    Raises:
      ConfigError: Fashion-MNIST (the TF1 code reads MNIST or an image folder only).
    """
    if config.data.source.kind == FASHION_MNIST:
        raise ConfigError("--tf1_repo compares on MNIST or an image folder; the TF1 code reads no "
                          "--dataset %s" % config.data.dataset)
    args = []
    for part, field in config_fields():
        if not field.metadata["flag"] or field.metadata["group"] != TF1:
            continue
        if field.name in FOLDER_ONLY_FLAGS and config.data.dataset is None:
            continue
        value = getattr(getattr(config, part), field.name)
        if field.name == "dataset" and value is not None:
            value = os.path.abspath(value)
        args += _arguments(field.name, value)
    return args


def _arguments(name, value):
    """One flag in the TF1 train.py's argparse style."""
    if value is None:
        return []
    if isinstance(value, bool):
        return [("--%s" if value else "--no%s") % name]
    if isinstance(value, tuple):
        return ["--" + name] + [str(item) for item in value]
    return ["--" + name, str(value)]


def shim_command(repo, mnist_dir, work_dir, train_args, state_path=None, options=()):
    """The child process's command line: `python -m infogan.parity.shim ... -- train_args`."""
    command = [sys.executable, "-m", "infogan.parity.shim", "--repo", os.path.abspath(repo),
               "--mnist_dir", os.path.abspath(mnist_dir), "--output", os.path.abspath(work_dir)]
    if state_path is not None:
        command += ["--state", state_path]
    return command + list(options) + ["--"] + list(train_args)


def run_shim(repo, mnist_dir, work_dir, train_args, state=None, options=(), timeout=None):
    """Runs `repo/train.py train_args` through the shim in a child process.

    Args:
      repo: the checkout (a folder holding train.py).
      mnist_dir: the folder of the MNIST IDX files its reader gets.
      work_dir: a folder for the exchanged files (created if needed).
      train_args: the script's command-line flags.
      state: optional {TF1 name: array} assigned right after the checkout initialises.
      options: more `infogan.parity.shim` options, e.g. ["--save_checkpoint", PREFIX].

    Returns:
      CheckoutRun.

    Raises:
      ConfigError: no train.py in `repo`, or the checkout failed (with the end of its stderr).
    """
    if not os.path.isfile(os.path.join(repo, "train.py")):
        raise ConfigError("--tf1_repo %s holds no train.py; pass a checkout of the TF1 code" % repo)
    os.makedirs(work_dir, exist_ok=True)
    state_path = None
    if state is not None:
        state_path = os.path.abspath(os.path.join(work_dir, "start_state.npz"))
        np.savez(state_path, **state)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [PACKAGE_PARENT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    # Started from this project's folder, so that `-m infogan...` is never the checkout's package.
    process = subprocess.run(shim_command(repo, mnist_dir, work_dir, train_args, state_path, options),
                             capture_output=True, text=True, env=environment, cwd=PACKAGE_PARENT,
                             timeout=timeout)
    if process.returncode != 0:
        tail = "\n".join(process.stderr.strip().splitlines()[-15:])
        raise ConfigError("the TF1 checkout at %s failed (exit status %d):\n%s" % (
            repo, process.returncode, tail))
    if not os.path.exists(os.path.join(work_dir, "initial_state.npz")):
        raise ConfigError("the TF1 checkout at %s never ran tf.global_variables_initializer() in a "
                          "tf.Session, so its variables could not be set or read" % repo)
    return read_run(work_dir, process.stdout)


def run_checkout(repo, config, work_dir, state=None, timeout=None):
    """Runs the checkout's train.py with the flags of a TrainConfig (see `run_shim`).

    Its tf1_checkpoint and logdir are not used: pass the starting values as `state`. Python's
    `random` is seeded with config.run.seed, so that the TF1 code's (unseeded) `random.sample` of an
    image folder draws the port's sample (`random.Random(seed).sample` of the same list).
    """
    return run_shim(repo, config.data.mnist_dir, work_dir, train_flags(config), state,
                    options=["--python_seed", str(config.run.seed)], timeout=timeout)


def epoch_lines(text):
    """The `epoch N >> ... LL ...` lines of a printed output (not its progress bars)."""
    return [line for line in text.splitlines() if line.startswith("epoch ") and " LL " in line]


def read_run(work_dir, stdout):
    """The CheckoutRun left in `work_dir` by the shim, with the epoch lines of `stdout`."""
    with open(os.path.join(work_dir, "scalars.json")) as stream:
        scalars = json.load(stream)
    records = [scalars[step] for step in sorted(scalars, key=int)]
    images = {}
    with np.load(os.path.join(work_dir, "images.npz")) as stored:
        for key in stored.files:
            step, _, tag = key.partition("|")
            images.setdefault(int(step), {})[tag] = stored[key]
    final_path = os.path.join(work_dir, "final_state.npz")
    return CheckoutRun(
        epoch_lines=epoch_lines(stdout),
        records=records,
        images=images,
        initial_state=dict(np.load(os.path.join(work_dir, "initial_state.npz"))),
        final_state=dict(np.load(final_path)) if os.path.exists(final_path) else None)
