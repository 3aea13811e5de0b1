"""tf.distribute strategies from the flags, and the training iteration run under one.

The host draws each real batch and its noise exactly as on one device (the TF1 code's NumPy
order), then splits them across the replicas (as evenly as the rows allow: the short last batch
of an epoch too), so a seed fixes a run whatever the replica count. Each replica runs the
single-device training step (`training.step.train_iteration`) on its rows; `replicas` makes its
batch statistics, batch means and gradients cover the global batch.
"""
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


def make_strategy(name, num_gpus=0, num_cpu_devices=1):
    """The strategy of `--distribution_strategy`, or None for "off" (the single-device path).

    Args:
      name: one of config.DISTRIBUTION_STRATEGIES.
      num_gpus: mirrored: the local GPUs to use (0: the CPU devices).
      num_cpu_devices: split the CPU into this many logical devices (mirrored on CPU, tests).

    Returns:
      a tf.distribute.Strategy, or None.
    """
    if name == "off":
        return None
    configure_cpu_devices(num_cpu_devices)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if num_gpus else "/cpu:0")
    if num_gpus:
        devices = ["/gpu:%d" % index for index in range(num_gpus)]
    else:
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    # Within one host the reduction order is fixed: all-reduce by summing on one device.
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=tf.distribute.ReductionToOneDevice())


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

    @tf.function(autograph=False, reduce_retracing=True)
    def distributed_step(real_images, discriminator_noise, generator_noise):
        shares = strategy.run(replica_step, args=(real_images, discriminator_noise, generator_noise))
        # Each replica returns its share of every batch mean: their sum is the global mean.
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in shares.items()}

    def iteration(real_images, discriminator_noise, generator_noise):
        return distributed_step(*(distribute_rows(strategy, np.asarray(value)) for value in (
            real_images, discriminator_noise, generator_noise)))
    return iteration
