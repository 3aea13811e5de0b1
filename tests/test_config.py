"""TrainConfig's parts, the flags derived from their fields, config.json and the preflight."""
import dataclasses
import importlib
import json
import subprocess
import sys

import pytest
from absl import flags

from infogan.cli import train as train_cli
from infogan.config import (ConfigError, Preflighted, TrainConfig, config_fields, load_run_config,
                            preflight, save_run_config)
from infogan.model.config import ModelConfig
from infogan.model.options import GROUPS

# A config.json as runs wrote it before the configuration had parts (and before image_order).
OLD_RUN_CONFIG = {
    "allreduce_precision": "float32", "batch_size": 32, "cache_dir": None, "checkpoint_every": 500,
    "dataset": None, "discriminator_lr": 0.0002, "distribution_strategy": "off", "epochs": 3,
    "fashion_mnist_dir": "/usr/share/datasets/fashion-mnist", "fast": False,
    "force_grayscale": False, "generator_lr": 0.001, "jit_compile": False, "log_root": None,
    "logdir": "runs/old", "max_images": 640, "max_iterations": None, "mnist_dir": "mnist",
    "model": {"categorical_cardinality": [10], "categorical_lambda": 1.0, "continuous_lambda": 1.0,
              "discriminator": "conv:4:2:64:lrelu,conv:4:2:128:lrelu,fc:1024:lrelu",
              "fix_std": True, "generator": "fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,"
              "deconv:4:2:1:sigmoid", "infogan": True, "mutual_info_loss": "separate",
              "num_continuous": 2, "style_noise": "normal", "style_size": 62,
              "use_batch_norm": True},
    "num_cpu_devices": 1, "num_gpus": 0, "plot_every": 200, "precision": "float32",
    "progress_bar": None, "recipe": "tf1", "resume": False, "scale_dataset": [28, 28],
    "seed": 7, "status_every": 120, "tf1_checkpoint": None, "tpu": None, "worker_timeout": 300.0,
}


def test_every_flag_is_a_field_and_every_field_a_flag():
    flag_values = flags.FlagValues()
    saved, train_cli.flags.FLAGS = train_cli.flags.FLAGS, flag_values
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("DEFINE_integer", "DEFINE_float", "DEFINE_string", "DEFINE_boolean",
                         "DEFINE_list", "DEFINE_enum"):
                define = getattr(flags, name)
                patch.setattr(train_cli.flags, name, lambda *args, _d=define, **kw: _d(
                    *args, flag_values=flag_values, **kw))
            train_cli.define_flags()
    finally:
        train_cli.flags.FLAGS = saved
    fields = {field.name: field for _, field in config_fields() if field.metadata["flag"]}
    assert set(flag_values) == set(fields)
    library_only = {field.name for _, field in config_fields() if not field.metadata["flag"]}
    assert library_only == {"log_root", "progress_bar"}
    for name, field in fields.items():
        assert field.metadata["group"] in GROUPS and field.metadata["help"]
        default = flag_values[name].default
        if name == "resume":
            assert default is None
        elif isinstance(field.default, tuple):
            assert tuple(int(value) for value in default) == field.default
        else:
            assert default == field.default


def test_flag_groups_and_resumable_flags_come_from_the_fields():
    assert train_cli.TF1_FLAGS[:2] == ("generator", "discriminator")
    assert set(train_cli.TF1_FLAGS) >= {"epochs", "batch_size", "seed", "force_grayscale"}
    assert "mutual_info_loss" in train_cli.BEYOND_TF1_FLAGS and "logdir" in train_cli.PORT_FLAGS
    assert set(train_cli.RESUME_FLAGS) == {
        "resume", "epochs", "max_iterations", "checkpoint_every", "status_every", "jit_compile",
        "fast", "distribution_strategy", "num_gpus", "num_cpu_devices", "worker_timeout", "tpu",
        "allreduce_precision", "verbosity"}
    assert train_cli.LIST_FLAGS == ("categorical_cardinality", "scale_dataset")


def test_train_config_is_built_and_changed_by_flag_name():
    config = TrainConfig.create(epochs=1, max_images=320, logdir="runs/first", infogan=False)
    assert (config.run.epochs, config.data.max_images, config.run.logdir) == (1, 320, "runs/first")
    assert not config.model.infogan and config == TrainConfig(
        epochs=1, max_images=320, logdir="runs/first", model=ModelConfig(infogan=False))
    changed = config.replace(logdir="runs/second", precision="mixed_bfloat16")
    assert changed.run.logdir == "runs/second" and changed.execution.precision == "mixed_bfloat16"
    assert changed.run.epochs == 1 and config.run.logdir == "runs/first"  # frozen
    assert dataclasses.replace(config, seed=3).run.seed == 3
    assert changed.flat()["logdir"] == "runs/second" and changed.flat()["infogan"] is False
    with pytest.raises(TypeError, match="no field epoch"):
        TrainConfig(epoch=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.run.epochs = 2


def test_config_json_round_trips_and_old_run_files_load(tmp_path):
    config = TrainConfig(epochs=2, scale_dataset=(32, 16), dataset="faces",
                         model=ModelConfig(categorical_cardinality=(20, 20)))
    save_run_config(str(tmp_path), config)
    assert load_run_config(str(tmp_path)) == config
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["epochs"] == 2 and written["model"]["categorical_cardinality"] == [20, 20]
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps(OLD_RUN_CONFIG))
    loaded = load_run_config(str(old))
    assert (loaded.run.epochs, loaded.run.batch_size, loaded.run.seed) == (3, 32, 7)
    assert loaded.data.scale_dataset == (28, 28) and loaded.data.max_images == 640
    assert loaded.data.image_order == "sorted"  # older runs listed image folders sorted
    assert loaded.model == ModelConfig() and loaded.run.logdir == "runs/old"


def test_preflight_returns_what_it_learned_and_train_accepts_it():
    checked = preflight(TrainConfig(max_images=640))
    assert isinstance(checked, Preflighted) and checked.num_images == 640
    with pytest.raises(ConfigError, match="--batch_size 64 is larger than the data"):
        preflight(TrainConfig(max_images=10))
    with pytest.raises(ConfigError, match="generator makes images of shape 28x28x3"):
        preflight(TrainConfig(model=ModelConfig(
            generator="fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2:3:sigmoid")))


class _Stopped(Exception):
    """Stops training right after its checks."""


def _stop(seed):
    raise _Stopped(seed)


def test_preflight_runs_once_per_training(monkeypatch, tmp_path):
    from infogan.training import loop
    preflight_module = importlib.import_module("infogan.config.preflight")
    calls = []
    monkeypatch.setattr(preflight_module, "validate_numbers", calls.append)
    monkeypatch.setattr(loop, "seed_everything", _stop)
    checked = preflight(TrainConfig(logdir=str(tmp_path / "run")))
    with pytest.raises(_Stopped):
        loop.train(checked)  # checked already: not again
    assert len(calls) == 1
    with pytest.raises(_Stopped):
        loop.train(checked.config)  # a plain TrainConfig: checked first
    assert len(calls) == 2


def test_configuration_imports_neither_training_nor_tensorflow():
    code = ("import sys, infogan.config, infogan.cli.train; "
            "print(sorted(m for m in sys.modules if m.startswith(('infogan.training', "
            "'tensorflow'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
