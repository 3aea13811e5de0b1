"""Training images: MNIST from IDX files, and image folders (SPEC section 7)."""
import gzip
import os
import random

import numpy as np

MNIST_TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
MNIST_TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
MNIST_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
MNIST_VALIDATION_SIZE = 5000  # TF1's read_data_sets kept images 5000.. of the training file
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


class DatasetError(ValueError):
    """A dataset that cannot be used; the message says what is wrong and how to fix it."""


def read_idx(path):
    """Reads a (gzipped) IDX file into a uint8 array of the shape its header declares."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError("%s is not an unsigned-byte IDX file" % path)
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(shape)):
        raise DatasetError("%s is truncated: its header declares shape %s" % (path, shape))
    return body.reshape(shape)


def _mnist_path(mnist_dir, name):
    path = os.path.join(mnist_dir, name)
    if not os.path.exists(path):
        raise DatasetError("MNIST file %s is missing; point --mnist_dir at a folder holding the "
                           "four MNIST IDX .gz files" % path)
    return path


def idx_images_to_float(images):
    """uint8 [N, H, W] -> float32 [N, H, W, 1] in [0, 1], rounded as TF1's reader rounded."""
    return (images.astype(np.float32) * np.float32(1.0 / 255.0))[..., None]


def load_mnist(mnist_dir, max_images=None):
    """The 55000-image MNIST training split that TF1's `read_data_sets` used.

    Args:
      mnist_dir: folder holding the MNIST IDX .gz files.
      max_images: keep only the first max_images of the split (no sampling).

    Returns:
      float32 array [N, 28, 28, 1] in [0, 1].
    """
    images = read_idx(_mnist_path(mnist_dir, MNIST_TRAIN_IMAGES))[MNIST_VALIDATION_SIZE:]
    if max_images is not None:
        images = images[:max_images]
    return idx_images_to_float(images)


def load_mnist_test(mnist_dir):
    """The 10000 MNIST test images (float32 [N, 28, 28, 1]) and their int labels."""
    images = read_idx(_mnist_path(mnist_dir, MNIST_TEST_IMAGES))
    labels = read_idx(_mnist_path(mnist_dir, MNIST_TEST_LABELS))
    return idx_images_to_float(images), labels.astype(np.int64)


def find_images(path):
    """Image files below `path`, recursively, by case-insensitive extension, in sorted order."""
    found = []
    for folder, _, names in os.walk(path):
        found.extend(os.path.join(folder, name) for name in names
                     if name.lower().endswith(IMAGE_EXTENSIONS))
    return sorted(found)


def load_image_folder(path, width, height, max_images=None, force_grayscale=False):
    """Loads an image folder into memory, as the TF1 code did (SPEC section 7).

    Images are bilinearly resized with Pillow (the TF1 code's resampler, so pixels agree) when
    their size differs from width x height, converted to one channel after resizing with
    force_grayscale, and scaled to [0, 1]. With more than max_images files, a random sample
    (Python's `random`) is kept.

    Returns:
      float32 array [N, height, width, C].
    """
    from PIL import Image  # Pillow comes with matplotlib; only folders need it.

    if not os.path.isdir(path):
        raise DatasetError("dataset folder %s does not exist; pass --dataset an existing folder "
                           "of .png/.jpg images" % path)
    paths = find_images(path)
    if not paths:
        raise DatasetError("dataset folder %s holds no .png/.jpg/.jpeg images" % path)
    if max_images is not None and len(paths) > max_images:
        paths = random.sample(paths, max_images)
    arrays = []
    for image_path in paths:
        with Image.open(image_path) as image:
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            if force_grayscale:
                image = image.convert("L")
            array = np.asarray(image)
        arrays.append(array[:, :, None] if array.ndim == 2 else array)
    return np.stack(arrays).astype(np.float32) / 255.0
