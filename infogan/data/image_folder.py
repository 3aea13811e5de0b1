"""Image folders (`--dataset PATH`, docs/tf1_semantics.md §7), checked up front and streamed with tf.data.

The rows are the files in the TF1 code's listing order (`os.walk`, files as the file system lists
them), or sorted with `--image_order sorted`. The TF1 code decoded every image into one float32
array. Here the folder is scanned and every
file's header checked before training; batches are then decoded, resized and converted on the
fly by a tf.data pipeline, in the order of the training loop's NumPy permutation, so memory does
not grow with the number of images. Pixels are those of the TF1 code: Pillow's bilinear resize
to width x height when the size differs, `convert("L")` after resizing with --force_grayscale,
`float32(x) / 255`. `infogan.data.image_cache` keeps the decoded images on disk for later epochs
and runs.
"""
import collections
import os
import random
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

from infogan.data.dataset import SORTED_ORDER, TF1_ORDER, Dataset, DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
MODE_NAMES = {"L": "grayscale", "RGB": "RGB", "RGBA": "RGBA"}
_GRAY_MODES = ("1", "L", "I", "F")  # and "I;16", "I;16B", ... (prefix "I")
_ALPHA_MODES = ("RGBA", "LA", "La", "PA", "RGBa")
_JPEG_END = b"\xff\xd9"


def find_images(path, order=TF1_ORDER):
    """Image files below `path`, recursively, by case-insensitive extension.

    Args:
      path: the folder.
      order: TF1_ORDER, the TF1 code's: each folder as `os.walk` yields it (top-down), its files
        in the order the file system lists them (so it depends on the file system, and stays the
        same while the folder is unchanged); or SORTED_ORDER: the sorted paths, the same anywhere.

    Returns:
      a list of paths; index i is row i of the dataset.
    """
    found = []
    for folder, _, names in os.walk(path):
        found.extend(os.path.join(folder, name) for name in names
                     if name.lower().endswith(IMAGE_EXTENSIONS))
    return sorted(found) if order == SORTED_ORDER else found


def sample_paths(paths, max_images, seed):
    """A seeded random sample of max_images paths (all of them, in order, when there are fewer).

    Args:
      paths: the folder's files, in the dataset's order (the sample depends on it).
      max_images: None, or how many to keep.
      seed: seeds the sample (Python's `random.Random(seed).sample`).

    Returns:
      a list of paths.
    """
    if max_images is None or len(paths) <= max_images:
        return list(paths)
    return random.Random(seed).sample(paths, max_images)


def natural_mode(mode, info):
    """The mode ("L", "RGB" or "RGBA") an image of Pillow mode `mode` contributes to a folder."""
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in info):
        return "RGBA"
    if mode in _GRAY_MODES or mode.startswith("I;"):
        return "L"
    return "RGB"


def _jpeg_is_complete(path):
    with open(path, "rb") as stream:
        stream.seek(max(0, os.path.getsize(path) - 2))
        return stream.read(2) == _JPEG_END


def inspect_image(path):
    """Checks a file's integrity cheaply and returns its natural mode ("L", "RGB" or "RGBA").

    PNG chunks and CRCs are verified without decompressing (Pillow's `verify`); a JPEG that
    lacks its end marker (truncated) is decoded in full to decide.

    Raises:
      DatasetError: the file is not a readable image; the message gives the reason.
    """
    try:
        with Image.open(path) as image:
            mode, info, image_format, size = image.mode, dict(image.info), image.format, image.size
            image.verify()
        if min(size) <= 0:
            raise ValueError("empty image of size %dx%d" % size)
        if image_format == "JPEG" and not _jpeg_is_complete(path):
            with Image.open(path) as image:
                image.load()
    except Exception as error:  # Pillow raises many types for broken files; all mean "unusable"
        raise DatasetError("%s: %s" % (type(error).__name__, error)) from None
    return natural_mode(mode, info)


def choose_mode(mode_counts, force_grayscale):
    """The output mode of a folder and the reason, for the log.

    Args:
      mode_counts: {natural mode: number of images}.
      force_grayscale: the flag; it wins over the images' modes.

    Returns:
      (mode, reason): the majority's mode (ties go to more channels), or "L" with the flag.
    """
    if force_grayscale:
        return "L", "--force_grayscale"
    mode = max(mode_counts, key=lambda m: (mode_counts[m], CHANNELS[m]))
    return mode, "all images" if len(mode_counts) == 1 else "the majority; the others are converted"


def _to_standard_mode(image):
    """Converts modes other than L, RGB and RGBA to their natural mode, before any resizing."""
    if image.mode in CHANNELS:
        return image
    if image.mode == "F":
        return Image.fromarray(np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8))
    if image.mode.startswith("I"):  # 16-bit PNGs: keep the high byte, as 8-bit viewers do
        return Image.fromarray((np.clip(np.asarray(image), 0, 65535).astype(np.uint32) >> 8)
                               .astype(np.uint8))
    return image.convert(natural_mode(image.mode, image.info))


def decode_image(path, width, height, mode):
    """Decodes one file to uint8 [height, width, channels] exactly as the TF1 code did.

    Args:
      path: the image file.
      width, height: the --scale_dataset size; a bilinear resize happens only if it differs.
      mode: the folder's output mode, "L" (one channel, e.g. --force_grayscale), "RGB" or "RGBA".

    Returns:
      uint8 array [height, width, CHANNELS[mode]].
    """
    with Image.open(path) as image:
        image = _to_standard_mode(image)
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        if image.mode != mode:
            image = image.convert(mode)
        array = np.asarray(image)
    return array.reshape(height, width, CHANNELS[mode])


def to_float(images):
    """uint8 -> float32 in [0, 1], rounded as the TF1 code's `astype(float32) / 255.0`."""
    return images.astype(np.float32) / 255.0


class ImageFolderDataset(Dataset):
    """The checked files of a folder, decoded batch by batch by a tf.data pipeline.

    Attributes:
      paths: the image files; index i of a permutation is paths[i].
      width, height, mode: output size and mode ("L", "RGB" or "RGBA").
      cache_path: None, or a file of decoded uint8 images (see `infogan.data.image_cache`).
    """

    def __init__(self, name, paths, width, height, mode, cache_path=None):
        super().__init__(name, len(paths), (height, width, CHANNELS[mode]))
        self.paths, self.width, self.height, self.mode = list(paths), width, height, mode
        self.cache_path = cache_path
        self._failure = None

    def batches(self, permutation, batch_size):
        """See `Dataset.batches`; decoding runs in parallel and ahead of the training step.

        Raises:
          DatasetError: an image that passed the header check cannot be decoded.
        """
        pipeline = self.pipeline(permutation, batch_size, self._load_checked, (tf.float32, tf.bool))
        try:
            for batch, failed in pipeline.as_numpy_iterator():
                if failed:
                    raise DatasetError(self._failure)
                yield batch
        except tf.errors.OpError as error:
            raise DatasetError(self._failure or str(error).splitlines()[0]) from None

    def pipeline(self, permutation, batch_size, function, dtypes):
        """A tf.data pipeline: index batches of `permutation` -> `function(indices)` -> prefetch.

        Args:
          permutation: integer array of image indices.
          batch_size: indices per call of `function`.
          function: NumPy function of an int64 index array returning images [b, H, W, C], or a
            tuple whose first element is the images.
          dtypes: the tf dtype of the result, or a tuple of them.
        """
        shape = (None,) + self.image_shape

        def load(indices):
            outputs = tf.numpy_function(function, [indices], dtypes, stateful=False)
            if isinstance(dtypes, tuple):
                return (tf.ensure_shape(outputs[0], shape),) + tuple(outputs[1:])
            return tf.ensure_shape(outputs, shape)

        return (tf.data.Dataset.from_tensor_slices(np.asarray(permutation, dtype=np.int64))
                .batch(batch_size)
                .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .prefetch(tf.data.AUTOTUNE))

    def _load_checked(self, indices):
        """(float32 images, whether one failed): a failure is reported to the consumer, not
        raised inside the tf.data pipeline (TensorFlow would log its traceback first)."""
        if self.cache_path is not None:
            try:
                return to_float(self._read_cache(indices)), np.bool_(False)
            except DatasetError:
                return np.zeros((len(indices),) + self.image_shape, np.float32), np.bool_(True)
        failed = []

        def fail(row, path, error):
            del row
            self._failure = ("image %s cannot be decoded (%s: %s); replace it with a readable "
                             "copy, or pass --cache_dir to decode every image before training "
                             "(damaged ones are then skipped); removing it changes the dataset, "
                             "which a started run cannot resume on" % (
                                 path, type(error).__name__, error))
            failed.append(True)
        images = to_float(self._decode_rows(indices, fail))
        return images, np.bool_(bool(failed))

    def decode_or_blank(self, indices):
        """uint8 images of `indices`; an image that cannot be decoded comes back all 255 with a flag.

        Returns:
          (uint8 [b, H, W, C], bool [b] True where decoding failed).
        """
        failed = np.zeros(len(indices), dtype=bool)

        def flag(row, path, error):
            del path, error  # the caller warns and skips the file
            failed[row] = True
        images = self._decode_rows(indices, flag)
        images[failed] = 255
        return images, failed

    def _decode_rows(self, indices, on_error):
        images = np.empty((len(indices),) + self.image_shape, dtype=np.uint8)
        for row, index in enumerate(indices):
            try:
                images[row] = decode_image(self.paths[index], self.width, self.height, self.mode)
            except Exception as error:  # any failure of Pillow's: on_error decides
                on_error(row, self.paths[index], error)
        return images

    def _read_cache(self, indices):
        images = np.empty((len(indices),) + self.image_shape, dtype=np.uint8)
        row_bytes = images[0].nbytes
        with open(self.cache_path, "rb") as stream:
            for row, index in enumerate(indices):
                stream.seek(int(index) * row_bytes)
                if stream.readinto(images[row]) != row_bytes:
                    self._failure = "cache file %s is truncated; delete it" % self.cache_path
                    raise DatasetError(self._failure)
        return images


def print_warning(message):
    """Prints `warning: message` on stderr."""
    print("warning: %s" % message, file=sys.stderr, flush=True)


def check_images(paths, warn=print_warning):
    """Header-checks every file; warns about and drops the broken ones.

    Returns:
      (good paths, Counter of their natural modes).
    """
    good, modes = [], collections.Counter()
    for path in paths:
        try:
            modes[inspect_image(path)] += 1
        except DatasetError as error:
            warn("skipping %s, which is not a readable image (%s)" % (path, error))
            continue
        good.append(path)
    return good, modes


def describe(path, modes, mode, reason, skipped):
    """The log line saying how many images a folder gave and which channel count was chosen."""
    kinds = ", ".join("%d %s" % (count, MODE_NAMES[m]) for m, count in sorted(
        modes.items(), key=lambda item: (-item[1], item[0])))
    channels = CHANNELS[mode]
    line = "Image folder %s: %d images (%s)" % (path, sum(modes.values()), kinds)
    if skipped:
        line += ", %d skipped" % skipped
    return line + "; using %d channel%s (%s): %s" % (
        channels, "" if channels == 1 else "s", MODE_NAMES[mode], reason)


def open_image_folder(path, width, height, max_images=None, force_grayscale=False, seed=0,
                      name=None, log=print, warn=print_warning, order=TF1_ORDER):
    """Lists, samples and checks an image folder; nothing is decoded yet.

    Args:
      path: the folder; searched recursively for .png/.jpg/.jpeg files (any case).
      width, height: --scale_dataset.
      max_images: None, or the size of a random sample of the file list (in `order`).
      force_grayscale: one output channel whatever the files hold.
      seed: seeds the max_images sample.
      name: the dataset's name (default: the folder's base name).
      log, warn: where the summary line and the warnings about skipped files go.
      order: the row order, TF1_ORDER or SORTED_ORDER (see `find_images`).

    Returns:
      an `ImageFolderDataset`.

    Raises:
      DatasetError: no such folder, no images in it, or none of them readable.
    """
    if not os.path.isdir(path):
        raise DatasetError("dataset folder %s does not exist; pass --dataset an existing folder of "
                           ".png/.jpg images (or --dataset fashion_mnist)" % path)
    found = find_images(path, order)
    if not found:
        raise DatasetError("dataset folder %s holds no .png/.jpg/.jpeg images (searched recursively)"
                           % path)
    candidates = sample_paths(found, max_images, seed)
    paths, modes = check_images(candidates, warn)
    if not paths:
        raise DatasetError("none of the %d image files in %s is readable (e.g. %s); see the warnings "
                           "above" % (len(candidates), path, candidates[0]))
    mode, reason = choose_mode(modes, force_grayscale)
    log(describe(path, modes, mode, reason, len(candidates) - len(paths)))
    name = name or os.path.basename(os.path.normpath(path))
    return ImageFolderDataset(name, paths, width, height, mode)
