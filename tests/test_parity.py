"""`python -m infogan.parity`: the port against the TF1 reference graph, on the shipped MNIST.

The targets (float32, CPU): forward outputs within 1e-5 (absolute), logged values within 1e-4
(relative) at every iteration, every image summary within 1/255, every variable within 1e-3
(relative) at the end, identical epoch lines. Here on the default networks with batch 8 for a
few iterations, and on tiny networks for whole training loops (InfoGAN and GAN mode).
"""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from image_fixtures import write_unsorted_folder
from infogan.config import TrainConfig
from infogan.model.config import ModelConfig
from infogan.parity.compare import (IterationComparison, Tolerances, compare_images,
                                    compare_iterations, compare_states, iteration_table,
                                    relative_difference, report_lines, verdict)
from infogan.parity.runner import compare_epochs, compare_with_reference, racy_images, report
from infogan.training.loop import load_images

TINY28 = dict(generator="fc:16,fc:7x7x4,reshape:7:7:4,deconv:4:2:4,deconv:4:2:1:sigmoid",
              discriminator="conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:16:lrelu",
              categorical_cardinality=(3, 2), num_continuous=1, style_size=5)
EMA_SLOT = ("discriminator/layer_0/batch_norm/discriminator/layer_0/batch_norm/moments/Squeeze/"
            "ExponentialMovingAverage/Adam")


def run_parity(*args, quiet_tensorflow=True):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if quiet_tensorflow:
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return subprocess.run([sys.executable, "-m", "infogan.parity", *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300, env=env)


@pytest.fixture(scope="module")
def default_comparison():
    """The default networks, batch 8, 3 iterations with a plot after the second, from a fresh
    reference initialisation."""
    return compare_with_reference(TrainConfig(batch_size=8, plot_every=2), iterations=3)


@pytest.mark.slow
def test_default_networks_meet_the_targets(default_comparison):
    targets = Tolerances()
    forward = default_comparison.forward
    assert set(forward) == {"G (inference mode)", "G (training mode)", "D prob (fake pass)",
                            "D hidden (fake pass)", "D prob (real pass)", "D hidden (real pass)",
                            "Q output"}
    assert max(forward.values()) <= targets.forward, forward
    assert len(default_comparison.rows) == 3
    for row in default_comparison.rows:
        assert row.max_rel <= targets.objective, (row.iteration, row.tf1, row.port)
        assert set(row.port) >= {"discriminator_objective", "mutual_info_objective", "std_contig"}
    worst = default_comparison.states[0]
    assert worst[0] <= targets.parameter, default_comparison.states[:5]
    assert len(default_comparison.states) == 109  # every port variable, Adam state included
    shadows = [item for item in default_comparison.states if "generator/layer_2/batch_norm/gen" in item[2]]
    assert len(shadows) == 2 and all(item[1] == 0 for item in shadows)  # moved by the plot alike
    images = default_comparison.images
    assert len(images) == 16 and {step for step, _, _ in images} == {2}
    assert all(difference == 0 for _, _, difference in images)  # the PNGs' pixels
    assert not verdict(targets, forward, default_comparison.rows, default_comparison.states, images)


@pytest.mark.slow
def test_report_and_verdict(default_comparison, capsys):
    config = TrainConfig(batch_size=8, plot_every=2)
    assert report(default_comparison, config, Tolerances())
    printed = capsys.readouterr().out
    assert "D obj (TF1)" in printed and "largest differences: forward (abs)" in printed
    assert "image summaries at steps 2: 16 of 16 identical" in printed
    assert "NOT MET" not in printed
    assert not report(default_comparison, config, Tolerances(-1.0, -1.0, -1.0, -1.0))
    printed = capsys.readouterr().out
    assert "BEYOND TOLERANCE: forward" in printed and "objectives" in printed
    assert not report(default_comparison, config, Tolerances(image=-1.0))
    assert "BEYOND TOLERANCE: image category_0/image at step 2" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("infogan", [True, False])
def test_both_training_loops_log_the_same(infogan):
    """The reference's TF1 loop and the port's train(): epoch lines, every scalar, every image
    (GAN mode: TF1's normalised float images), every variable."""
    config = TrainConfig(model=ModelConfig(infogan=infogan, **TINY28), epochs=2, max_images=96,
                         batch_size=32, plot_every=2, seed=7)
    result = compare_epochs(config)
    tf1_lines, port_lines = result.epoch_lines
    assert len(tf1_lines) == 2 and tf1_lines == port_lines
    assert ("infogan loss" in tf1_lines[0]) == infogan
    assert len(result.rows) == 6 and all(row.max_rel == 0 for row in result.rows)
    assert {step for step, _, _ in result.images} == {2, 4, 6}
    assert len(result.images) == 3 * (5 + 3 if infogan else 10)  # 3+2 categories, 1 code x 3
    assert all(difference == 0 for _, _, difference in result.images)
    assert max(relative for relative, _, _ in result.states) <= Tolerances().parameter
    assert not verdict(Tolerances(), rows=result.rows, states=result.states, images=result.images,
                       epoch_lines=result.epoch_lines)


@pytest.mark.slow
def test_command_line(tmp_path):
    process = run_parity("--iterations", "2", "--batch_size", "8", "--generator", TINY28["generator"],
                         "--discriminator", TINY28["discriminator"], "--categorical_cardinality",
                         "3", "2", "--num_continuous", "1", "--style_size", "5", "--seed", "3",
                         quiet_tensorflow=False)
    assert process.returncode == 0, process.stdout + process.stderr[-2000:]
    assert process.stderr == ""  # the command keeps TensorFlow's own log lines back
    table = process.stdout.splitlines()
    header = next(index for index, line in enumerate(table) if line.startswith("iter"))
    assert table[header].split()[1:4] == ["D", "obj", "(TF1)"]
    assert [line.split()[0] for line in table[header + 1:header + 3]] == ["0", "1"]
    assert "batch 8, 2 iterations, plots every 10, seed 3" in process.stdout
    process = run_parity("--iterations", "0")
    assert process.returncode == 2
    assert process.stderr.strip() == (
        "python -m infogan.parity: error: --iterations must be a positive integer, got 0")


def test_differences():
    assert relative_difference(2.0, 2.0) == 0 and relative_difference(0.0, 0.0) == 0
    assert relative_difference(-2.0, -1.0) == pytest.approx(0.5)
    assert relative_difference(np.array([1.0, 100.0]), np.array([2.0, 100.0])) == pytest.approx(0.01)
    rows = compare_iterations(
        [{"discriminator_objective": -1.0, "generator_objective": -2.0, "unlisted": 5.0}],
        [{"discriminator_objective": -1.0, "generator_objective": -2.002, "unlisted": 9.0}])
    assert rows[0].max_abs == pytest.approx(0.002) and rows[0].max_rel == pytest.approx(0.002 / 2.002)
    assert verdict(Tolerances(), rows=rows) == [
        "iteration 0: relative difference 0.000999 > 0.0001"]
    lines = iteration_table(rows)
    assert len(lines) == 2 and lines[1].split()[1:5] == ["-1", "-1", "-2", "-2.002"]
    states = compare_states({"a": np.ones(2), EMA_SLOT: np.ones(1)}, {"a": np.ones(2), EMA_SLOT: np.zeros(1)})
    assert states == [(0.0, 0.0, "a")]
    gray = np.zeros((4, 4, 1), np.uint8)
    images = compare_images({3: {"a/image": gray, "b/image": gray}},
                            {3: {"a/image": gray + 2}, 6: {"c/image": gray}})
    assert images == [(3, "a/image", 2.0), (3, "b/image", None), (6, "c/image", None)]
    assert verdict(Tolerances(), images=images) == [
        "image a/image at step 3: pixel difference 2 > 1",
        "image b/image at step 3: only one side wrote it",
        "image c/image at step 6: only one side wrote it"]
    assert verdict(Tolerances(), epoch_lines=(["epoch 0 >> a"], ["epoch 0 >> b"])) == [
        "epoch lines differ"]


# The upstream README's chairs command (64x64 grayscale, three 20-way codes, one continuous code),
# with tiny networks.
CHAIRS_TINY = ["--scale_dataset", "64", "64", "--force_grayscale", "--categorical_cardinality",
               "20", "20", "20", "--num_continuous", "1", "--style_size", "5",
               "--categorical_lambda", "1.0", "--continuous_lambda", "10.0",
               "--generator", "fc:16,fc:8x8x4,reshape:8:8:4,deconv:4:2:4,deconv:4:2:4,"
                              "deconv:4:2:1:sigmoid",
               "--discriminator", "conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:16:lrelu"]


@pytest.mark.slow
def test_image_folder_parity_in_the_tf1_order(tmp_path):
    """On a folder that the file system lists unsorted, the port's rows are the TF1 code's listing
    and the parity command passes; a port that sorted the files would fail it."""
    folder = str(tmp_path / "chairs")
    listed = write_unsorted_folder(folder, count=32, size=(20, 12))
    if listed is None:
        pytest.skip("this file system lists the files sorted")
    flags = ["--dataset", folder, *CHAIRS_TINY, "--batch_size", "8", "--plot_every", "3",
             "--seed", "5"]
    process = run_parity(*flags, "--epochs", "1")
    assert process.returncode == 0, process.stdout + process.stderr[-2000:]
    assert "epoch lines identical: yes" in process.stdout
    assert "image summaries at steps 3: 63 of 63 identical" in process.stdout
    assert "NOT MET" not in process.stdout
    config = TrainConfig(model=ModelConfig(
        generator=CHAIRS_TINY[-3], discriminator=CHAIRS_TINY[-1],
        categorical_cardinality=(20, 20, 20), num_continuous=1, style_size=5,
        continuous_lambda=10.0), dataset=folder, scale_dataset=(64, 64), force_grayscale=True,
        batch_size=8, plot_every=3, seed=5, epochs=1)
    assert load_images(config)[0].paths == listed
    sorted_port = compare_epochs(dataclasses.replace(config, image_order="sorted"))
    assert sorted_port.epoch_lines[0] != sorted_port.epoch_lines[1]
    assert all(row.max_rel > 0 for row in sorted_port.rows)
    process = run_parity(*flags, "--image_order", "sorted")
    assert process.returncode == 2 and "which has no --image_order sorted" in process.stderr


def test_racy_images_are_warnings_only_when_every_scalar_matches():
    chairs = TrainConfig(dataset="chairs", model=ModelConfig(categorical_cardinality=(20, 20, 20)))
    assert racy_images(chairs, "tf1_repo") and not racy_images(chairs, None)
    assert not racy_images(TrainConfig(), "tf1_repo")  # MNIST defaults: images compared strictly
    gray = np.zeros((4, 4, 1), np.uint8)
    row = compare_iterations([{"discriminator_objective": -1.0}], [{"discriminator_objective": -1.0}])
    racy = IterationComparison("t", {}, row, [], compare_images({3: {"a/image": gray}},
                                                                 {3: {"a/image": gray + 16}}))
    lines, ok = report_lines(racy, "d", Tolerances(), racy_images=True)
    assert ok and "WARNING: image a/image at step 3: pixel difference 16 > 1" in lines
    assert any("run the TF1 side on a quiet machine" in line for line in lines)
    assert not report_lines(racy, "d", Tolerances())[1]  # not racy: a failure
    beyond = dataclasses.replace(racy, images=[(3, "a/image", 40.0)])
    assert not report_lines(beyond, "d", Tolerances(), racy_images=True)[1]
    off = dataclasses.replace(racy, rows=compare_iterations([{"discriminator_objective": -1.0}],
                                                            [{"discriminator_objective": -2.0}]))
    lines, ok = report_lines(off, "d", Tolerances(), racy_images=True)
    assert not ok and "BEYOND TOLERANCE: image a/image at step 3: pixel difference 16 > 1" in lines
