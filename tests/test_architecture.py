"""Architecture strings: parsing, arithmetic, shapes, parameter counts, debug lines, errors."""
import numpy as np
import pytest
import tensorflow as tf

from infogan.model import architecture, networks
from infogan.model.config import DEFAULT_DISCRIMINATOR, DEFAULT_GENERATOR, ModelConfig
from infogan.model.models import build_models


@pytest.mark.parametrize("text, value", [
    ("7x7x128", 6272), ("8-2-1", 7), ("2+3x4", 14), ("10/3", 3), ("4*4", 16), ("64", 64),
    ("2*3-1", 5)])  # split at the first '-' before any '*': (2*3) - 1
def test_parse_math_splits_like_tf1(text, value):
    assert architecture.parse_math(text) == value


def test_parse_math_division_splits_at_first_slash():
    assert architecture.parse_math("12/6/3") == 12 // (6 // 3)
    with pytest.raises(ValueError, match="division by zero"):
        architecture.parse_math("12/2/3")  # 12 // (2 // 3) = 12 // 0


def test_parse_default_strings():
    specs = architecture.parse_architecture(DEFAULT_GENERATOR)
    assert [s.kind for s in specs] == ["fc", "fc", "reshape", "deconv", "deconv"]
    assert specs[1].num_outputs == 6272 and specs[2].shape == (7, 7, 128)
    assert specs[4].activation == "sigmoid" and specs[0].activation == "relu"
    conv = architecture.parse_architecture(DEFAULT_DISCRIMINATOR)[0]
    assert (conv.kernel_size, conv.stride, conv.num_outputs, conv.activation) == (4, 2, 64, "lrelu")


@pytest.mark.parametrize("description, fragment", [
    ("fc:1024,pool:2", "Could not parse layer description: 'pool:2' (layer 1 of"),
    ("conv:4:2", "conv takes kernel, stride and filters"),
    ("fc:10:bn:nobn", "at most an activation and one of :bn / :nobn"),
    ("fc:10:relu:tanh", "at most an activation and one of :bn / :nobn"),
    ("fc:10:swish", "unknown activation 'swish'"),
    ("fc:0", "is not positive"),
    ("fc:ten", "'ten' is not an integer expression"),
    ("", "empty"),
])
def test_bad_strings_name_the_token(description, fragment):
    with pytest.raises(architecture.ArchitectureError) as error:
        architecture.parse_architecture(description)
    assert fragment in str(error.value)
    assert isinstance(error.value, ValueError)


def test_shape_inference_and_errors():
    gen = architecture.parse_architecture(DEFAULT_GENERATOR)
    assert architecture.infer_output_shapes(gen, (74,))[-1] == (28, 28, 1)
    disc = architecture.parse_architecture("conv:3:2:5,fc:7")
    assert architecture.infer_output_shapes(disc, (7, 7, 3)) == [(4, 4, 5), (4, 4, 7)]
    with pytest.raises(architecture.ArchitectureError, match="reshapes to .* 6272 values"):
        architecture.infer_output_shapes(architecture.parse_architecture("fc:1000,reshape:7:7:128"), (5,))
    with pytest.raises(architecture.ArchitectureError, match="needs a \\[height, width, channels\\]"):
        architecture.infer_output_shapes(architecture.parse_architecture("conv:3:1:2"), (10,))


def test_debug_lines(capsys):
    networks.Generator(DEFAULT_GENERATOR, debug=True)
    networks.Discriminator(DEFAULT_DISCRIMINATOR, debug=True)
    assert capsys.readouterr().out.splitlines() == [
        "generator architecture",
        "Fully connected with num_outputs=1024 followed by relu",
        "Fully connected with num_outputs=6272 followed by relu",
        "Reshape to [7, 7, 128]",
        "Deconvolution with nkernels=4, stride=2, num_outputs=64 followed by relu",
        "Deconvolution with nkernels=4, stride=2, num_outputs=1 followed by sigmoid",
        "",
        "discriminator architecture",
        "Convolution with nkernels=4, stride=2, num_outputs=64 followed by lrelu",
        "Convolution with nkernels=4, stride=2, num_outputs=128 followed by lrelu",
        "Fully connected with num_outputs=1024 followed by lrelu",
        "",
    ]


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_default_networks_shapes_and_parameter_counts():
    models = build_models(ModelConfig(), (28, 28, 1))
    images = models.generator(tf.zeros([3, 74]), training=False)
    assert images.shape == (3, 28, 28, 1)
    out = models.discriminator(images, training=False)
    assert out["prob"].shape == (3, 1) and out["hidden"].shape == (3, 50176)
    assert models.q_network(out["hidden"]).shape == (3, 12)
    assert _count(models.generator.trainable_variables) == (
        74 * 1024 + 1024 + 1024 * 6272 + 6272 + 4 * 4 * 64 * 128 + 2 * 64 + 4 * 4 * 1 * 64 + 1)
    assert _count(models.discriminator.trainable_variables) == (
        4 * 4 * 1 * 64 + 2 * 64 + 4 * 4 * 64 * 128 + 2 * 128 + 128 * 1024 + 1024 + 50176 + 1)
    assert _count(models.q_network.trainable_variables) == 50176 * 128 + 128 + 128 * 12 + 12
    # Batch norm layers carry no bias; the last generator layer and prob_projection do.
    names = [v.path for v in models.generator.variables + models.discriminator.variables]
    assert "generator/layer_3/biases" in names and "generator/layer_1/biases" not in names
    assert "discriminator/layer_0/batch_norm/gamma" in names  # BN on the first D layer too
    assert not any("gamma" in n for n in names if "BatchNorm" in n)  # fc BN has no gamma


def test_layer_semantics_same_padding_fc_on_last_axis_lrelu():
    net = networks.Network("conv:3:2:5:identity,fc:4:lrelu", use_batch_norm=False)
    x = tf.random.normal([2, 7, 7, 3])
    out = net(x)
    assert out.shape == (2, 4, 4, 4)  # SAME: ceil(7/2) = 4; fc keeps rank 4
    conv, dense = net.layer_objects
    pre = tf.nn.conv2d(x, conv.kernel, 2, "SAME") + conv.bias
    linear = tf.tensordot(pre, dense.kernel, 1) + dense.bias
    np.testing.assert_allclose(out, np.maximum(linear, 0.01 * linear), rtol=1e-5, atol=1e-5)
    deconv = networks.Network("deconv:4:2:3", use_batch_norm=False)
    assert deconv(tf.zeros([1, 5, 5, 2])).shape == (1, 10, 10, 3)
    assert deconv.layer_objects[0].kernel.shape == (4, 4, 3, 2)  # [K, K, out, in]


def test_glorot_uniform_limits():
    net = networks.Network("fc:300", use_batch_norm=False)
    net(tf.zeros([1, 200]))
    weights = net.layer_objects[0].kernel.numpy()
    limit = np.sqrt(6.0 / 500)
    assert np.abs(weights).max() <= limit and np.abs(weights).max() > 0.95 * limit
    assert np.all(net.layer_objects[0].bias.numpy() == 0)


def test_a_layer_can_choose_its_batch_norm():
    """`:nobn` / `:bn` override --use_batch_norm and the generator's bare last layer."""
    specs = architecture.parse_architecture("conv:4:2:64:lrelu:nobn,conv:4:2:128:lrelu,fc:1024:bn:lrelu")
    assert [spec.batch_norm for spec in specs] == [False, None, True]
    assert specs[0].describe().endswith("followed by lrelu (no batch norm)")
    assert specs[1].describe().endswith("followed by lrelu")  # TF1's line, unchanged
    discriminator = networks.Discriminator("conv:4:2:8:lrelu:nobn,conv:4:2:8:lrelu,reshape:392,fc:16:lrelu",
                                  use_batch_norm=True)
    discriminator(np.zeros((2, 28, 28, 1), np.float32))
    layers = discriminator.layer_objects
    assert layers[0].batch_norm is None and layers[0].bias is not None  # a bias instead
    assert layers[1].batch_norm is not None and layers[3].batch_norm is not None
    generator = networks.Generator("fc:16,fc:7x7x4:nobn,reshape:7:7:4,deconv:4:2:1:sigmoid:bn",
                          use_batch_norm=True)
    generator(np.zeros((2, 5), np.float32))
    assert [layer.batch_norm is not None for layer in generator.layer_objects if layer] == [
        True, False, True]
