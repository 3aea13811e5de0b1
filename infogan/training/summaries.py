"""TensorBoard event files with the TF1 code's tags and images (docs/tf1_semantics.md §9).

Scalars are queued and written in batches, not flushed every iteration as the TF1 code did;
`flush` (called at every epoch end, plot and checkpoint) and `close` put them on disk.

TF1's `tf.summary.image` normalised every float image before encoding it; TF2's does not, so
float images are normalised here first (`tf1_image_pixels`), and the PNGs hold the TF1 pixels.
"""
import io

import numpy as np
import tensorflow as tf

MAX_QUEUE = 10000
FLUSH_MILLIS = 60000
_ZERO_THRESHOLD = 1e-6
_BAD_COLOR = np.array([255, 0, 0, 255], np.uint8)  # TF1's colour for non-finite pixels


def tf1_image_pixels(image):
    """The uint8 pixels TF1's `tf.summary.image` encoded for a float image [H, W, C].

    Each image is scaled on its own, in float32, and truncated to uint8: with no negative value,
    by 255 / max; otherwise by 127 / max(|min|, |max|), then offset by 128. A scale is 0 when
    that maximum is below 1e-6. Pixels with a non-finite channel are ignored for the range and
    painted red (its first C channels).

    Args:
      image: float array [H, W, C], C in 1, 3, 4.

    Returns:
      uint8 array [H, W, C].
    """
    image = np.asarray(image, np.float32)
    finite = np.all(np.isfinite(image), axis=-1)
    values = image[finite]
    low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
    if low < 0:
        largest = max(abs(low), abs(high))
        scale, offset = (0.0 if largest < _ZERO_THRESHOLD else 127.0 / largest), 128.0
    else:
        scale, offset = (0.0 if high < _ZERO_THRESHOLD else 255.0 / high), 0.0
    with np.errstate(invalid="ignore"):
        pixels = (image * np.float32(scale) + np.float32(offset)).astype(np.uint8)
    pixels[~finite] = _BAD_COLOR[:image.shape[-1]]
    return pixels


def decode_png(encoded):
    """The pixels [H, W, C] of an encoded PNG (C as encoded: 1, 3 or 4)."""
    from PIL import Image
    with Image.open(io.BytesIO(encoded)) as image:
        pixels = np.array(image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def read_logs(log_dir):
    """What TensorBoard shows of a log folder: every scalar and image, per step.

    TensorBoard's own reader is used, with its defaults: of the events a resumed run wrote
    again, the stale ones are dropped (orphaned-data purge).

    Returns:
      (scalars {step: {tag: float}}, images {step: {tag: uint8 pixels [H, W, C]}}).
    """
    from tensorboard.backend.event_processing import event_accumulator
    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    scalars, images = {}, {}
    for tag in accumulator.Tags()["tensors"]:
        for event in accumulator.Tensors(tag):
            value = tf.make_ndarray(event.tensor_proto)
            if value.dtype == object:  # an image summary: [width, height, PNG...]
                images.setdefault(event.step, {})[tag] = decode_png(value[2])
            else:
                scalars.setdefault(event.step, {})[tag] = float(value)
    return scalars, images


class SummaryLogger:
    """Writes scalars and images to one TensorBoard log folder."""

    def __init__(self, logdir):
        self.logdir = logdir
        self._writer = tf.summary.create_file_writer(logdir, max_queue=MAX_QUEUE,
                                                     flush_millis=FLUSH_MILLIS)

    def scalars(self, step, values):
        """Writes each (tag, value) of `values` at `step`."""
        with self._writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def image(self, step, tag, image):
        """Writes one image [H, W, C] under `tag` at `step`: uint8 as given, floats normalised
        as TF1's image summary did (`tf1_image_pixels`)."""
        if image.dtype != np.uint8:
            image = tf1_image_pixels(image)
        with self._writer.as_default(step=step):
            tf.summary.image(tag, image[None], max_outputs=1)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()
