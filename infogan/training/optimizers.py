"""Adam with the TF1 optimiser's state and kernel (docs/tf1_semantics.md §6).

TF1's AdamOptimizer keeps `beta1_power`/`beta2_power` as variables multiplied by beta after every
`apply_gradients`, applies each variable's update with the fused `ApplyAdam` kernel, and puts
epsilon outside the bias correction. This class does the same, with the same kernel, so one
instance can be shared by two updates exactly as the TF1 code shares its generator optimiser.
"""
import tensorflow as tf

ONLY_FIRST_REPLICA = tf.VariableAggregation.ONLY_FIRST_REPLICA


class TF1Adam(tf.Module):
    """Adam(lr, beta1, beta2, epsilon) with TF1's state layout.

    Call `build(variables)` with every variable the optimiser will ever update, then
    `apply_gradients` on any subset of them; each call advances the beta powers once.

    Attributes:
      learning_rate: scalar tf.Variable (TF1's `generator_lr` / `discriminator_lr`).
      beta1_power, beta2_power: scalar tf.Variables, beta**(number of apply_gradients calls + 1).
    """

    def __init__(self, learning_rate, beta1=0.5, beta2=0.999, epsilon=1e-8, name="adam"):
        super().__init__(name=name)
        self.learning_rate = tf.Variable(learning_rate, dtype=tf.float32, trainable=False,
                                         name="learning_rate")
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        # Under a tf.distribute strategy every replica computes the same powers; keep the first's.
        self.beta1_power = tf.Variable(beta1, dtype=tf.float32, trainable=False, name="beta1_power",
                                       aggregation=ONLY_FIRST_REPLICA)
        self.beta2_power = tf.Variable(beta2, dtype=tf.float32, trainable=False, name="beta2_power",
                                       aggregation=ONLY_FIRST_REPLICA)
        self.first_moments, self.second_moments = [], []
        self._slot_index = {}

    def build(self, variables):
        """Creates the zero-initialised m and v slots of each variable (once)."""
        for variable in variables:
            if id(variable) in self._slot_index:
                continue
            self._slot_index[id(variable)] = len(self.first_moments)
            self.first_moments.append(tf.Variable(tf.zeros(variable.shape), trainable=False, name="m"))
            self.second_moments.append(tf.Variable(tf.zeros(variable.shape), trainable=False, name="v"))

    def slots(self, variable):
        """Returns the (m, v) slot variables of `variable`."""
        index = self._slot_index[id(variable)]
        return self.first_moments[index], self.second_moments[index]

    def apply_gradients(self, grads_and_vars):
        """Applies one Adam update to each (gradient, variable) pair, then advances the beta powers."""
        learning_rate = tf.convert_to_tensor(self.learning_rate)
        beta1_power = tf.convert_to_tensor(self.beta1_power)
        beta2_power = tf.convert_to_tensor(self.beta2_power)
        constants = [tf.constant(value, tf.float32) for value in (self.beta1, self.beta2, self.epsilon)]
        for gradient, variable in grads_and_vars:
            m, v = self.slots(variable)
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle, beta1_power=beta1_power,
                beta2_power=beta2_power, lr=learning_rate, beta1=constants[0], beta2=constants[1],
                epsilon=constants[2], grad=gradient)
        self.beta1_power.assign(beta1_power * self.beta1)
        self.beta2_power.assign(beta2_power * self.beta2)


class DynamicLossScale(tf.Module):
    """Dynamic loss scaling for float16 products (Keras' rule): losses are multiplied by `scale`
    before differentiation and the gradients divided by it; an update whose gradients are not
    finite is skipped and halves the scale; 2000 finite updates in a row double it."""

    GROWTH_INTERVAL = 2000

    def __init__(self, initial_scale=2.0 ** 15, name="loss_scale"):
        super().__init__(name=name)
        self.scale = tf.Variable(initial_scale, dtype=tf.float32, trainable=False, name="scale",
                                 aggregation=ONLY_FIRST_REPLICA)
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="good_steps",
                                      aggregation=ONLY_FIRST_REPLICA)

    def unscale(self, gradients, scale):
        """(gradients / scale, whether they are all finite); `scale` is the value the loss was
        multiplied by (an update earlier in the step may have changed the variable since)."""
        gradients = [gradient / scale for gradient in gradients]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients])
        return gradients, finite

    def update(self, finite):
        """Adjusts the scale after a step whose gradients were (not) finite."""
        grow = tf.logical_and(finite, self.good_steps + 1 >= self.GROWTH_INTERVAL)
        self.scale.assign(tf.where(finite, tf.where(grow, self.scale * 2.0, self.scale),
                                   tf.maximum(self.scale / 2.0, 1.0)))
        self.good_steps.assign(tf.where(finite & ~grow, self.good_steps + 1, tf.zeros_like(self.good_steps)))
