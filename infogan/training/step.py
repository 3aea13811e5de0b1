"""One InfoGAN training iteration with the TF1 code's semantics (docs/tf1_semantics.md §6).

The step functions take (models, optimizers, batch, noise) and nothing else, so that a
`tf.distribute` strategy can wrap them; `make_train_iteration` compiles them with tf.function.
"""
import dataclasses
from typing import Optional

import tensorflow as tf

from infogan.model.replicas import sum_over_replicas
from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.model.objectives import (discriminator_objective, generator_objective,
                                reconstruct_mutual_info, split_codes)
from infogan.training.optimizers import DynamicLossScale, TF1Adam

# Keys of the per-iteration results; the first six are also the TensorBoard scalar tags.
DISCRIMINATOR_OBJECTIVE = "discriminator_objective"
GENERATOR_OBJECTIVE = "generator_objective"
MUTUAL_INFO_SCALARS = ("mutual_info_objective", "ll_categorical_objective",
                       "ll_continuous_objective", "std_contig")
D_STEP_INFOGAN_LOSS = "d_step_infogan_loss"  # -mutual_info seen during the D step
G_STEP_INFOGAN_LOSS = "g_step_infogan_loss"  # -mutual_info seen during the G step


@dataclasses.dataclass
class Optimizers:
    """D's Adam, and G's Adam which also applies the MI update; with float16 products, the
    dynamic loss scale both use; under a strategy, the precision their gradients are exchanged
    in between replicas (None: their own)."""
    discriminator: TF1Adam
    generator: TF1Adam
    loss_scale: Optional[DynamicLossScale] = None
    exchange_dtype: Optional[str] = None


def build_optimizers(models, generator_lr, discriminator_lr, exchange_dtype=None):
    """Creates both optimisers with all their slots (D's first, as in TF1).

    Args:
      models: the Models whose variables they update.
      generator_lr, discriminator_lr: Adam learning rates.
      exchange_dtype: under a strategy, exchange gradients between replicas in this precision
        (e.g. "bfloat16"); None keeps float32.

    Returns:
      an Optimizers.
    """
    discriminator = TF1Adam(discriminator_lr, name="discriminator_adam")
    discriminator.build(models.discriminator_variables)
    generator = TF1Adam(generator_lr, name="generator_adam")
    generator.build(models.generator_variables + models.mutual_info_variables)
    loss_scale = DynamicLossScale() if models.kernels.matmul_dtype == "float16" else None
    return Optimizers(discriminator=discriminator, generator=generator, loss_scale=loss_scale,
                      exchange_dtype=exchange_dtype)


def _loss_scale(optimizers):
    """The float16 loss scale for this step (read once, before any update changes it), or None."""
    return None if optimizers.loss_scale is None else optimizers.loss_scale.scale.read_value()


def _differentiable(scale, loss):
    """The loss to differentiate: multiplied by the loss scale when there is one."""
    return loss if scale is None else loss * scale


def _apply(optimizer, optimizers, gradients, variables, scale):
    """Applies an update of the gradients summed over replicas (under a tf.distribute strategy);
    with loss scaling, they are divided by the `scale` their loss was multiplied by, and the update
    is skipped (and the scale halved) when they are not finite."""
    gradients = sum_over_replicas(gradients, optimizers.exchange_dtype)
    if scale is None:
        optimizer.apply_gradients(zip(gradients, variables))
        return
    gradients, finite = optimizers.loss_scale.unscale(gradients, scale)

    def apply():
        optimizer.apply_gradients(zip(gradients, variables))
        return tf.constant(True)
    tf.cond(finite, apply, lambda: tf.constant(False))
    optimizers.loss_scale.update(finite)


def _mutual_info(models, noise, hidden):
    config = models.config
    categoricals, continuous = split_codes(noise, config.categorical_cardinality,
                                           config.num_continuous)
    return reconstruct_mutual_info(
        models.q_network, categoricals, continuous,
        categorical_lambda=config.categorical_lambda, continuous_lambda=config.continuous_lambda,
        fix_std=config.fix_std, hidden=hidden, is_training=True)


def discriminator_step(models, optimizers, real_images, noise):
    """D update on a real batch and a noise batch (their row counts may differ).

    G and D run in training mode, so G's and both of D's batch-norm statistics are updated,
    as TF1's D step did (D's fc moving statistics by the real pass, then the fake pass). Q is
    evaluated on the fake features for the log, before the update; with the MI loss in the GAN
    losses (`mutual_info_loss="gan_losses"`), D's loss also subtracts it and the update moves Q.

    Returns:
      dict: DISCRIMINATOR_OBJECTIVE and, in InfoGAN mode, D_STEP_INFOGAN_LOSS (scalars).
    """
    variables = models.discriminator_variables
    joint = models.q_network is not None and not models.separate_mutual_info_update
    scale = _loss_scale(optimizers)
    with tf.GradientTape() as tape:
        fake_images = models.generator(noise, training=True)
        # Both passes update D's shared fc moving statistics; the TF1 graph, run op by op,
        # updates them in the real pass first (docs/tf1_semantics.md §6).
        real = models.discriminator(real_images, training=True, pass_index=REAL_PASS)
        fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
        objective = discriminator_objective(fake["prob"], real["prob"])
        loss = -objective
        if joint:
            mutual_info = _mutual_info(models, noise, fake["hidden"])["mutual_info"]
            loss = loss - mutual_info
        loss = _differentiable(scale, loss)
    results = {DISCRIMINATOR_OBJECTIVE: objective}
    if joint:
        results[D_STEP_INFOGAN_LOSS] = -mutual_info
    elif models.q_network is not None:
        results[D_STEP_INFOGAN_LOSS] = -_mutual_info(models, noise, fake["hidden"])["mutual_info"]
    _apply(optimizers.discriminator, optimizers, tape.gradient(loss, variables), variables, scale)
    return results


def generator_step(models, optimizers, noise):
    """G update, then the MI update, both from gradients taken at the same (pre-update) values.

    Both updates use the generator's optimiser, so its step counter advances twice; the MI
    update moves G, D (but prob_projection) and Q. With the MI loss in the GAN losses, there is
    one update instead, of G's loss minus the MI.

    Returns:
      dict: GENERATOR_OBJECTIVE and, in InfoGAN mode, MUTUAL_INFO_SCALARS and G_STEP_INFOGAN_LOSS.
    """
    if models.q_network is not None and not models.separate_mutual_info_update:
        return _joint_generator_step(models, optimizers, noise)
    g_variables, mi_variables = models.generator_variables, models.mutual_info_variables
    scale = _loss_scale(optimizers)
    with tf.GradientTape(persistent=True) as tape:
        fake_images = models.generator(noise, training=True)
        fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
        objective = generator_objective(fake["prob"])
        g_loss = _differentiable(scale, -objective)
        mutual_info = None
        if models.q_network is not None:
            mutual_info = _mutual_info(models, noise, fake["hidden"])
            mi_loss = -mutual_info["mutual_info"]
            scaled_mi_loss = _differentiable(scale, mi_loss)
    results = {GENERATOR_OBJECTIVE: objective}
    g_gradients = tape.gradient(g_loss, g_variables)
    if mutual_info is not None:
        mi_gradients = tape.gradient(scaled_mi_loss, mi_variables)
    del tape
    _apply(optimizers.generator, optimizers, g_gradients, g_variables, scale)
    if mutual_info is not None:
        _apply(optimizers.generator, optimizers, mi_gradients, mi_variables, scale)
        results.update({tag: mutual_info[key] for tag, key in zip(
            MUTUAL_INFO_SCALARS, ("mutual_info", "ll_categorical", "ll_continuous", "std_contig"))})
        results[G_STEP_INFOGAN_LOSS] = mi_loss
    return results


def _joint_generator_step(models, optimizers, noise):
    """The G update of openai/InfoGAN: G's loss minus the MI, on G's variables."""
    variables = models.generator_variables
    scale = _loss_scale(optimizers)
    with tf.GradientTape() as tape:
        fake_images = models.generator(noise, training=True)
        fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
        objective = generator_objective(fake["prob"])
        mutual_info = _mutual_info(models, noise, fake["hidden"])
        loss = _differentiable(scale, -objective - mutual_info["mutual_info"])
    _apply(optimizers.generator, optimizers, tape.gradient(loss, variables), variables, scale)
    results = {tag: mutual_info[key] for tag, key in zip(
        MUTUAL_INFO_SCALARS, ("mutual_info", "ll_categorical", "ll_continuous", "std_contig"))}
    results.update({GENERATOR_OBJECTIVE: objective, G_STEP_INFOGAN_LOSS: -mutual_info["mutual_info"]})
    return results


def train_iteration(models, optimizers, real_images, discriminator_noise, generator_noise):
    """One TF1 iteration: the D step, then the G step. Returns both steps' results in one dict."""
    results = discriminator_step(models, optimizers, real_images, discriminator_noise)
    results.update(generator_step(models, optimizers, generator_noise))
    return results


def batch_agnostic_function(function, jit_compile=False):
    """tf.function of `function` traced once, with the batch dimension of every input unknown.

    TF1's placeholders left the batch size unknown. With it known, Grappler folds 1/batch_size
    into constants, one ulp away from the TF1 graph's division (see docs/parity.md). One trace also serves the short last batch of an epoch.
    """
    compiled = []

    def call(*tensors):
        if not compiled:
            signature = [tf.TensorSpec([None] + list(t.shape[1:]), t.dtype) for t in tensors]
            compiled.append(tf.function(function, input_signature=signature, autograph=False,
                                        jit_compile=jit_compile))
        return compiled[0](*tensors)
    return call


def make_train_iteration(models, optimizers, jit_compile=False):
    """Compiles `train_iteration` for these models and optimisers.

    Args:
      jit_compile: compile with XLA. Its fused kernels round differently from TF1's kernels, so
        results then agree with the TF1 code only to float32 rounding, not bit for bit.

    Returns:
      f(real_images, discriminator_noise, generator_noise) -> dict of scalar tensors.
    """
    def step(real_images, discriminator_noise, generator_noise):
        return train_iteration(models, optimizers, real_images, discriminator_noise, generator_noise)
    return batch_agnostic_function(step, jit_compile)
