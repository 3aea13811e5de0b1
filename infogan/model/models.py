"""The networks of an InfoGAN model, built from a `ModelConfig`."""
import dataclasses
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

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


def build_models(config, image_shape, debug=False, execution=FAITHFUL):
    """Creates and builds the networks for images of `image_shape` ([H, W, C]).

    With debug=True prints what the TF1 code printed while building its graph: the generator's
    architecture, the shape of the images it produces, then the discriminator's architecture.

    Args:
      execution: the ExecutionPolicy: the TF1 code's kernels (default), or the fast /
        mixed-precision ones; the variables are the same either way, so checkpoints serve both.

    Returns:
      InfoGANModels whose variables all exist.
    """
    generator = Generator(config.generator, use_batch_norm=config.use_batch_norm, debug=debug,
                          execution=execution, weight_init=config.weight_init)
    # Building in inference mode creates every variable without touching any statistic.
    images = generator(tf.zeros([1, config.z_size]), training=False)
    if debug:
        print("Generator produced images of shape %s" % (tuple(images.shape[1:]),))
        print("")
    discriminator = Discriminator(config.discriminator, use_batch_norm=config.use_batch_norm,
                                  debug=debug, execution=execution, weight_init=config.weight_init)
    hidden = discriminator(tf.zeros([1] + list(image_shape)), training=False)["hidden"]
    q_network = None
    if config.infogan:
        q_network = MutualInfoHead(config.q_output_width, execution=execution,
                                   weight_init=config.weight_init)
        q_network(hidden, training=False)
    return InfoGANModels(config, generator, discriminator, q_network, tuple(image_shape), execution)


def noise_to_tensor(noise):
    """NumPy float64 noise -> float32 tensor, as TF1's float32 placeholder did."""
    return tf.convert_to_tensor(np.asarray(noise, dtype=np.float32))
