"""The networks of an InfoGAN model, built from a `ModelConfig`."""
import dataclasses
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from infogan.model.config import SEPARATE_UPDATE, ModelConfig
from infogan.model.networks import FAITHFUL, Discriminator, Generator, Kernels, MutualInfoHead


@dataclasses.dataclass
class InfoGANModels:
    """The three networks of a run, for images of `image_shape` ([H, W, C]). `q_network` is None
    in GAN mode."""
    config: ModelConfig
    generator: Generator
    discriminator: Discriminator
    q_network: Optional[MutualInfoHead]
    image_shape: Tuple[int, int, int]
    kernels: Kernels = FAITHFUL

    @property
    def separate_mutual_info_update(self):
        """Whether the MI loss has its own update (the TF1 code) rather than joining the GAN losses."""
        return self.q_network is not None and self.config.mutual_info_loss == SEPARATE_UPDATE

    @property
    def discriminator_variables(self):
        """What the discriminator optimiser updates: D, and Q when the MI joins the D loss."""
        if self.q_network is None or self.separate_mutual_info_update:
            return self.discriminator.trainable_variables
        return self.discriminator.trainable_variables + self.q_network.trainable_variables

    @property
    def generator_variables(self):
        """What the generator objective updates."""
        return self.generator.trainable_variables

    @property
    def mutual_info_variables(self):
        """What the separate MI update moves, with the generator's optimiser: G, D (but its
        prob_projection, which the MI does not reach) and Q; none without that update."""
        if not self.separate_mutual_info_update:
            return []
        return (self.generator.trainable_variables + self.discriminator.feature_variables
                + self.q_network.trainable_variables)


def build_models(config, image_shape, debug=False, kernels=FAITHFUL):
    """Creates and builds the networks for images of `image_shape` ([H, W, C]).

    With debug=True prints what the TF1 code printed while building its graph: the generator's
    architecture, the shape of the images it produces, then the discriminator's architecture.

    Args:
      kernels: networks.Kernels: the TF1 code's (default), or the fast / mixed-precision ones;
        the variables are the same either way, so checkpoints serve both.

    Returns:
      InfoGANModels whose variables all exist.
    """
    generator = Generator(config.generator, use_batch_norm=config.use_batch_norm, debug=debug,
                          kernels=kernels)
    # Building in inference mode creates every variable without touching any statistic.
    images = generator(tf.zeros([1, config.z_size]), training=False)
    if debug:
        print("Generator produced images of shape %s" % (tuple(images.shape[1:]),))
        print("")
    discriminator = Discriminator(config.discriminator, use_batch_norm=config.use_batch_norm,
                                  debug=debug, kernels=kernels)
    hidden = discriminator(tf.zeros([1] + list(image_shape)), training=False)["hidden"]
    q_network = None
    if config.infogan:
        q_network = MutualInfoHead(config.q_output_width, kernels=kernels)
        q_network(hidden, training=False)
    return InfoGANModels(config, generator, discriminator, q_network, tuple(image_shape), kernels)


def kernels_for(fast=False, precision="float32"):
    """The networks.Kernels of `--fast` and `--precision` (a Keras mixed-precision policy name: its
    compute dtype is the dtype of the convolutions and matrix products)."""
    import keras
    return Kernels(fast=fast, matmul_dtype=keras.mixed_precision.Policy(precision).compute_dtype)


def noise_to_tensor(noise):
    """NumPy float64 noise -> float32 tensor, as TF1's float32 placeholder did."""
    return tf.convert_to_tensor(np.asarray(noise, dtype=np.float32))
