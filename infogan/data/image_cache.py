"""On-disk cache of a folder's decoded images (`--cache_dir`), built before training.

A cache is two files in the cache folder, named after the dataset and a key:
`<name>-<key>.u8`, the images as raw uint8 rows [H, W, C] in file-list order, and
`<name>-<key>.json`, the list of images it holds. The key hashes what the pixels depend on
(each file's path, size and modification time, the output size and mode), so a changed folder or
different flags get a new cache and a stale one is never read. Building it decodes every image,
so an image that passes the header check but cannot be decoded is skipped, with a warning,
before training starts. Rows are read with `seek` + `readinto`, not memory-mapped, so resident
memory stays flat however large the cache is.
"""
import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from infogan.data.dataset import DatasetError
from infogan.data.image_folder import ImageFolderDataset
from infogan.data.image_scan import print_warning

CACHE_VERSION = 1
BUILD_BATCH = 256


def cache_key(dataset):
    """A 16-hex-digit digest of the files (path, size, mtime) and of the output size and mode."""
    digest = hashlib.sha256(json.dumps(
        [CACHE_VERSION, dataset.width, dataset.height, dataset.mode]).encode())
    for path in dataset.paths:
        stat = os.stat(path)
        digest.update(json.dumps([os.path.abspath(path), stat.st_size, stat.st_mtime_ns]).encode())
    return digest.hexdigest()[:16]


def cache_files(cache_dir, dataset):
    """(data file, index file) paths of `dataset`'s cache in `cache_dir`."""
    stem = os.path.join(cache_dir, "%s-%s" % (dataset.name or "images", cache_key(dataset)))
    return stem + ".u8", stem + ".json"


def _read_index(data_path, index_path, dataset):
    """The cached file list, or None when the cache is absent or incomplete."""
    try:
        with open(index_path) as stream:
            index = json.load(stream)
    except (OSError, ValueError):
        return None
    row_bytes = int(np.prod(dataset.image_shape))
    if (index.get("version") != CACHE_VERSION or not os.path.isfile(data_path)
            or os.path.getsize(data_path) != len(index["paths"]) * row_bytes):
        return None
    return index["paths"]


def _write_atomically(path, write):
    temporary = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(temporary, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def build_cache(dataset, data_path, index_path, warn=print_warning):
    """Decodes every image of `dataset` into `data_path` and lists the kept ones in `index_path`.

    Returns:
      the list of images written (the ones that decoded).

    Raises:
      DatasetError: no image could be decoded (nothing is left on disk then).
    """
    kept = []

    def write_rows(stream):
        order = np.arange(dataset.num_images)
        pipeline = dataset.pipeline(order, BUILD_BATCH, dataset.decode_or_blank,
                                    (tf.uint8, tf.bool))
        for start, (images, failed) in zip(range(0, dataset.num_images, BUILD_BATCH),
                                           pipeline.as_numpy_iterator()):
            for offset in range(len(images)):
                path = dataset.paths[start + offset]
                if failed[offset]:
                    warn("skipping %s, which cannot be decoded" % path)
                else:
                    stream.write(images[offset].tobytes())
                    kept.append(path)
        if not kept:
            raise DatasetError("none of the %d images of %s can be decoded" % (
                dataset.num_images, dataset.name))

    _write_atomically(data_path, write_rows)
    index = json.dumps({"version": CACHE_VERSION, "image_shape": list(dataset.image_shape),
                        "paths": kept}).encode()
    _write_atomically(index_path, lambda stream: stream.write(index))
    return kept


def cached(dataset, cache_dir, log=print, warn=print_warning):
    """`dataset` reading from its cache in `cache_dir`, which is built first if needed.

    Args:
      dataset: an `ImageFolderDataset` from `open_image_folder`.
      cache_dir: the cache folder (created if missing).
      log, warn: where the cache line and the warnings about undecodable files go.

    Returns:
      an `ImageFolderDataset` with `cache_path` set, holding the images that decoded.

    Raises:
      DatasetError: no cache of these images there, and the folder is not writable.
    """
    os.makedirs(cache_dir, exist_ok=True)
    data_path, index_path = cache_files(cache_dir, dataset)
    paths = _read_index(data_path, index_path, dataset)
    if paths is None:
        if not os.access(cache_dir, os.W_OK | os.X_OK):
            raise DatasetError("--cache_dir %s holds no cache of these images and is not writable, "
                               "so none can be built; pass a folder you can write to" % cache_dir)
        log("Building the image cache %s (%d images)" % (data_path, dataset.num_images))
        paths = build_cache(dataset, data_path, index_path, warn)
    else:
        log("Reading images from the cache %s" % data_path)
    return ImageFolderDataset(dataset.name, paths, dataset.width, dataset.height, dataset.mode,
                              cache_path=data_path)
