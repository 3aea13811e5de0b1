"""The losses of a training step and what each update moves (docs/tf1_semantics.md §5, §6).

Each step runs the generator once on its noise batch and scores the images; it returns its
updates in the order they are applied, each a loss, the variables it moves and the optimiser that
moves them:

- D step: D's loss on D's variables, with D's optimiser (with the MI in the GAN losses,
  `mutual_info_loss="gan_losses"`, the loss also subtracts the MI and the update moves Q too);
- G step, the TF1 code: G's loss on G's variables, then the MI loss on G's, D's (but
  prob_projection) and Q's variables, both with G's optimiser; with the MI in the GAN losses, one
  update of G's loss minus the MI, on G's variables.

Call the step functions inside a `tf.GradientTape`; `training/step.py` takes the gradients and
applies the updates. Each expression keeps the TF1 code's operation order, which makes the
default path bit-identical to it.
"""
import dataclasses
from typing import Dict, List, Tuple

import tensorflow as tf

from infogan.model import replicas
from infogan.model.config import SEPARATE_UPDATE
from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.model.objectives import (discriminator_objective, generator_objective,
                                      reconstruct_mutual_info, split_codes)

DISCRIMINATOR, GENERATOR = "discriminator", "generator"  # the optimiser of an update
# Keys of a step's results; the first six are also the TensorBoard scalar tags.
DISCRIMINATOR_OBJECTIVE = "discriminator_objective"
GENERATOR_OBJECTIVE = "generator_objective"
MUTUAL_INFO_SCALARS = ("mutual_info_objective", "ll_categorical_objective",
                       "ll_continuous_objective", "std_contig")
MUTUAL_INFO_WEIGHT = "mutual_info_weight"  # the tag of --mutual_info_warmup's weight
D_STEP_INFOGAN_LOSS = "d_step_infogan_loss"  # -mutual_info seen during the D step
G_STEP_INFOGAN_LOSS = "g_step_infogan_loss"  # -mutual_info seen during the G step
_MUTUAL_INFO_KEYS = ("mutual_info", "ll_categorical", "ll_continuous", "std_contig")


@dataclasses.dataclass(frozen=True)
class Update:
    """One optimiser update: minimise `loss` over `variables` with the `optimizer` optimiser
    (DISCRIMINATOR or GENERATOR). `name` is "D", "G" or "MI"."""
    name: str
    optimizer: str
    loss: object
    variables: List


@dataclasses.dataclass(frozen=True)
class StepLosses:
    """What a step computed: its updates in the order they are applied, its results (scalars,
    keyed by the names above), and its forward passes ("fake_images", and the discriminator's
    outputs "fake" and, in the D step, "real": dicts of "prob" and "hidden")."""
    updates: Tuple[Update, ...]
    results: Dict
    forward: Dict


def separate_mutual_info_update(models):
    """Whether the MI loss has its own update (the TF1 code) rather than joining the GAN losses."""
    return models.q_network is not None and models.config.mutual_info_loss == SEPARATE_UPDATE


def discriminator_variables(models):
    """What the D update moves: D, and Q when the MI joins the D loss."""
    if models.q_network is None or separate_mutual_info_update(models):
        return models.discriminator.trainable_variables
    return models.discriminator.trainable_variables + models.q_network.trainable_variables


def generator_variables(models):
    """What the G update moves: G."""
    return models.generator.trainable_variables


def mutual_info_variables(models):
    """What the separate MI update moves, with G's optimiser: G, D (but its prob_projection,
    which the MI does not reach) and Q; none without that update."""
    if not separate_mutual_info_update(models):
        return []
    return (models.generator.trainable_variables + models.discriminator.feature_variables
            + models.q_network.trainable_variables)


def mutual_info(models, noise, hidden):
    """The MI lower bound of the codes in `noise`, from Q in training mode on the
    discriminator's `hidden` features of the images generated from that noise.

    Returns:
      dict of scalars: mutual_info, ll_categorical, ll_continuous, std_contig.
    """
    config = models.config
    categoricals, continuous = split_codes(noise, config.categorical_cardinality,
                                           config.num_continuous)
    return reconstruct_mutual_info(
        models.q_network, categoricals, continuous,
        categorical_lambda=config.categorical_lambda, continuous_lambda=config.continuous_lambda,
        fix_std=config.fix_std, hidden=hidden, is_training=True)


def _weighted(information, weight):
    """The MI term as the GAN losses take it: times `weight` (a warm-up's), when there is one."""
    return information if weight is None else information * tf.cast(weight, information.dtype)


def discriminator_losses(models, real_images, noise, mutual_info_weight=None):
    """The D step's losses, on a real batch and a noise batch (their row counts may differ);
    `mutual_info_weight` (None: 1) scales the MI term where it joins the D loss.

    G and D run in training mode, so G's and both of D's batch-norm statistics are updated, as
    TF1's D step did: D's shared fc moving statistics by the real pass, then the fake pass (the
    TF1 graph, run op by op, updates them in that order). Q is evaluated on the fake features
    for the log.

    Returns:
      StepLosses: one update; results DISCRIMINATOR_OBJECTIVE and, in InfoGAN mode,
      D_STEP_INFOGAN_LOSS.
    """
    fake_images = models.generator(noise, training=True)
    real = models.discriminator(real_images, training=True, pass_index=REAL_PASS)
    # The D update does not move G: no backward pass through it.
    fake = models.discriminator(replicas.outside_backprop(fake_images), training=True,
                                pass_index=FAKE_PASS)
    objective = discriminator_objective(fake["prob"], real["prob"])
    loss = -objective
    results = {DISCRIMINATOR_OBJECTIVE: objective}
    if models.q_network is not None:
        information = mutual_info(models, noise, fake["hidden"])["mutual_info"]
        if not separate_mutual_info_update(models):
            loss = loss - _weighted(information, mutual_info_weight)
        results[D_STEP_INFOGAN_LOSS] = -information
    update = Update("D", DISCRIMINATOR, loss, discriminator_variables(models))
    return StepLosses((update,), results, {"fake_images": fake_images, "real": real, "fake": fake})


def generator_losses(models, noise, mutual_info_weight=None):
    """The G step's losses, from one generator pass on a noise batch; `mutual_info_weight`
    (None: 1) scales the MI term where it joins the G loss.

    Returns:
      StepLosses: the G update, then (the TF1 code) the MI update; results GENERATOR_OBJECTIVE
      and, in InfoGAN mode, MUTUAL_INFO_SCALARS and G_STEP_INFOGAN_LOSS.
    """
    fake_images = models.generator(noise, training=True)
    fake = models.discriminator(fake_images, training=True, pass_index=FAKE_PASS)
    objective = generator_objective(fake["prob"])
    forward = {"fake_images": fake_images, "fake": fake}
    results = {GENERATOR_OBJECTIVE: objective}
    g_variables = generator_variables(models)
    if models.q_network is None:
        return StepLosses((Update("G", GENERATOR, -objective, g_variables),), results, forward)
    information = mutual_info(models, noise, fake["hidden"])
    mi_loss = -information["mutual_info"]
    results.update(zip(MUTUAL_INFO_SCALARS, (information[key] for key in _MUTUAL_INFO_KEYS)))
    results[G_STEP_INFOGAN_LOSS] = mi_loss
    if separate_mutual_info_update(models):
        updates = (Update("G", GENERATOR, -objective, g_variables),
                   Update("MI", GENERATOR, mi_loss, mutual_info_variables(models)))
    else:
        updates = (Update("G", GENERATOR,
                          -objective - _weighted(information["mutual_info"], mutual_info_weight),
                          g_variables),)
    return StepLosses(updates, results, forward)
