"""The runtime shim of `parity --tf1_repo` (infogan/parity/shim.py) on a TF1-style fixture checkout.

tests/fixtures/tf1_style_repo is a tiny GAN written in the original code's TF1 idioms (no copy of
it): `import tensorflow as tf`, `tensorflow.contrib.layers`, the tutorial MNIST reader, a
discriminator pass under `reuse=True` that creates moving averages, contrib batch norm.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import MNIST_DIR, REPO_ROOT
from infogan import data
from infogan.parity import shim
from infogan.config import ConfigError, TrainConfig
from infogan.training.tf1_checkpoint import read_tf1_checkpoint
from infogan.model.config import ModelConfig
from infogan.parity.checkout import run_checkout, run_shim, train_flags

FIXTURE = os.path.join(REPO_ROOT, "tests", "fixtures", "tf1_style_repo")
FIXTURE_ARGS = ["--epochs", "2", "--max_images", "48", "--batch_size", "16"]
REAL_PASS_EMA = "discriminator/bn/discriminator_1/bn/moments/Squeeze/ExponentialMovingAverage"
tf1 = tf.compat.v1


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory):
    """A fresh run (also saving a checkpoint), then a run started from its initial state."""
    tmp_path = tmp_path_factory.mktemp("shim")
    prefix = str(tmp_path / "saved" / "model.ckpt")
    first = run_shim(FIXTURE, MNIST_DIR, str(tmp_path / "first"), FIXTURE_ARGS,
                     options=["--save_checkpoint", prefix], timeout=300)
    second = run_shim(FIXTURE, MNIST_DIR, str(tmp_path / "second"), FIXTURE_ARGS,
                      state=first.initial_state, timeout=300)
    return first, second, prefix


@pytest.mark.slow
def test_fixture_runs_under_the_shim(fixture_runs):
    first, _, _ = fixture_runs
    assert len(first.epoch_lines) == 2 and first.epoch_lines[0].startswith("epoch 0 >> ")
    assert len(first.records) == 6  # 48 images / 16 per batch, 2 epochs
    assert set(first.records[0]) == {"discriminator_objective", "generator_objective"}
    assert all(np.isfinite(list(record.values())).all() for record in first.records)
    names = set(first.initial_state)
    assert REAL_PASS_EMA in names  # created under reuse=True: the AUTO_REUSE fix
    assert "generator/fully_connected/BatchNorm/moving_variance" in names  # contrib batch norm
    assert "generator/fully_connected/BatchNorm/gamma" not in names  # scale=False, as TF 1.0
    # The graph is the original's: the optimisers were handed every variable of a scope, and the
    # batch-norm statistics (read in the untaken branch) get Adam slots that stay zero.
    for slot in ("generator/fully_connected/BatchNorm/moving_mean/Adam",
                 "generator/fully_connected/BatchNorm/moving_variance/Adam_1"):
        assert slot in names and not np.any(first.final_state[slot]), slot
    assert set(first.final_state) == names
    moved = first.final_state["generator/fully_connected/weights"]
    assert not np.array_equal(moved, first.initial_state["generator/fully_connected/weights"])
    assert not os.path.exists(os.path.join(FIXTURE, "toy_log"))  # the FileWriter writes nothing
    assert sorted(first.images) == [3, 6]  # one image summary per epoch, after 3 iterations each
    pixels = first.images[3]["fake_images/image/1"]  # max_images=2: TF 0.12's argument name
    assert pixels.dtype == np.uint8 and pixels.shape == (28, 28, 1) and pixels.max() == 255


@pytest.mark.slow
def test_state_injection_reproduces_the_run(fixture_runs):
    first, second, _ = fixture_runs
    for name, value in first.initial_state.items():
        np.testing.assert_array_equal(second.initial_state[name], value, err_msg=name)
    assert second.epoch_lines == first.epoch_lines
    assert second.records == first.records
    for step, images in first.images.items():
        for tag, pixels in images.items():
            np.testing.assert_array_equal(second.images[step][tag], pixels, err_msg=tag)
    for name, value in first.final_state.items():
        np.testing.assert_array_equal(second.final_state[name], value, err_msg=name)


@pytest.mark.slow
def test_saved_checkpoint_is_the_final_state(fixture_runs):
    first, _, prefix = fixture_runs
    saved = read_tf1_checkpoint(prefix)
    assert set(saved) == set(first.final_state)
    for name, value in saved.items():
        np.testing.assert_array_equal(value, first.final_state[name], err_msg=name)


def test_updates_of_one_optimiser_run_in_the_order_they_were_built():
    """Both updates use gradients of the starting weights; the second sees the beta powers the
    first advanced (as the port's G step, then MI step)."""
    ordered = shim.ordered_optimizer_class(tf1, tf1.train.AdamOptimizer)
    with tf.Graph().as_default():
        weight = tf1.get_variable("w", initializer=np.float32([1.0, -2.0]), use_resource=False)
        first_loss, second_loss = tf.reduce_sum(3.0 * weight), tf.reduce_sum(weight ** 2)
        optimizer = ordered(0.1, beta1=0.5)
        train_ops = [optimizer.minimize(first_loss), optimizer.minimize(second_loss)]
        with tf1.Session(config=tf1.ConfigProto(inter_op_parallelism_threads=-1)) as session:
            session.run(tf1.global_variables_initializer())
            session.run(train_ops)
            result = session.run(weight)
    w = np.float64([1.0, -2.0])
    expected, m, v = w.copy(), 0.0, 0.0
    for step, gradient in enumerate((np.full(2, 3.0), 2 * w)):  # both at the starting weights
        m, v = 0.5 * m + 0.5 * gradient, 0.999 * v + 0.001 * gradient ** 2  # shared slots
        lr = 0.1 * np.sqrt(1 - 0.999 ** (step + 1)) / (1 - 0.5 ** (step + 1))
        expected -= lr * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(result, expected, rtol=1e-5)


def test_auto_reuse_fix():
    """A variable created on a reuse=True pass fails with TF's scope and works with the shim's."""
    def second_pass(variable_scope):
        with tf.Graph().as_default():
            with variable_scope("net"):
                tf1.get_variable("w", [1])
            with variable_scope("net", reuse=True):
                tf1.get_variable("w", [1])
                return tf1.get_variable("created_on_reuse", [1]).op.name

    with pytest.raises(ValueError, match="does not exist"):
        second_pass(tf1.variable_scope)
    assert second_pass(shim.variable_scope_with_auto_reuse(tf1)) == "net/created_on_reuse"


def test_mnist_reader_is_ours():
    datasets = shim.make_read_data_sets(MNIST_DIR)("MNIST_data/", one_hot=True)
    assert datasets.train.images.shape == (55000, 784) and datasets.train.images.dtype == np.float32
    assert datasets.validation.num_examples == 5000 and datasets.test.num_examples == 10000
    assert datasets.train.labels.shape == (55000, 10)
    np.testing.assert_array_equal(datasets.train.images[:3].reshape(3, 28, 28, 1),
                                  data.load_mnist(MNIST_DIR, 3))


def test_contrib_batch_norm_is_tf1_non_fused():
    """Biased batch variance, in-place moving averages (updates_collections=None), no gamma."""
    batch_norm = shim.make_batch_norm(tf)
    x = np.random.RandomState(0).randn(6, 3).astype(np.float32)
    with tf.Graph().as_default():
        inputs = tf1.placeholder(tf.float32, [None, 3])
        is_training = tf1.placeholder(tf.bool, [])
        outputs = batch_norm(inputs, is_training=is_training, updates_collections=None)
        queued = batch_norm(inputs, is_training=True, scope="queued")
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            y = session.run(outputs, {inputs: x, is_training: True})
            session.run(queued, {inputs: x})
            values = {v.op.name: v for v in tf1.global_variables()}
            stats = session.run(values)
            assert len(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)) == 2
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats["BatchNorm/moving_mean"], 0.001 * x.mean(0), rtol=1e-4)
    np.testing.assert_allclose(stats["BatchNorm/moving_variance"], 0.999 + 0.001 * x.var(0), rtol=1e-6)
    np.testing.assert_array_equal(stats["queued/moving_mean"], 0.0)  # its updates were only queued
    assert "BatchNorm/gamma" not in stats


@pytest.mark.slow
def test_checkout_errors(tmp_path):
    config = TrainConfig(mnist_dir=MNIST_DIR, epochs=1)
    with pytest.raises(ConfigError, match="holds no train.py"):
        run_checkout(str(tmp_path), config, str(tmp_path))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "train.py").write_text("import tensorflow as tf\nraise SystemExit('no such flag')\n")
    with pytest.raises(ConfigError, match="failed"):
        run_checkout(str(broken), config, str(tmp_path / "work"), timeout=120)


def test_train_flags_of_the_original_train_py():
    config = TrainConfig(model=ModelConfig(categorical_cardinality=(20, 20), infogan=False),
                         max_images=640, epochs=1)
    args = train_flags(config)
    assert args[args.index("--categorical_cardinality"):][:3] == ["--categorical_cardinality", "20", "20"]
    assert args[args.index("--max_images") + 1] == "640" and args[args.index("--generator_lr") + 1] == "0.001"
    assert "--noinfogan" in args and "--use_batch_norm" in args and "--fix_std" in args
    assert "--max_images" not in train_flags(TrainConfig())
    args = train_flags(TrainConfig(dataset="faces", scale_dataset=(64, 48), force_grayscale=True))
    assert args[args.index("--dataset") + 1] == os.path.abspath("faces")  # the shim runs elsewhere
    assert args[args.index("--scale_dataset"):][:3] == ["--scale_dataset", "64", "48"]
    assert "--force_grayscale" in args and "--dataset" not in train_flags(TrainConfig())
    with pytest.raises(ConfigError, match="MNIST or an image folder"):
        train_flags(TrainConfig(dataset="fashion_mnist"))


@pytest.mark.slow
def test_python_seed_fixes_the_tf1_codes_sample(tmp_path):
    """The TF1 code samples an image folder with Python's unseeded random.sample; seeded by the
    shim with --seed, it draws what the port's random.Random(seed).sample draws."""
    import random
    (tmp_path / "sample.py").write_text("import random\nprint(random.sample(range(100), 5))\n")
    process = subprocess.run(
        [sys.executable, "-m", "infogan.parity.shim", "--repo", str(tmp_path), "--script",
         "sample.py", "--output", str(tmp_path / "out"), "--python_seed", "7"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.strip() == str(random.Random(7).sample(range(100), 5))
