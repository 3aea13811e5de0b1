"""The model hyperparameters: the TF1 code's flags (docs/tf1_semantics.md §8), with its defaults,
and where the mutual-information loss goes. Imports no TensorFlow."""
import dataclasses
from typing import Tuple

from infogan.model.noise import NORMAL_STYLE

DEFAULT_GENERATOR = "fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2:1:sigmoid"
DEFAULT_DISCRIMINATOR = "conv:4:2:64:lrelu,conv:4:2:128:lrelu,fc:1024:lrelu"
# Where the mutual-information loss goes:
SEPARATE_UPDATE = "separate"  # the TF1 code: its own update of G, D and Q, with G's Adam
GAN_LOSSES = "gan_losses"     # openai/InfoGAN: subtracted from the D loss and from the G loss
MUTUAL_INFO_LOSSES = (SEPARATE_UPDATE, GAN_LOSSES)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The model flags of the TF1 code, with its defaults (docs/tf1_semantics.md §8), and
    `mutual_info_loss` (SEPARATE_UPDATE, the TF1 code's, or GAN_LOSSES) and `style_noise`
    (a STYLE_NOISES name: the style noise's distribution)."""
    generator: str = DEFAULT_GENERATOR
    discriminator: str = DEFAULT_DISCRIMINATOR
    categorical_cardinality: Tuple[int, ...] = (10,)
    num_continuous: int = 2
    style_size: int = 62
    use_batch_norm: bool = True
    fix_std: bool = True
    infogan: bool = True
    categorical_lambda: float = 1.0
    continuous_lambda: float = 1.0
    mutual_info_loss: str = SEPARATE_UPDATE
    style_noise: str = NORMAL_STYLE

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
