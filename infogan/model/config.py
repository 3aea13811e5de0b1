"""The model hyperparameters: the TF1 code's flags (docs/tf1_semantics.md §8), with its defaults,
and where the mutual-information loss goes. Imports no TensorFlow."""
import dataclasses
from typing import Tuple

from infogan.model.noise import NORMAL_STYLE, STYLE_NOISES
from infogan.model.options import BEYOND_TF1, TF1, option

DEFAULT_GENERATOR = "fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2:1:sigmoid"
DEFAULT_DISCRIMINATOR = "conv:4:2:64:lrelu,conv:4:2:128:lrelu,fc:1024:lrelu"
# Where the mutual-information loss goes:
SEPARATE_UPDATE = "separate"  # the TF1 code: its own update of G, D and Q, with G's Adam
GAN_LOSSES = "gan_losses"     # openai/InfoGAN: subtracted from the D loss and from the G loss
MUTUAL_INFO_LOSSES = (SEPARATE_UPDATE, GAN_LOSSES)
# How the weights start:
TF1_INIT = "tf1"      # the TF1 code: Glorot-uniform weights (contrib layers' default)
PAPER_INIT = "paper"  # openai/InfoGAN: N(0, 0.02), truncated for convolutions
WEIGHT_INITS = (TF1_INIT, PAPER_INIT)
# How the fully connected layers' batch norms compute (the conv ones are the same in both codes):
TF1_FC_BATCH_NORM = "tf1"      # the TF1 code's slim batch norm: no gamma, epsilon 1e-3, decay 0.999
PAPER_FC_BATCH_NORM = "paper"  # openai/InfoGAN's, as on its conv layers: gamma, 1e-5, decay 0.9
FC_BATCH_NORMS = (TF1_FC_BATCH_NORM, PAPER_FC_BATCH_NORM)


@dataclasses.dataclass(frozen=True)
class NetworkOptions:
    """What every layer of the networks reads from the ModelConfig: how its weights start
    (a WEIGHT_INITS name) and how its fully connected batch norm computes (a FC_BATCH_NORMS
    name)."""
    weight_init: str = TF1_INIT
    fc_batch_norm: str = TF1_FC_BATCH_NORM


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The model flags of the TF1 code, with its defaults (docs/tf1_semantics.md §8), and
    `mutual_info_loss` (SEPARATE_UPDATE, the TF1 code's, or GAN_LOSSES) and `style_noise`
    (a STYLE_NOISES name: the style noise's distribution). Each field carries its flag's
    metadata (`infogan.model.options`)."""
    generator: str = option(DEFAULT_GENERATOR, "Generator architecture: comma-separated "
                            "conv:K:S:N[:act], deconv:K:S:N[:act], fc:N[:act], reshape:d1:d2:... "
                            "(batch norm on every layer but the last).", TF1, shapes_weights=True)
    discriminator: str = option(DEFAULT_DISCRIMINATOR, "Discriminator architecture, as "
                                "--generator, without its last layer (a dense 1 with a sigmoid is "
                                "added).", TF1, shapes_weights=True)
    categorical_cardinality: Tuple[int, ...] = option(
        (10,), "Number of values of each categorical latent code, e.g. 10, or 20 20 20 for three "
        "codes; none is allowed.", TF1, shapes_weights=True)
    num_continuous: int = option(2, "Number of continuous latent codes (uniform in [-1, 1]).",
                                 TF1, shapes_weights=True)
    style_size: int = option(62, "Width of the incompressible (style) noise.", TF1,
                             shapes_weights=True)
    use_batch_norm: bool = option(True, "Batch normalisation in G and D.", TF1,
                                  shapes_weights=True)
    fix_std: bool = option(True, "Fix the continuous codes' standard deviation to 1 (--nofix_std: "
                           "Q also predicts it).", TF1, shapes_weights=True)
    infogan: bool = option(True, "Train InfoGAN (latent codes and the Q network); --noinfogan "
                           "trains a plain GAN.", TF1, shapes_weights=True)
    categorical_lambda: float = option(1.0, "Weight of the categorical codes' log-likelihood in the "
                                       "mutual-information loss.", TF1)
    continuous_lambda: float = option(1.0, "Weight of the continuous codes' log-likelihood in the "
                                      "mutual-information loss.", TF1)
    mutual_info_loss: str = option(
        SEPARATE_UPDATE, "Where the mutual-information loss goes: separate (the TF1 code: its own "
        "update of G, D and Q with G's Adam) or gan_losses (openai/InfoGAN: subtracted from D's and "
        "G's losses; D's Adam then also updates Q).", BEYOND_TF1, choices=MUTUAL_INFO_LOSSES)
    weight_init: str = option(
        TF1_INIT, "How the weights start: tf1 (the TF1 code's Glorot-uniform) or paper (the InfoGAN "
        "paper's code: weights N(0, 0.02), truncated at two standard deviations for convolutions; "
        "biases 0 and batch-norm gamma N(1, 0.02) in both).", BEYOND_TF1, choices=WEIGHT_INITS)
    fc_batch_norm: str = option(
        TF1_FC_BATCH_NORM, "The fully connected layers' batch norm: tf1 (the TF1 code's: no gamma, "
        "epsilon 1e-3, moving statistics with decay 0.999, never updated in the Q network) or paper "
        "(the InfoGAN paper's code's, as on the conv layers: gamma N(1, 0.02), epsilon 1e-5, decay "
        "0.9, updated in every network).", BEYOND_TF1, choices=FC_BATCH_NORMS, shapes_weights=True)
    style_noise: str = option(NORMAL_STYLE, "The style noise's distribution: normal (the TF1 "
                              "code's N(0, 1)) or uniform (openai/InfoGAN's U(-1, 1)).", BEYOND_TF1,
                              choices=STYLE_NOISES)

    @property
    def network_options(self):
        """The NetworkOptions that every layer reads."""
        return NetworkOptions(self.weight_init, self.fc_batch_norm)

    @property
    def z_size(self):
        """Width of the generator's input noise."""
        if not self.infogan:
            return self.style_size
        return sum(self.categorical_cardinality) + self.num_continuous + self.style_size

    @property
    def q_output_width(self):
        """Width of the Q network's output: categorical logits, means, and log-variances unless fix_std."""
        continuous = self.num_continuous if self.fix_std else 2 * self.num_continuous
        return sum(self.categorical_cardinality) + continuous
