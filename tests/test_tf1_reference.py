"""Tests of the TF1-style reference graph (infogan/parity/reference.py) against the TF1 semantics
(docs/tf1_semantics.md) and the variables of a checkpoint of the original code."""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

from infogan.parity.reference import TINY, TF1Reference, parse_layer, parse_math

DEFAULT_G = "fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2:1:sigmoid"
DEFAULT_D = "conv:4:2:64:lrelu,conv:4:2:128:lrelu,fc:1024:lrelu"
TINY_G = "fc:16,fc:2x2x8,reshape:2:2:8,deconv:4:2:4,deconv:4:2:1:sigmoid"
TINY_D = "conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:16:lrelu"
TINY_KW = dict(categorical_cardinality=(3, 2), num_continuous=2, style_size=4)
BATCH = 8
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

EMA = "ExponentialMovingAverage"
FC_BN_STATS = ("moving_mean", "moving_variance")
BOTH = ("Adam", "Adam_1", "Adam_2", "Adam_3")  # D optimiser, then G optimiser (MI update)
ONE = ("Adam", "Adam_1")

# docs/tf1_semantics.md §10, default InfoGAN config: variable -> its Adam slots. The batch-norm
# statistics get slots too: they are read in the untaken branch of a tf.cond (zero gradients).
EXPECTED_SLOTS = {
    "generator/layer_0/weights": ONE,
    "generator/layer_0/BatchNorm/beta": ONE,
    "generator/layer_0/BatchNorm/moving_mean": ONE,
    "generator/layer_0/BatchNorm/moving_variance": ONE,
    "generator/layer_1/weights": ONE,
    "generator/layer_1/BatchNorm/beta": ONE,
    "generator/layer_1/BatchNorm/moving_mean": ONE,
    "generator/layer_1/BatchNorm/moving_variance": ONE,
    "generator/layer_2/weights": ONE,
    "generator/layer_2/batch_norm/gamma": ONE,
    "generator/layer_2/batch_norm/beta": ONE,
    "generator/layer_2/batch_norm/generator/layer_2/batch_norm/moments/Squeeze/" + EMA: ONE,
    "generator/layer_2/batch_norm/generator/layer_2/batch_norm/moments/Squeeze_1/" + EMA: ONE,
    "generator/layer_3/weights": ONE,
    "generator/layer_3/biases": ONE,
    "discriminator/layer_0/weights": BOTH,
    "discriminator/layer_0/batch_norm/gamma": BOTH,
    "discriminator/layer_0/batch_norm/beta": BOTH,
    "discriminator/layer_0/batch_norm/discriminator/layer_0/batch_norm/moments/Squeeze/"
    + EMA: BOTH,
    "discriminator/layer_0/batch_norm/discriminator/layer_0/batch_norm/moments/Squeeze_1/"
    + EMA: BOTH,
    # the real-image pass's own EMA set: the MI loss does not reach it
    "discriminator/layer_0/batch_norm/discriminator_1/layer_0/batch_norm/moments/Squeeze/"
    + EMA: ONE,
    "discriminator/layer_0/batch_norm/discriminator_1/layer_0/batch_norm/moments/Squeeze_1/"
    + EMA: ONE,
    "discriminator/layer_1/weights": BOTH,
    "discriminator/layer_1/batch_norm/gamma": BOTH,
    "discriminator/layer_1/batch_norm/beta": BOTH,
    "discriminator/layer_1/batch_norm/discriminator/layer_1/batch_norm/moments/Squeeze/"
    + EMA: BOTH,
    "discriminator/layer_1/batch_norm/discriminator/layer_1/batch_norm/moments/Squeeze_1/"
    + EMA: BOTH,
    "discriminator/layer_1/batch_norm/discriminator_1/layer_1/batch_norm/moments/Squeeze/"
    + EMA: ONE,
    "discriminator/layer_1/batch_norm/discriminator_1/layer_1/batch_norm/moments/Squeeze_1/"
    + EMA: ONE,
    "discriminator/layer_2/weights": BOTH,
    "discriminator/layer_2/BatchNorm/beta": BOTH,
    "discriminator/layer_2/BatchNorm/moving_mean": BOTH,
    "discriminator/layer_2/BatchNorm/moving_variance": BOTH,
    "discriminator/prob_projection/weights": ONE,
    "discriminator/prob_projection/biases": ONE,
    "mutual_info/fully_connected/weights": ONE,
    "mutual_info/fully_connected/BatchNorm/beta": ONE,
    "mutual_info/fully_connected/BatchNorm/moving_mean": ONE,
    "mutual_info/fully_connected/BatchNorm/moving_variance": ONE,
    "mutual_info/fully_connected_1/weights": ONE,
    "mutual_info/fully_connected_1/biases": ONE,
    "generator_lr": (),
    "discriminator_lr": (),
    "beta1_power": (),
    "beta2_power": (),
    "beta1_power_1": (),
    "beta2_power_1": (),
}


def expected_names(slots):
    return set(slots) | {"%s/%s" % (name, s) for name, ss in slots.items() for s in ss}


def make_noise(rng, n, cardinalities, num_continuous, style_size):
    """docs/tf1_semantics.md §1 layout: [one-hots | uniform continuous codes | normal style]."""
    blocks = [np.eye(k)[rng.randint(0, k, size=n)] for k in cardinalities]
    blocks.append(rng.uniform(-1.0, 1.0, size=(n, num_continuous)))
    blocks.append(rng.standard_normal(size=(n, style_size)))
    return np.hstack(blocks).astype(np.float32)


def log_softmax_ll(logits, onehot):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.sum(np.log(e / e.sum(axis=1, keepdims=True) + TINY) * onehot, axis=1)


@pytest.fixture(scope="module")
def default_model():
    model = TF1Reference((28, 28, 1), DEFAULT_G, DEFAULT_D, seed=0)
    yield model
    model.close()


@pytest.fixture(scope="module")
def one_iteration(default_model):
    """Variables before and after one D step + one G step of the default model."""
    rng = np.random.RandomState(0)
    before = default_model.get_variables()
    default_model.discriminator_step(rng.rand(BATCH - 3, 28, 28, 1).astype(np.float32),
                                     make_noise(rng, BATCH, (10,), 2, 62))
    default_model.generator_step(make_noise(rng, BATCH, (10,), 2, 62))
    return before, default_model.get_variables()


def test_parse_math_and_layers():
    assert parse_math("7x7x128") == 6272
    assert parse_math("8-2-1") == 7
    assert parse_math("2+3*4") == 14
    assert parse_math("9/2") == 4
    assert parse_layer("conv:4:2:64:lrelu") == ("conv", [4, 2, 64], "lrelu")
    assert parse_layer("fc:7x7x128") == ("fc", [6272], "relu")
    assert parse_layer("reshape:7:7:128") == ("reshape", [7, 7, 128], None)
    for bad in ("pool:2", "fc", "conv:4:2", "fc:10:swish"):
        with pytest.raises(ValueError, match="Could not parse layer description"):
            parse_layer(bad)


def test_variable_names(default_model):
    names = set(default_model.get_variables())
    expected = expected_names(EXPECTED_SLOTS)
    assert names == expected, (sorted(names - expected), sorted(expected - names))
    shapes = {k: v.shape for k, v in default_model.get_variables().items()}
    assert shapes["generator/layer_2/weights"] == (4, 4, 64, 128)  # deconv [K, K, out, in]
    assert shapes["discriminator/layer_1/weights"] == (4, 4, 64, 128)  # conv [K, K, in, out]
    assert shapes["discriminator/layer_2/weights"] == (128, 1024)
    assert shapes["mutual_info/fully_connected/weights"] == (50176, 128)
    assert shapes["mutual_info/fully_connected_1/biases"] == (12,)
    assert default_model.z_size == 74


def test_variables_are_those_of_a_checkpoint_of_the_original_code(default_model):
    """The variables of the unmodified upstream code (recorded from one of its checkpoints)."""
    with open(os.path.join(FIXTURES, "upstream_default_variables.json")) as stream:
        upstream = json.load(stream)["variables"]
    variables = default_model.get_variables()
    assert sorted(variables) == sorted(upstream)
    for name, (shape, dtype) in upstream.items():
        assert list(variables[name].shape) == shape and variables[name].dtype.name == dtype, name


@pytest.mark.slow
def test_inference_mode_moves_the_conv_ema_after_reading_it():
    model = TF1Reference((8, 8, 1), TINY_G, TINY_D, seed=0, **TINY_KW)
    prefix = "generator/layer_2/batch_norm/generator/layer_2/batch_norm/moments/"
    shadows = {prefix + "Squeeze/" + EMA: np.zeros(4, np.float32),
               prefix + "Squeeze_1/" + EMA: np.ones(4, np.float32)}
    noise = make_noise(np.random.RandomState(3), BATCH, (3, 2), 2, 4)
    model.set_variables(shadows)
    first = model.generate(noise)
    moved = model.get_variables()
    for name, value in shadows.items():
        assert np.all(moved[name] != value), name  # moved towards this batch's moments
    second = model.generate(noise)
    assert not np.allclose(first, second)  # the second pass sees the moved shadows
    model.set_variables(shadows)
    np.testing.assert_array_equal(model.generate(noise), first)  # read before the update
    fc = "generator/layer_0/BatchNorm/moving_mean"
    before = model.get_variables()[fc]
    model.generate(noise)
    np.testing.assert_array_equal(model.get_variables()[fc], before)  # fc statistics stay
    model.close()


def test_hidden_width(default_model):
    images = np.zeros((BATCH, 28, 28, 1), np.float32)
    for real_pass in (False, True):
        out = default_model.discriminate(images, real_pass=real_pass)
        assert out["hidden"].shape == (BATCH, 50176)
        assert out["prob"].shape == (BATCH, 1)
    noise = make_noise(np.random.RandomState(1), BATCH, (10,), 2, 62)
    assert default_model.generate(noise).shape == (BATCH, 28, 28, 1)


def test_one_iteration_state(one_iteration):
    before, after = one_iteration
    np.testing.assert_allclose(after["beta1_power"], 0.5 ** 2)
    np.testing.assert_allclose(after["beta1_power_1"], 0.5 ** 3)
    np.testing.assert_allclose(after["beta2_power"], 0.999 ** 2, rtol=1e-6)
    np.testing.assert_allclose(after["beta2_power_1"], 0.999 ** 3, rtol=1e-6)
    for name in ("discriminator/layer_2/BatchNorm/moving_mean",
                 "discriminator/layer_2/BatchNorm/moving_variance",
                 "generator/layer_0/BatchNorm/moving_mean",
                 "discriminator/layer_0/weights", "generator/layer_0/weights",
                 "mutual_info/fully_connected/weights",
                 "discriminator/layer_0/weights/Adam_2"):
        assert not np.array_equal(before[name], after[name]), name
    assert np.all(after["mutual_info/fully_connected/BatchNorm/moving_mean"] == 0.0)
    assert np.all(after["mutual_info/fully_connected/BatchNorm/moving_variance"] == 1.0)
    shadows = [k for k in after if k.endswith(EMA)]
    assert len(shadows) == 10
    for name in shadows:
        assert np.any(after[name] != 0.0), name  # updated by the training forwards
    for name in after:
        if "/%s/Adam" % EMA in name or "/BatchNorm/moving_" in name and "/Adam" in name:
            assert np.all(after[name] == 0.0), name  # zero gradient, zero moments
    assert "discriminator/prob_projection/weights/Adam_2" not in after
    np.testing.assert_allclose(after["generator_lr"], 1e-3)
    np.testing.assert_allclose(after["discriminator_lr"], 2e-4)


@pytest.mark.slow
@pytest.mark.parametrize("fix_std", [True, False])
def test_objectives_match_numpy(fix_std):
    model = TF1Reference((8, 8, 1), TINY_G, TINY_D, fix_std=fix_std, seed=1, **TINY_KW)
    rng = np.random.RandomState(2)
    noise = make_noise(rng, BATCH, (3, 2), 2, 4)
    real = rng.rand(BATCH - 3, 8, 8, 1).astype(np.float32)
    snapshot = model.get_variables()
    d_step = model.discriminator_step(real, noise)
    model.set_variables(snapshot)
    g_step = model.generator_step(noise)
    model.set_variables(snapshot)
    q = model.mutual_info(noise)
    model.set_variables(snapshot)
    p_fake = model.discriminate(model.generate(noise, is_training=True), is_training=True)
    p_real = model.discriminate(real, is_training=True, real_pass=True)
    model.close()

    p_fake, p_real = p_fake["prob"], p_real["prob"]
    d_obj = np.mean(np.log(1 - p_fake + TINY)) + np.mean(np.log(p_real + TINY))
    g_obj = np.mean(np.log(p_fake + TINY))
    out = q["q_output"]
    assert out.shape == (BATCH, 5 + (2 if fix_std else 4))
    ll_cat = log_softmax_ll(out[:, :3], noise[:, :3]) + log_softmax_ll(out[:, 3:5], noise[:, 3:5])
    mean = out[:, 5:7]
    std = np.ones_like(mean) if fix_std else np.sqrt(np.exp(out[:, 7:9]))
    eps = (noise[:, 5:7] - mean) / (std + TINY)
    ll_cont = np.sum(-0.5 * np.log(2 * np.pi) - np.log(std + TINY) - 0.5 * eps ** 2, axis=1)
    mi = np.mean(ll_cont + ll_cat)

    close = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(d_step["discriminator_objective"], d_obj, **close)
    np.testing.assert_allclose(d_step["neg_mutual_info"], -mi, **close)
    np.testing.assert_allclose(g_step["generator_objective"], g_obj, **close)
    np.testing.assert_allclose(g_step["mutual_info"], mi, **close)
    np.testing.assert_allclose(g_step["neg_mutual_info"], -mi, **close)
    np.testing.assert_allclose(g_step["ll_categorical"], np.mean(ll_cat), **close)
    np.testing.assert_allclose(g_step["ll_continuous"], np.mean(ll_cont), **close)
    np.testing.assert_allclose(g_step["std_contig"], np.mean(std), **close)
    np.testing.assert_allclose(q["mutual_info"], mi, **close)


@pytest.mark.slow
def test_generator_step_uses_pre_update_gradients():
    """Both G-step gradients come from the pre-update weights; G update, then MI update."""
    model = TF1Reference((8, 8, 1), TINY_G, TINY_D, seed=3, **TINY_KW)
    noise = make_noise(np.random.RandomState(4), BATCH, (3, 2), 2, 4)
    names = ["generator/layer_0/weights", "discriminator/layer_0/weights",
             "mutual_info/fully_connected_1/weights"]
    with model.graph.as_default():
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
        targets = [variables[n] for n in names]
        g_loss = tf.gradients(-model.generator_objective, targets[:1])
        mi_loss = tf.gradients(model.mi["neg_mutual_info"], targets)
    snapshot = model.get_variables()
    g1, g2 = model.session.run([g_loss, mi_loss],
                               {model.zc_vectors: noise, model.is_training: True})
    model.set_variables(snapshot)
    model.generator_step(noise)
    after = model.get_variables()
    model.close()

    close = dict(rtol=1e-4, atol=1e-7)
    # generator: G update (step 1) then MI update (step 2) on the same moments
    np.testing.assert_allclose(after[names[0] + "/Adam"], 0.25 * g1[0] + 0.5 * g2[0], **close)
    np.testing.assert_allclose(after[names[0] + "/Adam_1"],
                               0.999 * 0.001 * g1[0] ** 2 + 0.001 * g2[0] ** 2,
                               rtol=1e-4, atol=1e-12)
    # discriminator: the G optimiser's slots Adam_2/Adam_3; the D optimiser's are untouched
    np.testing.assert_allclose(after[names[1] + "/Adam_2"], 0.5 * g2[1], **close)
    assert np.all(after[names[1] + "/Adam"] == 0.0)
    # Q
    np.testing.assert_allclose(after[names[2] + "/Adam"], 0.5 * g2[2], **close)
    # the Q weights moved by one Adam step taken at t=2 of the G optimiser
    m, v = 0.5 * g2[2], 0.001 * g2[2] ** 2
    lr_t = 1e-3 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.5 ** 2)
    np.testing.assert_allclose(after[names[2]], snapshot[names[2]] - lr_t * m / (np.sqrt(v) + 1e-8),
                               rtol=1e-4, atol=2e-6)


def test_batch_norms_numpy():
    """1x1 conv + conv BN, fc on the last axis + fc BN, flatten, prob_projection; EMAs."""
    model = TF1Reference((2, 2, 2), "fc:2x2x2:sigmoid,reshape:2:2:2", "conv:1:1:3:lrelu,fc:4:tanh",
                         categorical_cardinality=(2,), num_continuous=1, style_size=1, seed=5)
    rng = np.random.RandomState(6)
    model.set_variables({
        "discriminator/layer_0/batch_norm/beta": rng.randn(3),
        "discriminator/layer_1/BatchNorm/beta": rng.randn(4),
        "discriminator/prob_projection/biases": rng.randn(1)})
    w = model.get_variables()
    images = rng.rand(5, 2, 2, 2).astype(np.float32)

    def forward(conv_mean, conv_var, fc_mean, fc_var):
        y = images @ w["discriminator/layer_0/weights"][0, 0]
        m, v = (y.mean((0, 1, 2)), y.var((0, 1, 2))) if conv_mean is None else (conv_mean, conv_var)
        y = (y - m) / np.sqrt(v + 1e-5) * w["discriminator/layer_0/batch_norm/gamma"] \
            + w["discriminator/layer_0/batch_norm/beta"]
        h = np.maximum(y, 0.01 * y) @ w["discriminator/layer_1/weights"]
        fm, fv = (h.mean((0, 1, 2)), h.var((0, 1, 2))) if fc_mean is None else (fc_mean, fc_var)
        h = np.tanh((h - fm) / np.sqrt(fv + 1e-3) + w["discriminator/layer_1/BatchNorm/beta"])
        hidden = h.reshape(len(h), -1)
        logit = hidden @ w["discriminator/prob_projection/weights"] \
            + w["discriminator/prob_projection/biases"]
        return hidden, 1 / (1 + np.exp(-logit)), (m, v, fm, fv)

    hidden, prob, (m, v, fm, fv) = forward(None, None, None, None)
    out = model.discriminate(images, is_training=True, real_pass=True)
    np.testing.assert_allclose(out["hidden"], hidden, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["prob"], prob, rtol=1e-4, atol=1e-5)

    after = model.get_variables()
    real_ema = "discriminator/layer_0/batch_norm/discriminator_1/layer_0/batch_norm/moments/"
    fake_ema = "discriminator/layer_0/batch_norm/discriminator/layer_0/batch_norm/moments/"
    np.testing.assert_allclose(after[real_ema + "Squeeze/" + EMA], 0.1 * m, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(after[real_ema + "Squeeze_1/" + EMA], 0.1 * v, rtol=1e-4, atol=1e-6)
    assert np.all(after[fake_ema + "Squeeze/" + EMA] == 0.0)
    # D's fc statistics move only inside the training steps (their updates are ordered there).
    fc_mean, fc_var = np.zeros(4, np.float32), np.ones(4, np.float32)
    np.testing.assert_array_equal(after["discriminator/layer_1/BatchNorm/moving_mean"], fc_mean)
    np.testing.assert_array_equal(after["discriminator/layer_1/BatchNorm/moving_variance"], fc_var)

    hidden, prob, _ = forward(0.1 * m, 0.1 * v, fc_mean, fc_var)
    out = model.discriminate(images, is_training=False, real_pass=True)
    np.testing.assert_allclose(out["hidden"], hidden, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["prob"], prob, rtol=1e-4, atol=1e-5)
    model.close()


@pytest.mark.slow
def test_save_restore(tmp_path):
    model = TF1Reference((8, 8, 1), TINY_G, TINY_D, seed=7, **TINY_KW)
    rng = np.random.RandomState(8)
    prefix = model.save(str(tmp_path / "model"))
    saved = model.get_variables()
    model.discriminator_step(rng.rand(BATCH, 8, 8, 1), make_noise(rng, BATCH, (3, 2), 2, 4))
    model.generator_step(make_noise(rng, BATCH, (3, 2), 2, 4))
    assert not np.array_equal(model.get_variables()["beta1_power"], saved["beta1_power"])
    model.restore(prefix)
    restored = model.get_variables()
    assert set(restored) == set(saved)
    for name in saved:
        np.testing.assert_array_equal(restored[name], saved[name], err_msg=name)
    with pytest.raises(KeyError, match="no_such_variable"):
        model.set_variables({"no_such_variable": np.zeros(1)})
    model.close()


@pytest.mark.slow
def test_gan_mode():
    model = TF1Reference((8, 8, 1), TINY_G, TINY_D, infogan=False, seed=9, **TINY_KW)
    assert model.z_size == 4
    rng = np.random.RandomState(10)
    d = model.discriminator_step(rng.rand(BATCH - 3, 8, 8, 1), rng.standard_normal((BATCH, 4)))
    g = model.generator_step(rng.standard_normal((BATCH, 4)))
    assert np.isfinite(d["discriminator_objective"]) and d["neg_mutual_info"] is None
    assert np.isfinite(g["generator_objective"]) and g["mutual_info"] is None
    names = model.get_variables()
    assert not any(n.startswith("mutual_info") or n.endswith("Adam_2") for n in names)
    np.testing.assert_allclose(names["beta1_power_1"], 0.25)
    assert model.generate(rng.standard_normal((3, 4))).shape == (3, 8, 8, 1)
    model.close()
