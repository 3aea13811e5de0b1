"""The filter gradient as one matrix product (`--fast` with bfloat16 products) is the
convolution kernels' gradient, summed in another order."""
import numpy as np
import pytest
import tensorflow as tf

from infogan.model import conv_gradients


def _gradients(forward, x, w, upstream):
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = forward(x, w)
    return [y] + tape.gradient(y, [x, w], output_gradients=upstream)


def _relative(got, want):
    want = np.asarray(want, np.float64)
    return np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max()


@pytest.mark.parametrize("shape,kernel_size,stride,outputs", [
    ((3, 14, 14, 16), 4, 2, 8), ((2, 6, 8, 16), 3, 1, 4), ((2, 12, 6, 16), 6, 3, 5)])
def test_conv_filter_gradient_as_product_matches_the_kernels(shape, kernel_size, stride, outputs):
    """Forward and input gradient are the kernels' own; the filter gradient agrees to float32
    rounding of sums of a few hundred terms."""
    rng = np.random.RandomState(0)
    x = tf.constant(rng.normal(size=shape), tf.float32)
    w = tf.constant(rng.normal(size=(kernel_size, kernel_size, shape[-1], outputs)), tf.float32)
    upstream = tf.constant(rng.normal(size=(shape[0], shape[1] // stride, shape[2] // stride,
                                            outputs)), tf.float32)
    assert conv_gradients.applies(x.shape, kernel_size, stride)
    want = _gradients(lambda x, w: tf.nn.conv2d(x, w, stride, "SAME"), x, w, upstream)
    got = _gradients(lambda x, w: conv_gradients.conv2d(x, w, stride), x, w, upstream)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert _relative(got[2], want[2]) < 1e-5


def test_transposed_conv_filter_gradient_as_product_matches_the_kernels():
    rng = np.random.RandomState(1)
    x = tf.constant(rng.normal(size=(3, 7, 7, 32)), tf.float32)
    w = tf.constant(rng.normal(size=(4, 4, 16, 32)), tf.float32)
    upstream = tf.constant(rng.normal(size=(3, 14, 14, 16)), tf.float32)
    shape = tf.constant([3, 14, 14, 16])
    want = _gradients(lambda x, w: tf.nn.conv2d_transpose(x, w, shape, 2, "SAME"), x, w, upstream)
    got = _gradients(lambda x, w: conv_gradients.conv2d_transpose(x, w, shape, 2), x, w, upstream)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert _relative(got[2], want[2]) < 1e-5


def test_the_product_form_is_for_inputs_of_many_channels_and_fitting_shapes():
    assert not conv_gradients.applies((None, 28, 28, 1), 4, 2)  # the images: the kernel is faster
    assert not conv_gradients.applies((None, 15, 14, 64), 4, 2)  # not a multiple of the stride
    assert not conv_gradients.applies((None, 14, 14, 64), 5, 2)  # kernel not a stride multiple
    assert conv_gradients.applies((None, 14, 14, 64), 4, 2)
