"""The networks of an InfoGAN model, built from a `ModelConfig`."""
import dataclasses
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from infogan.model.architecture import describe_network
from infogan.model.config import ModelConfig
from infogan.model.execution import FAITHFUL, ExecutionPolicy
from infogan.model.networks import Discriminator, Generator, MutualInfoHead


@dataclasses.dataclass
class InfoGANModels:
    """The three networks of a run, for images of `image_shape` ([H, W, C]), and the
    ExecutionPolicy they compute with. `q_network` is None in GAN mode."""
    config: ModelConfig
    generator: Generator
    discriminator: Discriminator
    q_network: Optional[MutualInfoHead]
    image_shape: Tuple[int, int, int]
    execution: ExecutionPolicy = FAITHFUL


def build_models(config, image_shape, execution=FAITHFUL):
    """Creates and builds the networks for images of `image_shape` ([H, W, C]), printing nothing
    (`architecture_lines` has what the TF1 code printed while building its graph).

    Args:
      execution: the ExecutionPolicy: the TF1 code's kernels (default), or the fast /
        mixed-precision ones; the variables are the same either way, so checkpoints serve both.

    Returns:
      InfoGANModels whose variables all exist.
    """
    generator = Generator(config.generator, use_batch_norm=config.use_batch_norm,
                          execution=execution, options=config.network_options)
    # Building in inference mode creates every variable without touching any statistic.
    generator(tf.zeros([1, config.z_size]), training=False)
    discriminator = Discriminator(config.discriminator, use_batch_norm=config.use_batch_norm,
                                  execution=execution, options=config.network_options)
    hidden = discriminator(tf.zeros([1] + list(image_shape)), training=False)["hidden"]
    q_network = None
    if config.infogan:
        q_network = MutualInfoHead(config.q_output_width, execution=execution,
                                   options=config.network_options)
        q_network(hidden, training=False)
    return InfoGANModels(config, generator, discriminator, q_network, tuple(image_shape), execution)


def architecture_lines(models):
    """What the TF1 code printed while building its graph: the generator's architecture, the
    shape of the images it produces, then the discriminator's architecture."""
    return (describe_network(models.generator.name, models.generator.specs)
            + ["Generator produced images of shape %s" % (models.image_shape,), ""]
            + describe_network(models.discriminator.name, models.discriminator.specs))


def noise_to_tensor(noise):
    """NumPy float64 noise -> float32 tensor, as TF1's float32 placeholder did."""
    return tf.convert_to_tensor(np.asarray(noise, dtype=np.float32))
