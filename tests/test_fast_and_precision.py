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
from infogan.model.models import build_models, kernels_for, noise_to_tensor
from infogan.model.networks import FAKE_PASS, REAL_PASS, Kernels
from infogan.model.noise import create_infogan_noise_sample
from infogan.model.objectives import discriminator_objective, generator_objective
from infogan.training import step as train_step
from infogan.training.optimizers import DynamicLossScale

TOLERANCE = 1e-4  # relative to the largest magnitude of each compared tensor


def relative(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)


def twin_models(kernels, batch=16):
    """The default networks built twice, the second with `kernels`, holding the same variables."""
    faithful = build_models(ModelConfig(), (28, 28, 1))
    other = build_models(ModelConfig(), (28, 28, 1), kernels=kernels)
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
        mi_loss = -train_step._mutual_info(models, noise, fake["hidden"])["mutual_info"]
        d_loss = -discriminator_objective(fake["prob"], real_pass["prob"])
        g_loss = -generator_objective(fake["prob"])
    results.update({"G training": fake_images, "D prob real": real_pass["prob"],
                    "D hidden real": real_pass["hidden"], "D prob fake": fake["prob"],
                    "D hidden fake": fake["hidden"], "Q": Q(fake["hidden"], training=True)})
    for name, loss, variables in (("D", d_loss, models.discriminator_variables),
                                  ("G", g_loss, models.generator_variables),
                                  ("MI", mi_loss, models.mutual_info_variables)):
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            assert gradient is not None, (name, variable.path)
            results["%s gradient %s" % (name, variable.path)] = gradient
    return results


def test_fast_mode_agrees_with_the_faithful_kernels():
    faithful, fast, real, noise = twin_models(Kernels(fast=True))
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(fast, real, noise)
    differences = {name: relative(want[name], got[name]) for name in want}
    assert len(differences) >= 40
    assert max(differences.values()) <= TOLERANCE, sorted(differences.items(), key=lambda x: -x[1])[:5]
    # ...and they move the same statistics the same way.
    for source, target in zip(_variables(faithful), _variables(fast)):
        assert relative(source.numpy(), target.numpy()) <= TOLERANCE, source.path


@pytest.mark.parametrize("layer_class,shape", [(ConvBatchNorm, (5, 4, 4, 3)), (FcBatchNorm, (6, 3)),
                                               (FcBatchNorm, (3, 2, 2, 5))])
def test_fused_batch_norm_matches_in_both_modes(layer_class, shape):
    plain, fused = layer_class(), layer_class(fused=True)
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


@pytest.mark.parametrize("precision,dtype", [("mixed_bfloat16", "bfloat16"),
                                             ("mixed_float16", "float16")])
def test_mixed_precision_products_with_float32_statistics(precision, dtype):
    kernels = kernels_for(precision=precision)
    assert kernels.matmul_dtype == dtype
    faithful, mixed, real, noise = twin_models(kernels)
    want, got = outputs_and_gradients(faithful, real, noise), outputs_and_gradients(mixed, real, noise)
    for name in want:
        assert got[name].dtype == tf.float32, name  # only the products are reduced
    assert relative(want["D prob fake"], got["D prob fake"]) < 0.05  # close, not bit-identical
    assert all(v.dtype == "float32" for v in _variables(mixed))


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
    models = build_models(config, (28, 28, 1), kernels=kernels_for(precision="mixed_float16"))
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
