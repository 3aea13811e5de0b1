"""One InfoGAN training iteration with the TF1 code's semantics (docs/tf1_semantics.md §6).

The step functions take (models, optimizers, batch, noise) and nothing else, so that a
`tf.distribute` strategy can wrap them; `make_train_iteration` compiles them with tf.function.
"""
import dataclasses

import tensorflow as tf

from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.model.objectives import (discriminator_objective, generator_objective,
                                reconstruct_mutual_info, split_codes)
from infogan.training.optimizers import TF1Adam

# Keys of the per-iteration results; the first six are also the TensorBoard scalar tags.
DISCRIMINATOR_OBJECTIVE = "discriminator_objective"
GENERATOR_OBJECTIVE = "generator_objective"
MUTUAL_INFO_SCALARS = ("mutual_info_objective", "ll_categorical_objective",
                       "ll_continuous_objective", "std_contig")
D_STEP_INFOGAN_LOSS = "d_step_infogan_loss"  # -mutual_info seen during the D step
G_STEP_INFOGAN_LOSS = "g_step_infogan_loss"  # -mutual_info seen during the G step


@dataclasses.dataclass
class Optimizers:
    """D's Adam, and G's Adam which also applies the MI update."""
    discriminator: TF1Adam
    generator: TF1Adam


def build_optimizers(models, generator_lr, discriminator_lr):
    """Creates both optimisers with all their slots (D's first, as in TF1)."""
    discriminator = TF1Adam(discriminator_lr, name="discriminator_adam")
    discriminator.build(models.discriminator_variables)
    generator = TF1Adam(generator_lr, name="generator_adam")
    generator.build(models.generator_variables + models.mutual_info_variables)
    return Optimizers(discriminator=discriminator, generator=generator)


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
    evaluated on the fake features for the log, before the update.

    Returns:
      dict: DISCRIMINATOR_OBJECTIVE and, in InfoGAN mode, D_STEP_INFOGAN_LOSS (scalars).
    """
    variables = models.discriminator_variables
    with tf.GradientTape() as tape:
        fake_images = models.generator(noise, training=True)
        # Both passes update D's shared fc moving statistics; the TF1 graph, run op by op,
        # updates them in the real pass first (docs/tf1_semantics.md §6).
        real = models.discriminator(real_images, training=True, pass_index=REAL_PASS)
        fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
        objective = discriminator_objective(fake["prob"], real["prob"])
        loss = -objective
    results = {DISCRIMINATOR_OBJECTIVE: objective}
    if models.q_network is not None:
        results[D_STEP_INFOGAN_LOSS] = -_mutual_info(models, noise, fake["hidden"])["mutual_info"]
    gradients = tape.gradient(loss, variables)
    optimizers.discriminator.apply_gradients(zip(gradients, variables))
    return results


def generator_step(models, optimizers, noise):
    """G update, then the MI update, both from gradients taken at the same (pre-update) values.

    Both updates use the generator's optimiser, so its step counter advances twice; the MI
    update moves G, D (but prob_projection) and Q.

    Returns:
      dict: GENERATOR_OBJECTIVE and, in InfoGAN mode, MUTUAL_INFO_SCALARS and G_STEP_INFOGAN_LOSS.
    """
    g_variables, mi_variables = models.generator_variables, models.mutual_info_variables
    with tf.GradientTape(persistent=True) as tape:
        fake_images = models.generator(noise, training=True)
        fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
        objective = generator_objective(fake["prob"])
        g_loss = -objective
        mutual_info = None
        if models.q_network is not None:
            mutual_info = _mutual_info(models, noise, fake["hidden"])
            mi_loss = -mutual_info["mutual_info"]
    results = {GENERATOR_OBJECTIVE: objective}
    g_gradients = tape.gradient(g_loss, g_variables)
    if mutual_info is not None:
        mi_gradients = tape.gradient(mi_loss, mi_variables)
    del tape
    optimizers.generator.apply_gradients(zip(g_gradients, g_variables))
    if mutual_info is not None:
        optimizers.generator.apply_gradients(zip(mi_gradients, mi_variables))
        results.update({tag: mutual_info[key] for tag, key in zip(
            MUTUAL_INFO_SCALARS, ("mutual_info", "ll_categorical", "ll_continuous", "std_contig"))})
        results[G_STEP_INFOGAN_LOSS] = mi_loss
    return results


def train_iteration(models, optimizers, real_images, discriminator_noise, generator_noise):
    """One TF1 iteration: the D step, then the G step. Returns both steps' results in one dict."""
    results = discriminator_step(models, optimizers, real_images, discriminator_noise)
    results.update(generator_step(models, optimizers, generator_noise))
    return results


def batch_agnostic_function(function, jit_compile=False):
    """tf.function of `function` traced once, with the batch dimension of every input unknown.

    TF1's placeholders left the batch size unknown. With it known, Grappler folds 1/batch_size
    into constants, one ulp away from the TF1 graph's division (see the README's parity
    section). One trace also serves the short last batch of an epoch.
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
