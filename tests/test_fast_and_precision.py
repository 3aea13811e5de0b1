"""`--fast` (fused batch norm, native leaky ReLU) computes the same maths as the TF1 kernels, to
float32 rounding; `--precision` keeps batch-norm statistics, objectives and the MI in float32 and
scales float16 losses."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from conftest import MNIST_DIR
from infogan import data
from infogan.model.batch_norm import ConvBatchNorm, FcBatchNorm
from infogan.model.config import ModelConfig
from infogan.model import conv_gradients, losses
from infogan.model.execution import ExecutionPolicy
from infogan.model.models import build_models, noise_to_tensor
from infogan.model.networks import FAKE_PASS, REAL_PASS, fast_leaky_rectify, leaky_rectify
from infogan.model.noise import create_infogan_noise_sample
from infogan.model.objectives import discriminator_objective, generator_objective
from infogan.training import step as train_step
from infogan.training.optimizers import DynamicLossScale

FAST = ExecutionPolicy.from_settings(fast=True)
TOLERANCE = 1e-4  # relative to the largest magnitude of what is compared
# The default networks' shapes and batch norms with smooth activations: their gradients are
# continuous functions of the weights. With ReLUs, an input within rounding of 0 takes the other
# slope in one of two runs, and moves a weight gradient by up to a few percent: the faithful
# kernels themselves, fed the same rows in another order, differ that much (docs/training.md).
SMOOTH_NETS = dataclasses.replace(
    ModelConfig(), generator="fc:1024:tanh,fc:7x7x128:tanh,reshape:7:7:128,deconv:4:2:64:tanh,"
    "deconv:4:2:1:sigmoid", discriminator="conv:4:2:64:tanh,conv:4:2:128:tanh,fc:1024:tanh")
# The same with `--recipe paper`'s discriminator: no batch norm on the first conv, flattened.
SMOOTH_RECIPE_NETS = dataclasses.replace(
    SMOOTH_NETS, discriminator="conv:4:2:64:tanh:nobn,conv:4:2:128:tanh,reshape:6272,fc:1024:tanh")


def relative(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)


def twin_models(execution, batch=16, model_config=ModelConfig()):
    """The networks built twice, the second with the ExecutionPolicy `execution`, holding the
    same variables."""
    faithful = build_models(model_config, (28, 28, 1))
    other = build_models(model_config, (28, 28, 1), execution=execution)
    for source, target in zip(_variables(faithful), _variables(other)):
        target.assign(source)
    np.random.seed(5)
    sample = create_infogan_noise_sample((10,), 2, 62)
    real = tf.constant(data.load_mnist(MNIST_DIR, batch))
    return faithful, other, real, noise_to_tensor(sample(batch))


def _variables(models):
    return models.generator.variables + models.discriminator.variables + models.q_network.variables


def outputs_and_gradients(models, real, noise):
    """Forward outputs of every network in both modes, and the gradients of the three losses."""
    G, D, Q = models.generator, models.discriminator, models.q_network
    results = {"G inference": G(noise, training=False)}
    with tf.GradientTape(persistent=True) as tape:
        fake_images = G(noise, training=True)
        real_pass = D(real, training=True, pass_index=REAL_PASS)
        fake = D(fake_images, training=True, pass_index=FAKE_PASS)
        mi_loss = -losses.mutual_info(models, noise, fake["hidden"])["mutual_info"]
        d_loss = -discriminator_objective(fake["prob"], real_pass["prob"])
        g_loss = -generator_objective(fake["prob"])
    results.update({"G training": fake_images, "D prob real": real_pass["prob"],
                    "D hidden real": real_pass["hidden"], "D prob fake": fake["prob"],
                    "D hidden fake": fake["hidden"], "Q": Q(fake["hidden"], training=True)})
    for name, loss, variables in (("D", d_loss, losses.discriminator_variables(models)),
                                  ("G", g_loss, losses.generator_variables(models)),
                                  ("MI", mi_loss, losses.mutual_info_variables(models))):
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            assert gradient is not None, (name, variable.path)
            results["%s gradient %s" % (name, variable.path)] = gradient
    return results


def _largest(differences):
    return sorted(differences.items(), key=lambda item: -item[1])[:5]


def test_fast_mode_forward_outputs_agree_with_the_faithful_kernels():
    faithful, fast, real, noise = twin_models(FAST)
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(fast, real, noise)
    differences = {name: relative(want[name], got[name]) for name in want if "gradient" not in name}
    assert len(differences) == 7 and max(differences.values()) <= TOLERANCE, _largest(differences)
    for source, target in zip(_variables(faithful), _variables(fast)):  # the same statistics moved
        assert relative(source.numpy(), target.numpy()) <= TOLERANCE, source.path


@pytest.mark.parametrize("model_config,outputs_and_variables", [(SMOOTH_NETS, 47),
                                                                (SMOOTH_RECIPE_NETS, 45)])
def test_fast_mode_gradients_agree_with_the_faithful_kernels(model_config, outputs_and_variables):
    """Every forward output, and each loss's gradients relative to the largest of them."""
    faithful, fast, real, noise = twin_models(FAST, model_config=model_config)
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(fast, real, noise)
    differences = {name: relative(want[name], got[name]) for name in want if "gradient" not in name}
    for loss in ("D", "G", "MI"):
        names = [name for name in want if name.startswith(loss + " gradient ")]
        scale = max(np.abs(np.asarray(want[name])).max() for name in names)
        differences.update({name: np.abs(np.asarray(want[name]) - got[name]).max() / scale
                            for name in names})
    assert len(differences) >= outputs_and_variables
    assert max(differences.values()) <= TOLERANCE, _largest(differences)


def test_fast_leaky_relu_is_the_faithful_one_bit_for_bit():
    """Forward and gradient, at exact zeros (max's subgradient, 1) and signed zeros too."""
    x = tf.constant([-3.0, -1e-30, -0.0, 0.0, 1e-30, 2.5, np.float32(-1e-45)], tf.float32)
    results = []
    for activation in (leaky_rectify, fast_leaky_rectify):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = activation(x)
        results.append((y.numpy(), tape.gradient(y, x, output_gradients=tf.fill([7], 3.0)).numpy()))
    (y_want, g_want), (y_got, g_got) = results
    np.testing.assert_array_equal(y_got, y_want)
    np.testing.assert_array_equal(g_got, g_want)
    assert g_want[3] == 3.0  # max(x, 0.01 x) at x = 0: the gradient of x


@pytest.mark.parametrize("layer_class,shape", [(ConvBatchNorm, (5, 4, 4, 3)), (FcBatchNorm, (6, 3)),
                                               (FcBatchNorm, (3, 2, 2, 5))])
def test_fused_batch_norm_matches_in_both_modes(layer_class, shape):
    plain, fused = layer_class(), layer_class(execution=FAST)
    rng = np.random.RandomState(0)
    for layer in (plain, fused):
        layer.build((None,) + shape[1:])
    for source, target in zip(plain.variables, fused.variables):
        target.assign(source)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=shape).astype(np.float32)
        np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), 1e-5, 1e-5)
    for source, target in zip(plain.variables, fused.variables):  # biased variances, same EMA
        np.testing.assert_allclose(target.numpy(), source.numpy(), 1e-5, 1e-6, err_msg=source.path)
    x = rng.normal(size=shape).astype(np.float32)
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), 1e-5, 1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("precision,dtype", [("mixed_bfloat16", "bfloat16"),
                                             ("mixed_float16", "float16")])
def test_mixed_precision_products_with_float32_statistics(precision, dtype):
    execution = ExecutionPolicy.from_settings(precision=precision)
    assert execution.product_dtype == dtype and not execution.fused_batch_norm
    faithful, mixed, real, noise = twin_models(execution)
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(mixed, real, noise)
    for name in want:
        assert got[name].dtype == tf.float32, name  # only the products are reduced
    assert relative(want["D prob fake"], got["D prob fake"]) < 0.05  # close, not bit-identical
    assert all(v.dtype == "float32" for v in _variables(mixed))


def test_fast_mixed_precision_keeps_16_bits_between_products_only():
    """With --fast, a fused batch norm and its activation take the 16-bit product as it is, up
    to the next product; the images, D's probabilities, Q's outputs and every statistic are
    float32, and they stay close to the faithful ones.

    The bound, 0.05 relative to the largest value: bfloat16 keeps 8 significant bits, so each
    rounding is within u = 2**-9 (0.2%). A product rounds its two inputs and its float32 sum:
    3 roundings; D's probability of a generated image is 8 products from the noise (G's 4, D's 3
    and the projection), so to first order its relative error stays within 8 x 3 x u = 0.047 where
    the batch norms after each product keep the values at the scale of their sums (here 0.01-0.02)."""
    faithful, mixed, real, noise = twin_models(
        ExecutionPolicy.from_settings(fast=True, precision="mixed_bfloat16"))
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(mixed, real, noise)
    for name in ("G inference", "G training", "D prob real", "D prob fake", "Q"):
        assert got[name].dtype == tf.float32, name
    assert got["D hidden fake"].dtype == tf.bfloat16  # D's fc layer: fused batch norm, lrelu
    assert relative(want["D prob fake"], got["D prob fake"]) < 0.05
    assert relative(want["G training"], got["G training"]) < 0.05
    assert all(v.dtype == "float32" for v in _variables(mixed))
    for source, target in zip(_variables(faithful), _variables(mixed)):  # statistics moved alike
        assert relative(source.numpy(), target.numpy()) < 0.05, source.path


def test_filter_gradients_as_products_round_like_the_bfloat16_kernel(monkeypatch):
    """--fast with bfloat16: the convolutions' filter gradients as one matrix product each
    (conv_gradients) against oneDNN's bfloat16 kernel, everything else the same. Both sum the
    same float32 products of the same bfloat16 inputs, in another order, and round the sum to
    bfloat16 once; a filter gradient feeds no other computation. So each filter gradient is within
    one bfloat16 rounding, 2**-8 of its largest entry (8 significant bits), of the kernel's, and
    every other output and gradient is the same bit for bit."""
    policy = ExecutionPolicy.from_settings(fast=True, precision="mixed_bfloat16")
    _, products, real, noise = twin_models(policy)
    _, kernels, _, _ = twin_models(policy)
    for source, target in zip(_variables(products), _variables(kernels)):
        target.assign(source)
    got = outputs_and_gradients(products, real, noise)
    monkeypatch.setattr(conv_gradients, "MIN_CHANNELS", 10 ** 9)  # the kernel everywhere
    want = outputs_and_gradients(kernels, real, noise)
    rewritten = [name for name in want if "gradient" in name and name.endswith(
        ("discriminator/layer_1/weights", "generator/layer_2/weights"))]
    assert len(rewritten) == 4  # D's second conv (D and MI updates), G's first deconv (G, MI)
    differences = {name: relative(want[name], got[name]) for name in rewritten}
    assert 0 < max(differences.values()) <= 2.0 ** -8, differences  # another order, one rounding
    for name in want:
        if name not in rewritten:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_dynamic_loss_scale_skips_and_halves_then_grows(monkeypatch):
    scale = DynamicLossScale(initial_scale=8.0)
    monkeypatch.setattr(DynamicLossScale, "GROWTH_INTERVAL", 2)
    gradients, finite = scale.unscale([tf.constant([8.0, np.inf])], scale.scale)
    assert not bool(finite)
    scale.update(finite)
    assert scale.scale.numpy() == 4.0 and scale.good_steps.numpy() == 0
    gradients, finite = scale.unscale([tf.constant([8.0, 4.0])], scale.scale)
    np.testing.assert_array_equal(gradients[0], [2.0, 1.0])
    for expected in (4.0, 8.0):  # the second finite step in a row doubles it
        scale.update(finite)
        assert scale.scale.numpy() == expected


def test_float16_training_steps_use_the_loss_scale():
    config = dataclasses.replace(ModelConfig(), generator="fc:16,fc:7x7x4,reshape:7:7:4,"
                                 "deconv:4:2:4,deconv:4:2:1:sigmoid",
                                 discriminator="conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:8:lrelu")
    models = build_models(config, (28, 28, 1),
                          execution=ExecutionPolicy.from_settings(precision="mixed_float16"))
    optimizers = train_step.build_optimizers(models, 1e-3, 2e-4)
    assert optimizers.loss_scale is not None
    np.random.seed(0)
    sample = create_infogan_noise_sample((10,), 2, 62)
    iteration = train_step.make_train_iteration(models, optimizers)
    real = tf.constant(data.load_mnist(MNIST_DIR, 8))
    for _ in range(2):
        results = iteration(real, noise_to_tensor(sample(8)), noise_to_tensor(sample(8)))
    assert all(np.isfinite(value.numpy()) for value in results.values())
    assert optimizers.loss_scale.scale.numpy() > 0
