"""Checkpoints: an interrupted and resumed run equals the uninterrupted one; corrupt checkpoints
fall back; a NaN stops training and keeps the last good checkpoint."""
import dataclasses
import glob
import os

import numpy as np
import pytest

from conftest import MNIST_DIR, hook_training_step
from infogan.training import loop
from infogan.config import TrainConfig
from infogan.model.config import ModelConfig

MODEL = ModelConfig(generator="fc:16,fc:7x7x4,reshape:7:7:4,deconv:4:2:4,deconv:4:2:1:sigmoid",
                    discriminator="conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:8:lrelu",
                    categorical_cardinality=(4,), num_continuous=1, style_size=3)
# 88 images / 16 = 6 batches an epoch (the last short): 12 iterations over 2 epochs.
CONFIG = TrainConfig(model=MODEL, epochs=2, max_images=88, batch_size=16, plot_every=4,
                     checkpoint_every=3, mnist_dir=MNIST_DIR)


def scalars(log_dir):
    from tensorboard.backend.event_processing import event_accumulator
    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return {tag: [(e.step, float(np.asarray(e.tensor_proto.float_val or
                                             [np.frombuffer(e.tensor_proto.tensor_content, np.float32)[0]])[0]))
                  for e in accumulator.Tensors(tag)]
            for tag in accumulator.Tags()["tensors"] if "/image" not in tag}


def epoch_lines(text):
    return [line for line in text.splitlines() if line.startswith("epoch")]


@pytest.mark.slow
def test_resume_reproduces_the_uninterrupted_run(tmp_path, capsys):
    loop.train(dataclasses.replace(CONFIG, logdir=str(tmp_path / "straight")))
    straight = epoch_lines(capsys.readouterr().out)
    interrupted = str(tmp_path / "interrupted")
    loop.train(dataclasses.replace(CONFIG, logdir=interrupted, max_iterations=5))
    first = capsys.readouterr().out
    assert epoch_lines(first) == []  # stopped inside epoch 0
    loop.train(dataclasses.replace(CONFIG, logdir=interrupted, resume=True))
    second = capsys.readouterr().out
    assert "Resuming" in second and "iteration 5" in second
    assert len(straight) == 2 and epoch_lines(second) == straight
    want, got = scalars(str(tmp_path / "straight")), scalars(interrupted)
    assert set(want) == set(got) and len(want["generator_objective"]) == 12
    for tag in want:
        assert got[tag] == want[tag], tag  # same steps, none duplicated or missing, same values


@pytest.mark.slow
def test_corrupt_newest_checkpoint_falls_back(tmp_path, capsys):
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, epochs=1))
    straight_one = epoch_lines(capsys.readouterr().out)
    newest = sorted(glob.glob(os.path.join(log_dir, "checkpoints", "ckpt-*.data-*")),
                    key=lambda p: int(p.split("ckpt-")[1].split(".")[0]))[-1]
    with open(newest, "r+b") as stream:
        stream.truncate(10)
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, resume=True))
    out = capsys.readouterr().out
    assert "unreadable" in out and "trying the previous one" in out
    full = str(tmp_path / "full")
    loop.train(dataclasses.replace(CONFIG, logdir=full))
    assert epoch_lines(out)[-1] == epoch_lines(capsys.readouterr().out)[-1]
    assert straight_one


@pytest.mark.slow
def test_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    def poisoned(results):
        results["generator_objective"] = results["generator_objective"] * np.nan
        return results
    hook_training_step(monkeypatch, 8, after=poisoned)
    log_dir = str(tmp_path / "nan")
    with pytest.raises(loop.TrainingDiverged, match="generator_objective became nan at iteration 7"):
        loop.train(dataclasses.replace(CONFIG, logdir=log_dir))
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(log_dir, "checkpoints", "*.index")))
    assert names == ["ckpt-3.index", "ckpt-6.index"]


def test_every_variable_is_in_the_checkpoint(tmp_path):
    import tensorflow as tf
    from infogan.model import losses
    from infogan.model.models import build_models
    from infogan.training import checkpoints
    from infogan.training.step import build_optimizers
    models = build_models(MODEL, (28, 28, 1))
    optimizers = build_optimizers(models, 1e-3, 2e-4)
    run = checkpoints.RunCheckpoints(str(tmp_path), models, optimizers, checkpoints.LoopState(10, 2))
    saved = {name for name, _ in tf.train.list_variables(run.save(1))}
    for prefix, layer in (("generator", models.generator), ("discriminator", models.discriminator),
                          ("q_network", models.q_network)):
        assert len([n for n in saved if n.startswith(prefix + "/")]) == len(layer.variables), prefix
    slots = len(losses.mutual_info_variables(models))  # G, D features and Q: G is counted once
    assert len([n for n in saved if n.startswith("generator_optimizer/first_moments/")]) == slots


def test_no_continuous_code_trains_although_std_contig_is_undefined(tmp_path, capsys):
    config = dataclasses.replace(CONFIG, model=dataclasses.replace(MODEL, num_continuous=0,
                                                                   fix_std=False),
                                 logdir=str(tmp_path / "run"), epochs=1, plot_every=100)
    loop.train(config)
    assert len(epoch_lines(capsys.readouterr().out)) == 1


def test_the_mutual_info_warmup_counts_the_runs_iterations_across_a_resume(tmp_path):
    """--mutual_info_warmup 8: iteration i weighs the MI term i / 8, numbered over the whole run,
    so a resumed run goes on where the schedule stopped; TensorBoard shows the weight."""
    log_dir = str(tmp_path / "run")
    config = dataclasses.replace(CONFIG, epochs=1, mutual_info_loss="gan_losses",
                                 mutual_info_warmup=8, logdir=log_dir)
    loop.train(dataclasses.replace(config, max_iterations=4))
    loop.train(dataclasses.replace(config, resume=True))
    assert scalars(log_dir)["mutual_info_weight"] == [(i, i / 8) for i in range(6)]
    without = str(tmp_path / "without")
    loop.train(dataclasses.replace(CONFIG, epochs=1, max_iterations=2, logdir=without))
    assert "mutual_info_weight" not in scalars(without)
