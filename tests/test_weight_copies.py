"""The bfloat16 copies of the weights, cast once per iteration and shared by its passes, change
no value: an iteration with them is bit for bit the iteration that casts at every use."""
import numpy as np
import tensorflow as tf

from infogan.model import weight_copies
from infogan.model.execution import ExecutionPolicy
from infogan.model.models import noise_to_tensor
from infogan.model.noise import create_infogan_noise_sample
from infogan.training import step as train_step
from test_fast_and_precision import _variables, twin_models


def _cast_ops(function, *args):
    graph = function.get_concrete_function(*args).graph
    return sum(1 for op in graph.get_operations() if op.type == "Cast")


def test_shared_copies_give_the_same_iterations_with_fewer_casts():
    execution = ExecutionPolicy.from_settings(fast=True, precision="mixed_bfloat16")
    _, shared, real, _ = twin_models(execution)
    _, fresh, _, _ = twin_models(execution)
    for source, target in zip(_variables(shared), _variables(fresh)):
        target.assign(source)
    shared_optimizers = train_step.build_optimizers(shared, 1e-3, 2e-4)
    fresh_optimizers = train_step.build_optimizers(fresh, 1e-3, 2e-4)

    def cast_at_every_use(images, d_noise, g_noise):
        results = train_step.discriminator_step(fresh, fresh_optimizers, images, d_noise)
        results.update(train_step.generator_step(fresh, fresh_optimizers, g_noise))
        return results
    with_copies = tf.function(lambda images, d_noise, g_noise: train_step.train_iteration(
        shared, shared_optimizers, images, d_noise, g_noise))
    without = tf.function(cast_at_every_use)
    np.random.seed(3)
    sample = create_infogan_noise_sample((10,), 2, 62)
    for _ in range(2):  # the second iteration starts from moved weights and moments
        noises = noise_to_tensor(sample(16)), noise_to_tensor(sample(16))
        want, got = without(real, *noises), with_copies(real, *noises)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    for source, target in zip(_variables(fresh), _variables(shared)):
        np.testing.assert_array_equal(target.numpy(), source.numpy(), err_msg=source.path)
    assert _cast_ops(with_copies, real, *noises) < _cast_ops(without, real, *noises)


def test_a_copy_is_dropped_once_an_update_moves_its_variable():
    variable = tf.Variable([1.0, 2.0])
    with weight_copies.iteration_copies() as copies:
        first = weight_copies.product_weight(variable, tf.bfloat16)
        assert copies.product_weight(variable, tf.bfloat16) is not first  # the reuse op
        variable.assign([3.0, 4.0])
        weight_copies.forget([variable])
        np.testing.assert_array_equal(weight_copies.product_weight(variable, tf.bfloat16),
                                      tf.constant([3.0, 4.0], tf.bfloat16))
    assert weight_copies.product_weight(variable, tf.float32).dtype == tf.float32
