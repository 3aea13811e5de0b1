"""Rounding of the global-batch batch-norm statistics of 2 replicas, against one device.

Data with a large mean and a small spread (per channel: mean --mean, standard deviation --std),
rows split unevenly over 2 logical CPU devices (mirrored). For each way of computing the mean and
the biased variance over the global batch, the largest absolute and relative difference from
tf.nn.moments on one device, and from the exact values (computed in float64):

- two-pass all-reduces: the global mean, then the squared deviations from it (3 all-reduces,
  with the count; `replicas.two_pass_moments`, what a mirrored strategy uses);
- per-replica count, mean and squared deviations, combined as Chan et al. (1 all-reduce,
  `replicas.moments` with `one_exchange`, what several workers use);
- one pass: sum and sum of squares (1 all-reduce, shift 0), for contrast.

    python benchmarks/moments_accuracy.py --mean 1e3 --std 0.1
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

flags.DEFINE_float("mean", 1e3, "Mean of every channel.")
flags.DEFINE_float("std", 0.1, "Standard deviation of every channel.")
flags.DEFINE_list("shape", ["63", "7", "7", "64"], "Global batch shape, [rows, ..., channels].")
flags.DEFINE_integer("seed", 0, "NumPy seed of the data.")
FLAGS = flags.FLAGS
ONE_DEVICE, EXACT = "one device", "exact"


def one_pass(context, inputs, axes):
    """Sum and sum of squares in one all-reduce: variance = E[x^2] - E[x]^2."""
    import tensorflow as tf
    count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
    sums = context.all_reduce("SUM", tf.concat([
        count[tf.newaxis], tf.reduce_sum(inputs, axis=axes),
        tf.reduce_sum(tf.square(inputs), axis=axes)], axis=0))
    total, channels = sums[0], inputs.shape[-1]
    mean = sums[1:1 + channels] / total
    return mean, sums[1 + channels:] / total - tf.square(mean)


def errors(want, got):
    """(max abs difference, max relative difference) of two arrays."""
    import numpy as np
    difference = np.abs(np.float64(got) - np.float64(want))
    return difference.max(), (difference / np.abs(np.float64(want))).max()


def measure(data):
    """{method: {reference: (mean errors, variance errors)}}, against tf.nn.moments on one
    device and against the exact values."""
    import numpy as np
    import tensorflow as tf
    from infogan.model import replicas
    from infogan.training.placement import make_placement
    placement = make_placement("mirrored", 0, 2)
    axes = list(range(data.ndim - 1))
    references = {
        ONE_DEVICE: [value.numpy() for value in tf.nn.moments(tf.constant(data), axes=axes)],
        EXACT: [data.astype(np.float64).mean(axis=tuple(axes)),
                data.astype(np.float64).var(axis=tuple(axes))]}
    results = {"one device: tf.nn.moments": references[ONE_DEVICE]}
    methods = {"two-pass all-reduces (3 per batch norm)": replicas.two_pass_moments,
               "count, mean, M2 per replica, Chan et al. (1)":
                   lambda c, x, a: replicas.moments(x, a, one_exchange=True),
               "one pass: sum, sum of squares (1)": one_pass}
    parts = placement.distribute(data)
    for name, method in methods.items():
        step = tf.function(lambda values, method=method: placement.strategy.run(
            lambda x: method(tf.distribute.get_replica_context(), x, axes), args=(values,)))
        results[name] = [placement.strategy.experimental_local_results(value)[0].numpy()
                         for value in step(parts)]
    return {name: {reference: tuple(errors(w, g) for w, g in zip(want, got))
                   for reference, want in references.items()}
            for name, got in results.items()}


def main(argv):
    del argv
    import numpy as np
    shape = [int(size) for size in FLAGS.shape]
    data = np.random.RandomState(FLAGS.seed).normal(FLAGS.mean, FLAGS.std, shape).astype(np.float32)
    print("data: float32 %s, mean %g, std %g, rows split %d / %d over 2 replicas" % (
        "x".join(FLAGS.shape), FLAGS.mean, FLAGS.std, (shape[0] + 1) // 2, shape[0] // 2))
    print("| statistics (all-reduces per batch norm) | against | mean: max abs | mean: max rel "
          "| variance: max abs | variance: max rel |")
    print("|---|---|---|---|---|---|")
    for name, by_reference in measure(data).items():
        for reference, ((mean_abs, mean_rel), (var_abs, var_rel)) in by_reference.items():
            if by_reference[reference] != ((0, 0), (0, 0)):
                print("| %s | %s | %.2e | %.2e | %.2e | %.2e |" % (
                    name, reference, mean_abs, mean_rel, var_abs, var_rel))


if __name__ == "__main__":
    app.run(main)
