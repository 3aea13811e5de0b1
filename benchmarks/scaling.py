"""The cost and the gain of tf.distribute on this host, default networks, global batch 64.

(a) mirrored on 2 logical CPU devices against one device, on the same cores: the mirrored row can
only be as fast as one device, so the ratio is the strategy's own overhead (splitting,
all-reduces). (b) 2 local workers (multi_worker_mirrored on 127.0.0.1) of 1 thread each against 1
worker of 1 thread, with gradients exchanged in float32 and in bfloat16. Every row runs in its own
process(es), timed interleaved (see throughput.py). Then the gradient volume all-reduced per
iteration, and the time of one all-reduce of that volume between the two logical devices and
between the two workers. Beside each speed-up, the exchanges between replicas that one iteration
runs, counted in its traced graph (`infogan.training.collectives`).

    python benchmarks/scaling.py --iterations 15 --repeats 5
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import throughput  # noqa: E402

flags.DEFINE_integer("allreduce_repeats", 10, "All-reduces timed (median reported).")
FLAGS = flags.FLAGS


def gradient_megabytes():
    """Float32 megabytes all-reduced per iteration, per update: D, G, and MI (G, D's features, Q)."""
    import numpy as np
    from infogan.model import losses
    from infogan.model.config import ModelConfig
    from infogan.model.models import build_models
    models = build_models(ModelConfig(), (28, 28, 1))

    def megabytes(variables):
        return sum(int(np.prod(v.shape)) for v in variables) * 4 / 1e6
    return {"D": megabytes(losses.discriminator_variables(models)),
            "G": megabytes(losses.generator_variables(models)),
            "MI": megabytes(losses.mutual_info_variables(models))}


def main(argv):
    del argv
    from infogan.training import placement
    placement.configure_cpu_devices(2)  # for the all-reduce timing, before TensorFlow starts
    print("batch %d (global), %d iterations x %d repeats, interleaved, %d CPU threads visible" % (
        FLAGS.batch_size, FLAGS.iterations, FLAGS.repeats, os.cpu_count()))
    rates, workers = throughput.interleaved_rates([throughput.PORT, throughput.MIRRORED],
                                                  FLAGS.repeats, FLAGS.iterations, keep_open=True)
    throughput.print_table(rates, throughput.PORT, "one device")
    print("mirrored efficiency: %.2fx" % ratio(rates, throughput.MIRRORED, throughput.PORT))
    print_collectives(workers, throughput.MIRRORED, "mirrored on 2 logical CPU devices")
    for worker in workers.values():
        worker.close()
    rates, workers = throughput.interleaved_rates(
        [throughput.ONE_THREAD, throughput.TWO_WORKERS, throughput.TWO_WORKERS_BF16],
        FLAGS.repeats, FLAGS.iterations, keep_open=True)
    throughput.print_table(rates, throughput.ONE_THREAD, "1 worker")
    print("2-worker speed-up: %.2fx (%.2fx with --allreduce_precision bfloat16)" % (
        ratio(rates, throughput.TWO_WORKERS, throughput.ONE_THREAD),
        ratio(rates, throughput.TWO_WORKERS_BF16, throughput.ONE_THREAD)))
    print_collectives(workers, throughput.TWO_WORKERS, "2 workers")
    volume = gradient_megabytes()
    total = sum(volume.values())
    print("all-reduce volume per iteration: %.1f MB of float32 gradients (%s)" % (
        total, ", ".join("%s update %.1f MB" % item for item in volume.items())))
    command = "allreduce %f %%s %d" % (total, FLAGS.allreduce_repeats)
    between_workers = {dtype: max(workers[row].ask(command % dtype)) for dtype, row in (
        ("float32", throughput.TWO_WORKERS), ("bfloat16", throughput.TWO_WORKERS_BF16))}
    for worker in workers.values():
        worker.close()
    print("one all-reduce of %.1f MB (median of %d): %.0f ms between 2 logical CPU devices; between "
          "the 2 local workers, %.0f ms in float32, %.0f ms in bfloat16" % (
              total, FLAGS.allreduce_repeats, 1000 * throughput.allreduce_seconds(
                  placement.make_placement("mirrored", 0, 2).strategy, total, "float32",
                  FLAGS.allreduce_repeats),
              1000 * between_workers["float32"], 1000 * between_workers["bfloat16"]))


def print_collectives(workers, row, label):
    """Prints how many exchanges between replicas one iteration of `row` runs (counted in its
    traced graph: collective ops, or sums across devices)."""
    print("collectives per iteration: %d (%s)" % (max(workers[row].ask("collectives")), label))


def ratio(rates, name, baseline):
    """The median rate of row `name` over that of row `baseline`."""
    import statistics
    return statistics.median(rates[name]) / statistics.median(rates[baseline])


if __name__ == "__main__":
    app.run(main)
