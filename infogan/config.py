"""Run configuration, with the TF1 defaults, and its validation."""
import dataclasses
import os
from typing import Optional, Tuple

from infogan.architecture import infer_output_shapes, parse_architecture
from infogan.model_config import ModelConfig

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MNIST_DIR = os.path.join(PROJECT_DIR, "MNIST_data")
MNIST_SHAPE = (28, 28, 1)


class ConfigError(ValueError):
    """A flag value that cannot work; the message names the flag and what to pass instead."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything `train` needs. Field names are the train.py flag names."""
    model: ModelConfig = ModelConfig()
    epochs: int = 100
    batch_size: int = 64
    generator_lr: float = 1e-3
    discriminator_lr: float = 2e-4
    plot_every: int = 200
    seed: int = 1234
    dataset: Optional[str] = None          # None: MNIST
    mnist_dir: str = DEFAULT_MNIST_DIR
    max_images: Optional[int] = None
    scale_dataset: Tuple[int, int] = (28, 28)  # width, height
    force_grayscale: bool = False
    logdir: Optional[str] = None           # None: <log_root>/<dataset>_log/<infogan|gan>[-k]
    log_root: str = PROJECT_DIR
    progress_bar: Optional[bool] = None    # None: only when stdout is a terminal

    @property
    def dataset_name(self):
        """`mnist`, or the image folder's base name (names the default log folder)."""
        if self.dataset is None:
            return "mnist"
        return os.path.basename(self.dataset.rstrip("/\\"))


def _require(condition, message):
    if not condition:
        raise ConfigError(message)


def validate(config):
    """Checks flag values and architecture strings, before any data is read.

    Raises:
      ConfigError, or ArchitectureError for a malformed architecture string.
    """
    model = config.model
    for name in ("epochs", "batch_size", "plot_every"):
        _require(getattr(config, name) > 0, "--%s must be a positive integer, got %d" % (
            name, getattr(config, name)))
    for name in ("generator_lr", "discriminator_lr"):
        _require(getattr(config, name) > 0, "--%s must be positive, got %g" % (name, getattr(config, name)))
    _require(model.style_size > 0, "--style_size must be a positive integer, got %d" % model.style_size)
    _require(model.num_continuous >= 0, "--num_continuous must be 0 or more, got %d" % model.num_continuous)
    _require(all(k > 0 for k in model.categorical_cardinality),
             "--categorical_cardinality values must be positive, got %s" % (
                 list(model.categorical_cardinality),))
    for name in ("categorical_lambda", "continuous_lambda"):
        _require(getattr(model, name) >= 0, "--%s must be 0 or more, got %g" % (name, getattr(model, name)))
    _require(config.max_images is None or config.max_images > 0,
             "--max_images must be a positive integer, got %s" % config.max_images)
    _require(len(config.scale_dataset) == 2 and all(s > 0 for s in config.scale_dataset),
             "--scale_dataset takes two positive integers (width height), got %s" % (
                 list(config.scale_dataset),))
    if config.dataset is None:
        _require(tuple(config.scale_dataset) == MNIST_SHAPE[:2],
                 "MNIST images are 28x28: drop --scale_dataset (got %s) or pass --dataset" % (
                     " ".join(map(str, config.scale_dataset)),))
    parse_architecture(model.generator)
    parse_architecture(model.discriminator)


def check_image_shape(model, image_shape):
    """Checks that the generator makes images of the data's shape and the discriminator takes them.

    Raises:
      ConfigError naming both shapes; ArchitectureError for a layer that cannot fit.
    """
    generated = infer_output_shapes(parse_architecture(model.generator), (model.z_size,))[-1]
    if tuple(generated) != tuple(image_shape):
        raise ConfigError(
            "the generator makes images of shape %s but the data has shape %s: change --generator "
            "(or --scale_dataset / --force_grayscale) so that they match" % (
                list(generated), list(image_shape)))
    infer_output_shapes(parse_architecture(model.discriminator), image_shape)
