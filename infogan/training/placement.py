"""Where training runs: one device, or a tf.distribute strategy, behind one interface.

`make_placement` builds a `Placement` from the execution settings. With no strategy it is the
single-device path of the TF1 code, op for op (`step.make_train_iteration`). Under a strategy the
host draws each real batch and its noise exactly as on one device (the TF1 code's NumPy order),
then splits them across the replicas (as evenly as the rows allow: the short last batch of an
epoch too), so a seed fixes a run whatever the replica count. Each replica runs the single-device
training step on its rows; `model.replicas` makes its batch statistics, batch means and gradients
cover the global batch.
"""
import contextlib
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from infogan.config import CONFIG_FILE, ConfigError
from infogan.model import replicas
from infogan.training import step as train_step


class WorkersLost(RuntimeError):
    """A worker of a multi-worker run stopped answering during training; every worker stops.

    Attributes:
      iteration: the iteration the run had reached.
      reason: TensorFlow's error, in one line.
      log_dir: the run's folder (None on a worker other than the chief, which has only a private
        copy of it).
    """

    def __init__(self, iteration, reason, log_dir):
        super().__init__("a worker stopped answering at iteration %d (%s); the others stopped too"
                         % (iteration, reason))
        self.iteration, self.reason, self.log_dir = iteration, reason, log_dir


def unguarded(seconds, message):
    """The default wait guard: none (TensorFlow's own wait, which may not end)."""
    del seconds, message
    return contextlib.nullcontext()


class Placement:
    """Where the run's variables live and its iterations run.

    Attributes:
      strategy: the tf.distribute strategy, or None (one device, the TF1 code's path).
      allreduce_precision: the precision gradients are exchanged in between replicas.
    """

    def __init__(self, strategy=None, allreduce_precision="float32"):
        self.strategy, self.allreduce_precision = strategy, allreduce_precision

    def scope(self):
        """The context to build models and optimisers in."""
        return self.strategy.scope() if self.strategy else contextlib.nullcontext()

    @property
    def num_replicas(self):
        """How many replicas share each batch (1 on one device)."""
        return self.strategy.num_replicas_in_sync if self.strategy else 1

    @property
    def multi_worker(self):
        """Whether several processes train together (a lost one is an OpError in every other)."""
        return isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)

    @property
    def is_chief(self):
        """Whether this process writes the run (logs, images, checkpoints): always, but for the
        workers of a multi-worker strategy other than the chief (task "chief", or worker 0)."""
        if isinstance(self.strategy, tf.distribute.TPUStrategy):  # one process drives every core
            return True
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or not resolver.task_type:
            return True
        if resolver.task_type == "chief":
            return True
        return (resolver.task_type == "worker" and resolver.task_id == 0
                and "chief" not in resolver.cluster_spec().jobs)

    def private_run_folder(self, log_dir, resume, held):
        """A temporary folder for a worker other than the chief to write the run in (the chief
        alone writes `log_dir`), removed when `held` closes; a resumed run's holds a copy of the
        run's checkpoints and config.json.

        Raises:
          ConfigError: the run's folder cannot be read from this worker.
        """
        folder = tempfile.mkdtemp(prefix="infogan-worker-")
        held.callback(shutil.rmtree, folder, ignore_errors=True)
        if resume:
            try:
                shutil.copytree(os.path.join(log_dir, "checkpoints"),
                                os.path.join(folder, "checkpoints"))
                shutil.copy(os.path.join(log_dir, CONFIG_FILE), folder)
            except OSError as error:
                raise ConfigError("this worker cannot read the run %s (%s); multi-worker resume "
                                  "needs the run's folder on a file system every worker sees" % (
                                      log_dir, error.strerror or error)) from None
        return folder

    def distribute(self, array):
        """A PerReplica value holding each replica's consecutive rows of the host array."""
        parts = split_rows(array, self.strategy.num_replicas_in_sync)
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(parts[context.replica_id_in_sync_group]))

    def compile_iteration(self, models, optimizers):
        """The compiled training iteration for these models and optimisers (on one device, with
        XLA when their execution policy says so: `step.make_train_iteration`).

        Returns:
          f(real_images, discriminator_noise, *generator_noises) (host tensors or arrays of the
          global batch) -> dict of scalar tensors: the global objectives, as one device logs them.
          Under a strategy, its `concrete_function(real_images, discriminator_noise,
          *generator_noises)` is the traced step those batches run
          (`collectives.count_collectives` counts its exchanges).
        """
        if self.strategy is None:
            return train_step.make_train_iteration(models, optimizers)
        strategy = self.strategy
        keys = []  # of the results, in the order each replica stacks them

        def replica_step(rows, real_images, discriminator_noise, *generator_noises):
            with replicas.global_rows(rows):
                results = train_step.train_iteration(models, optimizers, real_images,
                                                     discriminator_noise, *generator_noises)
            keys[:] = sorted(results)
            return tf.stack([results[key] for key in keys])

        # TPUs compile each batch shape (the short last batch too); other devices take any size.
        # `rows`, a Python int, is traced in: one trace per global batch size.
        @tf.function(autograph=False,
                     reduce_retracing=not isinstance(strategy, tf.distribute.TPUStrategy))
        def distributed_step(rows, real_images, *noises):
            shares = strategy.run(replica_step, args=(rows, real_images, *noises))
            # Each replica returns its share of every batch mean: their sum is the global mean.
            return dict(zip(keys, tf.unstack(strategy.reduce(tf.distribute.ReduceOp.SUM, shares,
                                                             axis=None))))

        def arguments(values):
            """The global row count of the batches (None if they differ), then their parts."""
            arrays = [np.asarray(value) for value in values]
            rows = {len(array) for array in arrays}
            return (rows.pop() if len(rows) == 1 else None,
                    *(self.distribute(array) for array in arrays))

        def iteration(*batches):
            return distributed_step(*arguments(batches))
        iteration.concrete_function = lambda *values: distributed_step.get_concrete_function(
            *arguments(values))
        return iteration


def make_placement(distribution_strategy="off", num_gpus=0, num_cpu_devices=1, worker_timeout=300,
                   tpu=None, allreduce_precision="float32", wait_guard=unguarded):
    """The placement of the execution settings (call it before any TensorFlow op: multi-worker
    and the CPU device layout need that).

    Args:
      distribution_strategy: one of config.DISTRIBUTION_STRATEGIES ("off": one device).
      num_gpus: mirrored, one_device: the local GPUs to use (0: the CPU devices).
      num_cpu_devices: split the CPU into this many logical devices (mirrored on CPU, tests).
      worker_timeout: multi_worker_mirrored: seconds to wait for every worker to come up, and for
        a worker that stops answering; tpu: seconds to wait for the TPU system.
      tpu: the TPU's name, grpc:// address, or "local" on a TPU VM (None: from TPU_NAME).
      allreduce_precision: the precision gradients are exchanged in between replicas.
      wait_guard: (seconds, message) -> a context manager around a TensorFlow call that waits for
        other machines and holds Python's lock while it does (so no Python timer can end it); the
        command line's ends the process with `message` after `seconds`.

    Returns:
      a Placement.

    Raises:
      ConfigError: more GPUs asked for than this machine has, a bad TF_CONFIG, no usable TPU,
        workers that did not come up in time, or a CPU device layout TensorFlow already has
        otherwise.
    """
    try:
        strategy = _strategy(distribution_strategy, num_gpus, num_cpu_devices, worker_timeout, tpu,
                             wait_guard)
    except tf.errors.OpError as error:
        raise ConfigError("the workers of TF_CONFIG did not all come up within --worker_timeout %g "
                          "s (%s); start every worker with the same command" % (
                              worker_timeout, type(error).__name__)) from None
    return Placement(strategy, allreduce_precision)


def _strategy(name, num_gpus, num_cpu_devices, worker_timeout, tpu, wait_guard):
    if name == "off":
        return None
    if name == "tpu":
        return _tpu_strategy(tpu, worker_timeout, wait_guard)
    if name in ("mirrored", "one_device"):
        check_gpus(num_gpus)
    configure_cpu_devices(num_cpu_devices)
    if name == "multi_worker_mirrored":
        return _multi_worker_strategy(worker_timeout, wait_guard)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if num_gpus else "/cpu:0")
    if num_gpus:
        devices = ["/gpu:%d" % index for index in range(num_gpus)]
    else:
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    # Within one host the reduction order is fixed: all-reduce by summing on one device.
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=tf.distribute.ReductionToOneDevice())


def configure_cpu_devices(count):
    """Splits the host CPU into `count` logical devices (before TensorFlow starts its runtime).

    Raises:
      ConfigError: TensorFlow's runtime has already started with another device layout.
    """
    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    layout = [tf.config.LogicalDeviceConfiguration()] * count
    try:
        tf.config.set_logical_device_configuration(cpu, layout)
    except RuntimeError as error:
        found = len(tf.config.list_logical_devices("CPU"))
        if found != count:
            raise ConfigError("--num_cpu_devices %d: TensorFlow has already started with %d CPU "
                              "devices (%s); set it in a new process" % (count, found, error)) from None


def check_gpus(num_gpus):
    """Refuses to use more GPUs than TensorFlow sees here (it would train on the CPU instead).

    Raises:
      ConfigError naming --num_gpus and the GPUs found.
    """
    found = len(tf.config.list_physical_devices("GPU"))
    if num_gpus > found:
        raise ConfigError("--num_gpus %d: TensorFlow sees %d GPU%s on this machine; pass --num_gpus "
                          "%d or less (0 trains on the CPU)" % (
                              num_gpus, found, "" if found == 1 else "s", found))


def _multi_worker_strategy(timeout_seconds, wait_guard):
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
    # that wait in TF 2.21, so only the guard can.
    with wait_guard(timeout_seconds, "the workers of TF_CONFIG did not all come up within "
                    "--worker_timeout %g s; start every worker with the same command and TF_CONFIG"
                    % timeout_seconds):
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                         communication_options=options)


_CLUSTER_JOBS = ("chief", "worker")


def check_tf_config(text):
    """Checks the TF_CONFIG environment variable of a multi-worker run: JSON with a "cluster" of
    chief/worker address lists and this process's "task" (type and index) in it.

    Args:
      text: the variable's value, or None when it is not set.

    Raises:
      ConfigError naming TF_CONFIG and what is wrong with it.
    """
    def refuse(problem):
        raise ConfigError("--distribution_strategy multi_worker_mirrored reads the cluster from the "
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


def _tpu_strategy(address, timeout_seconds, wait_guard):
    """TPUStrategy on the TPU at `address`, its system initialised (within `timeout_seconds`)."""
    try:
        with wait_guard(timeout_seconds, "the TPU %s did not answer within --worker_timeout %g s"
                        % (address or "of TPU_NAME", timeout_seconds)):
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
    except Exception as error:  # the resolver and the TPU runtime raise many kinds
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ConfigError("--distribution_strategy tpu: no TPU at %s (%s); pass --tpu with the "
                          "TPU's name or grpc:// address, or --tpu local on a TPU VM"
                          % (repr(address) if address else "TPU_NAME", reason)) from None


def split_rows(array, num_replicas):
    """`array` split along its first axis into `num_replicas` consecutive parts whose sizes differ
    by at most one (the first parts take the extra rows)."""
    return np.array_split(np.asarray(array), num_replicas)
