"""The three batch normalisations of the TF1 code, as Keras layers (docs/tf1_semantics.md).

`training=True` normalises with the batch statistics (gradients flow through them) and updates
the moving statistics in place, as TF1's forward pass did; `training=False` normalises with the
moving statistics. The TF1 conv batch norm also moved its EMA in inference mode; a conv layer
does so when called with `update_in_inference=True` (the training loop's plots do).

When the ExecutionPolicy asks for a fused batch norm (the `--fast` mode), both normalise with
TensorFlow's fused kernel (`FusedBatchNormV3`, one kernel forward and one backward instead of
about ten): the same maths, rounded differently. Its batch variance is Bessel-corrected, so the moving statistics are fed
the biased variance, `variance * (n - 1) / n`, as the TF1 code's were.
"""
import keras
import tensorflow as tf

from infogan.model import replicas
from infogan.model.config import PAPER_FC_BATCH_NORM, TF1_FC_BATCH_NORM
from infogan.model.execution import FAITHFUL

CONV_EMA_DECAY = 0.9
CONV_EPSILON = 1e-5
FC_MOVING_DECAY = 0.999
FC_EPSILON = 1e-3
# Moving statistics are updated from global-batch statistics, the same on every replica; under a
# tf.distribute strategy, the first replica's update is kept.
STATISTICS = "only_first_replica"


def _moving_average_update(variable, value, complement):
    """TF1's assign_moving_average without debiasing: v -= (v - value) * (1 - decay)."""
    variable.assign_sub((variable - value) * complement)


def fused_batch_norm(inputs, scale, offset, epsilon, mean=None, variance=None):
    """Batch norm with TensorFlow's fused kernel, over all axes but the last.

    Args:
      inputs: [B, C] or [B, H, W, C] (float32, or bfloat16/float16 with float32 parameters).
      scale, offset: [C] float32 (pass ones for no gamma).
      mean, variance: the statistics to normalise with (inference); None: the batch's.

    Returns:
      (outputs shaped as `inputs`, the mean used, the biased variance used); the statistics carry
      no gradient.
    """
    rank2 = len(inputs.shape) == 2
    x = tf.reshape(inputs, [-1, 1, 1, inputs.shape[-1]]) if rank2 else inputs
    training = mean is None
    empty = tf.constant([], tf.float32)
    outputs, batch_mean, batch_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
        x=x, scale=scale, offset=offset, mean=empty if training else mean,
        variance=empty if training else variance, epsilon=epsilon, exponential_avg_factor=1.0,
        data_format="NHWC", is_training=training)
    if rank2:
        outputs = tf.reshape(outputs, tf.shape(inputs))
    if not training:
        return outputs, mean, variance
    count = tf.cast(tf.size(x) // x.shape[-1], tf.float32)
    biased = batch_variance * ((count - 1.0) / count)  # the kernel's is Bessel-corrected
    return outputs, tf.stop_gradient(batch_mean), tf.stop_gradient(biased)


class _BatchNorm(keras.layers.Layer):
    """What both batch norms share: whether they run TensorFlow's fused kernel, which takes 16-bit
    inputs as they are (Keras would cast them to float32), as the ExecutionPolicy `execution`
    says."""

    def __init__(self, execution=FAITHFUL, **kwargs):
        super().__init__(autocast=False, **kwargs)
        self.execution = execution

    def runs_fused(self):
        """Whether this call takes the fused kernel: when the policy asks for it, but not inside
        the replicas of a tf.distribute strategy, whose global-batch statistics
        `replicas.moments` computes."""
        return self.execution.fused_batch_norm and not replicas.replicated()


class ConvBatchNorm(_BatchNorm):
    """Batch norm of the conv/deconv layers: gamma ~ N(1, 0.02), beta = 0, EMA decay 0.9.

    The moving statistics are exponential moving averages whose shadows start at 0 (no
    debiasing). `num_passes` keeps independent shadow pairs, one per forward pass of a shared
    network: the TF1 discriminator's fake-image and real-image passes each have their own.

    In inference mode the output uses the shadows as they were before the call; with
    `update_in_inference=True` the call then moves them towards the batch's statistics, as the
    TF1 code's EMA update (built outside its `tf.cond`) did on every inference pass.
    """

    def __init__(self, num_passes=1, execution=FAITHFUL, **kwargs):
        super().__init__(execution=execution, **kwargs)
        self.num_passes = num_passes

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,),
            initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02))
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")
        # One attribute per shadow (ema_mean_0, ...): tf.train.Checkpoint does not see lists.
        for index in range(self.num_passes):
            for statistic in ("mean", "variance"):
                name = "ema_%s_%d" % (statistic, index)
                setattr(self, name, self.add_weight(name=name, shape=(channels,), initializer="zeros",
                                                    trainable=False, aggregation=STATISTICS))

    @property
    def moving_means(self):
        """The EMA of the batch mean, one variable per pass."""
        return [getattr(self, "ema_mean_%d" % index) for index in range(self.num_passes)]

    @property
    def moving_variances(self):
        """The EMA of the batch variance, one variable per pass."""
        return [getattr(self, "ema_variance_%d" % index) for index in range(self.num_passes)]

    def call(self, inputs, training=False, pass_index=0, update_in_inference=False):
        moving_mean = self.moving_means[pass_index]
        moving_variance = self.moving_variances[pass_index]
        if not training:
            mean, variance = tf.convert_to_tensor(moving_mean), tf.convert_to_tensor(moving_variance)
        fused = self.runs_fused()
        if fused:
            outputs, batch_mean, batch_variance = fused_batch_norm(
                inputs, self.gamma, self.beta, CONV_EPSILON,
                *((None, None) if training else (mean, variance)))
            if not training and update_in_inference:
                batch_mean, batch_variance = tf.nn.moments(tf.cast(inputs, tf.float32), axes=[0, 1, 2])
        elif training or update_in_inference:
            batch_mean, batch_variance = replicas.moments(inputs, axes=[0, 1, 2])
        if training or update_in_inference:
            # TF1's ExponentialMovingAverage computes 1 - decay in float32.
            complement = 1.0 - tf.constant(CONV_EMA_DECAY, tf.float32)
            _moving_average_update(moving_mean, batch_mean, complement)
            _moving_average_update(moving_variance, batch_variance, complement)
        if fused:
            return outputs
        if training:
            mean, variance = batch_mean, batch_variance
        return tf.nn.batch_normalization(inputs, mean, variance, self.beta, self.gamma, CONV_EPSILON)


class FcBatchNorm(_BatchNorm):
    """Batch norm of the fully connected layers.

    As the TF1 code's (`style` TF1_FC_BATCH_NORM): beta only (no gamma), epsilon 1e-3, moving
    statistics that start at mean 0 / variance 1 and follow decay 0.999 with the biased batch
    variance. With `update_moving_statistics=False` they are never updated: the TF1 code never ran
    the update ops of the Q network's batch norm. As openai/InfoGAN's (PAPER_FC_BATCH_NORM): what
    its conv layers do too, gamma ~ N(1, 0.02), epsilon 1e-5, decay 0.9.
    """

    def __init__(self, update_moving_statistics=True, execution=FAITHFUL, style=TF1_FC_BATCH_NORM,
                 **kwargs):
        super().__init__(execution=execution, **kwargs)
        self.paper = style == PAPER_FC_BATCH_NORM
        self.update_moving_statistics = update_moving_statistics
        self.epsilon = CONV_EPSILON if self.paper else FC_EPSILON
        # slim's batch_norm computes 1 - decay in Python, then casts to float32; TF1's
        # ExponentialMovingAverage (the conv layers' and openai/InfoGAN's) in float32.
        self.complement = (1.0 - tf.constant(CONV_EMA_DECAY, tf.float32) if self.paper
                           else tf.constant(1.0 - FC_MOVING_DECAY, tf.float32))

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = None
        if self.paper:
            self.gamma = self.add_weight(
                name="gamma", shape=(channels,),
                initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02))
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(channels,), initializer="zeros",
                                           trainable=False, aggregation=STATISTICS)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(channels,),
                                               initializer="ones", trainable=False,
                                               aggregation=STATISTICS)

    def _update_moving_statistics(self, mean, variance):
        if self.update_moving_statistics:
            _moving_average_update(self.moving_mean, mean, self.complement)
            _moving_average_update(self.moving_variance, variance, self.complement)

    def call(self, inputs, training=False):
        if self.runs_fused():
            return self._fused_call(inputs, training)
        if training:
            axes = list(range(len(inputs.shape) - 1))
            mean, variance = replicas.moments(inputs, axes=axes)
            self._update_moving_statistics(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return tf.nn.batch_normalization(inputs, mean, variance, self.beta, self.gamma, self.epsilon)

    def _fused_call(self, inputs, training):
        scale = tf.ones_like(self.beta) if self.gamma is None else self.gamma
        if not training:
            return fused_batch_norm(inputs, scale, self.beta, self.epsilon, self.moving_mean,
                                    self.moving_variance)[0]
        outputs, mean, variance = fused_batch_norm(inputs, scale, self.beta, self.epsilon)
        self._update_moving_statistics(mean, variance)
        return outputs
