"""Which dataset a data configuration names, and opening it: the one place that tells MNIST,
Fashion-MNIST and image folders apart.

`dataset_source` imports no TensorFlow; `open_dataset` imports it for an image folder only.
"""
import dataclasses
import os

from infogan.data.idx import FASHION_MNIST, MNIST, mnist_dataset, training_images_count

IMAGE_FOLDER = "image_folder"
IDX_TITLES = {MNIST: "MNIST", FASHION_MNIST: "Fashion-MNIST"}
IDX_IMAGE_SHAPE = (28, 28, 1)  # (height, width, channels) of MNIST and Fashion-MNIST


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """A dataset named by a data configuration.

    Attributes:
      kind: MNIST, FASHION_MNIST or IMAGE_FOLDER.
      name: `mnist`, `fashion_mnist`, or the image folder's base name (names default log folders).
      path: the folder of its IDX files, or the image folder.
    """
    kind: str
    name: str
    path: str

    @property
    def is_idx(self):
        """True for the IDX datasets (MNIST, Fashion-MNIST): 28x28 gray images, counted from
        their headers without TensorFlow."""
        return self.kind != IMAGE_FOLDER


def dataset_source(data_config):
    """The dataset of a data configuration.

    Args:
      data_config: anything with `dataset` (None: MNIST; FASHION_MNIST; else an image folder),
        `mnist_dir` and `fashion_mnist_dir`.

    Returns:
      DatasetSource.
    """
    dataset = data_config.dataset
    if dataset is None:
        return DatasetSource(MNIST, MNIST, data_config.mnist_dir)
    if dataset == FASHION_MNIST:
        return DatasetSource(FASHION_MNIST, FASHION_MNIST, data_config.fashion_mnist_dir)
    return DatasetSource(IMAGE_FOLDER, os.path.basename(os.path.normpath(dataset)), dataset)


def count_idx_images(data_config):
    """The training images an IDX dataset gives (read from its file's header), after max_images.

    Raises:
      DatasetError: the files are missing or damaged.
    """
    source = dataset_source(data_config)
    return training_images_count(source.path, data_config.max_images, source.kind)


def open_dataset(data_config, seed, before_cache=None):
    """Opens the dataset of a data configuration (an image folder is listed and its headers
    checked; nothing is decoded yet).

    Args:
      data_config: a data configuration (see `dataset_source`), with `max_images`,
        `scale_dataset` (width, height), `force_grayscale`, `image_order` and `cache_dir`.
      seed: seeds an image folder's max_images sample.
      before_cache: called with the opened image folder before its cache is built (to refuse it
        first).

    Returns:
      a `Dataset`.

    Raises:
      DatasetError: missing, empty or unreadable data.
    """
    source = dataset_source(data_config)
    if source.is_idx:
        return mnist_dataset(source.path, data_config.max_images, source.kind)
    from infogan.data import image_cache, image_folder  # Pillow and tf.data: folders only
    width, height = data_config.scale_dataset
    dataset = image_folder.open_image_folder(
        source.path, width, height, data_config.max_images, data_config.force_grayscale,
        seed=seed, name=source.name, order=data_config.image_order)
    if before_cache is not None:
        before_cache(dataset)
    if data_config.cache_dir is not None:
        dataset = image_cache.cached(dataset, data_config.cache_dir)
    return dataset
