"""Convolutions whose filter gradient is one matrix product, for 16-bit products with `--fast`.

oneDNN's bfloat16 filter-gradient kernel (Conv2DBackpropFilter) runs no faster than its float32
one on the CPUs measured (docs/performance.md), while its bfloat16 matrix products run several
times faster. For a SAME convolution whose kernel size is a multiple of its stride S, the filter
gradient is one product: after an SxS space-to-depth of the padded input, kernel offset
(S a + r, S b + s) of output position (i, j) reads block (i + a, j + b), phase (r, s); shifting
the output gradient by (a, b) instead of the blocks, every shift side by side, gives

    gradient[(r, s, channel), (a, b, output)] = blocks^T @ shifted output gradients

over all positions: the same sums as the kernel's, added in another order. The forward pass and
the input gradient stay oneDNN's kernels.
"""
import tensorflow as tf

# The rewrite pays where the convolution's input has many channels (64 in the default networks:
# 25-30% faster per call); with one channel (the images) the kernel is faster.
MIN_CHANNELS = 16


def applies(input_shape, kernel_size, stride):
    """Whether the product form serves a SAME convolution of `input_shape` ([B, H, W, C], H and W
    known) with this square kernel and stride."""
    height, width, channels = input_shape[1:]
    return (kernel_size % stride == 0 and height is not None and width is not None
            and height % stride == 0 and width % stride == 0 and channels >= MIN_CHANNELS)


def filter_gradient(inputs, output_gradient, kernel_size, stride):
    """Conv2DBackpropFilter of a SAME, `stride` convolution of `inputs` ([B, H, W, C], H and W
    multiples of the stride) with a [K, K, C, O] kernel, K a multiple of the stride.

    Args:
      inputs: [B, H, W, C]; output_gradient: [B, H / S, W / S, O], the same dtype.

    Returns:
      [K, K, C, O] in the inputs' dtype.
    """
    _, height, width, channels = inputs.shape
    outputs = output_gradient.shape[-1]
    shifts = kernel_size // stride
    padding = [[0, 0]] + [_same_padding(size, kernel_size, stride) for size in (height, width)]
    blocks = tf.pad(inputs, padding + [[0, 0]])
    if stride > 1:
        blocks = tf.nn.space_to_depth(blocks, stride)
    shifted = tf.concat([tf.pad(output_gradient, [[0, 0], [a, shifts - 1 - a],
                                                  [b, shifts - 1 - b], [0, 0]])
                         for a in range(shifts) for b in range(shifts)], axis=-1)
    gradient = tf.matmul(tf.reshape(blocks, [-1, stride * stride * channels]),
                         tf.reshape(shifted, [-1, shifts * shifts * outputs]), transpose_a=True)
    gradient = tf.reshape(gradient, [stride, stride, channels, shifts, shifts, outputs])
    return tf.reshape(tf.transpose(gradient, [3, 0, 4, 1, 2, 5]),
                      [kernel_size, kernel_size, channels, outputs])


def _same_padding(size, kernel_size, stride):
    """[before, after] of TensorFlow's SAME padding along an axis of `size` (a stride multiple)."""
    total = max((size // stride - 1) * stride + kernel_size - size, 0)
    return [total // 2, total - total // 2]


def conv2d(inputs, kernel, stride):
    """tf.nn.conv2d(inputs, kernel, stride, "SAME") whose filter gradient is `filter_gradient`
    (the input gradient is TensorFlow's own, Conv2DBackpropInput)."""
    @tf.custom_gradient
    def convolve(x, w):
        def gradient(upstream):
            return (tf.nn.conv2d_transpose(upstream, w, tf.shape(x), stride, "SAME"),
                    filter_gradient(x, upstream, w.shape[0], stride))
        return tf.nn.conv2d(x, w, stride, "SAME"), gradient
    return convolve(inputs, kernel)


def conv2d_transpose(inputs, kernel, output_shape, stride):
    """tf.nn.conv2d_transpose(inputs, kernel, output_shape, stride, "SAME") whose filter gradient
    is `filter_gradient` of the output gradient (the transposed convolution's input) and `inputs`
    (the input gradient is TensorFlow's own, Conv2D)."""
    @tf.custom_gradient
    def convolve(x, w):
        def gradient(upstream):
            height, width = x.shape[1] * stride, x.shape[2] * stride
            upstream = tf.ensure_shape(upstream, [None, height, width, w.shape[2]])
            return (tf.nn.conv2d(upstream, w, stride, "SAME"),
                    filter_gradient(upstream, x, w.shape[0], stride))
        return tf.nn.conv2d_transpose(x, w, output_shape, stride, "SAME"), gradient
    return convolve(inputs, kernel)
