"""TF1 checkpoints written by the TF1 reference graph or the original code, loaded into the port
(infogan/training/tf1_checkpoint.py)."""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY_IMAGE_SHAPE
from infogan.config import ConfigError, TrainConfig, preflight
from infogan.parity.runner import build_port, build_reference
from infogan.model.config import ModelConfig
from infogan.parity.reference_loop import Step, reference_iteration
from infogan.model.noise import make_noise_sampler
from infogan.training.tf1_checkpoint import (CheckpointMismatchError, export_tf1_state,
                                             find_mismatches, is_ignored_tf1_name,
                                             load_tf1_checkpoint, save_tf1_checkpoint,
                                             tf1_variable_map, tf1_variable_name)


def train_once(reference, model_config, seed):
    """One D step and one G step, so that every Adam slot and beta power has moved."""
    rng = np.random.RandomState(seed)
    np.random.seed(seed)
    sample = make_noise_sampler(model_config)
    reference_iteration(reference, Step(rng.rand(5, *TINY_IMAGE_SHAPE).astype(np.float32),
                                        sample(8), sample(8)))


@pytest.fixture
def saved_reference(tiny_model_config, tmp_path):
    """(checkpoint prefix, its values) of a tiny reference trained for one iteration."""
    reference = build_reference(TrainConfig(model=tiny_model_config, seed=3), TINY_IMAGE_SHAPE)
    train_once(reference, tiny_model_config, 0)
    prefix = reference.save(str(tmp_path / "reference" / "model.ckpt"))
    values = reference.get_variables()
    reference.close()
    return prefix, values


def port_for(model_config):
    return build_port(TrainConfig(model=model_config), TINY_IMAGE_SHAPE)


def all_port_variables(models, optimizers):
    networks = [models.generator, models.discriminator, models.q_network]
    variables = [v for net in networks if net is not None for v in net.variables]
    for optimizer in (optimizers.discriminator, optimizers.generator):
        variables += optimizer.first_moments + optimizer.second_moments
        variables += [optimizer.beta1_power, optimizer.beta2_power, optimizer.learning_rate]
    return variables


def test_conv_ema_names():
    assert tf1_variable_name("generator/layer_2/batch_norm/ema_mean_0") == (
        "generator/layer_2/batch_norm/generator/layer_2/batch_norm/moments/Squeeze/"
        "ExponentialMovingAverage")
    assert tf1_variable_name("discriminator/layer_1/batch_norm/ema_variance_1") == (
        "discriminator/layer_1/batch_norm/discriminator_1/layer_1/batch_norm/moments/Squeeze_1/"
        "ExponentialMovingAverage")
    assert tf1_variable_name("mutual_info/fully_connected/BatchNorm/beta") == (
        "mutual_info/fully_connected/BatchNorm/beta")
    assert is_ignored_tf1_name(tf1_variable_name("generator/layer_2/batch_norm/ema_mean_0") + "/Adam")


def test_adam_slots_of_batch_norm_statistics_are_accepted():
    """The TF1 code gave its conv EMA shadows and fc moving statistics Adam slots (zero
    gradients); the port needs none of them."""
    for name in ("discriminator/layer_2/BatchNorm/moving_mean/Adam_3",
                 "generator/layer_0/BatchNorm/moving_variance/Adam",
                 "mutual_info/fully_connected/BatchNorm/moving_mean/Adam_1"):
        assert is_ignored_tf1_name(name), name
    for name in ("generator/layer_0/BatchNorm/beta/Adam", "generator/layer_0/BatchNorm/moving_mean",
                 "discriminator/layer_2/weights/Adam_2"):
        assert not is_ignored_tf1_name(name), name


def test_a_checkpoint_of_the_original_code_fits():
    """Every variable of a checkpoint written by the unmodified upstream code (its names, shapes
    and dtypes, recorded in tests/fixtures) is accepted, with its Adam state."""
    import tensorflow as tf
    with open(os.path.join(REPO_ROOT, "tests", "fixtures", "upstream_default_variables.json")) as f:
        upstream = json.load(f)["variables"]
    models, optimizers = build_port(TrainConfig(model=ModelConfig()), (28, 28, 1))
    problems, with_optimizer = find_mismatches(
        tf1_variable_map(models, optimizers), {name: shape for name, (shape, _) in upstream.items()},
        {name: tf.as_dtype(dtype) for name, (_, dtype) in upstream.items()})
    assert problems == [] and with_optimizer
    ignored = sorted(name for name in upstream if is_ignored_tf1_name(name))
    assert len(ignored) == 48 and len(upstream) - len(ignored) == 109


@pytest.mark.slow
def test_reference_checkpoint_loads_every_variable(saved_reference, tiny_model_config):
    prefix, saved = saved_reference
    models, optimizers = port_for(tiny_model_config)
    assert load_tf1_checkpoint(prefix, models, optimizers) is True
    loaded = export_tf1_state(models, optimizers)
    assert set(loaded) == {name for name in saved if not is_ignored_tf1_name(name)}
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, saved[name], err_msg=name)
    mapped = {id(v) for v in tf1_variable_map(models, optimizers).all().values()}
    assert len(mapped) == len(loaded)  # no port variable under two names
    assert mapped == {id(v) for v in all_port_variables(models, optimizers)}  # none left out
    assert saved["beta1_power_1"] == np.float32(0.5 ** 3)  # G optimiser: two updates per iteration


@pytest.mark.slow
def test_checkpoint_without_adam_state(saved_reference, tiny_model_config, tmp_path):
    _, saved = saved_reference
    models, optimizers = port_for(tiny_model_config)
    required = tf1_variable_map(models, optimizers).required
    prefix = save_tf1_checkpoint(str(tmp_path / "model_only"), {n: saved[n] for n in required})
    assert load_tf1_checkpoint(prefix, models, optimizers) is False
    state = export_tf1_state(models, optimizers)
    np.testing.assert_array_equal(state["generator/layer_0/weights"], saved["generator/layer_0/weights"])
    assert state["beta1_power"] == np.float32(0.5) and state["beta2_power_1"] == np.float32(0.999)
    assert not np.any(state["generator/layer_0/weights/Adam"])


@pytest.mark.slow
def test_missing_and_mismatched_variables_are_listed(saved_reference, tiny_model_config, tmp_path):
    _, saved = saved_reference
    values = dict(saved)
    del values["generator/layer_0/weights"], values["discriminator/layer_0/weights/Adam_2"]
    values["mutual_info/fully_connected_1/biases"] = np.zeros(3, np.float32)
    prefix = save_tf1_checkpoint(str(tmp_path / "broken"), values)
    models, optimizers = port_for(tiny_model_config)
    before = export_tf1_state(models, optimizers)
    with pytest.raises(CheckpointMismatchError) as raised:
        load_tf1_checkpoint(prefix, models, optimizers)
    message = str(raised.value)
    assert "\n" not in message and isinstance(raised.value, ConfigError)
    assert "missing 2: generator/layer_0/weights, discriminator/layer_0/weights/Adam_2" in message
    assert "mutual_info/fully_connected_1/biases (checkpoint [3], model [7])" in message
    after = export_tf1_state(models, optimizers)  # nothing was assigned
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.mark.slow
def test_other_architecture_is_refused(saved_reference, tiny_model_config):
    prefix, _ = saved_reference
    wider = dataclasses.replace(tiny_model_config, generator=tiny_model_config.generator.replace(
        "fc:16", "fc:12"))
    with pytest.raises(CheckpointMismatchError, match=r"generator/layer_0/weights \(checkpoint "
                       r"\[10, 16\], model \[10, 12\]\)"):
        load_tf1_checkpoint(prefix, *port_for(wider))
    gan = dataclasses.replace(tiny_model_config, infogan=False)
    with pytest.raises(CheckpointMismatchError, match="not in this model .*mutual_info/"):
        load_tf1_checkpoint(prefix, *port_for(gan))


@pytest.mark.slow
def test_gan_mode_checkpoint(tiny_model_config, tmp_path):
    gan = dataclasses.replace(tiny_model_config, infogan=False)
    reference = build_reference(TrainConfig(model=gan, seed=4), TINY_IMAGE_SHAPE)
    train_once(reference, gan, 1)
    prefix, saved = reference.save(str(tmp_path / "gan")), reference.get_variables()
    reference.close()
    models, optimizers = port_for(gan)
    assert load_tf1_checkpoint(prefix, models, optimizers)
    loaded = export_tf1_state(models, optimizers)
    assert set(loaded) == {name for name in saved if not is_ignored_tf1_name(name)}
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, saved[name], err_msg=name)


def test_unreadable_or_absent_checkpoint(tmp_path, tiny_model_config):
    (tmp_path / "garbage.index").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read a TF1 checkpoint"):
        load_tf1_checkpoint(str(tmp_path / "garbage"), *port_for(tiny_model_config))
    with pytest.raises(ConfigError, match="--tf1_checkpoint .*no such checkpoint"):
        preflight(TrainConfig(tf1_checkpoint=str(tmp_path / "absent")))
    preflight(TrainConfig(tf1_checkpoint=str(tmp_path / "garbage")))  # prefix of an existing .index


@pytest.mark.slow
def test_train_py_refuses_a_checkpoint_that_does_not_fit(saved_reference, tmp_path):
    prefix, _ = saved_reference  # tiny networks; train.py builds the default ones
    logdir = tmp_path / "log"
    process = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), "--tf1_checkpoint", prefix,
         "--max_images", "64", "--epochs", "1", "--logdir", str(logdir)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert process.returncode == 2
    errors = [line for line in process.stderr.splitlines() if line.startswith("train.py: error:")]
    assert len(errors) == 1 and "does not fit this model" in errors[0], process.stderr[-2000:]
    assert "discriminator/layer_0/weights (checkpoint [3, 3, 1, 4], model [4, 4, 1, 64])" in errors[0]
    assert "/Adam" not in errors[0]  # slots of listed variables are implied
    assert not logdir.exists()  # refused before training
