"""TensorBoard event files with the TF1 code's tags and images (docs/tf1_semantics.md §9).

Scalars are queued and written in batches, not flushed every iteration as the TF1 code did;
`flush` (called at every plot and checkpoint) and `close` put them on disk. Each training session
starts with a `SessionLog.START` event at its first step: TensorBoard then drops whatever an
earlier, interrupted session of the run had written from that step on, so a resumed run shows
every step once.

TF1's `tf.summary.image` normalised every float image before encoding it; TF2's does not, so
float images are normalised here first (`tf1_image_pixels`), and the PNGs hold the TF1 pixels.
"""
import io
import logging
import time

import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import event_pb2

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


def _tensorboard_events(log_dir):
    """{tag: [event, ...]} as TensorBoard's own reader loads the folder, with its defaults: of the
    events a resumed run wrote again, the stale ones are dropped (orphaned-data purge)."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as accumulators
    accumulator = accumulators.EventAccumulator(
        log_dir, size_guidance={accumulators.TENSORS: 0})  # 0: keep every event
    tensorboard_logger = logging.getLogger("tensorboard")
    level = tensorboard_logger.level
    tensorboard_logger.setLevel(logging.ERROR)  # its notice of each purge
    try:
        accumulator.Reload()
    finally:
        tensorboard_logger.setLevel(level)
    return {tag: accumulator.Tensors(tag) for tag in accumulator.Tags()["tensors"]}


def read_logs(log_dir):
    """What TensorBoard shows of a log folder: every scalar and image, per step.

    Returns:
      (scalars {step: {tag: float}}, images {step: {tag: uint8 pixels [H, W, C]}}).
    """
    scalars, images = {}, {}
    for tag, events in _tensorboard_events(log_dir).items():
        for event in events:
            value = tf.make_ndarray(event.tensor_proto)
            if value.dtype == object:  # an image summary: [width, height, PNG...]
                images.setdefault(event.step, {})[tag] = decode_png(value[2])
            else:
                scalars.setdefault(event.step, {})[tag] = float(value)
    return scalars, images


def count_duplicate_steps(log_dir):
    """How many (tag, step) pairs TensorBoard would show more than once (0 when each step is
    shown once)."""
    return sum(len(events) - len({event.step for event in events})
               for events in _tensorboard_events(log_dir).values())


class SummaryLogger:
    """Writes scalars and images to one TensorBoard log folder."""

    def __init__(self, logdir):
        self.logdir = logdir
        self._writer = tf.summary.create_file_writer(logdir, max_queue=MAX_QUEUE,
                                                     flush_millis=FLUSH_MILLIS)

    def start_session(self, step):
        """Writes the SessionLog.START event that makes TensorBoard purge the events of earlier
        sessions from `step` on (its default `purge_orphaned_data`)."""
        event = event_pb2.Event(wall_time=time.time(), step=int(step), session_log=event_pb2.SessionLog(
            status=event_pb2.SessionLog.START))
        # TF2's summary API writes no raw events; ImportEvent does, into this writer's file.
        tf.raw_ops.ImportEvent(writer=self._writer._resource, event=event.SerializeToString())  # noqa: SLF001

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
