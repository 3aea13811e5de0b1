"""Training iterations per second: the port vs the TF1-style reference graph, in one process.

Both, and the port with XLA (--jit_compile), run the same iteration (D step then G step, default
networks, MNIST batches, NumPy noise), interleaved repeat by repeat so that machine load affects
them alike. Prints a table with the median over repeats and the ratio to TF1.

    python benchmarks/throughput.py --batch_size 64 --iterations 30 --repeats 5
"""
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from infogan import data  # noqa: E402
from infogan.config import DEFAULT_MNIST_DIR  # noqa: E402
from infogan.model.config import ModelConfig  # noqa: E402
from infogan.model.models import build_models, noise_to_tensor  # noqa: E402
from infogan.model.noise import create_infogan_noise_sample  # noqa: E402
from infogan.parity.reference import TF1Reference  # noqa: E402
from infogan.training.step import build_optimizers, make_train_iteration  # noqa: E402

flags.DEFINE_integer("batch_size", 64, "Batch size.")
flags.DEFINE_integer("iterations", 30, "Timed iterations per repeat.")
flags.DEFINE_integer("repeats", 5, "Repeats (median reported).")
flags.DEFINE_boolean("jit_compile", True, "Also time the port with --jit_compile.")
flags.DEFINE_integer("warmup", 3, "Untimed iterations before the first repeat (tracing, caches).")
FLAGS = flags.FLAGS


class Batches:
    """Real batches and noise exactly as the training loop draws them."""

    def __init__(self, images, batch_size, seed=1234):
        np.random.seed(seed)
        self.images, self.batch_size = images, batch_size
        self.sample_noise = create_infogan_noise_sample([10], 2, 62)

    def next(self):
        start = np.random.randint(0, len(self.images) - self.batch_size)
        batch = self.images[start:start + self.batch_size]
        return batch, self.sample_noise(self.batch_size), self.sample_noise(self.batch_size)


def port_runner(jit_compile=False):
    models = build_models(ModelConfig(), (28, 28, 1))
    iteration = make_train_iteration(models, build_optimizers(models, 1e-3, 2e-4), jit_compile)

    def run(batch, d_noise, g_noise):
        results = iteration(tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise))
        return {key: value.numpy() for key, value in results.items()}
    return run


def tf1_runner():
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


def main(argv):
    del argv
    images = data.load_mnist(DEFAULT_MNIST_DIR, max_images=5000)
    batches = Batches(images, FLAGS.batch_size)
    runners = {"port (TF2, tf.function)": port_runner(),
               "TF1 reference (compat.v1 graph)": tf1_runner()}
    if FLAGS.jit_compile:
        runners["port with --jit_compile (XLA; not bit-identical)"] = port_runner(jit_compile=True)
    for run in runners.values():
        time_iterations(run, batches, FLAGS.warmup)
    rates = {name: [] for name in runners}
    for _ in range(FLAGS.repeats):
        for name, run in runners.items():
            rates[name].append(time_iterations(run, batches, FLAGS.iterations))
    baseline = statistics.median(rates["TF1 reference (compat.v1 graph)"])
    print("batch %d, %d iterations x %d repeats, %d CPU threads visible, TF %s" % (
        FLAGS.batch_size, FLAGS.iterations, FLAGS.repeats, os.cpu_count(), tf.__version__))
    print("| implementation | median it/s | min | max | vs TF1 |")
    print("|---|---|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print("| %s | %.2f | %.2f | %.2f | %.2fx |" % (name, median, min(values), max(values),
                                                    median / baseline))


if __name__ == "__main__":
    app.run(main)
