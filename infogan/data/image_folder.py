"""Image folders (`--dataset PATH`, docs/tf1_semantics.md §7), streamed with tf.data.

The TF1 code decoded every image into one float32 array. Here the folder is scanned and every
file's header checked before training (`infogan.data.image_scan`, without TensorFlow); batches
are then decoded, resized and converted on the fly by a tf.data pipeline, in the order of the
training loop's NumPy permutation, so memory does not grow with the number of images. Pixels are
those of the TF1 code: Pillow's bilinear resize to width x height when the size differs,
`convert("L")` after resizing with --force_grayscale, `float32(x) / 255`.
`infogan.data.image_cache` keeps the decoded images on disk for later epochs and runs.
"""
import numpy as np
import tensorflow as tf
from PIL import Image

from infogan.data.dataset import TF1_ORDER, Dataset, DatasetError
from infogan.data.image_scan import CHANNELS, natural_mode, print_warning, scan_image_folder


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


def image_folder_dataset(scan, log=print, warn=print_warning):
    """Opens a scanned folder: logs its warnings and summary line; nothing is decoded yet.

    Args:
      scan: a `FolderScan` (`infogan.data.image_scan.scan_image_folder`); not listed again.
      log, warn: where the summary line and the warnings about skipped files go.

    Returns:
      an `ImageFolderDataset`.
    """
    for warning in scan.warnings:
        warn(warning)
    log(scan.summary)
    return ImageFolderDataset(scan.name, scan.paths, scan.width, scan.height, scan.mode)


def open_image_folder(path, width, height, max_images=None, force_grayscale=False, seed=0,
                      name=None, log=print, warn=print_warning, order=TF1_ORDER):
    """Scans an image folder (`scan_image_folder`, whose arguments these are) and opens it.

    Args:
      log, warn: where the summary line and the warnings about skipped files go.

    Returns:
      an `ImageFolderDataset`.

    Raises:
      DatasetError: no such folder, no images in it, or none of them readable.
    """
    scan = scan_image_folder(path, width, height, max_images, force_grayscale, seed, name, order,
                             warn)
    return image_folder_dataset(scan, log, warn)
