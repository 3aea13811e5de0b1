"""Global-batch reductions inside a tf.distribute replica.

Every function here is the single-device computation, op for op, outside a replica context of
more than one replica (no strategy, or code run in the cross-replica context such as plots), so
the default path stays bit-identical to the TF1 code. Inside one, batch statistics and batch
means cover the global batch (all replicas' rows), and each replica's loss is its share of the
global mean, so that gradients summed over replicas are the gradients of the global loss.

Each exchange between replicas is a round trip across the network in a multi-worker run, and the
layers after it wait for it: there a batch norm exchanges its statistics in one all-reduce and an
update's gradients travel in one pack. When every replica runs in this process (mirrored, TPU),
an exchange does not leave the host and costs less than the arithmetic and copies that save one:
there a batch norm exchanges the sum, then the squared deviations from the mean, and float32
gradients are summed tensor by tensor. Either way, batch means divide by a global row count known when the step
is traced (`global_rows`).
"""
import contextlib
import threading

import tensorflow as tf

SUM = tf.distribute.ReduceOp.SUM
_traced = threading.local()  # what the replica step being traced (in this thread) knows


def replica_context():
    """The current ReplicaContext when it has more than one replica, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


@contextlib.contextmanager
def global_rows(rows):
    """Within it, the replica step traced in this thread knows that every batch it holds rows of
    has `rows` rows in all (None: not known); `batch_mean` then needs no exchange for its count.

    Args:
      rows: the global batch's row count (a Python int), or None.
    """
    outer = getattr(_traced, "rows", None)
    _traced.rows = rows
    try:
        yield
    finally:
        _traced.rows = outer


def _global_count(context, tensor):
    """The global element count of a per-row tensor, as a float32 tensor: from `global_rows`
    and the static shape of a row when both are known, else all-reduced."""
    rows, row_size = getattr(_traced, "rows", None), tensor.shape[1:].num_elements()
    if rows is not None and row_size is not None:
        return tf.constant(float(rows * row_size), tf.float32)
    local = tf.cast(tf.size(tensor), tf.float32)
    return context.all_reduce(SUM, local)


def batch_mean(tensor):
    """tf.reduce_mean(tensor) on one device; in a replica, this replica's share of the mean over
    the global batch (its sum divided by the global count): the shares add up to the mean.

    Args:
      tensor: per-row values, rows first; or a scalar, the same on every replica.
    """
    context = replica_context()
    if context is None:
        return tf.reduce_mean(tensor)
    if tensor.shape.rank == 0:
        return tensor / float(context.num_replicas_in_sync)
    return tf.reduce_sum(tensor) / _global_count(context, tensor)


def all_gather(context, value):
    """[replicas, *value.shape]: every replica's `value`, in replica order, in one all-reduce of
    rows that are zero but for the replica's own (x + 0 == x: exact). Its gradient is one
    all-reduce too, sliced to the replica's row."""
    replica, replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
    paddings = [[replica, replicas - 1 - replica]] + [[0, 0]] * value.shape.rank
    return context.all_reduce(SUM, tf.pad(value[tf.newaxis], paddings))


def exchanges_in_memory(context):
    """Whether every replica of `context` runs in this process, so that an exchange between them
    is a copy in memory rather than a round trip between processes (or hosts)."""
    return not isinstance(context.strategy, tf.distribute.MultiWorkerMirroredStrategy)


def moments(inputs, axes, one_exchange=None):
    """tf.nn.moments(inputs, axes) on one device; in a replica, the mean and biased variance over
    the global batch.

    With `one_exchange` (by default, when the replicas are in several processes), each replica
    computes its row count, its mean (corrected by the mean of the deviations from
    it) and the sum of squared deviations from that mean, exchanges them in one all-reduce
    (`all_gather`: the gradient takes one more in the backward pass), and
    combines them as the parallel variance algorithm of Chan et al. does: with one device's
    accuracy whatever the mean. Without it, the global mean, then the squared deviations from it,
    are all-reduced (`two_pass_moments`). Gradients flow through the exchanges, across replicas.

    Args:
      inputs: [..., channels]; axes: every axis but the last.
      one_exchange: True, False, or None (by `exchanges_in_memory`).
    """
    context = replica_context()
    if context is None:
        return tf.nn.moments(inputs, axes=axes)
    if one_exchange is None:
        one_exchange = not exchanges_in_memory(context)
    if not one_exchange:
        return two_pass_moments(context, inputs, axes)
    dtype = inputs.dtype
    inputs = tf.cast(inputs, tf.float32)  # 16-bit inputs too, as tf.nn.moments does
    count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
    # The replica's mean, corrected by the mean of the deviations from it: the spread of the
    # replicas' means enters the variance, so they need more than one float32 sum's accuracy.
    first = tf.stop_gradient(tf.math.divide_no_nan(tf.reduce_sum(inputs, axis=axes), count))
    deviations = inputs - first
    correction = tf.math.divide_no_nan(tf.reduce_sum(deviations, axis=axes), count)
    local_mean = first + correction
    squares = tf.reduce_sum(tf.math.squared_difference(deviations, tf.stop_gradient(correction)),
                            axis=axes)
    channels = local_mean.shape[-1]
    gathered = all_gather(context, tf.concat([count[tf.newaxis], local_mean, squares], axis=0))
    counts, means, squares = tf.split(gathered, [1, channels, channels], axis=1)
    total = tf.reduce_sum(counts)
    mean = tf.reduce_sum(counts * means, axis=0) / total
    between = tf.reduce_sum(counts * tf.math.squared_difference(means, mean), axis=0)
    variance = (tf.reduce_sum(squares, axis=0) + between) / total
    return tf.cast(mean, dtype), tf.cast(variance, dtype)


def two_pass_moments(context, inputs, axes):
    """The global mean and biased variance as tf.nn.moments computes them: the mean all-reduced,
    then the squared deviations from it (two exchanges forward, two backward)."""
    dtype = inputs.dtype
    inputs = tf.cast(inputs, tf.float32)
    count = _global_count(context, inputs[..., 0])
    mean = context.all_reduce(SUM, tf.reduce_sum(inputs, axis=axes)) / count
    deviations = tf.math.squared_difference(inputs, tf.stop_gradient(mean))
    variance = context.all_reduce(SUM, tf.reduce_sum(deviations, axis=axes)) / count
    return tf.cast(mean, dtype), tf.cast(variance, dtype)


def sum_over_replicas(gradients, dtype=None):
    """The gradients summed over replicas (unchanged on one device): each replica differentiated
    its share of the global loss. Between processes they travel in one pack (one all-reduce of
    their concatenation, whatever the strategy's cross-device ops); in memory, float32 gradients
    are summed tensor by tensor, sparing the concatenation's copies. With `dtype` (e.g.
    "bfloat16"), they are exchanged and summed in that precision (half the bytes of float32), then
    cast back to their own."""
    context = replica_context()
    if context is None or not gradients:
        return gradients
    low = dtype not in (None, "float32")
    if not low and exchanges_in_memory(context):
        return context.all_reduce(SUM, list(gradients))
    flat = [tf.reshape(tf.cast(gradient, dtype) if low else gradient, [-1])
            for gradient in gradients]
    summed = tf.split(context.all_reduce(SUM, tf.concat(flat, axis=0)),
                      [gradient.shape.num_elements() for gradient in gradients])
    return [tf.cast(tf.reshape(part, tf.shape(gradient)), gradient.dtype)
            for part, gradient in zip(summed, gradients)]


def outside_backprop(tensor):
    """`tensor` itself on one device; in a replica, tf.stop_gradient(tensor).

    For a tensor that no update of the step differentiates through: on one device the unused
    backward ops are pruned, but in a replica they feed all-reduces (the batch norms' gradients),
    which run (and make every replica run them) whether or not their results are used.
    """
    return tensor if replica_context() is None else tf.stop_gradient(tensor)


def replicated():
    """Whether the code runs in a replica context of more than one replica."""
    return replica_context() is not None
