"""Training iterations per second: the port in its modes vs the TF1-style reference graph.

Each row runs in its own worker process (TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it
loads, so `--fast`, whose ExecutionPolicy sets it, needs a process of its own); the parent times the rows interleaved, repeat by
repeat, so that machine load affects them alike. Every row runs the same iteration (D step then
G step, default networks, MNIST batches, NumPy noise). Prints a table with the median over
repeats and the ratio to the TF1 reference in its default environment, in iterations per second
and in CPU time per iteration (the worker's processor time: on a machine shared with other work
it varies far less than the wall time, which includes waiting for a core).

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
ONE_THREAD = "port, 1 worker x 1 thread"
TWO_WORKERS = "port, 2 workers x 1 thread (multi_worker_mirrored, 127.0.0.1)"
TWO_WORKERS_BF16 = "port, 2 workers x 1 thread, --allreduce_precision bfloat16"
# name -> (environment, runner arguments)
ROWS = {
    TF1: ({}, {"tf1": True}),
    "TF1 reference, oneDNN on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, {"tf1": True}),
    # TensorFlow turns oneDNN on by default on some CPUs (AVX-512) and off on others.
    "TF1 reference, oneDNN off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {"tf1": True}),
    PORT: ({}, {}),
    "port --fast": ({}, {"fast": True}),
    "port --fast --precision mixed_bfloat16": ({}, {"fast": True, "precision": "mixed_bfloat16"}),
    "port --fast --jit_compile (XLA)": ({}, {"fast": True, "jit_compile": True}),
    MIRRORED: ({}, {"num_cpu_devices": 2}),
    ONE_THREAD: ({}, {"threads": 1}),
    TWO_WORKERS: ({}, {"threads": 1, "workers": 2}),
    TWO_WORKERS_BF16: ({}, {"threads": 1, "workers": 2, "allreduce_precision": "bfloat16"}),
}
SCALING_ROWS = (MIRRORED, ONE_THREAD, TWO_WORKERS, TWO_WORKERS_BF16)
DEFAULT_ROWS = [name for name in ROWS if name not in SCALING_ROWS]

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


def port_runner(fast=False, precision="float32", jit_compile=False, num_cpu_devices=0, threads=0,
                workers=1, allreduce_precision="float32"):
    """f(batch, d_noise, g_noise) running one port iteration in the given mode: with
    `num_cpu_devices`, mirrored on that many logical CPU devices; with `threads`, TensorFlow's
    thread pools of that size; with `workers` > 1, as one worker of a multi_worker_mirrored
    cluster (from TF_CONFIG), exchanging gradients in `allreduce_precision`."""
    from infogan.model.execution import ExecutionPolicy
    execution = ExecutionPolicy.from_settings(fast, precision, jit_compile)
    execution.prepare_process()
    import tensorflow as tf
    from infogan.model.config import ModelConfig
    from infogan.model.models import build_models, noise_to_tensor
    from infogan.training.placement import make_placement
    from infogan.training.step import build_optimizers
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if workers > 1:
        placement = make_placement("multi_worker_mirrored", worker_timeout=300,
                                   allreduce_precision=allreduce_precision)
    elif num_cpu_devices:
        placement = make_placement("mirrored", 0, num_cpu_devices,
                                   allreduce_precision=allreduce_precision)
    else:
        placement = make_placement(allreduce_precision=allreduce_precision)
    with placement.scope():
        models = build_models(ModelConfig(), (28, 28, 1), execution=execution)
        optimizers = build_optimizers(models, 1e-3, 2e-4,
                                      exchange_dtype=placement.allreduce_precision)
    iteration = placement.compile_iteration(models, optimizers)

    def run(batch, d_noise, g_noise):
        results = iteration(tf.constant(batch), noise_to_tensor(d_noise), noise_to_tensor(g_noise))
        return {key: value.numpy() for key, value in results.items()}
    run.strategy = placement.strategy

    def collectives(batch, d_noise, g_noise):
        """The exchanges between replicas of one iteration, counted in its traced graph."""
        from infogan.training.collectives import count_collectives
        if placement.strategy is None:
            return 0
        return sum(count_collectives(iteration.concrete_function(
            batch, noise_to_tensor(d_noise), noise_to_tensor(g_noise))).values())
    run.collectives = collectives
    return run


def allreduce_seconds(strategy, megabytes, dtype="float32", repeats=5):
    """Median seconds of one SUM all-reduce of `megabytes` of float32 values (exchanged in
    `dtype`) between the replicas of `strategy`."""
    import tensorflow as tf
    values = tf.zeros([int(megabytes * 1e6 / 4)], dtype)

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
    """Iterations per second of `iterations` runs."""
    return time_and_cpu(run, batches, iterations)[0]


def time_and_cpu(run, batches, iterations):
    """(iterations per second, this process's CPU milliseconds per iteration) of `iterations`
    runs."""
    inputs = [batches.next() for _ in range(iterations)]
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch, d_noise, g_noise in inputs:
        run(batch, d_noise, g_noise)
    cpu_ms = 1000 * (time.process_time() - cpu_start) / iterations
    return iterations / (time.perf_counter() - start), cpu_ms


def serve(row):
    """Worker: build the row's runner, warm up, then answer each 'N' on stdin with a rate and
    the CPU milliseconds per iteration."""
    from infogan import data
    from infogan.config import DEFAULT_MNIST_DIR
    options = dict(ROWS[row][1])
    run = tf1_runner() if options.pop("tf1", False) else port_runner(**options)
    batches = Batches(data.load_mnist(DEFAULT_MNIST_DIR, max_images=5000), FLAGS.batch_size)
    time_iterations(run, batches, FLAGS.warmup)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "collectives":  # the exchanges of one iteration
            print("%d" % run.collectives(*batches.next()), flush=True)
        elif words[0] == "allreduce":  # allreduce MEGABYTES DTYPE REPEATS: the median seconds
            print("%.6f" % allreduce_seconds(run.strategy, float(words[1]), words[2],
                                             int(words[3])), flush=True)
        else:
            print("%.6f %.3f" % time_and_cpu(run, batches, int(words[0])), flush=True)


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Worker:
    """A row's worker processes (one, or one per task of a local multi-worker cluster), started
    with the row's environment; they time the same iterations together."""

    def __init__(self, row):
        import json
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **ROWS[row][0])
        count = ROWS[row][1].get("workers", 1)
        if ROWS[row][1].get("threads"):
            env["OMP_NUM_THREADS"] = str(ROWS[row][1]["threads"])
        cluster = {"worker": ["127.0.0.1:%d" % free_port() for _ in range(count)]}
        self.processes = []
        for index in range(count):
            if count > 1:
                env["TF_CONFIG"] = json.dumps({"cluster": cluster,
                                               "task": {"type": "worker", "index": index}})
            self.processes.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker", row,
                 "--batch_size", str(FLAGS.batch_size), "--warmup", str(FLAGS.warmup)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(env)))
        self._expect("ready")

    def _expect(self, word=None):
        lines = [process.stdout.readline().strip() for process in self.processes]
        for process, line in zip(self.processes, lines):
            if not line or (word and line != word):
                raise RuntimeError("a worker exited (%s)" % process.wait())
        return lines

    def ask(self, command):
        """The processes' answers (the first number of each line) to a command line."""
        return [values[0] for values in self._answers(command)]

    def _answers(self, command):
        for process in self.processes:
            process.stdin.write(command + "\n")
            process.stdin.flush()
        return [[float(word) for word in line.split()] for line in self._expect()]

    def rate_and_cpu(self, iterations):
        """(the rate of the slowest process, as the processes of a cluster run in lockstep; the
        CPU milliseconds per iteration of all processes)."""
        answers = self._answers("%d" % iterations)
        return min(rate for rate, _ in answers), sum(cpu for _, cpu in answers)

    def close(self):
        for process in self.processes:
            process.stdin.close()
        for process in self.processes:
            process.wait()


def interleaved_rates(names, repeats, iterations, keep_open=False):
    """{row name: [it/s of each repeat]}, the rows timed in turn, each in its worker process
    (returned too, open, with `keep_open`)."""
    rates, _, workers = interleaved_measurements(names, repeats, iterations)
    if keep_open:
        return rates, workers
    for worker in workers.values():
        worker.close()
    return rates


def interleaved_measurements(names, repeats, iterations):
    """({row name: [it/s of each repeat]}, {row name: [CPU ms per iteration of each repeat]},
    {row name: its open Worker}), the rows timed in turn, each in its worker process."""
    workers = {name: Worker(name) for name in names}  # started one by one: builds do not overlap
    rates, cpu = {name: [] for name in names}, {name: [] for name in names}
    for _ in range(repeats):
        for name, worker in workers.items():
            rate, cpu_ms = worker.rate_and_cpu(iterations)
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
    return rates, cpu, workers


def print_table(rates, baseline_name, label, cpu=None):
    """The markdown table of `rates`, with each row's ratio to the baseline row's median; with
    `cpu` ({row name: [CPU ms per iteration]}), its median and ratio too."""
    baseline = statistics.median(rates[baseline_name])
    cpu_header = "" if cpu is None else " median CPU ms/it | CPU vs %s |" % label
    print("| implementation | median it/s | min | max | vs %s |%s" % (label, cpu_header))
    print("|---|---|---|---|---|" + ("" if cpu is None else "---|---|"))
    for name, values in rates.items():
        median = statistics.median(values)
        row = "| %s | %.2f | %.2f | %.2f | %.2fx |" % (name, median, min(values), max(values),
                                                     median / baseline)
        if cpu is not None:
            cpu_ms = statistics.median(cpu[name])
            row += " %.0f | %.2fx |" % (cpu_ms, statistics.median(cpu[baseline_name]) / cpu_ms)
        print(row)


def main(argv):
    del argv
    if FLAGS.worker:
        return serve(FLAGS.worker)
    unknown = sorted(set(FLAGS.rows) - set(ROWS))
    if unknown:
        raise app.UsageError("unknown rows %s; known: %s" % (unknown, ", ".join(ROWS)))
    names = [name for name in ROWS if name == TF1 or name in FLAGS.rows]
    rates, cpu, workers = interleaved_measurements(names, FLAGS.repeats, FLAGS.iterations)
    for worker in workers.values():
        worker.close()
    print("batch %d, %d iterations x %d repeats, interleaved, %d CPU threads visible" % (
        FLAGS.batch_size, FLAGS.iterations, FLAGS.repeats, os.cpu_count()))
    print_table(rates, TF1, "TF1", cpu)


if __name__ == "__main__":
    app.run(main)
