"""`python -m infogan.parity`: the port against the TF1 reference graph, on the shipped MNIST.

The targets (float32, CPU): forward outputs within 1e-5 (absolute), logged values within 1e-4
(relative) at every iteration, every variable within 1e-3 (relative) at the end, identical
epoch lines. Here on the default networks with batch 8 for a few iterations, and on tiny
networks for the epoch lines.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from infogan.config import TrainConfig
from infogan.model.config import ModelConfig
from infogan.parity.runner import compare_epochs, compare_with_reference, report_iterations
from infogan.parity.compare import (Tolerances, compare_iterations, compare_states, iteration_table,
                                   relative_difference, verdict)

TINY28 = dict(generator="fc:16,fc:7x7x4,reshape:7:7:4,deconv:4:2:4,deconv:4:2:1:sigmoid",
              discriminator="conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:16:lrelu",
              categorical_cardinality=(3, 2), num_continuous=1, style_size=5)
EMA_SLOT = ("discriminator/layer_0/batch_norm/discriminator/layer_0/batch_norm/moments/Squeeze/"
            "ExponentialMovingAverage/Adam")


def run_parity(*args):
    return subprocess.run([sys.executable, "-m", "infogan.parity", *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


@pytest.fixture(scope="module")
def default_comparison():
    """The default networks, batch 8, 3 iterations, from a fresh reference initialisation."""
    return compare_with_reference(TrainConfig(batch_size=8), iterations=3)


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
    assert not verdict(targets, forward, default_comparison.rows, default_comparison.states)


def test_report_and_verdict(default_comparison, capsys):
    config = TrainConfig(batch_size=8)
    assert report_iterations(default_comparison, config, Tolerances())
    printed = capsys.readouterr().out
    assert "D obj (TF1)" in printed and "largest differences: forward (abs)" in printed
    assert "NOT MET" not in printed
    assert not report_iterations(default_comparison, config, Tolerances(-1.0, -1.0, -1.0))
    printed = capsys.readouterr().out
    assert "BEYOND TOLERANCE: forward" in printed and "objectives" in printed


def test_epoch_lines_of_both_training_loops_are_identical(capsys):
    config = TrainConfig(model=ModelConfig(**TINY28), epochs=2, max_images=96, batch_size=32,
                         plot_every=5, seed=7)
    assert compare_epochs(config)
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith("epoch ") and " >> " in line]
    assert len(lines) == 4 and lines[:2] == lines[2:]
    assert "epoch lines identical: yes" in printed


def test_command_line(tmp_path):
    process = run_parity("--iterations", "2", "--batch_size", "8", "--generator", TINY28["generator"],
                         "--discriminator", TINY28["discriminator"], "--categorical_cardinality",
                         "3", "2", "--num_continuous", "1", "--style_size", "5", "--seed", "3")
    assert process.returncode == 0, process.stdout + process.stderr[-2000:]
    table = process.stdout.splitlines()
    header = next(index for index, line in enumerate(table) if line.startswith("iter"))
    assert table[header].split()[1:4] == ["D", "obj", "(TF1)"]
    assert [line.split()[0] for line in table[header + 1:header + 3]] == ["0", "1"]
    assert "batch 8, 2 iterations, seed 3" in process.stdout
    process = run_parity("--iterations", "0")
    assert process.returncode == 2
    assert process.stderr.strip() == "parity: error: --iterations must be a positive integer, got 0"


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
