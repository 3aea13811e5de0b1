"""The cost of tf.distribute on this host: mirrored on 2 logical CPU devices against one device.

Both rows run the default networks at the global batch (default 64), each in its own worker
process, timed interleaved (see throughput.py). On the same cores, the mirrored row can only be
as fast as one device: the ratio is the strategy's own overhead (splitting, all-reduces). Then
the gradient volume all-reduced per iteration, and the time of one all-reduce of that volume
between the two logical devices.

    python benchmarks/scaling.py --iterations 15 --repeats 5
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import throughput  # noqa: E402

flags.DEFINE_integer("allreduce_repeats", 10, "All-reduces timed (median reported).")
FLAGS = flags.FLAGS


def gradient_megabytes():
    """Float32 megabytes all-reduced per iteration, per update: D, G, and MI (G, D's features, Q)."""
    import numpy as np
    from infogan.model.config import ModelConfig
    from infogan.model.models import build_models
    models = build_models(ModelConfig(), (28, 28, 1))

    def megabytes(variables):
        return sum(int(np.prod(v.shape)) for v in variables) * 4 / 1e6
    return {"D": megabytes(models.discriminator_variables),
            "G": megabytes(models.generator_variables),
            "MI": megabytes(models.mutual_info_variables)}


def allreduce_seconds(megabytes, repeats):
    """Median seconds of one SUM all-reduce of `megabytes` of float32 over 2 logical CPU devices."""
    import statistics
    import tensorflow as tf
    from infogan.distribute import strategies
    strategy = strategies.make_strategy("mirrored", 0, 2)
    values = tf.zeros([int(megabytes * 1e6 / 4)])

    @tf.function
    def reduce():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.SUM, values))
    reduce()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), strategy.experimental_local_results(reduce()))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv):
    del argv
    from infogan.distribute import strategies
    strategies.configure_cpu_devices(2)  # for the all-reduce timing, before TensorFlow starts
    rates = throughput.interleaved_rates([throughput.PORT, throughput.MIRRORED],
                                         FLAGS.repeats, FLAGS.iterations)
    print("batch %d (global), %d iterations x %d repeats, interleaved, %d CPU threads visible" % (
        FLAGS.batch_size, FLAGS.iterations, FLAGS.repeats, os.cpu_count()))
    throughput.print_table(rates, throughput.PORT, "one device")
    import statistics
    efficiency = statistics.median(rates[throughput.MIRRORED]) / statistics.median(rates[throughput.PORT])
    print("mirrored efficiency: %.2fx" % efficiency)
    volume = gradient_megabytes()
    total = sum(volume.values())
    print("all-reduce volume per iteration: %.1f MB of float32 gradients (%s)" % (
        total, ", ".join("%s update %.1f MB" % item for item in volume.items())))
    print("one all-reduce of %.1f MB over 2 logical CPU devices: %.0f ms (median of %d)" % (
        total, 1000 * allreduce_seconds(total, FLAGS.allreduce_repeats), FLAGS.allreduce_repeats))


if __name__ == "__main__":
    app.run(main)
