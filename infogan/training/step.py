"""One InfoGAN training iteration with the TF1 code's semantics (docs/tf1_semantics.md §6).

`model/losses.py` computes each step's losses and says what each update moves; this module takes
the gradients and applies the updates. The step functions take (models, optimizers, batch,
noise) and nothing else, so that a `tf.distribute` strategy can wrap them;
`make_train_iteration` compiles them with tf.function, as the models' ExecutionPolicy says.
"""
import dataclasses
from typing import Optional

import tensorflow as tf

from infogan.model import losses, weight_copies
from infogan.model.replicas import sum_over_replicas
from infogan.training.optimizers import DynamicLossScale, TF1Adam


@dataclasses.dataclass
class Optimizers:
    """D's Adam, and G's Adam which also applies the MI update; with float16 products, the
    dynamic loss scale both use; under a strategy, the precision their gradients are exchanged
    in between replicas (None: their own); with an MI warm-up of `mutual_info_warmup`
    iterations, the variable holding the MI term's weight, which `start_iteration` sets."""
    discriminator: TF1Adam
    generator: TF1Adam
    loss_scale: Optional[DynamicLossScale] = None
    exchange_dtype: Optional[str] = None
    mutual_info_warmup: int = 0
    mutual_info_weight: Optional[tf.Variable] = None
    _weight_set: Optional[float] = dataclasses.field(default=None, init=False, repr=False)

    def start_iteration(self, iteration):
        """Sets what iteration `iteration` (counted over the whole run) reads from the schedule:
        the MI term's weight, iteration / mutual_info_warmup, at most 1.

        Returns:
          that weight, or None without a warm-up.
        """
        if self.mutual_info_weight is None:
            return None
        weight = min(1.0, iteration / self.mutual_info_warmup)
        if weight != self._weight_set:  # once the warm-up is over, no more assignments
            self.mutual_info_weight.assign(weight)
            self._weight_set = weight
        return weight


def build_optimizers(models, generator_lr, discriminator_lr, exchange_dtype=None,
                     mutual_info_warmup=0):
    """Creates both optimisers with all their slots (D's first, as in TF1).

    Args:
      models: the Models whose variables they update.
      generator_lr, discriminator_lr: Adam learning rates.
      exchange_dtype: under a strategy, exchange gradients between replicas in this precision
        (e.g. "bfloat16"); None keeps float32.
      mutual_info_warmup: iterations over which the MI term's weight in the GAN losses rises from
        0 to 1 (`Optimizers.start_iteration` sets it); 0: weight 1 throughout, no extra op.

    Returns:
      an Optimizers.
    """
    discriminator = TF1Adam(discriminator_lr, name="discriminator_adam")
    discriminator.build(losses.discriminator_variables(models))
    generator = TF1Adam(generator_lr, name="generator_adam")
    generator.build(losses.generator_variables(models) + losses.mutual_info_variables(models))
    loss_scale = DynamicLossScale() if models.execution.loss_scaling else None
    # Set by the loop from its iteration count, which checkpoints keep; so the weight is not saved.
    weight = (tf.Variable(0.0, trainable=False, name="mutual_info_weight",
                          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
              if mutual_info_warmup else None)
    return Optimizers(discriminator=discriminator, generator=generator, loss_scale=loss_scale,
                      exchange_dtype=exchange_dtype, mutual_info_warmup=mutual_info_warmup,
                      mutual_info_weight=weight)


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


def _run_updates(optimizers, step_losses):
    """Computes a step's losses (`step_losses()`, a losses.StepLosses) under a gradient tape,
    takes every update's gradients at the same (pre-update) values, then applies the updates in
    order. Returns the step's results."""
    scale = _loss_scale(optimizers)
    with tf.GradientTape(persistent=True) as tape:
        step = step_losses()
        differentiated = [_differentiable(scale, update.loss) for update in step.updates]
    gradients = [tape.gradient(loss, update.variables)
                 for loss, update in zip(differentiated, step.updates)]
    del tape
    for update, update_gradients in zip(step.updates, gradients):
        _apply(getattr(optimizers, update.optimizer), optimizers, update_gradients,
               update.variables, scale)
        weight_copies.forget(update.variables)
    return step.results


def discriminator_step(models, optimizers, real_images, noise):
    """The D update on a real batch and a noise batch (see losses.discriminator_losses).

    Returns:
      dict: DISCRIMINATOR_OBJECTIVE and, in InfoGAN mode, D_STEP_INFOGAN_LOSS (scalars).
    """
    return _run_updates(optimizers, lambda: losses.discriminator_losses(
        models, real_images, noise, optimizers.mutual_info_weight))


def generator_step(models, optimizers, noise):
    """The G update, then the MI update, both from gradients taken at the same (pre-update)
    values (see losses.generator_losses).

    Both updates use the generator's optimiser, so its step counter advances twice; with the MI
    loss in the GAN losses there is one update instead.

    Returns:
      dict: GENERATOR_OBJECTIVE and, in InfoGAN mode, MUTUAL_INFO_SCALARS and G_STEP_INFOGAN_LOSS.
    """
    return _run_updates(optimizers, lambda: losses.generator_losses(
        models, noise, optimizers.mutual_info_weight))


def train_iteration(models, optimizers, real_images, discriminator_noise, *generator_noises):
    """One TF1 iteration: the D step, then the G step (one per noise batch in `generator_noises`:
    one in the TF1 code). Returns the steps' results in one dict, the G steps' averaged.

    With 16-bit products, each weight is cast once and its copy shared by the iteration's passes
    until an update moves it (weight_copies: the same values and gradients)."""
    with weight_copies.iteration_copies(models.execution.low_precision_products):
        results = discriminator_step(models, optimizers, real_images, discriminator_noise)
        steps = [generator_step(models, optimizers, noise) for noise in generator_noises]
    results.update(steps[0] if len(steps) == 1 else {
        key: tf.add_n([step[key] for step in steps]) / len(steps) for key in steps[0]})
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


def make_train_iteration(models, optimizers):
    """Compiles `train_iteration` for these models and optimisers, with XLA when the models'
    ExecutionPolicy says so (XLA's fused kernels round differently from TF1's kernels: results
    then agree with the TF1 code only to float32 rounding, not bit for bit).

    Returns:
      f(real_images, discriminator_noise, *generator_noises) -> dict of scalar tensors.
    """
    def step(real_images, discriminator_noise, *generator_noises):
        return train_iteration(models, optimizers, real_images, discriminator_noise,
                               *generator_noises)
    return batch_agnostic_function(step, models.execution.jit_compile)
