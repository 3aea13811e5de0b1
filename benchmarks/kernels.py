"""What bfloat16 buys each matrix product and convolution of a training iteration.

Times, one at a time and with oneDNN's kernels (as `--fast` runs them), every kind of product
that the default networks compute in an iteration: the forward product, the input gradient and
the weight gradient of D's and Q's and G's large fc layers and of the two convolution shapes (D's
convs; G's deconvs are the same convolutions transposed). Each runs in float32 and in bfloat16;
the table gives the median milliseconds per call (tf.function call overhead included), the
multiply-accumulates, and the bfloat16 speed-up. One more row per convolution times its filter
gradient as one matrix product (`model/conv_gradients.py`, checked against the kernel before it
is timed), which `--fast` with bfloat16 runs for the convolution of 64 channels.

    python benchmarks/kernels.py --batch_size 64 --repeats 30
"""
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from infogan.model.execution import ExecutionPolicy  # noqa: E402

ExecutionPolicy.from_settings(fast=True).prepare_process()  # oneDNN, before TensorFlow loads

from infogan.model import conv_gradients  # noqa: E402  (loads TensorFlow)

flags.DEFINE_integer("batch_size", 64, "Batch size of the products (the training batch).")
flags.DEFINE_integer("repeats", 30, "Timed calls per product and precision (median reported).")
FLAGS = flags.FLAGS

FC_LAYERS = (  # name, rows per image, inputs, outputs
    ("D fc 1024 (on each of 7x7 positions)", 49, 128, 1024),
    ("Q fc 128 (on D's 50176 features)", 1, 50176, 128),
    ("G fc 7x7x128", 1, 1024, 6272),
)
CONV_LAYERS = (  # name, input [H, W, C], output channels; 4x4 kernels, stride 2, SAME
    ("conv 14x14x64 -> 7x7x128 (D conv 2, G deconv 1)", (14, 14, 64), 128),
    ("conv 28x28x1 -> 14x14x64 (D conv 1, G deconv 2)", (28, 28, 1), 64),
)
KERNEL, STRIDE = 4, 2
PRODUCT_FORM = "filter gradient as one matrix product (--fast, bfloat16: 64 channels only)"


def _product(tf, function, shapes):
    """make(dtype) -> (tf.function of `function`, random inputs of `shapes` in that dtype)."""
    def make(dtype):
        return tf.function(function), [tf.cast(tf.random.normal(shape), dtype) for shape in shapes]
    return make


def fc_products(tf, batch_size):
    """[(name, kind, macs, make(dtype) -> (function, args))] for the fc layers' three products."""
    def matmul(transpose_a=False, transpose_b=False):
        return lambda a, b: tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    products = []
    for name, positions, inputs, outputs in FC_LAYERS:
        rows = batch_size * positions
        macs = rows * inputs * outputs
        products += [
            (name, "matmul forward", macs,
             _product(tf, matmul(), [[rows, inputs], [inputs, outputs]])),
            (name, "matmul input gradient", macs,
             _product(tf, matmul(transpose_b=True), [[rows, outputs], [inputs, outputs]])),
            (name, "matmul weight gradient", macs,
             _product(tf, matmul(transpose_a=True), [[rows, inputs], [rows, outputs]])),
        ]
    return products


def conv_filter_gradient(tf, x, dy):
    """Conv2DBackpropFilter of a 4x4, stride-2, SAME convolution of `x`, output gradient `dy`."""
    return tf.compat.v1.nn.conv2d_backprop_filter(
        x, [KERNEL, KERNEL, x.shape[-1], dy.shape[-1]], dy, [1, STRIDE, STRIDE, 1], "SAME")


def conv_products(tf, batch_size):
    """[(name, kind, macs, make(dtype) -> (function, args))] for the convolutions' three
    products, and their filter gradients as one matrix product (conv_gradients)."""
    def forward(x, w):
        return tf.nn.conv2d(x, w, STRIDE, "SAME")

    def input_gradient(w, dy):
        input_shape = [dy.shape[0], dy.shape[1] * STRIDE, dy.shape[2] * STRIDE, w.shape[2]]
        return tf.nn.conv2d_transpose(dy, w, input_shape, STRIDE, "SAME")

    products = []
    for index, (name, (height, width, channels), outputs) in enumerate(CONV_LAYERS):
        input_shape = [batch_size, height, width, channels]
        output_shape = [batch_size, height // STRIDE, width // STRIDE, outputs]
        filter_shape = [KERNEL, KERNEL, channels, outputs]
        positions = batch_size * (height // STRIDE) * (width // STRIDE)
        macs = positions * KERNEL * KERNEL * channels * outputs
        products += [
            (name, "conv forward", macs, _product(tf, forward, [input_shape, filter_shape])),
            (name, "conv input gradient", macs,
             _product(tf, input_gradient, [filter_shape, output_shape])),
            (name, "conv filter gradient", macs,
             _product(tf, lambda x, dy: conv_filter_gradient(tf, x, dy),
                      [input_shape, output_shape])),
        ]
        products.append((name, PRODUCT_FORM, macs, _product(
            tf, lambda x, dy: conv_gradients.filter_gradient(x, dy, KERNEL, STRIDE),
            [input_shape, output_shape])))
    return products


def check_product_form(tf, batch_size):
    """Largest |difference| between the filter gradient as one product (conv_gradients, what
    `--fast` with bfloat16 runs) and Conv2DBackpropFilter's, relative to the largest entry, in
    float32."""
    (_, (height, width, channels), outputs) = CONV_LAYERS[0]
    x = tf.random.normal([batch_size, height, width, channels])
    dy = tf.random.normal([batch_size, height // STRIDE, width // STRIDE, outputs])
    expected = conv_filter_gradient(tf, x, dy)
    actual = conv_gradients.filter_gradient(x, dy, KERNEL, STRIDE)
    return float(tf.reduce_max(tf.abs(actual - expected)) / tf.reduce_max(tf.abs(expected)))


def median_ms(function, args, repeats):
    """Median wall milliseconds of one call, after two untimed calls."""
    for _ in range(2):
        function(*args).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv):
    del argv
    import tensorflow as tf
    error = check_product_form(tf, FLAGS.batch_size)
    if error > 1e-5:
        sys.exit("the product-form filter gradient differs from Conv2DBackpropFilter: %.3g" % error)
    print("batch %d, %d calls each, oneDNN on, %d CPU threads visible; product-form filter "
          "gradient checked (relative difference %.1e)" % (FLAGS.batch_size, FLAGS.repeats,
                                                          os.cpu_count(), error))
    print("| layer | product | GMAC | float32 ms | bfloat16 ms | bfloat16 speed-up |")
    print("|---|---|---|---|---|---|")
    totals = {}
    products = fc_products(tf, FLAGS.batch_size) + conv_products(tf, FLAGS.batch_size)
    for name, kind, macs, build in products:
        times = [median_ms(*build(dtype), FLAGS.repeats) for dtype in (tf.float32, tf.bfloat16)]
        print("| %s | %s | %.3f | %.2f | %.2f | %.2fx |" % (name, kind, macs / 1e9, times[0],
                                                            times[1], times[0] / times[1]))
        if kind != PRODUCT_FORM:
            sums = totals.setdefault(kind, [0.0, 0.0])
            sums[0], sums[1] = sums[0] + times[0], sums[1] + times[1]
    print()
    print("| product | float32 ms (sum) | bfloat16 ms (sum) | bfloat16 speed-up |")
    print("|---|---|---|---|")
    for kind, (float32_ms, bfloat16_ms) in totals.items():
        print("| %s | %.2f | %.2f | %.2fx |" % (kind, float32_ms, bfloat16_ms,
                                                 float32_ms / bfloat16_ms))


if __name__ == "__main__":
    app.run(main)
