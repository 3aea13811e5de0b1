"""Small data fixtures written by the tests: image files of mixed modes, broken files, IDX files."""
import gzip
import os
import struct
import zlib

import numpy as np
from PIL import Image

# name -> (Pillow mode, format); sizes differ from the 16x8 the tests resize to.
MIXED_FOLDER = {
    "rgb_a.png": ("RGB", "PNG"),
    "upper/RGB_B.PNG": ("RGB", "PNG"),
    "deep/er/rgb_c.jpg": ("RGB", "JPEG"),
    "palette.png": ("P", "PNG"),
    "gray.png": ("L", "PNG"),
    "gray.JPEG": ("L", "JPEG"),
    "alpha.png": ("RGBA", "PNG"),
}


def pixels(mode, size, seed):
    """Random pixels of `mode` ("L", "RGB", "RGBA") and size (width, height)."""
    channels = {"L": (), "RGB": (3,), "RGBA": (4,)}[mode]
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0]) + channels, dtype=np.uint8)


def write_image(path, mode, image_format="PNG", size=(20, 12), seed=0):
    """Writes a random image of Pillow `mode` (also "P", "LA", "1", "I;16") and returns its path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    base = {"P": "RGB", "LA": "RGBA", "1": "L", "I;16": "L"}.get(mode, mode)
    image = Image.fromarray(pixels(base, size, seed))
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
    elif mode == "P":
        image = image.quantize(16)
    elif mode != base:
        image = image.convert(mode)
    image.save(path, image_format)
    return path


def write_mixed_folder(root):
    """The MIXED_FOLDER files (4 RGB incl. a palette PNG, 2 grayscale, 1 RGBA) plus a text file."""
    paths = {}
    for seed, (name, (mode, image_format)) in enumerate(sorted(MIXED_FOLDER.items())):
        paths[name] = write_image(os.path.join(root, name), mode, image_format, seed=seed)
    with open(os.path.join(root, "notes.txt"), "w") as stream:
        stream.write("not an image")
    return paths


def write_unsorted_folder(root, count=24, mode="RGB", size=(20, 12)):
    """`count` small images in a tree of sub-folders, created in reverse-sorted order (tmpfs lists
    files newest first, ext4 and overlay in hash order: either way rarely sorted).

    Returns:
      the image paths in the TF1 code's order (each folder as os.walk yields it, its files as
      listed), or None when this file system happens to list them sorted.
    """
    names = [os.path.join(("b", "a/c", "a")[index % 3], "%02d.png" % index) for index in range(count)]
    for seed, name in enumerate(sorted(names, reverse=True)):
        write_image(os.path.join(root, name), mode, size=size, seed=seed)
    listed = [os.path.join(folder, name) for folder, _, files in os.walk(root) for name in files]
    return None if listed == sorted(listed) else listed


def write_undecodable_png(path, size=(20, 12)):
    """A PNG whose chunks and CRCs are valid (so `verify` passes) but whose pixel data is not zlib."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", size[0], size[1], 8, 2, 0, 0, 0)
    with open(path, "wb") as stream:
        stream.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"\x01" * 64)
                     + chunk(b"IEND", b""))
    return path


def truncate(path, fraction=0.6):
    """Cuts a file down to `fraction` of its bytes."""
    with open(path, "rb") as stream:
        content = stream.read()
    with open(path, "wb") as stream:
        stream.write(content[:int(len(content) * fraction)])
    return path


def write_idx(path, array):
    """Writes a uint8 array as a gzipped IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return path


def write_idx_folder(folder, num_train=5012, num_test=7, seed=0):
    """The four MNIST-named IDX files with random 28x28 images; returns the training images."""
    from infogan import data
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    train = rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8)
    write_idx(os.path.join(folder, data.MNIST_TRAIN_IMAGES), train)
    write_idx(os.path.join(folder, data.MNIST_TRAIN_LABELS), rng.integers(0, 10, num_train, dtype=np.uint8))
    write_idx(os.path.join(folder, data.MNIST_TEST_IMAGES), rng.integers(0, 256, (num_test, 28, 28),
                                                                         dtype=np.uint8))
    write_idx(os.path.join(folder, data.MNIST_TEST_LABELS), rng.integers(0, 10, num_test, dtype=np.uint8))
    return train
