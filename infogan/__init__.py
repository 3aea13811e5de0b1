"""infogan-tf2: a faithful TensorFlow 2 port of JonathanRaiman/tensorflow-infogan.

The original names keep their roles; see the README's table for the TF1 -> TF2 mapping.
"""
from infogan.architecture import ArchitectureError, parse_architecture, parse_math
from infogan.networks import (Discriminator, Generator, MutualInfoHead, Network,
                              discriminator_forward, generator_forward, leaky_rectify,
                              run_network)
from infogan.noise import (create_categorical_noise, create_continuous_noise,
                           create_gan_noise_sample, create_infogan_noise_sample,
                           encode_infogan_noise, make_one_hot)
from infogan.objectives import TINY, reconstruct_mutual_info
from infogan.training import train

__all__ = [
    "ArchitectureError", "Discriminator", "Generator", "MutualInfoHead", "Network", "TINY",
    "create_categorical_noise", "create_continuous_noise", "create_gan_noise_sample",
    "create_infogan_noise_sample", "discriminator_forward", "encode_infogan_noise",
    "generator_forward", "leaky_rectify", "make_one_hot", "parse_architecture", "parse_math",
    "reconstruct_mutual_info", "run_network", "train",
]
