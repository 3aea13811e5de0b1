"""collectives.count_collectives counts the exchanges of a traced function: collective ops, in
nested functions as often as they are called and in the larger branch of a conditional, and
sums of values from several devices; local sums are not exchanges."""
import tensorflow as tf

from infogan.training.collectives import CROSS_DEVICE_SUM, count_collectives


def all_reduce(value):
    return tf.raw_ops.CollectiveReduceV2(
        input=value, group_size=2, group_key=1, instance_key=1, ordering_token=[],
        merge_op="Add", final_op="Id")


def all_gather(value):
    return tf.raw_ops.CollectiveGatherV2(
        input=value, group_size=2, group_key=1, instance_key=2, ordering_token=[])


@tf.function(autograph=False)
def nested(value):
    return all_gather(value)


@tf.function(autograph=False)
def step(value, flag):
    total = all_reduce(value)
    total += nested(value)[:1] + nested(value * 2.0)[:1]
    total = tf.cond(flag, lambda: all_reduce(all_reduce(total)), lambda: all_reduce(total))
    with tf.device("/cpu:0"):
        first = value + 1.0
    with tf.device("/cpu:1"):
        second = value + 2.0
    with tf.device("/cpu:0"):
        local = tf.add_n([first, first * 2.0])
        summed = tf.add_n([first, second])
    return total + local + summed


def test_a_known_graph_is_counted():
    function = step.get_concrete_function(tf.TensorSpec([1]), tf.TensorSpec([], tf.bool))
    counts = count_collectives(function)
    assert counts == {"CollectiveReduceV2": 3, "CollectiveGatherV2": 2, CROSS_DEVICE_SUM: 1}
    assert count_collectives(function.graph.as_graph_def()) == counts


def test_a_function_without_exchanges_counts_none():
    function = tf.function(lambda x: tf.add_n([x, x * 2.0])).get_concrete_function(
        tf.TensorSpec([2]))
    assert sum(count_collectives(function).values()) == 0
