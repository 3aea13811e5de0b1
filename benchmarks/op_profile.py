"""Where a training iteration's time goes: kernel time per op type.

Traces iterations (D step then G step, default networks, batch 64, MNIST batches, NumPy noise)
and sums each kernel's run time by op type: of the TF1 reference graph (`--implementation tf1`,
from TF's step statistics; the port's default path runs the same kernels), or of the port
itself (`port`, or `port_fast` for `--fast` with oneDNN), from TensorFlow's profiler trace.
Kernel times add up over the threads that ran them concurrently, so their sum exceeds the wall
time of an iteration on more than one core.

    python benchmarks/op_profile.py --iterations 10
    python benchmarks/op_profile.py --iterations 10 --implementation port_fast
    python benchmarks/op_profile.py --iterations 10 --implementation port_fast --precision mixed_bfloat16
"""
import collections
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

import throughput  # noqa: E402  (its runners, and its --batch_size and --iterations)

from infogan import data  # noqa: E402
from infogan.config import DEFAULT_MNIST_DIR  # noqa: E402
from infogan.model.config import ModelConfig  # noqa: E402
from infogan.model.execution import ExecutionPolicy  # noqa: E402
from infogan.model.noise import create_infogan_noise_sample  # noqa: E402

flags.DEFINE_integer("top", 15, "Op types listed; the rest are summed in one row.")
flags.DEFINE_enum("implementation", "tf1", ["tf1", "port", "port_fast"], "What to profile: the "
                  "TF1 reference graph, the port's default path, or the port with --fast.")
flags.DEFINE_enum("precision", "float32", ["float32", "mixed_bfloat16", "mixed_float16"],
                  "The port's --precision.")
FLAGS = flags.FLAGS
FLAGS.set_default("iterations", 10)  # traced iterations, after 3 untraced ones

# Op types grouped by the kind of work they do.
MATRIX_OPS = ("MatMul", "Conv2D")
UPDATE_OPS = ("ApplyAdam",)


def op_type(node):
    """`name = Type(inputs)` -> Type, with oneDNN's `_Mkl`/`_MklNative` prefixes removed."""
    label = node.timeline_label
    kind = label.split("=", 1)[1].split("(", 1)[0].strip() if "=" in label else node.node_name
    return without_onednn_prefix(kind)


def without_onednn_prefix(kind):
    """`_MklMatMul`, `_MklNativeConv2D` -> `MatMul`, `Conv2D`: oneDNN runs the same op types."""
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


def tf1_kernel_micros(images, sample_noise, iterations):
    """{op type: kernel microseconds} over `iterations` traced TF1-reference iterations, and the
    wall milliseconds per iteration."""
    from infogan.parity.reference import TF1Reference
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
    for index in range(iterations):
        iteration(index)
    wall_ms = 1000 * (time.perf_counter() - start) / iterations
    per_type = collections.Counter()
    for stats in reference.step_stats:
        for device in stats.dev_stats:
            for node in device.node_stats:
                per_type[op_type(node)] += node.op_end_rel_micros - node.op_start_rel_micros
    return per_type, wall_ms


def port_kernel_micros(images, iterations, fast, precision="float32"):
    """{op type: kernel microseconds} over `iterations` port iterations traced by TensorFlow's
    profiler (its host trace names each kernel run `name:Type`), and the wall ms per iteration."""
    import glob
    import tempfile
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    run = throughput.port_runner(fast=fast, precision=precision)
    batches = throughput.Batches(images, FLAGS.batch_size)
    throughput.time_iterations(run, batches, 3)
    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        wall_ms = 1000 / throughput.time_iterations(run, batches, iterations)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        [path] = glob.glob(os.path.join(folder, "plugins", "profile", "*", "*.xplane.pb"))
        with open(path, "rb") as stream:
            space.ParseFromString(stream.read())
    per_type = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                kind = kernel_type(plane.event_metadata[event.metadata_id].name)
                if kind:
                    per_type[kind] += event.duration_ps / 1e6
    return per_type, wall_ms


def kernel_type(event_name):
    """`scope/name:Type` (a kernel run in the profiler's host trace) -> Type without oneDNN's
    prefixes; None for other events (function calls, executor work)."""
    if (":" not in event_name or "::" in event_name or " " in event_name
            or event_name.startswith("__inference")):  # executor and function events hold kernels
        return None
    kind = without_onednn_prefix(event_name.rsplit(":", 1)[1])
    return kind if kind[:1].isupper() else None


def main(argv):
    del argv
    if FLAGS.implementation == "port_fast":  # before TensorFlow loads, just below
        ExecutionPolicy.from_settings(fast=True, precision=FLAGS.precision).prepare_process()
    images = data.load_mnist(DEFAULT_MNIST_DIR, max_images=5000)
    np.random.seed(1234)
    if FLAGS.implementation == "tf1":
        per_type, wall_ms = tf1_kernel_micros(images, create_infogan_noise_sample([10], 2, 62),
                                              FLAGS.iterations)
    else:
        per_type, wall_ms = port_kernel_micros(images, FLAGS.iterations,
                                               FLAGS.implementation == "port_fast", FLAGS.precision)
    print_profile(per_type, wall_ms)


def print_profile(per_type, wall_ms):
    """The tables: kernel time per op type (the largest FLAGS.top), then per kind of work."""
    total = sum(per_type.values())
    by_work = collections.Counter()
    for kind, micros in per_type.items():
        by_work[kind_of_work(kind)] += micros
    scale = 1000.0 * FLAGS.iterations  # micros over all iterations -> ms per iteration
    name = FLAGS.implementation + ("" if FLAGS.precision == "float32" else " " + FLAGS.precision)
    print("%s, batch %d, %d traced iterations; wall time %.0f ms/iteration (traced), kernel time "
          "%.0f ms/iteration" % (name, FLAGS.batch_size, FLAGS.iterations, wall_ms, total / scale))
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
