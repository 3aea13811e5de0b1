"""Training iterations per second: the port in its modes vs the TF1-style reference graph.

Each row runs in its own worker process (TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it
loads, so `--fast` needs a process of its own); the parent times the rows interleaved, repeat by
repeat, so that machine load affects them alike. Every row runs the same iteration (D step then
G step, default networks, MNIST batches, NumPy noise). Prints a table with the median over
repeats and the ratio to the TF1 reference in its default environment.

    python benchmarks/throughput.py --batch_size 64 --iterations 30 --repeats 5
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

TF1 = "TF1 reference (compat.v1 graph)"
PORT = "port (default: bit-identical)"
MIRRORED = "port, mirrored on 2 logical CPU devices"
# name -> (environment, runner arguments)
ROWS = {
    TF1: ({}, {"tf1": True}),
    "TF1 reference, oneDNN on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, {"tf1": True}),
    PORT: ({}, {}),
    "port --fast": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, {"fast": True}),
    "port --fast --precision mixed_bfloat16": ({"TF_ENABLE_ONEDNN_OPTS": "1"},
                                               {"fast": True, "precision": "mixed_bfloat16"}),
    "port --fast --jit_compile (XLA)": ({"TF_ENABLE_ONEDNN_OPTS": "1"},
                                        {"fast": True, "jit_compile": True}),
    MIRRORED: ({}, {"num_cpu_devices": 2}),
}
DEFAULT_ROWS = [name for name in ROWS if name != MIRRORED]

flags.DEFINE_integer("batch_size", 64, "Batch size.")
flags.DEFINE_integer("iterations", 30, "Timed iterations per repeat.")
flags.DEFINE_integer("repeats", 5, "Repeats (median reported).")
flags.DEFINE_integer("warmup", 3, "Untimed iterations before the first repeat (tracing, caches).")
flags.DEFINE_list("rows", DEFAULT_ROWS, "Which rows to time (the TF1 reference is always timed); "
                  "known: %s." % "; ".join(ROWS))
flags.DEFINE_string("worker", None, "Internal: run as the worker of this row.")
FLAGS = flags.FLAGS


class Batches:
    """Real batches and noise exactly as the training loop draws them."""

    def __init__(self, images, batch_size, seed=1234):
        import numpy as np
        from infogan.model.noise import create_infogan_noise_sample
        self.random = np.random
        self.random.seed(seed)
        self.images, self.batch_size = images, batch_size
        self.sample_noise = create_infogan_noise_sample([10], 2, 62)

    def next(self):
        start = self.random.randint(0, len(self.images) - self.batch_size)
        batch = self.images[start:start + self.batch_size]
        return batch, self.sample_noise(self.batch_size), self.sample_noise(self.batch_size)


def port_runner(fast=False, precision="float32", jit_compile=False, num_cpu_devices=0):
    """f(batch, d_noise, g_noise) running one port iteration in the given mode (with
    `num_cpu_devices`, mirrored on that many logical CPU devices)."""
    import contextlib
    import tensorflow as tf
    from infogan.distribute import strategies
    from infogan.model.config import ModelConfig
    from infogan.model.models import build_models, kernels_for, noise_to_tensor
    from infogan.training.step import build_optimizers, make_train_iteration
    strategy = strategies.make_strategy("mirrored", 0, num_cpu_devices) if num_cpu_devices else None
    with strategy.scope() if strategy else contextlib.nullcontext():
        models = build_models(ModelConfig(), (28, 28, 1), kernels=kernels_for(fast, precision))
        optimizers = build_optimizers(models, 1e-3, 2e-4)
    if strategy:
        iteration = strategies.make_distributed_iteration(strategy, models, optimizers)
    else:
        iteration = make_train_iteration(models, optimizers, jit_compile)

    def run(batch, d_noise, g_noise):
        results = iteration(tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise))
        return {key: value.numpy() for key, value in results.items()}
    return run


def tf1_runner():
    """f(batch, d_noise, g_noise) running one iteration of the TF1-style reference graph."""
    from infogan.model.config import ModelConfig
    from infogan.parity.reference import TF1Reference
    reference = TF1Reference((28, 28, 1), ModelConfig().generator, ModelConfig().discriminator, seed=0)

    def run(batch, d_noise, g_noise):
        reference.discriminator_step(batch, d_noise)
        return reference.generator_step(g_noise)
    return run


def time_iterations(run, batches, iterations):
    inputs = [batches.next() for _ in range(iterations)]
    start = time.perf_counter()
    for batch, d_noise, g_noise in inputs:
        run(batch, d_noise, g_noise)
    return iterations / (time.perf_counter() - start)


def serve(row):
    """Worker: build the row's runner, warm up, then answer each 'N' on stdin with a rate."""
    from infogan import data
    from infogan.config import DEFAULT_MNIST_DIR
    options = dict(ROWS[row][1])
    run = tf1_runner() if options.pop("tf1", False) else port_runner(**options)
    batches = Batches(data.load_mnist(DEFAULT_MNIST_DIR, max_images=5000), FLAGS.batch_size)
    time_iterations(run, batches, FLAGS.warmup)
    print("ready", flush=True)
    for line in sys.stdin:
        print("%.6f" % time_iterations(run, batches, int(line)), flush=True)


class Worker:
    """A row's worker process, started with the row's environment."""

    def __init__(self, row):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **ROWS[row][0])
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", row,
             "--batch_size", str(FLAGS.batch_size), "--warmup", str(FLAGS.warmup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._expect("ready")

    def _expect(self, word=None):
        line = self.process.stdout.readline().strip()
        if not line or (word and line != word):
            raise RuntimeError("the worker exited (%s)" % self.process.wait())
        return line

    def rate(self, iterations):
        self.process.stdin.write("%d\n" % iterations)
        self.process.stdin.flush()
        return float(self._expect())

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def interleaved_rates(names, repeats, iterations):
    """{row name: [it/s of each repeat]}, the rows timed in turn, each in its worker process."""
    workers = {name: Worker(name) for name in names}  # started one by one: builds do not overlap
    rates = {name: [] for name in names}
    for _ in range(repeats):
        for name, worker in workers.items():
            rates[name].append(worker.rate(iterations))
    for worker in workers.values():
        worker.close()
    return rates


def print_table(rates, baseline_name, label):
    """The markdown table of `rates`, with each row's ratio to the baseline row's median."""
    baseline = statistics.median(rates[baseline_name])
    print("| implementation | median it/s | min | max | vs %s |" % label)
    print("|---|---|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print("| %s | %.2f | %.2f | %.2f | %.2fx |" % (name, median, min(values), max(values),
                                                    median / baseline))


def main(argv):
    del argv
    if FLAGS.worker:
        return serve(FLAGS.worker)
    unknown = sorted(set(FLAGS.rows) - set(ROWS))
    if unknown:
        raise app.UsageError("unknown rows %s; known: %s" % (unknown, ", ".join(ROWS)))
    names = [name for name in ROWS if name == TF1 or name in FLAGS.rows]
    rates = interleaved_rates(names, FLAGS.repeats, FLAGS.iterations)
    print("batch %d, %d iterations x %d repeats, interleaved, %d CPU threads visible" % (
        FLAGS.batch_size, FLAGS.iterations, FLAGS.repeats, os.cpu_count()))
    print_table(rates, TF1, "TF1")


if __name__ == "__main__":
    app.run(main)
