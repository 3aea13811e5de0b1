"""Evaluation measures a run on its own dataset's test set, and refuses image folders (no labels)."""
import dataclasses

import pytest

from image_fixtures import write_idx_folder
from test_checkpoints import CONFIG

from infogan import data
from infogan.config import MNIST_SHAPE, ConfigError


def test_labelled_dataset_is_the_runs_own(tmp_path):
    from infogan.tools.evaluate import labelled_dataset
    assert labelled_dataset(CONFIG) == data.MNIST
    assert labelled_dataset(dataclasses.replace(CONFIG, dataset=data.FASHION_MNIST)) == data.FASHION_MNIST
    folder = str(tmp_path / "faces")
    with pytest.raises(ConfigError, match="the image folder %s has none; infogan-sample" % folder):
        labelled_dataset(dataclasses.replace(CONFIG, dataset=folder))


def test_a_fashion_mnist_run_is_measured_on_its_test_set(tmp_path, monkeypatch):
    from infogan.model.models import build_models
    from infogan.tools import evaluate
    fashion_dir = str(tmp_path / "fashion")
    write_idx_folder(fashion_dir, num_train=5001, num_test=7)
    config = dataclasses.replace(CONFIG, dataset=data.FASHION_MNIST, fashion_mnist_dir=fashion_dir)
    models = build_models(config.model, MNIST_SHAPE)
    monkeypatch.setattr(evaluate, "restore_models", lambda *args: (config, models, "ckpt"))
    monkeypatch.setattr(evaluate, "write_figures", lambda *args: [])
    results = evaluate.evaluate(str(tmp_path / "run"), num_samples=16, batch_size=16)
    assert results["dataset"] == data.FASHION_MNIST
    assert results["confusion"].sum() == 7  # the fixture's test set, not MNIST's 10000
    assert len(results["continuous_correlations"]) == config.model.num_continuous
