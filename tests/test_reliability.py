"""Nothing lost and nothing misleading: divergence, resumed logs, locks, signals, disk and file
faults, and bad input, each on a tiny run. (benchmarks/fault_injection.py kills real runs at
random moments.)"""
import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import MNIST_DIR, REPO_ROOT, hook_training_step
from test_checkpoints import CONFIG, epoch_lines
from infogan.config import ConfigError
from infogan.training import checkpoints, loop, run_folder
from infogan.training.summaries import SummaryLogger, count_duplicate_steps, read_logs

TINY_FLAGS = ["--generator", CONFIG.model.generator, "--discriminator", CONFIG.model.discriminator,
              "--categorical_cardinality", "4", "--num_continuous", "1", "--style_size", "3",
              "--max_images", "88", "--batch_size", "16", "--plot_every", "4",
              "--checkpoint_every", "3"]


def run_command(*args, timeout=240):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=timeout)


def train_py(*args, **kwargs):
    return run_command(os.path.join(REPO_ROOT, "train.py"), *args, **kwargs)


def one_error_line(result, program="train.py"):
    """The single `<program>: error: ...` line of a failed command, checking there is no more."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(program + ": error: "), result.stderr[-3000:]
    return lines[0]


def checkpoint_numbers(log_dir):
    return [int(os.path.basename(p).split("-")[1]) for p in checkpoints.checkpoints_on_disk(
        os.path.join(log_dir, "checkpoints"))]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run: (its epoch lines, its scalars and images as TensorBoard shows them)."""
    log_dir = str(tmp_path_factory.mktemp("straight") / "run")
    import contextlib
    import io
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir))
    return epoch_lines(output.getvalue()), read_logs(log_dir)


def poison_weights_at(call_number, monkeypatch):
    """Makes the training step set a weight to NaN on its `call_number`-th call, objectives finite."""
    def poison(models):
        kernel = models.generator.layer_0.kernel
        kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    hook_training_step(monkeypatch, call_number, before=poison)


@pytest.mark.slow
def test_non_finite_weights_are_never_checkpointed(tmp_path, monkeypatch):
    poison_weights_at(5, monkeypatch)  # after ckpt-3; the objectives of iteration 5 are computed first
    log_dir = str(tmp_path / "run")
    with pytest.raises(loop.TrainingDiverged) as error:
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir))
    message = str(error.value)
    assert "became nan" in message or "became NaN or infinite" in message
    assert "The last finite checkpoint is %s" % os.path.join(log_dir, "checkpoints", "ckpt-3") in message
    assert checkpoint_numbers(log_dir) == [3]  # nothing written after the weights went bad


def test_divergence_before_any_checkpoint_names_no_folder(tmp_path, monkeypatch):
    poison_weights_at(1, monkeypatch)
    log_dir = str(tmp_path / "run")
    with pytest.raises(loop.TrainingDiverged, match="No checkpoint was written before it"):
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir, checkpoint_every=1000))
    assert checkpoint_numbers(log_dir) == []


@pytest.mark.slow
def test_resume_skips_a_non_finite_checkpoint_of_an_older_version(tmp_path, capsys):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=6))
    # What an older version could leave: a newest checkpoint holding NaN weights.
    config = dataclasses.replace(CONFIG, logdir=log_dir)
    dataset = loop.load_images(config)[0]
    models = loop.build_models(config.model, dataset.image_shape)
    optimizers = loop.build_optimizers(models, config.run.generator_lr, config.run.discriminator_lr)
    state = checkpoints.LoopState(dataset.num_images, 6)
    saved = checkpoints.RunCheckpoints(log_dir, models, optimizers, state)
    saved.restore_latest()
    models.generator.layer_0.kernel.assign(np.full(models.generator.layer_0.kernel.shape, np.inf,
                                                   np.float32))
    state.iteration.assign(9)
    saved.manager.save(checkpoint_number=9)  # bypasses the check, as old versions did
    capsys.readouterr()
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True))
    out = capsys.readouterr().out
    assert "ckpt-9 holds NaN or Inf; trying the previous one" in out
    assert "from %s" % os.path.join(log_dir, "checkpoints", "ckpt-6") in out


@pytest.mark.slow
def test_tensorboard_sees_each_step_once_after_a_resume(tmp_path, straight, capsys):
    """A killed run wrote events after its last checkpoint; the resumed run's START event makes
    TensorBoard drop them, and the resumed run writes those steps again."""
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=4))  # ckpt-4, plot at 4
    stale = SummaryLogger(log_dir)  # what the killed process wrote after ckpt-4
    for step in range(4, 8):
        stale.scalars(step, {"generator_objective": 99.0, "discriminator_objective": 99.0})
    stale.image(4, "category_0/image", np.zeros((4, 4, 3), np.uint8))
    stale.image(8, "category_0/image", np.zeros((4, 4, 3), np.uint8))
    stale.close()
    capsys.readouterr()
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True))
    lines, (want_scalars, want_images) = straight
    assert epoch_lines(capsys.readouterr().out) == lines  # both epoch lines: the first was pending
    assert count_duplicate_steps(log_dir) == 0  # the stale copies are dropped
    scalars, images = read_logs(log_dir)
    assert scalars == want_scalars  # every step, with the uninterrupted run's values
    assert sorted(images) == sorted(want_images) == [4, 8, 12]
    for step, tags in want_images.items():
        for tag, pixels in tags.items():
            np.testing.assert_array_equal(images[step][tag], pixels, err_msg="%s %d" % (tag, step))


@pytest.mark.slow
def test_a_run_in_use_is_locked_and_a_dead_lock_blocks_nothing(tmp_path, capsys):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=3))
    with run_folder.RunLock(log_dir):  # another process training in it
        with pytest.raises(ConfigError, match="in use by another training process"):
            loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True))
    with open(os.path.join(log_dir, run_folder.LOCK_FILE), "w") as stream:
        stream.write("424242\n")  # left by a killed process: the kernel released its flock
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True, max_iterations=6))
    assert "Resuming" in capsys.readouterr().out and checkpoint_numbers(log_dir)[-1] == 6
    fresh = str(tmp_path / "fresh")
    os.makedirs(fresh)
    with run_folder.RunLock(fresh):  # a second new run with the same --logdir
        with pytest.raises(ConfigError, match="in use by another training process"):
            loop.train(dataclasses.replace(CONFIG, logdir=fresh))


@pytest.mark.slow
def test_sigterm_checkpoints_and_prints_the_resume_command(tmp_path, straight):
    log_dir = str(tmp_path / "run")
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), *TINY_FLAGS, "--epochs", "400",
         "--checkpoint_every", "1", "--logdir", log_dir, "--mnist_dir", MNIST_DIR], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(log_dir, "checkpoints", "checkpoint")):
        assert time.time() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("train.py: stopped by SIGTERM at iteration "), err
    assert lines[0].endswith("Resume with: python train.py --resume=%s" % log_dir)
    stopped_at = int(lines[0].split("iteration ")[1].split(" ")[0])
    assert checkpoint_numbers(log_dir)[-1] == stopped_at
    result = train_py("--resume=%s" % log_dir, "--max_iterations", "12")  # the straight run's 2 epochs
    assert result.returncode == 0, result.stderr
    printed = epoch_lines(out) + epoch_lines(result.stdout)
    assert sorted(set(printed)) == sorted(straight[0])  # each epoch's line, as uninterrupted
    assert read_logs(log_dir)[0] == straight[1][0] and count_duplicate_steps(log_dir) == 0


@pytest.mark.slow
def test_disk_full_while_checkpointing_leaves_nothing_half_written(tmp_path, monkeypatch):
    log_dir = str(tmp_path / "run")
    real_save = checkpoints.tf.train.CheckpointManager.save

    def full_disk(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number == 6:
            os.makedirs(os.path.join(log_dir, "checkpoints", "ckpt-6_temp"))  # a partial write
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(manager, checkpoint_number=checkpoint_number, **kwargs)
    monkeypatch.setattr(checkpoints.tf.train.CheckpointManager, "save", full_disk)
    with pytest.raises(checkpoints.CheckpointWriteError, match="ckpt-6 .*: the disk is full"):
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir))
    assert sorted(os.listdir(os.path.join(log_dir, "checkpoints"))) == [
        "checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]


def test_too_little_room_is_refused_before_training(tmp_path, monkeypatch, capsys):
    import shutil
    usage = shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(run_folder.shutil, "disk_usage",
                        lambda path: usage._replace(free=1000))
    log_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match="has 0 MB free, but this run's checkpoints need about"):
        loop.train(dataclasses.replace(CONFIG, logdir=str(log_dir)))
    assert not log_dir.exists()  # the new folder is not left behind
    assert capsys.readouterr().out == ""  # refused before the architecture is printed


@pytest.mark.slow
def test_recovery_from_a_damaged_state_file_and_interrupted_writes(tmp_path, capsys):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=6))
    folder = os.path.join(log_dir, "checkpoints")
    with open(os.path.join(folder, "checkpoint"), "w") as stream:
        stream.write("garbage {{{")
    os.makedirs(os.path.join(folder, "ckpt-9_temp", "part-00000-of-00001"))
    open(os.path.join(folder, "checkpoint.tmp1234"), "w").close()
    capsys.readouterr()
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True, max_iterations=9))
    out = capsys.readouterr().out
    assert "Removed what interrupted checkpoint writes left: checkpoint.tmp1234, ckpt-9_temp" in out
    assert "from %s" % os.path.join(folder, "ckpt-6") in out
    assert not [name for name in os.listdir(folder) if "_temp" in name or ".tmp" in name]
    assert checkpoint_numbers(log_dir) == [3, 6, 9]


@pytest.mark.slow
def test_a_finished_run_says_it_is_complete_and_resume_names_ignored_flags(tmp_path):
    log_dir = str(tmp_path / "run")
    result = train_py(*TINY_FLAGS, "--epochs", "1", "--logdir", log_dir)
    assert result.returncode == 0, result.stderr
    line = one_error_line(train_py("--resume=%s" % log_dir))
    assert "is complete: it reached its 1 epochs (iteration 6)" in line
    assert "pass a larger --epochs with --resume" in line
    result = train_py("--resume=%s" % log_dir, "--epochs", "2", "--batch_size", "8", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == ("warning: --resume takes the run's flags from its "
                                             "config.json; ignoring --batch_size, --seed")
    assert epoch_lines(result.stdout)[-1].startswith("epoch 1 >> ")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    line = one_error_line(train_py("--resume=%s" % broken, "--batch_size", "8"))
    assert "config.json cannot be read as a run's configuration" in line


@pytest.mark.slow
@pytest.mark.parametrize("args,fragment", [
    (["--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1"),
    (["--seed", "4294967296"], "--seed must be an integer from 0 to 2**32 - 1"),
    (["--generator_lr", "inf"], "--generator_lr must be a positive finite number, got inf"),
    (["--categorical_lambda", "nan"], "--categorical_lambda must be a finite number"),
    (["--max_iterations", "0"], "--max_iterations must be a positive integer, got 0"),
    (["--categorical_cardinality", "-3"], "--categorical_cardinality values must be positive, got [-3]"),
    (["--categorical_cardinality=", "--num_continuous", "0"], "InfoGAN needs at least one latent code"),
    (["--batch_size", "100000"], "--batch_size 100000 is larger than the data (55000 images)"),
    (["--max_images", "10", "--batch_size", "11"], "or a larger --max_images"),
    (["--logdir", "/etc/hostname"], "--logdir /etc/hostname is a file"),
    (["--logdir", "/etc/hostname/run"], "cannot be created: /etc/hostname is a file"),
    (["--resume=/no/such/run"], "/no/such/run is not a folder; pass the log folder of a run"),
])
def test_bad_input_is_one_line_before_tensorflow(tmp_path, args, fragment):
    result = train_py(*args, timeout=60)
    assert fragment in one_error_line(result)


@pytest.mark.slow
def test_evaluate_and_sample_fall_back_and_refuse_bad_input(tmp_path):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=6))
    newest = os.path.join(log_dir, "checkpoints", "ckpt-6.data-00000-of-00001")
    with open(newest, "r+b") as stream:
        stream.truncate(100)
    out = str(tmp_path / "samples.png")
    result = run_command("-m", "infogan", "sample", "--logdir", log_dir, "--num", "4", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "warning: checkpoint %s is unreadable" % os.path.join(log_dir, "checkpoints", "ckpt-6") in (
        result.stdout)
    assert os.path.getsize(out) > 1000
    for args, fragment in (
            (["--checkpoint", newest], "--checkpoint %s cannot be read" % newest),
            (["--num", "0"], "--num must be an integer from 1 to 9000"),
            (["--out", str(tmp_path / "missing" / "a.png")], "does not exist; create it"),
            (["--export", str(tmp_path)], "already exists and is not an empty folder")):
        line = one_error_line(run_command("-m", "infogan", "sample", "--logdir", log_dir, *args),
                              "python -m infogan sample")
        assert fragment in line, line
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text(json.dumps({"model": {}}))
    line = one_error_line(run_command("-m", "infogan", "evaluate", "--logdir",
                                      str(tmp_path / "broken")), "python -m infogan evaluate")
    assert "config.json cannot be read as a run's configuration" in line


@pytest.mark.slow
def test_an_image_that_fails_to_decode_is_one_line(tmp_path):
    from image_fixtures import write_image, write_undecodable_png
    write_image(str(tmp_path / "images" / "good.png"), "RGB")
    bad = write_undecodable_png(str(tmp_path / "images" / "bad.png"))
    result = train_py("--dataset", str(tmp_path / "images"), "--scale_dataset", "16", "8",
                      "--generator", "fc:16,fc:2x4x8,reshape:2:4:8,deconv:3:2:4,deconv:3:2:3:sigmoid",
                      "--discriminator", "conv:3:2:4:lrelu,fc:6:lrelu", "--batch_size", "2",
                      "--epochs", "1", "--logdir", str(tmp_path / "run"))
    line = one_error_line(result)
    assert "image %s cannot be decoded" % bad in line and "--cache_dir" in line
