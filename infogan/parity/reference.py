"""A TF1-style (graph mode, ``tf.compat.v1``) reference implementation of InfoGAN.

This module rebuilds, from the description of the TF1 semantics (docs/tf1_semantics.md), the
graph that the original TF1 InfoGAN code computes: same layers, same three batch norms, same
objectives, same optimiser wiring and the same TF1 variable names, so that TF1 checkpoints can be
read and the TF2 port can be compared number for number.

Everything lives in a private ``tf.Graph`` with its own ``tf.compat.v1.Session``; nothing
global (such as ``disable_v2_behavior``) is touched, so eager TF2 code can run in the same
process. Importing this module has no side effects.

Implementation notes: variables are TF2's default resource variables and ``tf.compat.v1.cond``
builds ``If`` ops (cond_v2); neither changes a variable name or a number. Gradients through
an ``If`` are zero (not ``None``) for a variable read only in the untaken branch, which is
how the conv-BN EMA shadows and the fc-BN moving statistics get their (always zero) gradients
and hence Adam slots, as in the TF1 code.
"""

import numpy as np
import tensorflow as tf

from infogan.training.summaries import decode_png

tf1 = tf.compat.v1

TINY = 1e-6

CONV_BN_DECAY = 0.9
CONV_BN_EPSILON = 1e-5
FC_BN_DECAY = 0.999
FC_BN_EPSILON = 1e-3
LRELU_LEAK = 0.01


# --------------------------------------------------------------------------------------
# Architecture strings (docs/tf1_semantics.md §2)
# --------------------------------------------------------------------------------------

def parse_math(s):
    """Evaluates an integer expression such as ``7x7x128`` or ``8-2-1`` (docs/tf1_semantics.md §2).

    The string is split at the first ``+``, else the first ``-``, else ``*``, else ``x``,
    else ``/`` (integer division), and both sides are evaluated recursively.
    """
    for op_char, fn in (("+", lambda a, b: a + b), ("-", lambda a, b: a - b),
                        ("*", lambda a, b: a * b), ("x", lambda a, b: a * b),
                        ("/", lambda a, b: a // b)):
        if op_char in s:
            left, right = s.split(op_char, 1)
            return fn(parse_math(left), parse_math(right))
    return int(s)


def lrelu(x):
    """Leaky ReLU with leak 0.01: ``max(x, 0.01 * x)``."""
    return tf.maximum(x, LRELU_LEAK * x)


ACTIVATIONS = {
    "lrelu": lrelu,
    "relu": tf.nn.relu,
    "sigmoid": tf.nn.sigmoid,
    "tanh": tf.nn.tanh,
    "identity": tf.identity,
}


def parse_layer(description):
    """Parses one token into ``(kind, args, activation_name)``; raises ValueError if invalid."""
    error = ValueError("Could not parse layer description: %r" % (description,))
    parts = description.split(":")
    kind, args = parts[0], parts[1:]
    if kind == "reshape" and args:
        return kind, [parse_math(a) for a in args], None
    num_args = {"conv": 3, "deconv": 3, "fc": 1}.get(kind)
    if num_args is None or len(args) not in (num_args, num_args + 1):
        raise error
    activation = args[num_args] if len(args) > num_args else "relu"
    if activation not in ACTIVATIONS:
        raise error
    return kind, [parse_math(a) for a in args[:num_args]], activation


# --------------------------------------------------------------------------------------
# Batch norms (docs/tf1_semantics.md §3)
# --------------------------------------------------------------------------------------

def conv_batch_norm(x, is_training):
    """Batch norm of conv/deconv layers: variables ``batch_norm/{gamma,beta}`` plus an EMA.

    Training mode normalises with the batch moments over [0, 1, 2], inference mode with the
    EMA shadows. In *both* modes the pass moves its zero-initialised, non-debiased EMA (decay 0.9)
    towards this batch's moments: the TF1 code built the EMA update outside its ``tf.cond``, so it
    ran whatever the predicate. The inference branch reads the shadows before that update.
    The shadows are named after the moments tensors, i.e. after the *name* scope of this call, so
    a second pass in scope ``discriminator_1`` gets its own pair.
    """
    with tf1.variable_scope("batch_norm"):
        channels = x.shape[-1]
        gamma = tf1.get_variable("gamma", [channels],
                                 initializer=tf1.random_normal_initializer(1.0, 0.02))
        beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
        batch_mean, batch_var = tf.nn.moments(x, [0, 1, 2], name="moments")
        shadows = [_ema_shadow(batch_mean), _ema_shadow(batch_var)]
        before_update = [shadow.read_value() for shadow in shadows]
        complement = 1.0 - tf.constant(CONV_BN_DECAY, tf.float32)  # as ExponentialMovingAverage
        with tf.control_dependencies(before_update):
            ema_update = tf.group(*[shadow.assign_sub((shadow - value) * complement)
                                    for shadow, value in zip(shadows, (batch_mean, batch_var))])

        def training_branch():
            return tf.identity(batch_mean), tf.identity(batch_var)

        def inference_branch():
            # Read without stop_gradient: like TF1, the shadows then get a (zero) gradient.
            return tf.identity(before_update[0]), tf.identity(before_update[1])

        with tf.control_dependencies([ema_update]):
            mean, var = tf1.cond(is_training, training_branch, inference_branch)
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, CONV_BN_EPSILON)


def _ema_shadow(statistic):
    """The zero-initialised EMA shadow of a moments tensor, named as TF1's
    ``ExponentialMovingAverage`` named it: ``<scope>/<tensor op name>/ExponentialMovingAverage``."""
    with tf1.variable_scope(statistic.op.name):
        return tf1.get_variable("ExponentialMovingAverage", statistic.shape, trainable=False,
                                initializer=tf1.zeros_initializer())


def assign_moving_average(variable, value, decay):
    """``variable -= (variable - value) * (1 - decay)``: TF1's ``assign_moving_average`` with
    ``zero_debias=False`` (not exported by ``tf.compat.v1``)."""
    with tf1.name_scope(None, "AssignMovingAvg", [variable, value]):
        return variable.assign_sub((variable - value) * (1.0 - decay))


def fc_batch_norm(x, is_training, update_moving_stats=True, deferred_updates=None):
    """Batch norm of fc layers (TF 1.0 non-fused slim style): ``BatchNorm/{beta,moving_*}``.

    No gamma, epsilon 1e-3. Training mode normalises with the biased batch moments over all
    axes but the last and, if ``update_moving_stats``, updates the moving statistics in
    place (decay 0.999, no debiasing); inference mode uses the moving statistics. They are
    read in the untaken branch without stop_gradient, so they get zero gradients, hence Adam
    slots that stay zero, as in the TF1 code. The first Q layer uses
    ``update_moving_stats=False``: its update ops are never run in the TF1 code.

    With a ``deferred_updates`` list, the (statistic variable, batch value) pairs are appended to
    it instead, for the caller to apply in a fixed order (the discriminator's two passes share
    these statistics; see ``TF1Reference._build_train_ops``).
    """
    with tf1.variable_scope("BatchNorm"):
        channels = x.shape[-1]
        beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
        moving_mean = tf1.get_variable("moving_mean", [channels], trainable=False,
                                       initializer=tf1.zeros_initializer())
        moving_var = tf1.get_variable("moving_variance", [channels], trainable=False,
                                      initializer=tf1.ones_initializer())
        axes = list(range(len(x.shape) - 1))
        batch_mean, batch_var = tf.nn.moments(x, axes, name="moments")

        if update_moving_stats and deferred_updates is not None:
            deferred_updates += [(moving_mean, batch_mean), (moving_var, batch_var)]
            update_moving_stats = False

        def training_branch():
            if not update_moving_stats:
                return tf.identity(batch_mean), tf.identity(batch_var)
            updates = [assign_moving_average(moving_mean, batch_mean, FC_BN_DECAY),
                       assign_moving_average(moving_var, batch_var, FC_BN_DECAY)]
            with tf.control_dependencies(updates):
                return tf.identity(batch_mean), tf.identity(batch_var)

        def inference_branch():
            return moving_mean.read_value(), moving_var.read_value()

        mean, var = tf1.cond(is_training, training_branch, inference_branch)
        return tf.nn.batch_normalization(x, mean, var, beta, None, FC_BN_EPSILON)


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------

def _glorot():
    return tf1.glorot_uniform_initializer()


def _add_bias(y, num_outputs):
    """Adds a zero-initialised ``biases`` variable with ``tf.nn.bias_add``, as the contrib layers
    did (``y + b`` would sum its gradient with another kernel, in another order)."""
    biases = tf1.get_variable("biases", [num_outputs], initializer=tf1.zeros_initializer())
    return tf.nn.bias_add(y, biases)


def dense(x, num_outputs, use_bias):
    """Dense layer on the last axis of an input of any rank (``weights`` is ``[in, out]``)."""
    num_inputs = int(x.shape[-1])
    weights = tf1.get_variable("weights", [num_inputs, num_outputs], initializer=_glorot())
    if len(x.shape) == 2:
        y = tf.matmul(x, weights)
    else:  # rank > 2: flatten to 2-D, matmul, restore the leading axes
        y = tf.matmul(tf.reshape(x, [-1, num_inputs]), weights)
        inner = x.shape[1:-1].as_list()
        if None in inner:
            y = tf.reshape(y, tf.concat([tf.shape(x)[:-1], [num_outputs]], 0))
        else:
            y = tf.reshape(y, [-1] + inner + [num_outputs])
    return _add_bias(y, num_outputs) if use_bias else y


def conv2d(x, kernel, stride, num_outputs, use_bias):
    """SAME-padded convolution; kernel ``[K, K, in, out]``."""
    shape = [kernel, kernel, int(x.shape[-1]), num_outputs]
    weights = tf1.get_variable("weights", shape, initializer=_glorot())
    y = tf.nn.conv2d(x, weights, strides=[1, stride, stride, 1], padding="SAME")
    return _add_bias(y, num_outputs) if use_bias else y


def deconv2d(x, kernel, stride, num_outputs, use_bias):
    """SAME-padded transposed convolution (output = input x stride); kernel ``[K, K, out, in]``."""
    shape = [kernel, kernel, num_outputs, int(x.shape[-1])]
    weights = tf1.get_variable("weights", shape, initializer=_glorot())
    height, width = int(x.shape[1]) * stride, int(x.shape[2]) * stride
    output_shape = tf.stack([tf.shape(x)[0], height, width, num_outputs])
    y = tf.nn.conv2d_transpose(x, weights, output_shape, strides=[1, stride, stride, 1],
                               padding="SAME")
    y.set_shape([None, height, width, num_outputs])
    return _add_bias(y, num_outputs) if use_bias else y


def run_network(inputs, architecture, is_training, use_batch_norm,
                strip_batchnorm_from_last_layer=False, deferred_updates=None):
    """Applies an architecture string (docs/tf1_semantics.md §2) inside the current variable scope.

    Layers are named ``layer_0, layer_1, ...`` (reshapes are not counted). With
    ``use_batch_norm`` every conv/deconv/fc layer gets batch norm (and no bias), except the
    last token when ``strip_batchnorm_from_last_layer``.
    """
    tokens = architecture.split(",")
    x = inputs
    layer_index = 0
    for token_index, token in enumerate(tokens):
        kind, args, activation = parse_layer(token)
        if kind == "reshape":
            x = tf.reshape(x, [-1] + args)
            continue
        is_last = token_index == len(tokens) - 1
        with_bn = use_batch_norm and not (strip_batchnorm_from_last_layer and is_last)
        with tf1.variable_scope("layer_%d" % layer_index):
            if kind == "fc":
                x = dense(x, args[0], use_bias=not with_bn)
            else:
                layer_fn = conv2d if kind == "conv" else deconv2d
                x = layer_fn(x, args[0], args[1], args[2], use_bias=not with_bn)
            if with_bn:
                x = (fc_batch_norm(x, is_training, deferred_updates=deferred_updates) if kind == "fc"
                     else conv_batch_norm(x, is_training))
            x = ACTIVATIONS[activation](x)
        layer_index += 1
    return x


# --------------------------------------------------------------------------------------
# Networks and objectives (docs/tf1_semantics.md §4, §5)
# --------------------------------------------------------------------------------------

def discriminator_forward(images, architecture, is_training, use_batch_norm, reuse=None,
                          deferred_updates=None):
    """Discriminator in scope ``discriminator``: network, flatten, ``prob_projection``.

    Its fc batch norms' statistic updates go to ``deferred_updates`` (see ``fc_batch_norm``).
    """
    with tf1.variable_scope("discriminator", reuse=reuse):
        out = run_network(images, architecture, is_training, use_batch_norm,
                          deferred_updates=deferred_updates)
        hidden = tf.reshape(out, [-1, int(np.prod(out.shape[1:].as_list()))])
        with tf1.variable_scope("prob_projection"):
            prob = tf.nn.sigmoid(dense(hidden, 1, use_bias=True))
    return {"prob": prob, "hidden": hidden}


def reconstruct_mutual_info(hidden, num_outputs, is_training):
    """Q head in scope ``mutual_info``: dense 128 + fc BN (never updated) + lrelu, dense."""
    with tf1.variable_scope("mutual_info"):
        with tf1.variable_scope("fully_connected"):
            x = dense(hidden, 128, use_bias=False)
            x = lrelu(fc_batch_norm(x, is_training, update_moving_stats=False))
        with tf1.variable_scope("fully_connected_1"):
            return dense(x, num_outputs, use_bias=True)


def mutual_info_terms(q_output, zc_vectors, categorical_cardinality, num_continuous,
                      fix_std, categorical_lambda, continuous_lambda):
    """The MI lower bound of docs/tf1_semantics.md §5 from Q's output and the noise that made the images."""
    batch = tf.shape(q_output)[0]
    ll_categorical = tf.zeros([batch])
    offset = 0
    for cardinality in categorical_cardinality:
        logits = q_output[:, offset:offset + cardinality]
        onehot = zc_vectors[:, offset:offset + cardinality]
        ll_categorical += tf.reduce_sum(tf.math.log(tf.nn.softmax(logits) + TINY) * onehot,
                                        axis=1)
        offset += cardinality
    num_cat = offset
    mean = q_output[:, num_cat:num_cat + num_continuous]
    codes = zc_vectors[:, num_cat:num_cat + num_continuous]
    if fix_std:
        std = tf.ones_like(mean)
    else:
        log_var = q_output[:, num_cat + num_continuous:num_cat + 2 * num_continuous]
        std = tf.sqrt(tf.exp(log_var))
    epsilon = (codes - mean) / (std + TINY)
    ll_continuous = tf.reduce_sum(
        -0.5 * np.log(2 * np.pi) - tf.math.log(std + TINY) - 0.5 * tf.square(epsilon), axis=1)
    mutual_info = tf.reduce_mean(continuous_lambda * ll_continuous
                                 + categorical_lambda * ll_categorical)
    return {
        "mutual_info": mutual_info,
        "ll_categorical": tf.reduce_mean(ll_categorical),
        "ll_continuous": tf.reduce_mean(ll_continuous),
        "std_contig": tf.reduce_mean(std),
    }


def _ordered_updates(pairs):
    """Moving-average updates (decay FC_BN_DECAY) of (variable, value) pairs, each after the
    previous; returns the update ops (empty when there are none)."""
    updates = []
    for variable, value in pairs:
        with tf.control_dependencies(updates[-1:]):
            updates.append(assign_moving_average(variable, value, FC_BN_DECAY))
    return updates


def _scope_variables(prefix):
    """All global variables (trainable or not) whose name starts with ``prefix + '/'``."""
    return [v for v in tf1.global_variables() if v.name.startswith(prefix + "/")]


def _gradients(optimizer, loss, var_list):
    """``compute_gradients`` with the ``None`` gradients dropped, as TF1 ``minimize`` does."""
    return [(g, v) for g, v in optimizer.compute_gradients(loss, var_list=var_list)
            if g is not None]


def _decoded_images(serialized_summaries):
    """{tag: pixels} of the images in serialized Summary protos."""
    images = {}
    for serialized in serialized_summaries:
        for value in tf1.Summary.FromString(serialized).value:
            images[value.tag] = decode_png(value.image.encoded_image_string)
    return images


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------

class TF1Reference:
    """The TF1 InfoGAN graph (docs/tf1_semantics.md §2, §6, §10) in its own graph and session.

    Args:
        image_shape: ``(H, W, C)`` of the real images.
        generator, discriminator: architecture strings (docs/tf1_semantics.md §2).
        categorical_cardinality, num_continuous, style_size: the noise layout (docs/tf1_semantics.md §1).
        use_batch_norm, fix_std, infogan: as the TF1 flags (``infogan=False`` is GAN mode:
            no Q head and no MI loss, noise is ``style_size`` wide).
        categorical_lambda, continuous_lambda: MI weights.
        generator_lr, discriminator_lr: initial values of the learning-rate variables.
        seed: if given, ``tf.compat.v1.set_random_seed(seed)`` in the graph.
    """

    def __init__(self, image_shape, generator, discriminator, categorical_cardinality=(10,),
                 num_continuous=2, style_size=62, use_batch_norm=True, fix_std=True,
                 infogan=True, categorical_lambda=1.0, continuous_lambda=1.0,
                 generator_lr=1e-3, discriminator_lr=2e-4, seed=None):
        self.image_shape = tuple(int(d) for d in image_shape)
        self.categorical_cardinality = tuple(int(c) for c in categorical_cardinality)
        self.num_continuous = int(num_continuous)
        self.style_size = int(style_size)
        self.infogan = bool(infogan)
        self.fix_std = bool(fix_std)
        if self.infogan:
            self.z_size = (sum(self.categorical_cardinality) + self.num_continuous
                           + self.style_size)
        else:
            self.z_size = self.style_size
        self.step_stats = None  # a list: each session.run appends its traced StepStats (profiling)
        self.graph = tf.Graph()
        with self.graph.as_default():
            if seed is not None:
                tf1.set_random_seed(seed)
            self._build(generator, discriminator, use_batch_norm, categorical_lambda,
                        continuous_lambda, generator_lr, discriminator_lr)
            self._saver = tf1.train.Saver(tf1.global_variables(), max_to_keep=None)
            self._assign_ops = {}
            self._strip_summaries, self._fake_summary = {}, None
            self.session = tf1.Session(graph=self.graph)
            self.session.run(tf1.global_variables_initializer())

    # ---------------------------------------------------------------- graph construction

    def _build(self, generator, discriminator, use_batch_norm, categorical_lambda,
               continuous_lambda, generator_lr, discriminator_lr):
        self.zc_vectors = tf1.placeholder(tf.float32, [None, self.z_size], name="zc_vectors")
        self.real_images = tf1.placeholder(tf.float32, [None] + list(self.image_shape),
                                           name="real_images")
        self.is_training = tf1.placeholder(tf.bool, [], name="is_training")
        self.generator_lr = tf1.get_variable(
            "generator_lr", [], trainable=False,
            initializer=tf1.constant_initializer(generator_lr))
        self.discriminator_lr = tf1.get_variable(
            "discriminator_lr", [], trainable=False,
            initializer=tf1.constant_initializer(discriminator_lr))

        with tf1.variable_scope("generator"):
            self.fake_images = run_network(self.zc_vectors, generator, self.is_training,
                                           use_batch_norm,
                                           strip_batchnorm_from_last_layer=True)
        self._fc_updates = {"fake": [], "real": []}
        self.fake = discriminator_forward(self.fake_images, discriminator, self.is_training,
                                          use_batch_norm, deferred_updates=self._fc_updates["fake"])
        self.real = discriminator_forward(self.real_images, discriminator, self.is_training,
                                          use_batch_norm, reuse=tf1.AUTO_REUSE,
                                          deferred_updates=self._fc_updates["real"])

        self.discriminator_objective = (
            tf.reduce_mean(tf.math.log(1.0 - self.fake["prob"] + TINY))
            + tf.reduce_mean(tf.math.log(self.real["prob"] + TINY)))
        self.generator_objective = tf.reduce_mean(tf.math.log(self.fake["prob"] + TINY))

        self.mi = None
        if self.infogan:
            num_outputs = sum(self.categorical_cardinality) + self.num_continuous * (
                1 if self.fix_std else 2)
            self.q_output = reconstruct_mutual_info(self.fake["hidden"], num_outputs,
                                                    self.is_training)
            self.mi = mutual_info_terms(self.q_output, self.zc_vectors,
                                        self.categorical_cardinality, self.num_continuous,
                                        self.fix_std, categorical_lambda, continuous_lambda)
            self.mi["neg_mutual_info"] = -self.mi["mutual_info"]
        self._build_train_ops()

    def _build_train_ops(self):
        """D optimiser first (owns ``beta1_power``), then the G optimiser (tf1_semantics §6, §10)."""
        generator_vars = _scope_variables("generator")
        discriminator_vars = _scope_variables("discriminator")
        mutual_info_vars = _scope_variables("mutual_info")

        d_optimizer = tf1.train.AdamOptimizer(learning_rate=self.discriminator_lr, beta1=0.5)
        d_grads = _gradients(d_optimizer, -self.discriminator_objective, discriminator_vars)
        self._d_fetches = {"discriminator_objective": self.discriminator_objective}
        if self.infogan:
            self._d_fetches["neg_mutual_info"] = self.mi["neg_mutual_info"]
        # D's fc statistics: the real pass's update, then the fake pass's (as the TF1 graph
        # executes them op by op), before any Adam update.
        d_statistics = _ordered_updates(self._fc_updates["real"] + self._fc_updates["fake"])
        with tf.control_dependencies([g for g, _ in d_grads] + list(self._d_fetches.values())
                                     + d_statistics):
            self._d_train_op = d_optimizer.apply_gradients(d_grads)

        g_optimizer = tf1.train.AdamOptimizer(learning_rate=self.generator_lr, beta1=0.5)
        g_grads = _gradients(g_optimizer, -self.generator_objective, generator_vars)
        self._g_fetches = {"generator_objective": self.generator_objective}
        mi_grads = []
        if self.infogan:
            mi_grads = _gradients(g_optimizer, self.mi["neg_mutual_info"],
                                  generator_vars + discriminator_vars + mutual_info_vars)
            self._g_fetches.update(self.mi)
        # Every gradient (and every fetched value) is computed from the pre-update weights;
        # then the G update is applied, then the MI update.
        before = ([g for g, _ in g_grads + mi_grads] + list(self._g_fetches.values())
                  + _ordered_updates(self._fc_updates["fake"]))
        with tf.control_dependencies(before):
            self._g_train_op = g_optimizer.apply_gradients(g_grads)
        if self.infogan:
            with tf.control_dependencies([self._g_train_op]):
                self._g_train_op = g_optimizer.apply_gradients(mi_grads)

    # ---------------------------------------------------------------- running

    def _run(self, fetches, feed):
        if self.step_stats is None:
            return self.session.run(fetches, feed_dict=feed)
        metadata = tf1.RunMetadata()
        values = self.session.run(fetches, feed_dict=feed, run_metadata=metadata, options=tf1.RunOptions(
            trace_level=tf1.RunOptions.FULL_TRACE))
        self.step_stats.append(metadata.step_stats)
        return values

    def discriminator_step(self, real_images, noise):
        """One D step (training mode): returns ``discriminator_objective`` and
        ``neg_mutual_info`` (the logged infogan loss; None in GAN mode), applies the D update."""
        feed = {self.real_images: real_images, self.zc_vectors: noise, self.is_training: True}
        values, _ = self._run([self._d_fetches, self._d_train_op], feed)
        values.setdefault("neg_mutual_info", None)
        return values

    def generator_step(self, noise):
        """One G step (training mode): returns the G objective and the MI terms (None in
        GAN mode), then applies the G update and after it the MI update."""
        feed = {self.zc_vectors: noise, self.is_training: True}
        values, _ = self._run([self._g_fetches, self._g_train_op], feed)
        for key in ("mutual_info", "neg_mutual_info", "ll_categorical", "ll_continuous",
                    "std_contig"):
            values.setdefault(key, None)
        return values

    def generate(self, noise, is_training=False):
        """G(noise). Like TF1, ``is_training=True`` updates G's batch-norm statistics, and
        inference mode still moves its conv EMAs (after reading them)."""
        feed = {self.zc_vectors: noise, self.is_training: is_training}
        return self._run(self.fake_images, feed)

    def discriminate(self, images, is_training=False, real_pass=False):
        """D(images) as ``{"prob", "hidden"}``. ``real_pass`` uses the real-image pass (and
        its own conv EMA set); otherwise the fake-image pass is fed ``images`` directly. In
        training mode the conv EMAs move; D's fc statistics move only in the training steps."""
        if real_pass:
            outputs, feed = self.real, {self.real_images: images}
        else:
            outputs, feed = self.fake, {self.fake_images: images}
        feed[self.is_training] = is_training
        return self._run(outputs, feed)

    def mutual_info(self, noise, is_training=True):
        """The MI terms on G(noise) (keys ``mutual_info``, ``neg_mutual_info``,
        ``ll_categorical``, ``ll_continuous``, ``std_contig``, ``q_output``); a forward pass
        only (in training mode it updates G's batch-norm statistics and D's conv EMAs)."""
        if not self.infogan:
            raise ValueError("mutual_info is not defined in GAN mode (infogan=False)")
        fetches = dict(self.mi, q_output=self.q_output)
        return self._run(fetches, {self.zc_vectors: noise, self.is_training: is_training})

    def image_summaries(self, images):
        """TF1's ``tf.summary.image(name, uint8 image[None], max_outputs=1)`` of each strip.

        Args:
          images: {name: uint8 array [H, W, 3]}, as the TF1 plotter fed them.

        Returns:
          {summary tag: the encoded PNG's pixels [H, W, C]}.
        """
        fetches, feed = [], {}
        with self.graph.as_default():
            for name, image in images.items():
                if name not in self._strip_summaries:
                    placeholder = tf1.placeholder(tf.uint8, [None, None, 3])
                    self._strip_summaries[name] = (placeholder, tf1.summary.image(
                        name, tf.expand_dims(placeholder, 0), max_outputs=1))
                placeholder, summary = self._strip_summaries[name]
                fetches.append(summary)
                feed[placeholder] = image
        return _decoded_images(self.session.run(fetches, feed_dict=feed))

    def fake_image_summary(self, noise, max_outputs=10):
        """TF1's GAN-mode ``tf.summary.image("fake images", G(noise), max_outputs)`` in inference
        mode, normalised by the summary op itself; returns {tag: pixels [H, W, C]}."""
        if self._fake_summary is None:
            with self.graph.as_default():
                self._fake_summary = tf1.summary.image("fake images", self.fake_images,
                                                       max_outputs=max_outputs)
        summary = self.session.run(self._fake_summary,
                                   {self.zc_vectors: noise, self.is_training: False})
        return _decoded_images([summary])

    # ---------------------------------------------------------------- variables

    def _variables(self):
        with self.graph.as_default():
            return {v.op.name: v for v in tf1.global_variables()}

    def get_variables(self):
        """Every global variable as ``{TF1 name (no ':0'): np.ndarray}``."""
        variables = self._variables()
        return self.session.run(variables)

    def set_variables(self, values):
        """Assigns a subset of variables by TF1 name; KeyError for unknown names."""
        variables = self._variables()
        ops, feed = [], {}
        for name, value in values.items():
            if name not in variables:
                raise KeyError(name)
            if name not in self._assign_ops:
                var = variables[name]
                with self.graph.as_default():
                    placeholder = tf1.placeholder(var.dtype.base_dtype, var.shape)
                    self._assign_ops[name] = (placeholder, var.assign(placeholder))
            placeholder, assign_op = self._assign_ops[name]
            ops.append(assign_op)
            feed[placeholder] = value
        self.session.run(ops, feed_dict=feed)

    def save(self, path):
        """Writes a TF1 checkpoint of all global variables; returns the checkpoint prefix."""
        with self.graph.as_default():
            return self._saver.save(self.session, path, write_meta_graph=False)

    def restore(self, path):
        """Restores all global variables from a checkpoint prefix written by ``save``."""
        with self.graph.as_default():
            self._saver.restore(self.session, path)

    def close(self):
        """Closes the session."""
        self.session.close()
