"""tf.distribute strategies from the flags, and the training iteration run under one.

The host draws each real batch and its noise exactly as on one device (the TF1 code's NumPy
order), then splits them across the replicas (as evenly as the rows allow: the short last batch
of an epoch too), so a seed fixes a run whatever the replica count. Each replica runs the
single-device training step (`training.step.train_iteration`) on its rows; `replicas` makes its
batch statistics, batch means and gradients cover the global batch.
"""
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys

import numpy as np
import tensorflow as tf

from infogan.training import step as train_step


def configure_cpu_devices(count):
    """Splits the host CPU into `count` logical devices (before TensorFlow starts its runtime).

    Raises:
      RuntimeError: TensorFlow's runtime has already started with another device layout.
    """
    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    layout = [tf.config.LogicalDeviceConfiguration()] * count
    try:
        tf.config.set_logical_device_configuration(cpu, layout)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise


def check_gpus(num_gpus):
    """Refuses to use more GPUs than TensorFlow sees here (it would train on the CPU instead).

    Raises:
      ValueError naming --num_gpus and the GPUs found.
    """
    found = len(tf.config.list_physical_devices("GPU"))
    if num_gpus > found:
        raise ValueError("--num_gpus %d: TensorFlow sees %d GPU%s on this machine; pass --num_gpus "
                         "%d or less (0 trains on the CPU)" % (
                             num_gpus, found, "" if found == 1 else "s", found))


def make_strategy(name, num_gpus=0, num_cpu_devices=1, worker_timeout=300, tpu_address=None):
    """The strategy of `--distribution_strategy`, or None for "off" (the single-device path).

    Args:
      name: one of config.DISTRIBUTION_STRATEGIES.
      num_gpus: mirrored: the local GPUs to use (0: the CPU devices).
      num_cpu_devices: split the CPU into this many logical devices (mirrored on CPU, tests).
      worker_timeout: multi_worker_mirrored: seconds to wait for every worker to come up, and for
        a worker that stops answering; tpu: seconds to wait for the TPU system.
      tpu_address: tpu: the TPU's name, grpc:// address, or "local" on a TPU VM (None: from the
        TPU_NAME environment variable).

    Returns:
      a tf.distribute.Strategy, or None.

    Raises:
      ValueError: more GPUs asked for than this machine has; multi_worker_mirrored with a bad
        TF_CONFIG; tpu without a usable TPU.
      tf.errors.OpError: a worker did not come up in time.
    """
    if name == "off":
        return None
    if name == "tpu":
        return _tpu_strategy(tpu_address, worker_timeout)
    if name in ("mirrored", "one_device"):
        check_gpus(num_gpus)
    configure_cpu_devices(num_cpu_devices)
    if name == "multi_worker_mirrored":
        return _multi_worker_strategy(worker_timeout)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if num_gpus else "/cpu:0")
    if num_gpus:
        devices = ["/gpu:%d" % index for index in range(num_gpus)]
    else:
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    # Within one host the reduction order is fixed: all-reduce by summing on one device.
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=tf.distribute.ReductionToOneDevice())


def _multi_worker_strategy(timeout_seconds):
    """MultiWorkerMirroredStrategy from TF_CONFIG, with bounded waits: the coordination service
    gives up on a worker that does not register or stops sending heartbeats after
    `timeout_seconds`."""
    # The coordination service must be configured before the strategy does it with its
    # defaults (no registration timeout); TensorFlow offers no public call for it.
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context
    check_tf_config(os.environ.get("TF_CONFIG"))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    cluster = resolver.cluster_spec()
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster.num_tasks(job))
            for job in ("chief", "worker") if job in cluster.jobs]
    milliseconds = int(timeout_seconds * 1000)
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster),
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=milliseconds,
        heartbeat_timeout_in_ms=milliseconds, shutdown_barrier_timeout_in_ms=milliseconds)
    # No timeout on the collectives themselves: TensorFlow's CPU runtime starts one sleeping
    # thread per collective op for it (about a hundred an iteration, each alive for the whole
    # timeout), which exhausts the process's threads within minutes. A worker that dies is
    # seen at once (its connection closes); one that hangs, by the heartbeats above.
    options = tf.distribute.experimental.CommunicationOptions()
    # The strategy waits in C++ for every worker; the registration timeout above does not end
    # that wait in TF 2.21, so a watchdog does.
    return _within(timeout_seconds, "the workers of TF_CONFIG did not all come up within "
                   "--worker_timeout %g s; start every worker with the same command and TF_CONFIG"
                   % timeout_seconds, lambda: tf.distribute.MultiWorkerMirroredStrategy(
                       cluster_resolver=resolver, communication_options=options))


_CLUSTER_JOBS = ("chief", "worker")


def check_tf_config(text):
    """Checks the TF_CONFIG environment variable of a multi-worker run: JSON with a "cluster" of
    chief/worker address lists and this process's "task" (type and index) in it.

    Args:
      text: the variable's value, or None when it is not set.

    Raises:
      ValueError naming TF_CONFIG and what is wrong with it.
    """
    def refuse(problem):
        raise ValueError("--distribution_strategy multi_worker_mirrored reads the cluster from the "
                         "TF_CONFIG environment variable, %s (see docs/distributed.md)" % problem)

    if not text or not text.strip():
        refuse("which is not set")
    try:
        value = json.loads(text)
    except ValueError as error:
        refuse("which is not valid JSON (%s)" % error)
    if not isinstance(value, dict):
        refuse("which must be a JSON object with \"cluster\" and \"task\"")
    cluster, task = value.get("cluster"), value.get("task")
    if not isinstance(cluster, dict) or not any(cluster.get(job) for job in _CLUSTER_JOBS):
        refuse("whose \"cluster\" names no chief or worker addresses, e.g. {\"worker\": "
               "[\"host1:port\", \"host2:port\"]}")
    if not isinstance(task, dict) or task.get("type") not in _CLUSTER_JOBS:
        refuse("whose \"task\" must be {\"type\": \"worker\" or \"chief\", \"index\": N}, got %s"
               % json.dumps(task))
    tasks = cluster.get(task["type"]) or []
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(tasks):
        refuse("whose task index %s is not one of the %d %s addresses of its \"cluster\" (0 to %d)"
               % (json.dumps(index), len(tasks), task["type"], len(tasks) - 1))


def _tpu_strategy(address, timeout_seconds):
    """TPUStrategy on the TPU at `address`, its system initialised (within `timeout_seconds`)."""
    def connect():
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    try:
        return _within(timeout_seconds, "the TPU %s did not answer within --worker_timeout %g s"
                       % (address or "of TPU_NAME", timeout_seconds), connect)
    except Exception as error:  # the resolver and the TPU runtime raise many kinds
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ValueError("--distribution_strategy tpu: no TPU at %s (%s); pass --tpu with the TPU's "
                         "name or grpc:// address, or --tpu local on a TPU VM"
                         % (repr(address) if address else "TPU_NAME", reason)) from None


# Run in a separate process: the waiting call holds Python's lock, so no thread or Python signal
# handler of this process could act while it blocks. It sends SIGINT, whose number is the exit
# status of bad input (2), to a C-level handler that is _exit itself.
_WATCHDOG = """
import os, signal, sys, time
parent, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(seconds)
print(message, file=sys.stderr, flush=True)
os.kill(parent, signal.SIGINT)
time.sleep(10)
try:
    os.kill(parent, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


@contextlib.contextmanager
def _exit_status_2_on_sigint():
    """While inside, SIGINT ends the process at once with exit status 2, even while a C++ call
    holds Python's lock (libc's _exit is the handler: it receives the signal number, 2)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    python_handler = signal.getsignal(signal.SIGINT)
    libc.signal(signal.SIGINT, ctypes.cast(libc._exit, ctypes.c_void_p))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, python_handler)  # Python's own C handler again


def _within(seconds, message, build):
    """build(), or, if it has not returned after `seconds`, `message` as one error line on stderr
    and the process ended with exit status 2 (a blocked C++ call cannot be interrupted otherwise)."""
    program = os.path.basename(sys.argv[0]) or "infogan"
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(seconds),
                                 "%s: error: %s" % (program, message)])
    try:
        with _exit_status_2_on_sigint():
            return build()
    finally:
        watchdog.kill()
        watchdog.wait()


def is_chief(strategy):
    """Whether this process writes the run (logs, images, checkpoints): always, but for the
    workers of a multi-worker strategy other than the chief (task "chief", or worker 0)."""
    if isinstance(strategy, tf.distribute.TPUStrategy):  # one process drives every TPU core
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return (resolver.task_type == "worker" and resolver.task_id == 0
            and "chief" not in resolver.cluster_spec().jobs)


def split_rows(array, num_replicas):
    """`array` split along its first axis into `num_replicas` consecutive parts whose sizes differ
    by at most one (the first parts take the extra rows)."""
    return np.array_split(np.asarray(array), num_replicas)


def distribute_rows(strategy, array):
    """A PerReplica value holding each replica's consecutive rows of the host array."""
    parts = split_rows(array, strategy.num_replicas_in_sync)
    return strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(parts[context.replica_id_in_sync_group]))


def make_distributed_iteration(strategy, models, optimizers):
    """The training iteration under `strategy`, with the single-device iteration's interface.

    Returns:
      f(real_images, discriminator_noise, generator_noise) (host tensors or arrays of the global
      batch) -> dict of scalar tensors: the global objectives, as one device would log them.
    """
    def replica_step(real_images, discriminator_noise, generator_noise):
        return train_step.train_iteration(models, optimizers, real_images, discriminator_noise,
                                          generator_noise)

    # TPUs compile each batch shape (the short last batch too); other devices take any batch size.
    @tf.function(autograph=False,
                 reduce_retracing=not isinstance(strategy, tf.distribute.TPUStrategy))
    def distributed_step(real_images, discriminator_noise, generator_noise):
        shares = strategy.run(replica_step, args=(real_images, discriminator_noise, generator_noise))
        # Each replica returns its share of every batch mean: their sum is the global mean.
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in shares.items()}

    def iteration(real_images, discriminator_noise, generator_noise):
        return distributed_step(*(distribute_rows(strategy, np.asarray(value)) for value in (
            real_images, discriminator_noise, generator_noise)))
    return iteration
