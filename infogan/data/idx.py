"""MNIST-style IDX datasets (MNIST, Fashion-MNIST): the reader and TF1's training split.

Imports no TensorFlow, so flags can be checked against the files before TensorFlow loads.
"""
import gzip
import os

import numpy as np

from infogan.data.dataset import ArrayDataset, DatasetError

MNIST = "mnist"
FASHION_MNIST = "fashion_mnist"  # the --dataset value that selects Fashion-MNIST
DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
MNIST_TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
MNIST_TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
MNIST_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
DEFAULT_MNIST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist")  # shipped
MNIST_VALIDATION_SIZE = 5000  # TF1's read_data_sets kept images 5000.. of the training file
_IDX_HINTS = {
    MNIST: "point --mnist_dir at a folder holding the four MNIST IDX .gz files",
    FASHION_MNIST: "install it with `apt-get install dataset-fashion-mnist` or point "
                   "--fashion_mnist_dir at a folder holding the four Fashion-MNIST IDX .gz files",
}


def read_idx(path):
    """Reads a (gzipped) IDX file into a uint8 array of the shape its header declares.

    Raises:
      DatasetError: the file is not an unsigned-byte IDX file, or is truncated.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:
        raise DatasetError("%s cannot be read (%s)" % (path, error)) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError("%s is not an unsigned-byte IDX file" % path)
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    body = np.frombuffer(data, dtype=np.uint8, offset=min(4 + 4 * rank, len(data)))
    if body.size != int(np.prod(shape)):
        raise DatasetError("%s is truncated: its header declares shape %s" % (path, shape))
    return body.reshape(shape)


def idx_path(folder, name, kind=MNIST):
    """The path of IDX file `name` in `folder`.

    Args:
      folder: the --mnist_dir or --fashion_mnist_dir folder.
      name: one of the MNIST_* file names.
      kind: MNIST or FASHION_MNIST; picks the hint of the error message.

    Raises:
      DatasetError: the file does not exist; the message says how to get it.
    """
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise DatasetError("%s file %s is missing; %s" % (
            "MNIST" if kind == MNIST else "Fashion-MNIST", path, _IDX_HINTS[kind]))
    return path


def count_idx_items(path):
    """The first dimension an IDX file's header declares (its number of images or labels), read
    without decompressing the rest.

    Raises:
      DatasetError: the file cannot be read or is not an unsigned-byte IDX file.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            header = stream.read(8)
    except (OSError, EOFError) as error:
        raise DatasetError("%s cannot be read (%s)" % (path, error)) from None
    if len(header) < 8 or header[:3] != b"\x00\x00\x08":
        raise DatasetError("%s is not an unsigned-byte IDX file" % path)
    return int.from_bytes(header[4:8], "big")


def training_images_count(folder, max_images=None, kind=MNIST):
    """How many images `load_mnist` will give, from the file's header alone."""
    count = max(0, count_idx_items(idx_path(folder, MNIST_TRAIN_IMAGES, kind)) - MNIST_VALIDATION_SIZE)
    return count if max_images is None else min(count, max_images)


def idx_images_to_float(images):
    """uint8 [N, H, W] -> float32 [N, H, W, 1] in [0, 1], rounded as TF1's reader rounded."""
    return (images.astype(np.float32) * np.float32(1.0 / 255.0))[..., None]


def load_mnist(mnist_dir, max_images=None, kind=MNIST):
    """The 55000-image training split that TF1's `read_data_sets` used (images 5000..59999).

    Args:
      mnist_dir: folder holding the IDX .gz files.
      max_images: keep only the first max_images of the split (no sampling, as TF1).
      kind: MNIST or FASHION_MNIST (same file names, same split).

    Returns:
      float32 array [N, 28, 28, 1] in [0, 1].
    """
    images = read_idx(idx_path(mnist_dir, MNIST_TRAIN_IMAGES, kind))[MNIST_VALIDATION_SIZE:]
    if max_images is not None:
        images = images[:max_images]
    if images.ndim != 3 or images.shape[0] == 0:
        raise DatasetError("%s holds no training images after the first %d (shape %s)" % (
            os.path.join(mnist_dir, MNIST_TRAIN_IMAGES), MNIST_VALIDATION_SIZE, images.shape))
    return idx_images_to_float(images)


def mnist_dataset(mnist_dir, max_images=None, kind=MNIST):
    """`load_mnist` as an in-memory `ArrayDataset` named `kind`."""
    return ArrayDataset(kind, load_mnist(mnist_dir, max_images, kind))


def load_mnist_test(mnist_dir, kind=MNIST):
    """The 10000 test images (float32 [N, 28, 28, 1]) and their int64 labels."""
    images = read_idx(idx_path(mnist_dir, MNIST_TEST_IMAGES, kind))
    labels = read_idx(idx_path(mnist_dir, MNIST_TEST_LABELS, kind))
    return idx_images_to_float(images), labels.astype(np.int64)
