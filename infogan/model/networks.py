"""Generator, discriminator and Q network built from architecture strings (docs/tf1_semantics.md §2, §4).

In TF1 a `variable_scope` held a network's variables between calls; here a Keras layer object
does. The original functions keep their roles and take that object as first argument:

    generator = Generator(description)            # was: variable_scope("generator")
    images = generator_forward(generator, z, is_training=True)
"""
import keras
import numpy as np
import tensorflow as tf

from infogan.model import conv_gradients, weight_copies
from infogan.model.architecture import describe_network, parse_architecture
from infogan.model.batch_norm import ConvBatchNorm, FcBatchNorm
from infogan.model.config import PAPER_FC_BATCH_NORM, PAPER_INIT, NetworkOptions
from infogan.model.execution import FAITHFUL, MAX_LEAKY_RELU, NATIVE_LEAKY_RELU

LRELU_LEAK = 0.01
PAPER_STDDEV = 0.02  # PAPER_INIT's weights
FAKE_PASS, REAL_PASS = 0, 1  # the discriminator's two sets of conv batch-norm statistics


def leaky_rectify(x, leakiness=LRELU_LEAK):
    """max(x, leakiness * x); the TF1 code leaks 0.01."""
    return tf.maximum(x, leakiness * x)


ACTIVATIONS = {
    "lrelu": leaky_rectify,
    "relu": tf.nn.relu,
    "sigmoid": tf.nn.sigmoid,
    "tanh": tf.nn.tanh,
    "identity": tf.identity,
}


@tf.custom_gradient
def fast_leaky_rectify(x):
    """One LeakyRelu op instead of max(x, 0.01 x); its gradient takes max's subgradient at
    x == 0 (1, where the LeakyReluGrad kernel gives 0.01), so the fast mode keeps the model's
    maths: exact zeros do occur (about one in a million fc activations)."""
    outputs = tf.nn.leaky_relu(x, alpha=LRELU_LEAK)

    def gradient(upstream):
        # The outputs have the inputs' signs; reading them (not x) lets Grappler fuse a conv's
        # bias and this activation into one kernel.
        # LeakyReluGrad passes the gradient where its `features` are > 0: nudged by the smallest
        # normal float, exactly the inputs >= 0 (denormals are flushed to zero on CPUs).
        nudged = outputs + tf.constant(np.finfo(np.float32).tiny, outputs.dtype)
        return tf.raw_ops.LeakyReluGrad(gradients=upstream, features=nudged, alpha=LRELU_LEAK)
    return outputs, gradient


LEAKY_RELUS = {MAX_LEAKY_RELU: leaky_rectify, NATIVE_LEAKY_RELU: fast_leaky_rectify}


def activation_for(name, execution):
    """The activation function `name` (a key of ACTIVATIONS) as `execution` computes it."""
    return LEAKY_RELUS[execution.leaky_relu] if name == "lrelu" else ACTIVATIONS[name]


class WeightLayer(keras.layers.Layer):
    """A conv, deconv or dense layer with TF1-contrib semantics.

    Glorot-uniform weights (or the paper's, see `options`); a zero-initialised bias only when
    there is no batch norm; then the batch norm, then the activation.

    Args:
      num_outputs: filters or units.
      activation: a key of ACTIVATIONS.
      batch_norm: None, or a ConvBatchNorm / FcBatchNorm layer applied before the activation.
      execution: the ExecutionPolicy (which kernels, which product dtype).
      options: the NetworkOptions; its weight_init: TF1_INIT (Glorot-uniform weights) or
        PAPER_INIT (N(0, 0.02)).
    """

    def __init__(self, num_outputs, activation="relu", batch_norm=None, execution=FAITHFUL,
                 options=NetworkOptions(), **kwargs):
        # Keras would cast 16-bit inputs to float32; the layer decides (see `call`).
        super().__init__(autocast=False, **kwargs)
        self.num_outputs = num_outputs
        self.activation_name = activation
        self.batch_norm = batch_norm
        self.execution = execution
        self.weight_init = options.weight_init
        self._activation = activation_for(activation, execution)

    def kernel_shape(self, input_shape):
        raise NotImplementedError

    def kernel_initializer(self):
        """Glorot-uniform (the TF1 code's), or N(0, 0.02) (the InfoGAN paper's code)."""
        if self.weight_init == PAPER_INIT:
            return keras.initializers.RandomNormal(stddev=PAPER_STDDEV)
        return keras.initializers.GlorotUniform()

    def transform(self, inputs, kernel):
        """The layer's product of `inputs` and `kernel` (a conv, deconv or matmul)."""
        raise NotImplementedError

    def _product(self, inputs):
        """The product, in the policy's product dtype (inputs of another dtype are cast to it; the
        kernel's cast is shared by the passes of a training iteration, see weight_copies)."""
        if not self.execution.low_precision_products:
            return self.transform(inputs, self.kernel)
        low = tf.as_dtype(self.execution.product_dtype)
        return self.transform(tf.cast(inputs, low), weight_copies.product_weight(self.kernel, low))

    def build(self, input_shape):
        self.kernel = self.add_weight(name="weights", shape=self.kernel_shape(input_shape),
                                      initializer=self.kernel_initializer())
        self.bias = None
        if self.batch_norm is None:
            self.bias = self.add_weight(name="biases", shape=(self.num_outputs,), initializer="zeros")

    def call(self, inputs, training=False, pass_index=0, update_in_inference=False):
        outputs = self._product(inputs)
        # Mixed precision: a fused batch norm takes the 16-bit product as it is (its statistics are
        # float32) and so does the activation after it, up to the next product; elsewhere the
        # bias, batch norm and activation are float32.
        if self.batch_norm is None or not self.batch_norm.runs_fused():
            outputs = tf.cast(outputs, tf.float32)
        if self.bias is not None:
            outputs = tf.nn.bias_add(outputs, self.bias)
        elif isinstance(self.batch_norm, ConvBatchNorm):
            outputs = self.batch_norm(outputs, training=training, pass_index=pass_index,
                                      update_in_inference=update_in_inference)
        else:
            outputs = self.batch_norm(outputs, training=training)
        return self._activation(outputs)


class Conv(WeightLayer):
    """2-D convolution, SAME padding, kernel [K, K, in, out]."""

    def __init__(self, num_outputs, kernel_size, stride, **kwargs):
        super().__init__(num_outputs, **kwargs)
        self.kernel_size, self.stride = kernel_size, stride

    def kernel_shape(self, input_shape):
        return (self.kernel_size, self.kernel_size, input_shape[-1], self.num_outputs)

    def kernel_initializer(self):
        """As WeightLayer's, but the paper's code truncates its convolutions' N(0, 0.02)."""
        if self.weight_init == PAPER_INIT:
            return keras.initializers.TruncatedNormal(stddev=PAPER_STDDEV)
        return super().kernel_initializer()

    def transform(self, inputs, kernel):
        if self._filter_gradient_as_product(inputs.shape):
            return conv_gradients.conv2d(inputs, kernel, self.stride)
        return tf.nn.conv2d(inputs, kernel, strides=self.stride, padding="SAME")

    def _filter_gradient_as_product(self, input_shape):
        """Whether this convolution's filter gradient is one matrix product (conv_gradients):
        when the policy asks for it and its input fits."""
        return (self.execution.filter_gradient_as_product
                and conv_gradients.applies(input_shape, self.kernel_size, self.stride))


class Deconv(Conv):
    """2-D transposed convolution, SAME padding (output = input x stride), kernel [K, K, out, in]."""

    def kernel_shape(self, input_shape):
        return (self.kernel_size, self.kernel_size, self.num_outputs, input_shape[-1])

    def kernel_initializer(self):
        return WeightLayer.kernel_initializer(self)  # the paper's deconvolutions: not truncated

    def transform(self, inputs, kernel):
        shape = tf.shape(inputs)
        output_shape = tf.stack([shape[0], shape[1] * self.stride, shape[2] * self.stride,
                                 self.num_outputs])
        # Its filter gradient convolves the output's gradient with the inputs.
        output_static = [None] + [size and size * self.stride for size in inputs.shape[1:3]]
        if self._filter_gradient_as_product(output_static + [self.num_outputs]):
            return conv_gradients.conv2d_transpose(inputs, kernel, output_shape, self.stride)
        return tf.nn.conv2d_transpose(inputs, kernel, output_shape,
                                      strides=self.stride, padding="SAME")


class Dense(WeightLayer):
    """Fully connected layer on the last axis: a rank-4 input stays rank 4."""

    def kernel_shape(self, input_shape):
        return (input_shape[-1], self.num_outputs)

    def transform(self, inputs, kernel):
        if len(inputs.shape) == 2:
            return tf.matmul(inputs, kernel)
        flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
        outputs = tf.matmul(flat, kernel)
        return tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [self.num_outputs]], 0))


def _make_layer(spec, index, batch_norm_on, num_passes, execution, options):
    name = "layer_%d" % index
    if spec.kind == "fc":
        norm = (FcBatchNorm(execution=execution, style=options.fc_batch_norm, name="BatchNorm")
                if batch_norm_on else None)
        return Dense(spec.num_outputs, activation=spec.activation, batch_norm=norm,
                     execution=execution, options=options, name=name)
    norm = (ConvBatchNorm(num_passes=num_passes, execution=execution, name="batch_norm")
            if batch_norm_on else None)
    layer_class = Conv if spec.kind == "conv" else Deconv
    return layer_class(spec.num_outputs, spec.kernel_size, spec.stride,
                       activation=spec.activation, batch_norm=norm, execution=execution,
                       options=options, name=name)


class Network(keras.layers.Layer):
    """The layers of an architecture string, applied in order (TF1's `run_network`).

    Args:
      description: architecture string, e.g. "conv:4:2:64:lrelu,fc:1024:lrelu".
      use_batch_norm: batch norm on every conv/deconv/fc layer...
      strip_batchnorm_from_last_layer: ...except the last token's (the generator's output); a
        token's own `:bn` / `:nobn` overrides both.
      num_passes: independent conv batch-norm statistics sets (see ConvBatchNorm).
      debug: print the TF1 architecture lines on construction.
      execution: the ExecutionPolicy (default: the TF1 code's kernels).
      options: the NetworkOptions (default: the TF1 code's weights and batch norms).
    """

    def __init__(self, description, use_batch_norm=True, strip_batchnorm_from_last_layer=False,
                 num_passes=1, debug=False, execution=FAITHFUL, options=NetworkOptions(), **kwargs):
        super().__init__(**kwargs)
        self.description = description
        self.specs = parse_architecture(description)
        # Each layer is an attribute (`layer_0`, ...): tf.train.Checkpoint tracks attributes, but
        # not the contents of a list kept on a Keras layer.
        self._layer_names = []
        weight_index = 0
        for position, spec in enumerate(self.specs):
            if not spec.has_weights:
                self._layer_names.append(None)
                continue
            is_last = position + 1 == len(self.specs)
            batch_norm_on = spec.batch_norm if spec.batch_norm is not None else (
                use_batch_norm and not (is_last and strip_batchnorm_from_last_layer))
            layer = _make_layer(spec, weight_index, batch_norm_on, num_passes, execution, options)
            setattr(self, layer.name, layer)
            self._layer_names.append(layer.name)
            weight_index += 1
        if debug:
            print("\n".join(describe_network(self.name, self.specs)))

    @property
    def layer_objects(self):
        """The layer of each token, None for reshapes."""
        return [None if name is None else getattr(self, name) for name in self._layer_names]

    def call(self, inputs, training=False, pass_index=0, update_in_inference=False):
        """Applies the layers. With training=False and update_in_inference=True, the conv batch
        norms also move their EMA towards this batch's statistics, as TF1's inference passes did."""
        outputs = inputs
        for spec, layer in zip(self.specs, self.layer_objects):
            if layer is None:
                outputs = tf.reshape(outputs, [-1] + list(spec.shape))
            else:
                outputs = layer(outputs, training=training, pass_index=pass_index,
                                update_in_inference=update_in_inference)
        return outputs


class Generator(Network):
    """The generator: a Network without batch norm on its last layer."""

    def __init__(self, description, use_batch_norm=True, debug=False, name="generator",
                 execution=FAITHFUL, options=NetworkOptions()):
        super().__init__(description, use_batch_norm=use_batch_norm,
                         strip_batchnorm_from_last_layer=True, debug=debug, name=name,
                         execution=execution, options=options)


class Discriminator(Network):
    """The discriminator: a Network, flattened to `hidden`, then `prob_projection` (dense 1, sigmoid).

    The conv batch norms keep two statistics sets: FAKE_PASS and REAL_PASS.
    """

    def __init__(self, description, use_batch_norm=True, debug=False, name="discriminator",
                 execution=FAITHFUL, options=NetworkOptions()):
        super().__init__(description, use_batch_norm=use_batch_norm, num_passes=2, debug=debug,
                         name=name, execution=execution, options=options)
        self.prob_projection = Dense(1, activation="sigmoid", name="prob_projection",
                                     execution=execution, options=options)

    def call(self, images, training=False, pass_index=FAKE_PASS):
        features = super().call(images, training=training, pass_index=pass_index)
        hidden = tf.reshape(features, [-1, _flat_size(features)])
        return {"prob": self.prob_projection(hidden), "hidden": hidden}

    @property
    def feature_variables(self):
        """Trainable variables the Q network's gradient reaches (all but prob_projection)."""
        projection = {id(v) for v in self.prob_projection.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in projection]


def _flat_size(tensor):
    size = 1
    for dim in tensor.shape[1:]:
        size *= dim
    return size


class MutualInfoHead(keras.layers.Layer):
    """Q network on the discriminator's hidden features (TF1 scope `mutual_info`).

    `fully_connected`: dense 128, no bias, fc batch norm (the TF1 code's is never updated), lrelu;
    `fully_connected_1`: dense `output_width` with bias, no activation.
    """

    def __init__(self, output_width, name="mutual_info", execution=FAITHFUL,
                 options=NetworkOptions()):
        # Keras would cast 16-bit features to float32 for its first layer to cast them back.
        super().__init__(name=name, autocast=False)
        self.fully_connected = Dense(
            128, activation="lrelu", name="fully_connected", execution=execution, options=options,
            # openai/InfoGAN updates Q's moving statistics; the TF1 code never did.
            batch_norm=FcBatchNorm(
                update_moving_statistics=options.fc_batch_norm == PAPER_FC_BATCH_NORM,
                execution=execution, style=options.fc_batch_norm, name="BatchNorm"))
        self.fully_connected_1 = Dense(output_width, activation="identity", name="fully_connected_1",
                                       execution=execution, options=options)

    def call(self, hidden, training=False):
        return self.fully_connected_1(self.fully_connected(hidden, training=training))


def run_network(network, inputs, is_training, pass_index=0):
    """Applies a `Network` (the TF1 run_network inside its variable scope).

    Args:
      network: a Network built from an architecture string.
      inputs: a batch tensor.
      is_training: batch statistics (and moving-statistics updates) if True, moving statistics if False.
      pass_index: which conv batch-norm statistics set to use.

    Returns:
      the output tensor.
    """
    return network(inputs, training=is_training, pass_index=pass_index)


def generator_forward(generator, z, is_training):
    """Generates images from noise z. Returns a [batch, H, W, C] tensor."""
    return generator(z, training=is_training)


def discriminator_forward(discriminator, images, is_training, pass_index=FAKE_PASS):
    """Scores images. Returns {"prob": [batch, 1], "hidden": [batch, flat features]}."""
    return discriminator(images, training=is_training, pass_index=pass_index)
