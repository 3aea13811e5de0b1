"""The preflight: every check of a TrainConfig that needs no TensorFlow, run once, before
TensorFlow loads and before anything is printed.

    checked = preflight(config)   # raises ConfigError / ArchitectureError
    train(checked)                # does not check again

The data is read here as far as it can be without TensorFlow: an IDX dataset's header, or an image
folder's listing and every file's header (`data.scan_folder`); the scan travels in the
`Preflighted`, so training opens the folder from it without listing or checking it again. What
needs TensorFlow stays with training: a resumed run's newest checkpoint is read there.
"""
import dataclasses
from typing import Optional, Tuple

from infogan import data
from infogan.config.checks import (MNIST_SHAPE, check_batch_size, check_data_paths,
                                   check_image_shape, check_log_folder, check_memory,
                                   check_tf1_checkpoint, validate_architectures, validate_numbers)
from infogan.config.errors import ConfigError
from infogan.config.parts import TrainConfig


@dataclasses.dataclass(frozen=True)
class CheckedData:
    """The training data as the checks found it.

    Attributes:
      num_images: its training images (after --max_images).
      image_shape: (height, width, channels) of its images as training sees them.
      folder: an image folder's `data.FolderScan`; None for IDX data.
    """
    num_images: int
    image_shape: Tuple[int, int, int]
    folder: Optional[data.FolderScan] = None


@dataclasses.dataclass(frozen=True)
class Preflighted:
    """A TrainConfig that passed `preflight`.

    Attributes:
      config: the TrainConfig.
      dataset: what the checks found of the data (`CheckedData`).
    """
    config: TrainConfig
    dataset: CheckedData

    @property
    def num_images(self):
        """The data's training images."""
        return self.dataset.num_images


def preflight(config):
    """Checks flag values, architectures, memory, paths and the run's folder, and the data's size
    and shape against the batch and the generator. Imports no TensorFlow; prints nothing, but the
    warnings about an image folder none of whose files is readable, above its error.

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
    found = _read_data(config)
    check_tf1_checkpoint(config.run.tf1_checkpoint)
    validate_architectures(config.model)
    check_memory(config.model, config.run.batch_size)
    check_image_shape(config.model, found.image_shape)
    return Preflighted(config, found)


def check_data(config):
    """The data's part of `preflight` alone, for code that opens a run's data outside training:
    the data must exist, fill a batch and fit the generator.

    Args:
      config: a TrainConfig.

    Returns:
      CheckedData.

    Raises:
      ConfigError, ArchitectureError: as `preflight`.
    """
    found = _read_data(config)
    check_image_shape(config.model, found.image_shape)
    return found


def _read_data(config):
    """Checks the data's paths, counts an IDX dataset or scans an image folder (no TensorFlow),
    and checks the batch against the count."""
    check_data_paths(config.data)
    try:
        if config.data.source.is_idx:
            found = CheckedData(data.count_idx_images(config.data), MNIST_SHAPE)
        else:
            folder = data.scan_folder(config.data, config.run.seed)
            found = CheckedData(folder.num_images, folder.image_shape, folder)
    except data.DatasetError as error:
        raise ConfigError(str(error)) from None
    check_batch_size(config, found.num_images)
    return found


def preflighted(config):
    """`config` as a Preflighted: itself if it is one, else `preflight(config)`.

    Raises:
      see `preflight`.
    """
    return config if isinstance(config, Preflighted) else preflight(config)
