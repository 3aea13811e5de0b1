"""Which dataset a data configuration names, and opening it: the one place that tells MNIST,
Fashion-MNIST and image folders apart.

`dataset_source`, `count_idx_images` and `scan_folder` import no TensorFlow; `open_dataset` imports
it for an image folder only.
"""
import dataclasses
import os

from infogan.data.idx import FASHION_MNIST, MNIST, mnist_dataset, training_images_count
from infogan.data.image_scan import scan_image_folder

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


def scan_folder(data_config, seed):
    """Lists, samples and header-checks the image folder of a data configuration.

    Args:
      data_config: a data configuration naming an image folder (see `dataset_source`), with
        `max_images`, `scale_dataset` (width, height), `force_grayscale` and `image_order`.
      seed: seeds the max_images sample.

    Returns:
      a `FolderScan`, to open with `open_dataset`.

    Raises:
      DatasetError: no such folder, no images in it, or none of them readable.
    """
    source = dataset_source(data_config)
    width, height = data_config.scale_dataset
    return scan_image_folder(source.path, width, height, data_config.max_images,
                             data_config.force_grayscale, seed=seed, name=source.name,
                             order=data_config.image_order)


def open_dataset(data_config, folder=None):
    """Opens the dataset of a data configuration: an image folder from its scan (not listed or
    checked again), logging its summary; nothing is decoded yet.

    Args:
      data_config: a data configuration (see `dataset_source`), with `max_images` and `cache_dir`.
      folder: the `FolderScan` of an image folder (`scan_folder`); unused for IDX data.

    Returns:
      a `Dataset`.

    Raises:
      DatasetError: missing or damaged data.
      ValueError: an image folder without its scan.
    """
    source = dataset_source(data_config)
    if source.is_idx:
        return mnist_dataset(source.path, data_config.max_images, source.kind)
    if folder is None:
        raise ValueError("open_dataset needs the scan of image folder %s (scan_folder)" % source.path)
    from infogan.data import image_cache, image_folder  # tf.data: folders only
    dataset = image_folder.image_folder_dataset(folder)
    if data_config.cache_dir is not None:
        dataset = image_cache.cached(dataset, data_config.cache_dir)
    return dataset
