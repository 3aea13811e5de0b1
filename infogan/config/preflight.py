"""The preflight: every check of a TrainConfig that needs no TensorFlow, run once, before
TensorFlow loads and before anything is printed.

    checked = preflight(config)   # raises ConfigError / ArchitectureError
    train(checked)                # does not check again

What needs TensorFlow stays with training: an image folder is counted and its images' shape
known once it is listed (training checks them then, with `check_image_shape` and
`check_batch_size`), and a resumed run's newest checkpoint is read there.
"""
import dataclasses
from typing import Optional

from infogan import data
from infogan.config.checks import (MNIST_SHAPE, check_batch_size, check_data_paths,
                                   check_image_shape, check_log_folder, check_memory,
                                   check_tf1_checkpoint, validate_architectures, validate_numbers)
from infogan.config.errors import ConfigError
from infogan.config.parts import TrainConfig


@dataclasses.dataclass(frozen=True)
class Preflighted:
    """A TrainConfig that passed `preflight`.

    Attributes:
      config: the TrainConfig.
      num_images: the training images of an IDX dataset (read from its header); None for an image
        folder, counted when it is listed.
    """
    config: TrainConfig
    num_images: Optional[int] = None


def preflight(config):
    """Checks flag values, architectures, memory, paths and the run's folder, and an IDX dataset's
    size and shape against the batch and the generator. Imports no TensorFlow and prints nothing.

    Args:
      config: a TrainConfig.

    Returns:
      Preflighted.

    Raises:
      ConfigError; ArchitectureError for a malformed architecture string (naming the flag, the
      token and its position) or a layer that cannot take the data's images.
    """
    validate_numbers(config)
    check_log_folder(config.run)
    check_data_paths(config.data)
    num_images = _count_idx_images(config)
    check_tf1_checkpoint(config.run.tf1_checkpoint)
    validate_architectures(config.model)
    check_memory(config.model, config.run.batch_size)
    if num_images is not None:
        check_image_shape(config.model, MNIST_SHAPE)
    return Preflighted(config, num_images)


def _count_idx_images(config):
    """An IDX dataset's training images, checked against the batch; None for an image folder."""
    if not config.data.source.is_idx:
        return None
    try:
        num_images = data.count_idx_images(config.data)
    except data.DatasetError as error:
        raise ConfigError(str(error)) from None
    check_batch_size(config, num_images)
    return num_images


def preflighted(config):
    """`config` as a Preflighted: itself if it is one, else `preflight(config)`.

    Raises:
      see `preflight`.
    """
    return config if isinstance(config, Preflighted) else preflight(config)
