"""Entry points in-process: `python -m infogan` dispatch, the evaluation report, sample grids, the
TF1 schedule of the parity kit and the equivalence check's measures."""
import sys

import numpy as np
import pytest

from conftest import TINY_IMAGE_SHAPE


def test_python_m_infogan_prints_its_usage(monkeypatch, capsys):
    from infogan import __main__ as entry
    for argv, status, stream in ((["--help"], 0, "out"), (["nonsense"], 2, "err")):
        monkeypatch.setattr(sys, "argv", ["infogan"] + argv)
        with pytest.raises(SystemExit) as stop:
            entry.main()
        assert stop.value.code == status
        assert getattr(capsys.readouterr(), stream).strip() == entry.USAGE


def test_evaluation_report_lines():
    from infogan.cli.evaluate import report_lines
    results = {"checkpoint": "run/checkpoints/ckpt-3", "one_to_one": 0.5, "many_to_one": 0.75,
               "nmi": 0.25, "ari": 0.125, "mapping": [1, None], "confusion": np.eye(2, dtype=int),
               "continuous_correlations": [0.5], "figures_skipped": "read-only"}
    lines = report_lines(results)
    assert lines[1:5] == ["categorical accuracy, one-to-one (Hungarian): 50.00%",
                          "categorical accuracy, many-to-one: 75.00%", "NMI 0.250, ARI 0.125",
                          "category -> digit (one-to-one): 0->1, 1->-"]
    assert lines[-2:] == ["continuous code 0: correlation(code, Q mean) = 0.500",
                          "figures: not written (read-only)"]
    fashion = report_lines(dict(results, dataset="fashion_mnist"))
    assert fashion[4] == "category -> class (one-to-one): 0->1, 1->-"
    assert fashion[5] == "confusion matrix (rows: Q category, columns: class label):"


def test_sample_grid_and_title(tiny_model_config, tmp_path):
    from infogan.model.models import build_models
    from infogan.tools import sample
    models = build_models(tiny_model_config, TINY_IMAGE_SHAPE)
    noise = sample.make_noise(tiny_model_config, 12, categories=[1, 0], sweep=1)
    path = sample.write_samples(models, noise, str(tmp_path / "grid.png"),
                                sample.describe_codes([1, 0], None, 1))
    assert noise.shape == (20, tiny_model_config.z_size) and (tmp_path / "grid.png").stat().st_size > 1000
    assert path.endswith("grid.png")
    assert sample.describe_codes([1, 0], [0.5, 2.0], 1) == (
        "categorical code 0 = 1; categorical code 1 = 0; continuous code 0 = 0.5; "
        "continuous code 1 swept over [-2, 2]")


def test_tf1_schedule_draws_the_noise_of_the_tf1_loop(tiny_model_config):
    from infogan.data import ArrayDataset
    from infogan.model.noise import make_noise_sampler
    from infogan.parity.reference_loop import Plot, Step, tf1_schedule
    dataset = ArrayDataset("tiny", np.random.RandomState(0).rand(10, 8, 8, 1).astype(np.float32))
    events = tf1_schedule(dataset, tiny_model_config, 4, seed=3, iterations=4, plot_every=2)
    assert [type(event) for event in events] == [Step, Step, Plot, Step, Step, Plot]
    np.random.seed(3)
    order = np.arange(10, dtype=np.int32)
    np.random.shuffle(order)
    sample = make_noise_sampler(tiny_model_config)
    assert np.array_equal(events[0].batch, dataset.images[order[:4]])
    assert np.array_equal(events[0].discriminator_noise, sample(4))
    assert np.array_equal(events[0].generator_noise, sample(4))
    assert [event.iteration for event in events if isinstance(event, Plot)] == [2, 4]
    assert len(events[3].batch) == 2  # the epoch's short last batch


def test_equivalence_measures_one_device_against_itself(tiny_model_config):
    from infogan.parity import equivalence
    from infogan.model.models import build_models
    from infogan.model.noise import make_noise_sampler
    models = build_models(tiny_model_config, TINY_IMAGE_SHAPE)
    np.random.seed(0)
    sample = make_noise_sampler(tiny_model_config)
    real = np.random.rand(6, 8, 8, 1).astype(np.float32)
    d_noise, g_noise = (sample(6).astype(np.float32) for _ in range(2))
    outputs, gradients = equivalence.forward_and_gradients(models, real, d_noise, g_noise)
    again, _ = equivalence.forward_and_gradients(models, real, d_noise, g_noise)
    assert outputs["G (training)"].shape == (6,) + TINY_IMAGE_SHAPE
    assert {name.split(":")[0] for name in gradients} == {"D loss", "G loss", "MI loss"}
    assert all(equivalence.relative(outputs[name], again[name]) < 1e-5 for name in outputs)
    assert equivalence.relative([2.0, -4.0], [2.0, -3.0]) == 0.25
    assert equivalence.relative([0.0], [0.0]) == 0.0
