"""evaluate on a tiny trained model: accuracies, confusion matrix, correlations, figures."""
import dataclasses
import os
import subprocess
import sys


import numpy as np
import pytest

from conftest import REPO_ROOT
from test_checkpoints import CONFIG


@pytest.mark.slow
def test_evaluate_a_tiny_run(tmp_path):
    from infogan.tools import evaluate
    from infogan.training import loop
    log_dir = str(tmp_path / "run")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, epochs=1, plot_every=100))
    results = evaluate.evaluate(log_dir, num_samples=64, batch_size=500)
    counts = results["confusion"]
    assert counts.shape == (4, 10) and counts.sum() == 10000
    assert 0.1 <= results["many_to_one"] <= 1 and results["one_to_one"] <= results["many_to_one"]
    assert len(results["continuous_correlations"]) == 1
    assert -1 <= results["continuous_correlations"][0] <= 1
    assert [os.path.basename(p) for p in results["figures"]] == ["categorical_0.png", "continuous_0.png"]
    assert all(os.path.getsize(p) > 1000 for p in results["figures"])

    # The same weights as a TF1 checkpoint (the TF1 code's names) give the same evaluation.
    prefix = _save_as_tf1_checkpoint(log_dir, str(tmp_path / "tf1" / "model.ckpt"))
    tf1_results = evaluate.evaluate_tf1_checkpoint(prefix, CONFIG.model, num_samples=64, batch_size=500)
    np.testing.assert_array_equal(tf1_results["confusion"], counts)
    assert tf1_results["continuous_correlations"] == results["continuous_correlations"]
    assert all(path.startswith(str(tmp_path / "tf1" / "eval")) for path in tf1_results["figures"])

    # From the command line, --tf1_checkpoint means the TF1 code's default networks.
    result = _run_module("infogan.cli.evaluate", "--tf1_checkpoint", prefix)
    assert result.returncode == 2, result.stderr
    assert "evaluate: error: --tf1_checkpoint takes the TF1 code's default networks" in result.stderr
    assert "Traceback" not in result.stderr


def _save_as_tf1_checkpoint(log_dir, prefix):
    from infogan.tools.evaluate import restore_models
    from infogan.training.tf1_checkpoint import export_tf1_state, save_tf1_checkpoint
    from infogan.training.step import build_optimizers
    config, models, _ = restore_models(log_dir)
    optimizers = build_optimizers(models, config.run.generator_lr, config.run.discriminator_lr)
    os.makedirs(os.path.dirname(prefix))
    return save_tf1_checkpoint(prefix, export_tf1_state(models, optimizers))


def _run_module(module, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", module, *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


@pytest.mark.slow
def test_evaluate_command_line_errors(tmp_path):
    result = _run_module("infogan.cli.evaluate", "--logdir", str(tmp_path))
    assert result.returncode == 2 and "holds no config.json" in result.stderr
    result = _run_module("infogan.cli.evaluate")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "python -m infogan.cli.evaluate: error: pass either --logdir, the log folder of a run, "
        "or --tf1_checkpoint")


@pytest.mark.slow
def test_sample_and_export_loads_without_infogan(tmp_path):
    from infogan.training import loop
    log_dir, export = str(tmp_path / "run"), str(tmp_path / "export")
    loop.train(dataclasses.replace(CONFIG, logdir=log_dir, epochs=1, max_iterations=2))
    result = _run_module("infogan.cli.sample", "--logdir", log_dir, "--num", "12", "--category", "3",
                         "--continuous", "0.5", "--out", str(tmp_path / "s.png"), "--export", export,
                         timeout=180)
    assert result.returncode == 0, result.stderr
    assert os.path.getsize(tmp_path / "s.png") > 1000
    bad = _run_module("infogan.cli.sample", "--logdir", log_dir, "--category", "9", timeout=180)
    assert bad.returncode == 2 and "outside 0..3" in bad.stderr
    # A fresh process that never imports infogan (run from tmp_path, nothing on sys.path).
    code = ("import sys, numpy as np, tensorflow as tf\n"
            "m = tf.saved_model.load(sys.argv[1])\n"
            "out = m(tf.constant(np.zeros((3, 8), np.float32)))\n"
            "assert 'infogan' not in sys.modules\n"
            "print(out.shape, float(tf.reduce_min(out)) >= 0.0)\n")
    loaded = subprocess.run([sys.executable, "-c", code, export], capture_output=True, text=True,
                            cwd=str(tmp_path), timeout=180,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "(3, 28, 28, 1) True"


def test_make_noise_codes():
    from infogan.model.config import ModelConfig
    from infogan.tools.sample import make_noise
    model = ModelConfig(categorical_cardinality=(3, 2), num_continuous=2, style_size=4)
    noise = make_noise(model, 5, categories=[2, 0], continuous=[0.5, -1.0])
    assert noise.shape == (5, 11)
    assert np.all(noise[:, :5] == [0, 0, 1, 1, 0]) and np.all(noise[:, 5:7] == [0.5, -1.0])
    swept = make_noise(model, 12, sweep=1)
    assert swept.shape == (20, 11) and np.allclose(swept[:10, 6], np.linspace(-2, 2, 10))
    assert np.all(swept[:10, 7:] == swept[0, 7:])  # one sample per row
