"""Each batch norm against a NumPy computation of docs/tf1_semantics.md §3, both modes, several steps."""
import numpy as np
import pytest
import tensorflow as tf

from infogan.model.batch_norm import ConvBatchNorm, FcBatchNorm

RTOL, ATOL = 1e-5, 1e-5


def batches(shape, count, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.normal(2.0, 3.0, size=shape).astype(np.float32) for _ in range(count)]


def test_conv_batch_norm_training_inference_and_ema():
    layer = ConvBatchNorm(num_passes=2)
    layer.build((None, 4, 4, 3))
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    assert np.all(beta == 0) and abs(gamma.mean() - 1) < 0.05 and gamma.std() < 0.05
    ema_mean, ema_var = np.zeros(3), np.zeros(3)
    for x in batches((5, 4, 4, 3), 4):
        out = layer(x, training=True, pass_index=0).numpy()
        mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5) * gamma + beta, RTOL, ATOL)
        ema_mean -= (ema_mean - mean) * 0.1  # decay 0.9, shadow from 0, no debiasing
        ema_var -= (ema_var - var) * 0.1
        np.testing.assert_allclose(layer.moving_means[0].numpy(), ema_mean, RTOL, ATOL)
        np.testing.assert_allclose(layer.moving_variances[0].numpy(), ema_var, RTOL, ATOL)
    # The other pass's statistics are untouched; inference reads the chosen pass's EMA.
    assert np.all(layer.moving_means[1].numpy() == 0) and np.all(layer.moving_variances[1].numpy() == 0)
    x = batches((2, 4, 4, 3), 1, seed=9)[0]
    out = layer(x, training=False, pass_index=0).numpy()
    np.testing.assert_allclose(out, (x - ema_mean) / np.sqrt(ema_var + 1e-5) * gamma + beta, RTOL, ATOL)
    np.testing.assert_allclose(layer.moving_means[0].numpy(), ema_mean, RTOL, ATOL)  # no update


def test_conv_batch_norm_inference_pass_that_moves_its_ema():
    """TF1's inference passes also moved the EMA: normalised with the shadows as they were, then
    the shadows move towards this batch's moments (decay 0.9)."""
    layer = ConvBatchNorm(num_passes=1)
    layer.build((None, 4, 4, 3))
    layer.moving_variances[0].assign(np.ones(3, np.float32))
    gamma, ema_mean, ema_var = layer.gamma.numpy(), np.zeros(3), np.ones(3)
    for x in batches((5, 4, 4, 3), 3, seed=4):
        out = layer(x, training=False, update_in_inference=True).numpy()
        np.testing.assert_allclose(out, (x - ema_mean) / np.sqrt(ema_var + 1e-5) * gamma, RTOL, ATOL)
        ema_mean -= (ema_mean - x.mean(axis=(0, 1, 2))) * 0.1
        ema_var -= (ema_var - x.var(axis=(0, 1, 2))) * 0.1
        np.testing.assert_allclose(layer.moving_means[0].numpy(), ema_mean, RTOL, ATOL)
        np.testing.assert_allclose(layer.moving_variances[0].numpy(), ema_var, RTOL, ATOL)


def test_fc_batch_norm_rank2_and_rank4():
    for shape, axes in (((6, 5), (0,)), ((3, 2, 2, 5), (0, 1, 2))):
        layer = FcBatchNorm()
        layer.build((None,) + shape[1:])
        layer.beta.assign(np.linspace(-1, 1, 5).astype(np.float32))
        beta = layer.beta.numpy()
        moving_mean, moving_var = np.zeros(5), np.ones(5)
        for x in batches(shape, 3, seed=len(shape)):
            out = layer(x, training=True).numpy()
            mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased variance
            np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3) + beta, RTOL, ATOL)
            moving_mean -= (moving_mean - mean) * (1 - 0.999)
            moving_var -= (moving_var - var) * (1 - 0.999)
            np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, RTOL, ATOL)
            np.testing.assert_allclose(layer.moving_variance.numpy(), moving_var, RTOL, ATOL)
        x = batches(shape, 1, seed=5)[0]
        np.testing.assert_allclose(layer(x, training=False).numpy(),
                                   (x - moving_mean) / np.sqrt(moving_var + 1e-3) + beta, RTOL, ATOL)


def test_q_batch_norm_never_updates():
    layer = FcBatchNorm(update_moving_statistics=False)
    x = batches((4, 3), 1)[0]
    for _ in range(3):
        out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), RTOL, ATOL)
    assert np.all(layer.moving_mean.numpy() == 0) and np.all(layer.moving_variance.numpy() == 1)


def test_gradient_flows_through_batch_statistics():
    layer = FcBatchNorm()
    x = tf.constant(batches((4, 3), 1)[0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x, training=True))
    # Normalised columns sum to beta * n whatever x is, so d(sum)/dx is zero only if the
    # batch statistics are differentiated (they would not be with stop_gradient).
    np.testing.assert_allclose(tape.gradient(total, x), np.zeros((4, 3)), atol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_paper_fc_batch_norm_has_gamma_epsilon_1e5_decay_09(fused):
    """openai/InfoGAN's batch norm on fc layers: as its conv ones."""
    from infogan.model.config import PAPER_FC_BATCH_NORM
    from infogan.model.execution import FAITHFUL, ExecutionPolicy
    layer = FcBatchNorm(style=PAPER_FC_BATCH_NORM,
                        execution=ExecutionPolicy.from_settings(fast=True) if fused else FAITHFUL)
    layer.build((None, 5))
    gamma = layer.gamma.numpy()
    assert abs(gamma.mean() - 1) < 0.1 and gamma.std() > 0
    moving_mean, moving_var = np.zeros(5), np.ones(5)
    for x in batches((6, 5), 3, seed=7):
        out = layer(x, training=True).numpy()
        mean, var = x.mean(axis=0), x.var(axis=0)
        np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5) * gamma, RTOL, ATOL)
        moving_mean -= (moving_mean - mean) * 0.1
        moving_var -= (moving_var - var) * 0.1
        np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, RTOL, ATOL)
        np.testing.assert_allclose(layer.moving_variance.numpy(), moving_var, RTOL, ATOL)
    x = batches((6, 5), 1, seed=8)[0]
    np.testing.assert_allclose(layer(x, training=False).numpy(),
                               (x - moving_mean) / np.sqrt(moving_var + 1e-5) * gamma, RTOL, ATOL)


def test_the_fc_batch_norm_flag_reaches_every_fc_layer_and_the_default_is_tf1():
    import dataclasses
    from infogan.cli import train as train_cli
    from infogan.model.config import PAPER_FC_BATCH_NORM, TF1_FC_BATCH_NORM, ModelConfig
    from infogan.model.models import build_models
    assert ModelConfig().fc_batch_norm == TF1_FC_BATCH_NORM
    assert "fc_batch_norm" in train_cli.BEYOND_TF1_FLAGS
    assert "fc_batch_norm" not in train_cli.RESUME_FLAGS  # it shapes the variables
    small = ModelConfig(generator="fc:16,fc:7x7x4,reshape:7:7:4,deconv:4:4:1:sigmoid",
                        discriminator="conv:4:2:4:lrelu,fc:16:lrelu")
    for style, has_gamma in ((TF1_FC_BATCH_NORM, False), (PAPER_FC_BATCH_NORM, True)):
        models = build_models(dataclasses.replace(small, fc_batch_norm=style), (28, 28, 1))
        norms = [layer for network in (models.generator, models.discriminator, models.q_network)
                 for layer in network._flatten_layers() if isinstance(layer, FcBatchNorm)]
        assert len(norms) == 4  # G's two fc layers, D's, Q's
        assert all((norm.gamma is not None) == has_gamma for norm in norms)
        assert norms[-1].update_moving_statistics == has_gamma  # Q's: the TF1 code never updated it
