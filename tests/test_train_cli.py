"""train.py end to end on a slice of the shipped MNIST: printed lines, event tags, PNGs, flags."""
import dataclasses
import glob
import hashlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import MNIST_DIR, REPO_ROOT
from infogan.cli import train as train_cli
from infogan import data

EPOCH_LINE = re.compile(r"^epoch \d+ >> discriminator LL -?\d+\.\d\d \(lr=0\.000200\), "
                        r"generator LL -?\d+\.\d\d \(lr=0\.001000\)(, infogan loss -?\d+\.\d\d)?$")
SCALARS = ["discriminator_objective", "generator_objective", "mutual_info_objective",
           "ll_categorical_objective", "ll_continuous_objective", "std_contig"]


def run_train(*args):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "train.py"), *args],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)


def event_tags(log_dir):
    from tensorboard.backend.event_processing import event_accumulator
    (path,) = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    accumulator = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return {tag: [event.step for event in accumulator.Tensors(tag)] for tag in accumulator.Tags()["tensors"]}


def test_shipped_mnist_matches_checksums():
    lines = open(os.path.join(MNIST_DIR, "CHECKSUMS")).read().splitlines()
    sha = dict(reversed(line.split()) for line in lines if line.endswith(".gz"))
    for name, digest in sha.items():
        with open(os.path.join(MNIST_DIR, name), "rb") as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digest, name


def test_mnist_training_split():
    images = data.load_mnist(MNIST_DIR)
    assert images.shape == (55000, 28, 28, 1) and images.dtype == np.float32
    raw = data.read_idx(os.path.join(MNIST_DIR, data.MNIST_TRAIN_IMAGES))
    np.testing.assert_array_equal(images[0, ..., 0], raw[5000].astype(np.float32) * np.float32(1 / 255))
    assert images.max() == 1.0 and images.min() == 0.0


@pytest.mark.slow
def test_infogan_smoke_run(tmp_path):
    log_dir = str(tmp_path / "run")
    result = run_train("--epochs", "1", "--max_images", "80", "--batch_size", "32",
                       "--plot_every", "1", "--logdir", log_dir, "--categorical_lambda=1.0", "--fix_std")
    assert result.returncode == 0, result.stderr
    # none of TensorFlow's C++ start-up lines: only where the logs are and what to run next
    assert result.stderr.splitlines()[:2] == [
        "Logs: %s (checkpoints, TensorBoard events, and every plot as a PNG in %s)" % (
            log_dir, os.path.join(log_dir, "images")), "Next:"]
    steps = result.stderr.splitlines()[2:]
    assert [line.split(" --logdir ")[1] for line in steps] == [
        log_dir, log_dir, log_dir + " --sweep 0 --out sweep0.png"], steps
    assert steps[0].endswith("tensorboard --logdir " + log_dir)
    assert steps[1].endswith(" -m infogan evaluate --logdir " + log_dir)
    lines = result.stdout.splitlines()
    assert lines[:8] == ["generator architecture",
                         "Fully connected with num_outputs=1024 followed by relu",
                         "Fully connected with num_outputs=6272 followed by relu",
                         "Reshape to [7, 7, 128]",
                         "Deconvolution with nkernels=4, stride=2, num_outputs=64 followed by relu",
                         "Deconvolution with nkernels=4, stride=2, num_outputs=1 followed by sigmoid",
                         "", "Generator produced images of shape (28, 28, 1)"]
    assert lines[8:10] == ["", "discriminator architecture"]
    assert "Saving tensorboard logs to %r" % log_dir in lines
    assert EPOCH_LINE.match(lines[-1]) and "infogan loss" in lines[-1], lines[-1]
    tags = event_tags(log_dir)
    for tag in SCALARS:
        assert tags[tag] == [0, 1, 2], tag  # 80 images / 32 = 3 iterations (last batch short)
    images = ["category_%d/image" % i for i in range(10)] + [
        "continuous_variable_%d__variation_%d/image" % (j, k) for j in range(2) for k in range(3)]
    for tag in images:
        assert tags[tag] == [1, 2, 3], tag
    pngs = sorted(os.listdir(os.path.join(log_dir, "images")))
    assert len(pngs) == 9 and pngs[0] == "iteration_0000001_categorical_0.png"


@pytest.mark.slow
def test_gan_mode_and_space_separated_lists(tmp_path):
    result = run_train("--noinfogan", "--epochs", "1", "--max_images", "40", "--batch_size", "20",
                       "--plot_every", "2", "--scale_dataset", "28", "28",
                       "--categorical_cardinality", "4", "5", "--logdir", str(tmp_path / "gan"))
    assert result.returncode == 0, result.stderr
    assert EPOCH_LINE.match(result.stdout.splitlines()[-1])
    assert "infogan loss" not in result.stdout
    tags = event_tags(str(tmp_path / "gan"))
    assert tags["generator_objective"] == [0, 1] and "mutual_info_objective" not in tags
    assert sorted(t for t in tags if t.startswith("fake_images")) == sorted(
        "fake_images/image/%d" % i for i in range(10))


@pytest.mark.slow
def test_bad_flags_exit_2_with_one_line_and_write_nothing(tmp_path):
    for args, fragment in ((["--generator", "fc:10,blah"], "'blah' (layer 1 of"),
                           (["--batch_size", "0"], "--batch_size must be a positive integer"),
                           (["--scale_dataset", "64", "64"], "MNIST images are 28x28"),
                           (["--epochs", "two"], "epochs")):
        result = run_train(*args, "--logdir", str(tmp_path / "never"))
        assert result.returncode == 2, (args, result.stderr)
        errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
        assert len(errors) == 1 and fragment in errors[0], result.stderr
        assert not (tmp_path / "never").exists()


def test_existing_log_folder_is_never_reused(tmp_path):
    from infogan.config import ConfigError, TrainConfig
    from infogan.training.run_folder import create_locked
    config = TrainConfig(log_root=str(tmp_path))
    made = []
    for _ in range(3):
        folder, lock = create_locked(config)
        made.append(folder)
        lock.release()
    base = str(tmp_path / "mnist_log" / "infogan")
    assert made == [base, base + "-0", base + "-1"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "events.out").write_text("keep")
    with pytest.raises(ConfigError, match="already holds files"):
        create_locked(TrainConfig(logdir=str(tmp_path / "mine")))
    assert (tmp_path / "mine" / "events.out").read_text() == "keep"


def test_list_arguments_are_joined():
    assert train_cli.join_list_arguments(["x", "--scale_dataset", "64", "64", "--seed", "3"]) == [
        "x", "--scale_dataset=64,64", "--seed", "3"]
    assert train_cli.join_list_arguments(["--categorical_cardinality", "--fix_std"]) == [
        "--categorical_cardinality=", "--fix_std"]
    assert train_cli.join_list_arguments(["--scale_dataset=64,64"]) == ["--scale_dataset=64,64"]


@pytest.mark.slow
def test_same_seed_same_numbers(tmp_path, capsys):
    from infogan.config import TrainConfig
    from infogan.training.loop import train
    outputs = []
    for name in ("a", "b"):
        train(TrainConfig(epochs=2, max_images=48, batch_size=16, plot_every=100,
                          logdir=str(tmp_path / name)))
        outputs.append([l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch")])
    assert len(outputs[0]) == 2 and outputs[0] == outputs[1]


@pytest.mark.slow
def test_jit_compile_flag_trains_and_is_saved_with_the_run(tmp_path):
    import json
    log_dir = str(tmp_path / "xla")
    result = run_train("--jit_compile", "--epochs", "1", "--max_images", "40", "--batch_size", "20",
                       "--plot_every", "100", "--logdir", log_dir)
    assert result.returncode == 0, result.stderr
    assert EPOCH_LINE.match(result.stdout.splitlines()[-1])
    with open(os.path.join(log_dir, "config.json")) as f:
        assert json.load(f)["jit_compile"] is True


@pytest.mark.slow
@pytest.mark.parametrize("command,flags", [
    (["train.py"], ["--epochs (default: 100)", "--[no]infogan (default: on)",
                    "--categorical_cardinality (default: 10)", "--resume (default: none)"]),
    (["-m", "infogan", "evaluate"], ["--logdir (default: none)", "--tf1_checkpoint"]),
    (["-m", "infogan", "sample"], ["--category (default: none)", "not the digit 3"]),
    (["-m", "infogan.parity"], ["--iterations (default: 20)", "--tf1_repo", "--generator",
                                "--plot_every (default: 10)", "--epochs (default: none ("]),
    (["-m", "infogan"], ["{train,evaluate,sample,parity}"]),
])
def test_help_lists_each_commands_flags(command, flags):
    for option in ("--help", "-h"):
        result = subprocess.run([sys.executable, *command, option], capture_output=True, text=True,
                                cwd=REPO_ROOT, timeout=60)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.startswith("usage: ")
        for fragment in flags:
            assert fragment in result.stdout, fragment
    if command == ["train.py"]:  # the TF1 code's flags, then the port's additions
        page = result.stdout
        assert page.index("Flags of the TF1 code's train.py") < page.index("  --epochs (") < page.index(
            "Added by the port") < page.index("  --logdir (")


def test_a_run_ends_with_where_its_logs_are_and_what_to_run_next(tmp_path, monkeypatch, capsys):
    from infogan.training.loop import train
    from test_checkpoints import CONFIG
    from infogan.cli.common import tool as common_tool
    monkeypatch.chdir(tmp_path)
    config = dataclasses.replace(CONFIG, epochs=1, plot_every=100, max_iterations=2, logdir="run")
    log_dir = train(config)
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", [os.path.join(REPO_ROOT, "train.py")])
    lines = train_cli.next_steps(config, log_dir)
    assert lines[0].startswith("Logs: run (") and "PNG in run/images" in lines[0]
    assert lines[1].startswith("No images were plotted") and "--plot_every 100" in lines[1]
    assert "stopped at --max_iterations 2" in lines[2]
    assert " -m infogan train --resume=run --max_iterations N" in lines[2]
    assert lines[3:5] == ["Next:", "  %s --logdir run" % common_tool("tensorboard")]
    assert lines[5].endswith(" -m infogan evaluate --logdir run")
    gan = dataclasses.replace(config, model=dataclasses.replace(config.model, infogan=False),
                              max_iterations=None)
    lines = train_cli.next_steps(gan, log_dir)  # no codes: nothing to evaluate or sweep
    assert not any("evaluate" in line or "--max_iterations" in line for line in lines)
    assert lines[-1].endswith(" -m infogan sample --logdir run")


@pytest.mark.parametrize("argv0,program", [
    ("train.py", "train.py"),
    ("/somewhere/bin/infogan-evaluate", "infogan-evaluate"),
    ("python -m infogan sample", "python -m infogan sample"),
    (os.path.join(REPO_ROOT, "infogan", "parity", "__main__.py"), "python -m infogan.parity"),
    (os.path.join(REPO_ROOT, "infogan", "cli", "evaluate.py"), "python -m infogan.cli.evaluate"),
    ("", "infogan-train"),
])
def test_messages_name_the_program_as_typed(monkeypatch, argv0, program):
    from infogan.cli import common
    monkeypatch.setattr(sys, "argv", [argv0])
    assert common.program_name("infogan-train") == program


def test_commands_to_run_next_take_the_form_training_was_started_with(tmp_path, monkeypatch):
    from infogan.cli import common
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("infogan-train", "infogan-evaluate"):
        (bin_dir / name).write_text("")
        (bin_dir / name).chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(bin_dir / "infogan-train")])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert common.command("evaluate") == os.path.join("venv", "bin", "infogan-evaluate")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert common.command("evaluate") == "infogan-evaluate"
    monkeypatch.setattr(sys, "argv", ["train.py"])
    assert common.command("evaluate").endswith(" -m infogan evaluate")
