"""A run that its own commands cannot break: every complete checkpoint is found whatever the path
form, the state file or the clock say; evaluate and sample write nothing into a run; a changed
dataset, a folder killed before its first checkpoint, signals while starting and a second signal
while training each say what is there; the run folder's lock."""
import dataclasses
import hashlib
import os
import shutil
import signal

import pytest

from conftest import hook_training_step
from test_checkpoints import CONFIG, epoch_lines
from infogan.config import ConfigError
from infogan.training import checkpoints, loop, run_folder

DAY = 24 * 3600


def numbers(log_dir):
    return [int(os.path.basename(path).split("-")[1])
            for path in checkpoints.checkpoints_on_disk(os.path.join(log_dir, "checkpoints"))]


def snapshot(folder):
    """Every file under `folder`: its bytes' digest and modification time."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, folder)] = (hashlib.sha256(stream.read()).hexdigest(),
                                                        os.stat(path).st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def straight_lines(tmp_path_factory):
    """The epoch lines of the uninterrupted 2-epoch run (12 iterations)."""
    import contextlib
    import io
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        loop.train(dataclasses.replace(CONFIG, logdir=str(tmp_path_factory.mktemp("s") / "run")))
    return epoch_lines(output.getvalue())


def resume(log_dir, **changes):
    return loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True, **changes))


@pytest.mark.slow
@pytest.mark.parametrize("relative", [True, False])
def test_one_checkpoint_resumes_with_relative_and_absolute_paths(tmp_path, monkeypatch, capsys,
                                                                  straight_lines, relative):
    monkeypatch.chdir(tmp_path)
    log_dir = "runs/a" if relative else str(tmp_path / "runs" / "a")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=2, checkpoint_every=500))
    assert numbers(log_dir) == [2]
    first = capsys.readouterr().out
    resume(log_dir, max_iterations=4)  # twice: the second resume reads what the first wrote
    resume(log_dir)
    out = capsys.readouterr().out
    assert "Resuming %r from %s" % (log_dir, os.path.join(log_dir, "checkpoints", "ckpt-2")) in out
    assert sorted(set(epoch_lines(first + out))) == sorted(straight_lines)


@pytest.mark.slow
def test_evaluate_and_sample_write_nothing_into_the_run_and_it_resumes_after(tmp_path, monkeypatch,
                                                                             capsys):
    from infogan.tools import evaluate
    monkeypatch.chdir(tmp_path)
    loop.train(dataclasses.replace(CONFIG, logdir="run", max_iterations=2, checkpoint_every=500))
    before = snapshot("run")
    evaluate.restore_models("run")  # what both evaluate and sample load a run with
    assert snapshot("run") == before
    resume("run", max_iterations=3)
    assert "Resuming 'run' from run/checkpoints/ckpt-2" in capsys.readouterr().out


@pytest.mark.slow
def test_a_damaged_or_missing_state_file_hides_no_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    loop.train(dataclasses.replace(CONFIG, logdir="run", max_iterations=2, checkpoint_every=500))
    state = os.path.join("run", "checkpoints", "checkpoint")
    with open(state, "w") as stream:
        stream.write("garbage {{{")
    resume("run", max_iterations=3, checkpoint_every=500)
    os.remove(state)
    resume("run", max_iterations=4, checkpoint_every=500)
    out = capsys.readouterr().out
    assert "from run/checkpoints/ckpt-2" in out and "from run/checkpoints/ckpt-3" in out
    assert numbers("run") == [2, 3, 4]


@pytest.mark.slow
def test_several_checkpoints_keep_three_after_relative_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loop.train(dataclasses.replace(CONFIG, logdir="run", max_iterations=4, checkpoint_every=1))
    assert numbers("run") == [2, 3, 4]
    for stop in (5, 6, 7):
        resume("run", max_iterations=stop, checkpoint_every=1)
        assert numbers("run") == [stop - 2, stop - 1, stop]


@pytest.mark.slow
def test_checkpoints_from_the_future_are_found(tmp_path, capsys):
    """Files and state-file times later than the clock: a clock stepped back, a run copied from
    another host."""
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=4, checkpoint_every=2))
    folder = os.path.join(log_dir, "checkpoints")
    for name in os.listdir(folder):
        stat = os.stat(os.path.join(folder, name))
        os.utime(os.path.join(folder, name), (stat.st_atime + DAY, stat.st_mtime + DAY))
    with open(os.path.join(folder, "checkpoint")) as stream:
        text = stream.read()
    with open(os.path.join(folder, "checkpoint"), "w") as stream:
        stream.write(text + "last_preserved_timestamp: %r\n" % (os.path.getmtime(folder) + 2 * DAY))
    resume(log_dir, max_iterations=6, checkpoint_every=2)
    assert "from %s" % os.path.join(folder, "ckpt-4") in capsys.readouterr().out
    assert numbers(log_dir) == [2, 4, 6]
    resume(log_dir, max_iterations=8, checkpoint_every=2)
    assert numbers(log_dir) == [4, 6, 8]


@pytest.mark.slow
def test_a_copied_run_resumes_from_its_own_checkpoints(tmp_path, capsys):
    loop.train(dataclasses.replace(CONFIG, logdir=str(tmp_path / "run"), max_iterations=3))
    shutil.copytree(tmp_path / "run", tmp_path / "copy")
    resume(str(tmp_path / "copy"), max_iterations=4)
    assert "from %s" % os.path.join(str(tmp_path / "copy"), "checkpoints", "ckpt-3") in (
        capsys.readouterr().out)
    assert numbers(str(tmp_path / "run")) == [3]


@pytest.mark.slow
def test_a_changed_image_folder_is_named_as_the_cause(tmp_path):
    from image_fixtures import write_image
    folder = tmp_path / "images"
    for index in range(6):
        write_image(str(folder / ("%d.png" % index)), "L", size=(8, 8), seed=index)
    config = dataclasses.replace(
        CONFIG, dataset=str(folder), scale_dataset=(8, 8), batch_size=2, epochs=1,
        logdir=str(tmp_path / "run"), model=dataclasses.replace(
            CONFIG.model, generator="fc:16,fc:2x2x8,reshape:2:2:8,deconv:3:2:4,deconv:3:2:1:sigmoid",
            discriminator="conv:3:2:4:lrelu,fc:6:lrelu"))
    loop.train(dataclasses.replace(config, max_iterations=2))
    write_image(str(folder / "extra.png"), "L", size=(8, 8), seed=9)
    with pytest.raises(ConfigError, match=r"the dataset of the run in .* has changed: its "
                       r"checkpoints were written with 6 training images, and .* now gives 7"):
        loop.train(dataclasses.replace(config, resume=True))


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_starts_again(tmp_path, capsys, straight_lines):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=2, checkpoint_every=500))
    shutil.rmtree(os.path.join(log_dir, "checkpoints"))  # as a kill -9 before the first one leaves it
    capsys.readouterr()
    resume(log_dir)
    out = capsys.readouterr().out
    assert "has no checkpoint yet (it stopped before its first one); starting it again" in out
    assert epoch_lines(out) == straight_lines


def send_signals_at(call_number, signals, monkeypatch):
    """Makes the training step deliver `signals` to this process on its `call_number`-th call."""
    hook_training_step(monkeypatch, call_number,
                       before=lambda models: [os.kill(os.getpid(), signum) for signum in signals])


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_says_what_is_there(tmp_path, monkeypatch):
    log_dir = str(tmp_path / "run")
    send_signals_at(5, [signal.SIGINT, signal.SIGINT], monkeypatch)
    with pytest.raises(loop.TrainingStopped) as stopped:
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir))
    message = str(stopped.value)
    assert "stopped at once by a second signal (SIGINT (Ctrl-C) first) at iteration 4" in message
    assert "its newest checkpoint is %s" % os.path.join(log_dir, "checkpoints", "ckpt-3") in message
    assert stopped.value.log_dir == log_dir and stopped.value.signum == signal.SIGINT
    assert stopped.value.iteration == 4 and stopped.value.checkpoint.endswith("ckpt-3")
    resume(log_dir, max_iterations=5)  # what it printed works
    assert numbers(log_dir) == [3, 5]


@pytest.mark.slow
@pytest.mark.parametrize("resumed", [False, True])
def test_a_signal_while_starting_stops_at_once(tmp_path, monkeypatch, resumed):
    log_dir = str(tmp_path / "run")
    if resumed:
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir, max_iterations=3))
        before = snapshot(log_dir)
    real_build = loop.build_models

    def build(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_build(*args, **kwargs)
    monkeypatch.setattr(loop, "build_models", build)
    with pytest.raises(loop.TrainingStopped, match="stopped by SIGTERM while the run was starting"
                       ) as stopped:
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=resumed))
    assert stopped.value.signum == signal.SIGTERM and stopped.value.iteration is None
    if resumed:
        assert "the run in %s is as it was" % log_dir in str(stopped.value)
        after = snapshot(log_dir)
        assert {k: v for k, v in after.items() if k != ".lock"} == {
            k: v for k, v in before.items() if k != ".lock"}
    else:
        assert "nothing was written" in str(stopped.value) and not os.path.exists(log_dir)


def test_the_lock_follows_no_link_and_survives_its_file_being_removed(tmp_path):
    log_dir = str(tmp_path / "run")
    os.makedirs(log_dir)
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    os.symlink(str(target), os.path.join(log_dir, run_folder.LOCK_FILE))
    with run_folder.RunLock(log_dir):
        assert target.read_text() == "keep me\n"
        assert not os.path.islink(os.path.join(log_dir, run_folder.LOCK_FILE))
        os.remove(os.path.join(log_dir, run_folder.LOCK_FILE))
        with pytest.raises(ConfigError, match="in use by another training process"):
            run_folder.RunLock(log_dir)
    with run_folder.RunLock(log_dir):  # released: free again
        pass
