"""Global-batch reductions inside a tf.distribute replica.

Every function here is the single-device computation, op for op, outside a replica context of
more than one replica (no strategy, or code run in the cross-replica context such as plots), so
the default path stays bit-identical to the TF1 code. Inside one, batch statistics and batch
means cover the global batch (all replicas' rows), and each replica's loss is its share of the
global mean, so that gradients summed over replicas are the gradients of the global loss.
"""
import tensorflow as tf

SUM = tf.distribute.ReduceOp.SUM


def replica_context():
    """The current ReplicaContext when it has more than one replica, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def _global_count(context, tensor, axes):
    local = tf.cast(tf.reduce_prod(tf.gather(tf.shape(tensor), axes)), tf.float32)
    return context.all_reduce(SUM, local)


def batch_mean(tensor):
    """tf.reduce_mean(tensor) on one device; in a replica, this replica's share of the mean over
    the global batch (its sum divided by the global count): the shares add up to the mean."""
    context = replica_context()
    if context is None:
        return tf.reduce_mean(tensor)
    axes = list(range(len(tensor.shape)))
    return tf.reduce_sum(tensor) / _global_count(context, tensor, axes)


def moments(inputs, axes):
    """tf.nn.moments(inputs, axes) on one device; in a replica, the mean and biased variance over
    the global batch (two all-reduces: the mean, then the squared deviations from it, as
    tf.nn.moments computes them). Gradients flow through both, across replicas."""
    context = replica_context()
    if context is None:
        return tf.nn.moments(inputs, axes=axes)
    count = _global_count(context, inputs, axes)
    mean = context.all_reduce(SUM, tf.reduce_sum(inputs, axis=axes)) / count
    deviations = tf.math.squared_difference(inputs, tf.stop_gradient(mean))
    variance = context.all_reduce(SUM, tf.reduce_sum(deviations, axis=axes)) / count
    return mean, variance


def sum_over_replicas(gradients, dtype=None):
    """The gradients summed over replicas (unchanged on one device): each replica differentiated
    its share of the global loss. With `dtype` (e.g. "bfloat16"), they are exchanged and summed in
    that precision (half the bytes of float32), then cast back to their own."""
    context = replica_context()
    if context is None:
        return gradients
    if dtype is None or dtype == "float32":
        return context.all_reduce(SUM, gradients)
    exchanged = context.all_reduce(SUM, [tf.cast(gradient, dtype) for gradient in gradients])
    return [tf.cast(low, gradient.dtype) for low, gradient in zip(exchanged, gradients)]


def replicated():
    """Whether the code runs in a replica context of more than one replica."""
    return replica_context() is not None
