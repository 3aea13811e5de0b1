"""TensorBoard event files with the TF1 code's tags (SPEC section 9).

Scalars are queued and written in batches, not flushed every iteration as the TF1 code did;
`flush` (called at every epoch end and plot) and `close` (also on Ctrl-C) put them on disk.
"""
import tensorflow as tf

MAX_QUEUE = 10000
FLUSH_MILLIS = 60000


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
        """Writes one image [H, W, C] (uint8, or floats in [0, 1]) under `tag` at `step`."""
        with self._writer.as_default(step=step):
            tf.summary.image(tag, image[None], max_outputs=1)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()
