"""TensorBoard images as the TF1 code wrote them: float images normalised as TF1's image summary
normalised them, uint8 images as given; and reading logs back as TensorBoard shows them."""
import numpy as np
import pytest
import tensorflow as tf

from infogan.training.summaries import SummaryLogger, decode_png, read_logs, tf1_image_pixels

tf1 = tf.compat.v1


def tf1_summary_pixels(image):
    """What TF1's own `tf.summary.image` op encodes for a float image [H, W, C]."""
    with tf.Graph().as_default():
        summary = tf1.summary.image("x", tf.constant(image[None]), max_outputs=1)
        with tf1.Session() as session:
            value = tf1.Summary.FromString(session.run(summary)).value[0]
    return decode_png(value.image.encoded_image_string)


def images():
    rng = np.random.RandomState(0)
    nan = rng.rand(6, 5, 3).astype(np.float32)
    nan[2, 3, 1] = np.nan
    return {"in [0, 1)": rng.rand(28, 28, 1) * 0.7, "negative": rng.randn(9, 7, 1),
            "all negative": -rng.rand(4, 4, 1), "rgb": rng.rand(6, 5, 3) * 3,
            "near zero": np.full((3, 3, 1), 1e-7), "non-finite pixel": nan}


@pytest.mark.parametrize("name", sorted(images()))
def test_float_images_get_the_tf1_summary_pixels(name):
    image = images()[name].astype(np.float32)
    pixels = tf1_image_pixels(image)
    assert pixels.dtype == np.uint8 and pixels.shape == image.shape
    np.testing.assert_array_equal(pixels, tf1_summary_pixels(image))


def test_logger_writes_tf1_pixels_and_reads_back(tmp_path):
    rng = np.random.RandomState(1)
    floats = (rng.rand(8, 8, 1) * 0.6).astype(np.float32)  # stretched: max becomes 255
    strip = rng.randint(0, 256, size=(4, 10, 3)).astype(np.uint8)  # written as given
    logger = SummaryLogger(str(tmp_path))
    logger.scalars(3, {"loss": 0.25})
    logger.image(3, "fake_images/image/0", floats)
    logger.image(3, "category_0/image", strip)
    logger.close()
    scalars, pictures = read_logs(str(tmp_path))
    assert scalars == {3: {"loss": 0.25}}
    np.testing.assert_array_equal(pictures[3]["fake_images/image/0"], tf1_summary_pixels(floats))
    assert pictures[3]["fake_images/image/0"].max() == 255
    np.testing.assert_array_equal(pictures[3]["category_0/image"], strip)
