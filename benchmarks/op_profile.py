"""Where a training iteration's time goes: kernel time per op type in the TF1 reference graph.

Traces iterations of `infogan/tf1_reference.py` (D step then G step, default networks, batch 64,
MNIST batches, NumPy noise) with TF's step statistics and sums each kernel's run time by op type.
The port runs the same kernels (see `benchmarks/throughput.py`), so this is its profile too.
Kernel times add up over the threads that ran them concurrently, so their sum exceeds the wall
time of an iteration on more than one core.

    python benchmarks/op_profile.py --iterations 10
"""
import collections
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from infogan import data  # noqa: E402
from infogan.config import DEFAULT_MNIST_DIR  # noqa: E402
from infogan.model.config import ModelConfig  # noqa: E402
from infogan.model.noise import create_infogan_noise_sample  # noqa: E402
from infogan.parity.reference import TF1Reference  # noqa: E402

flags.DEFINE_integer("batch_size", 64, "Batch size.")
flags.DEFINE_integer("iterations", 10, "Traced iterations (after 3 untraced ones).")
flags.DEFINE_integer("top", 15, "Op types listed; the rest are summed in one row.")
FLAGS = flags.FLAGS

# Op types grouped by the kind of work they do.
MATRIX_OPS = ("MatMul", "Conv2D")
UPDATE_OPS = ("ApplyAdam",)


def op_type(node):
    """`name = Type(inputs)` -> Type, with oneDNN's `_Mkl`/`_MklNative` prefixes removed."""
    label = node.timeline_label
    kind = label.split("=", 1)[1].split("(", 1)[0].strip() if "=" in label else node.node_name
    for prefix in ("_MklNative", "_Mkl"):
        if kind.startswith(prefix):
            return kind[len(prefix):]
    return kind


def kind_of_work(kind):
    if any(name in kind for name in MATRIX_OPS):
        return "matmul / conv"
    if any(name in kind for name in UPDATE_OPS):
        return "Adam updates"
    return "element-wise, reductions, other"


def main(argv):
    del argv
    images = data.load_mnist(DEFAULT_MNIST_DIR, max_images=5000)
    np.random.seed(1234)
    sample_noise = create_infogan_noise_sample([10], 2, 62)
    model = ModelConfig()
    reference = TF1Reference((28, 28, 1), model.generator, model.discriminator, seed=0)

    def iteration(index):
        start = (index * FLAGS.batch_size) % (len(images) - FLAGS.batch_size)
        reference.discriminator_step(images[start:start + FLAGS.batch_size],
                                     sample_noise(FLAGS.batch_size))
        reference.generator_step(sample_noise(FLAGS.batch_size))

    for index in range(3):
        iteration(index)
    reference.step_stats = []
    start = time.perf_counter()
    for index in range(FLAGS.iterations):
        iteration(index)
    wall_ms = 1000 * (time.perf_counter() - start) / FLAGS.iterations
    per_type = collections.Counter()
    for stats in reference.step_stats:
        for device in stats.dev_stats:
            for node in device.node_stats:
                per_type[op_type(node)] += node.op_end_rel_micros - node.op_start_rel_micros
    total = sum(per_type.values())
    by_work = collections.Counter()
    for kind, micros in per_type.items():
        by_work[kind_of_work(kind)] += micros
    scale = 1000.0 * FLAGS.iterations  # micros over all iterations -> ms per iteration
    print("batch %d, %d traced iterations; wall time %.0f ms/iteration (traced), kernel time "
          "%.0f ms/iteration" % (FLAGS.batch_size, FLAGS.iterations, wall_ms, total / scale))
    print("| op type | ms / iteration | share |")
    print("|---|---|---|")
    rows = per_type.most_common()
    for kind, micros in rows[:FLAGS.top]:
        print("| %s | %.1f | %.1f%% |" % (kind, micros / scale, 100.0 * micros / total))
    rest = sum(micros for _, micros in rows[FLAGS.top:])
    print("| (%d other op types) | %.1f | %.1f%% |" % (len(rows[FLAGS.top:]), rest / scale,
                                                     100.0 * rest / total))
    print()
    print("| kind of work | ms / iteration | share |")
    print("|---|---|---|")
    for work, micros in by_work.most_common():
        print("| %s | %.1f | %.1f%% |" % (work, micros / scale, 100.0 * micros / total))


if __name__ == "__main__":
    app.run(main)
