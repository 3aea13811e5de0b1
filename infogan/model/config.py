"""The model hyperparameters of the TF1 code (docs/tf1_semantics.md §8). Imports no TensorFlow."""
import dataclasses
from typing import Tuple

DEFAULT_GENERATOR = "fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2:1:sigmoid"
DEFAULT_DISCRIMINATOR = "conv:4:2:64:lrelu,conv:4:2:128:lrelu,fc:1024:lrelu"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The model flags of the TF1 code, with its defaults (docs/tf1_semantics.md §8)."""
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
