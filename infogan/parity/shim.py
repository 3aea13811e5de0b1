"""Runs an unmodified checkout of the TF1 InfoGAN code on TensorFlow 2.21 (`parity --tf1_repo`).

Only modules loaded from the checkout see the shim; for them

- `import tensorflow` is `tensorflow.compat.v1` (graph mode, TF2 behaviour disabled), where
  `variable_scope(..., reuse=True)` becomes `reuse=AUTO_REUSE` (the fix for the second
  discriminator pass that TF > 1.0 forces, docs/tf1_semantics.md §11), sessions run every op in
  the calling thread (so that the order of unordered ops is fixed) and can be seeded with a given
  state right after the variables are initialised, and `summary.FileWriter` records the scalars
  and images it is given instead of writing event files, and `summary.image` also takes its
  TF 0.12 argument name `max_images` (the TF1 code's GAN mode uses it);
- `train.AdamOptimizer` applies the updates it builds in the order they were built, each one
  after the gradients of all of them: the TF1 code's G step runs the G update and the MI update of
  one optimiser in one `session.run` with no order between them; this is the deterministic order
  the port implements (§6). `--unordered` leaves them unordered, as the original;
- `tensorflow.contrib.layers` (and `.slim`) is `tf-slim`, with TF 1.0's non-fused `batch_norm`
  (biased batch variance for the moving statistics, read without stop_gradient in the branch
  not taken, as TF 1.0 read them) in place of tf-slim's fused default;
- `tensorflow.examples.tutorials.mnist.input_data.read_data_sets` reads the MNIST IDX files of
  `--mnist_dir` with `infogan.data` (nothing is downloaded).

Nothing else of the checkout's graph is changed: its variables (Adam slots included) are the
ones the original builds.

It changes process-wide TensorFlow settings, so it runs in a child process:

    python -m infogan.parity.shim --repo PATH --mnist_dir DIR --output DIR [--state FILE.npz]
        [--save_checkpoint PREFIX] [--script train.py] [--python_seed N]
        -- <flags of the checkout's train.py>

and leaves in --output: `scalars.json` ({step: {tag: value}}), `images.npz` (the image summaries'
pixels, keyed `<step>|<tag>`), `initial_state.npz` (the variables right after initialisation, and
the --state values), `final_state.npz` (when the session ends).
The checkout's own output (its epoch lines) goes to stdout. tf-slim is needed here only.
"""
import argparse
import builtins
import collections
import json
import os
import random
import runpy
import sys
import types

import numpy as np

from infogan import data
from infogan.model import noise
from infogan.parity.reference import assign_moving_average
from infogan.training.summaries import decode_png

MNIST_PIXELS = 28 * 28


class Recorder:
    """What the shimmed TensorFlow saw: summaries, and the variables at start and end.

    Attributes:
      state: {TF1 name: array} assigned right after the global initializer runs (may be empty).
      scalars: {step: {tag: value}} from every `FileWriter.add_summary`.
      images: {step: {tag: uint8 array [H, W, C]}}, the decoded image summaries.
      initial_state, final_state: {TF1 name: array} of every global variable, or None.
      save_checkpoint: a prefix to write a TF1 Saver checkpoint to when the session ends.
    """

    def __init__(self, state=None, save_checkpoint=None):
        self.state = dict(state or {})
        self.save_checkpoint = save_checkpoint
        self.scalars = collections.defaultdict(dict)
        self.images = collections.defaultdict(dict)
        self.initial_state = self.final_state = None
        self.init_op_names = set()

    def record_summary(self, tf1, summary, step):
        """Keeps the scalars and the decoded images of a (serialized) Summary."""
        if isinstance(summary, bytes):
            summary = tf1.Summary.FromString(summary)
        for value in summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                self.scalars[int(step or 0)][value.tag] = float(value.simple_value)
            elif kind == "image":
                self.images[int(step or 0)][value.tag] = decode_png(value.image.encoded_image_string)

    def after_run(self, tf1, session, fetches):
        """Assigns `state` (once) right after a run that executed the global initializer."""
        if self.initial_state is not None:
            return
        names = {getattr(fetch, "name", None) for fetch in tf1.nest.flatten(fetches)}
        if names & self.init_op_names:
            assign_values(tf1, session, self.state)
            self.initial_state = read_variables(tf1, session)

    def before_close(self, tf1, session):
        """Reads every variable (and writes the checkpoint) before the session closes."""
        if self.final_state is None and self.initial_state is not None:
            self.final_state = read_variables(tf1, session)
            if self.save_checkpoint:
                with session.graph.as_default():
                    tf1.train.Saver(tf1.global_variables()).save(
                        session, self.save_checkpoint, write_meta_graph=False)


def read_variables(tf1, session):
    """{name: array} of every global variable of the session's graph."""
    with session.graph.as_default():
        variables = {v.op.name: v for v in tf1.global_variables()}
    return session.run(variables)


def assign_values(tf1, session, values):
    """Loads the values whose names are graph variables; the other variables keep theirs."""
    with session.graph.as_default():
        for variable in tf1.global_variables():
            if variable.op.name in values:
                variable.load(values[variable.op.name], session)


# ----------------------------------------------------------------------------- tensorflow


def variable_scope_with_auto_reuse(tf1):
    """tf.variable_scope where reuse=True means AUTO_REUSE (variables created on a reused pass,
    such as the second pass's batch-norm moving averages, are created instead of failing)."""
    def variable_scope(*args, **kwargs):
        if kwargs.get("reuse") is True:
            kwargs["reuse"] = tf1.AUTO_REUSE
        return tf1.variable_scope(*args, **kwargs)
    return variable_scope


def recording_session_class(tf1, base, recorder):
    """A Session (or InteractiveSession) subclass that runs every op in the calling thread and
    tells the recorder about runs and closing."""
    class RecordingSession(base):
        def __init__(self, target="", graph=None, config=None):
            config = config if config is not None else tf1.ConfigProto()
            config.inter_op_parallelism_threads = -1  # every op in the caller thread: a fixed order
            super().__init__(target, graph=graph, config=config)

        def run(self, fetches, *args, **kwargs):
            result = super().run(fetches, *args, **kwargs)
            recorder.after_run(tf1, self, fetches)
            return result

        def close(self):
            if not getattr(self, "_closed", False):
                recorder.before_close(tf1, self)
            super().close()

    RecordingSession.__name__ = base.__name__
    return RecordingSession


def recording_file_writer_class(tf1, recorder):
    """summary.FileWriter that records scalar summaries and writes nothing."""
    class FileWriter:
        def __init__(self, logdir, *args, **kwargs):
            self.logdir = logdir

        def add_summary(self, summary, global_step=None):
            recorder.record_summary(tf1, summary, global_step)

        def get_logdir(self):
            return self.logdir

        def __getattr__(self, name):  # add_graph, add_event, flush, close, reopen...
            return lambda *args, **kwargs: None

    return FileWriter


def ordered_optimizer_class(tf1, base):
    """`base` (an optimizer class) whose instances apply their updates in the order they were
    built: each update waits for the gradients of every later one and for every earlier update.

    The TF1 code's G step fetches two `minimize` ops of one optimiser (the G update, then the MI
    update) in one `session.run`. Ordered so, both use gradients of the pre-update weights and the
    MI update sees the beta powers the G update advanced (docs/tf1_semantics.md §6).
    """
    class OrderedOptimizer(base):
        def apply_gradients(self, grads_and_vars, global_step=None, name=None):
            grads_and_vars = list(grads_and_vars)
            earlier = getattr(self, "_shim_updates", [])
            gradient_ops = [gradient.op for gradient, _ in grads_and_vars if gradient is not None]
            for update in earlier:
                update._add_control_inputs(gradient_ops)  # noqa: SLF001 - graph surgery
            with tf1.control_dependencies(getattr(self, "_shim_train_ops", [])):
                train_op = super().apply_gradients(grads_and_vars, global_step, name)
            self._shim_train_ops = getattr(self, "_shim_train_ops", []) + [train_op]
            return train_op

        def _finish(self, update_ops, name_scope):
            self._shim_updates = getattr(self, "_shim_updates", []) + list(update_ops)
            return super()._finish(update_ops, name_scope)

    OrderedOptimizer.__name__ = base.__name__
    return OrderedOptimizer


def proxy_module(name, target, **overrides):
    """A module whose attributes are `overrides`, else those of `target`."""
    module = types.ModuleType(name)
    module.__dict__.update(overrides)
    module.__getattr__ = lambda attribute: getattr(target, attribute)
    return module


def make_tensorflow_module(tf, recorder, contrib, examples, ordered=True):
    """The `tensorflow` the checkout imports: compat.v1 plus the shim's replacements.

    Args:
      ordered: apply each optimiser's updates in the order they were built.
    """
    tf1 = tf.compat.v1

    def global_variables_initializer():
        operation = tf1.global_variables_initializer()
        recorder.init_op_names.add(operation.name)
        return operation

    def image(name, tensor, max_outputs=3, collections=None, family=None, max_images=None):
        """summary.image, also under TF 0.12's argument name `max_images`."""
        return tf1.summary.image(name, tensor, max_images if max_images is not None else max_outputs,
                                 collections, family)

    summary = proxy_module("tensorflow.summary", tf1.summary, image=image,
                           FileWriter=recording_file_writer_class(tf1, recorder))
    optimizers = {name: ordered_optimizer_class(tf1, getattr(tf1.train, name))
                  for name in ("AdamOptimizer",)} if ordered else {}
    train = proxy_module("tensorflow.train", tf1.train, **optimizers)
    return proxy_module(
        "tensorflow", tf1, variable_scope=variable_scope_with_auto_reuse(tf1), train=train,
        Session=recording_session_class(tf1, tf1.Session, recorder),
        InteractiveSession=recording_session_class(tf1, tf1.InteractiveSession, recorder),
        global_variables_initializer=global_variables_initializer,
        initialize_all_variables=global_variables_initializer, summary=summary,
        contrib=contrib, examples=examples, compat=tf.compat)


# ----------------------------------------------------------------------------- tf-slim


def patch_for_tf_slim(tf):
    """The two aliases tf-slim 1.1.0 needs on TensorFlow 2.21."""
    from tensorflow.python.framework import ops
    from tensorflow.python.ops import control_flow_ops
    ops.Tensor = tf.Tensor
    if not hasattr(control_flow_ops, "cond"):
        control_flow_ops.cond = tf.compat.v1.cond


def make_batch_norm(tf):
    """contrib.layers.batch_norm with TF 1.0's default non-fused semantics.

    Moments over all axes but the last (biased variance); moving statistics (decay `decay`, no
    debiasing) updated in place when `updates_collections` is None, else their update ops are
    added to that collection; the moving statistics are read without gradient.
    """
    tf1 = tf.compat.v1

    def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001, activation_fn=None,
                   is_training=True, updates_collections=tf1.GraphKeys.UPDATE_OPS, reuse=None,
                   trainable=True, scope=None, **unused):
        with tf1.variable_scope(scope, "BatchNorm", [inputs], reuse=reuse):
            channels = inputs.shape[-1:]
            beta = tf1.get_variable("beta", channels, initializer=tf1.zeros_initializer(),
                                    trainable=trainable) if center else None
            gamma = tf1.get_variable("gamma", channels, initializer=tf1.ones_initializer(),
                                     trainable=trainable) if scale else None
            moving_mean = tf1.get_variable("moving_mean", channels, trainable=False,
                                           initializer=tf1.zeros_initializer())
            moving_variance = tf1.get_variable("moving_variance", channels, trainable=False,
                                               initializer=tf1.ones_initializer())
            mean, variance = _batch_norm_statistics(
                tf1, inputs, moving_mean, moving_variance, decay, is_training, updates_collections)
            outputs = tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, epsilon)
            return activation_fn(outputs) if activation_fn is not None else outputs

    return batch_norm


def _batch_norm_statistics(tf1, inputs, moving_mean, moving_variance, decay, is_training,
                           updates_collections):
    def moving():
        return tf1.identity(moving_mean), tf1.identity(moving_variance)

    if is_training is False:
        return moving()
    mean, variance = tf1.nn.moments(inputs, list(range(len(inputs.shape) - 1)))

    def batch_with_updates():
        updates = [assign_moving_average(moving_mean, mean, decay),
                   assign_moving_average(moving_variance, variance, decay)]
        if updates_collections is not None:
            for update in updates:
                tf1.add_to_collections(updates_collections, update)
            return tf1.identity(mean), tf1.identity(variance)
        with tf1.control_dependencies(updates):
            return tf1.identity(mean), tf1.identity(variance)

    if is_training is True:
        return batch_with_updates()
    return tf1.cond(is_training, batch_with_updates, moving)


def make_contrib_module(tf):
    """`tensorflow.contrib` with `layers` and `slim`: tf-slim, TF 1.0 batch norm."""
    patch_for_tf_slim(tf)
    try:
        import tf_slim
    except ImportError:
        raise SystemExit("the TF1 code's tensorflow.contrib.layers needs tf-slim: pip install "
                         "'tf-slim>=1.1,<2' (or this project's [tf1] extra)") from None

    batch_norm = make_batch_norm(tf)
    layers = proxy_module("tensorflow.contrib.layers", _SlimNames(tf_slim), batch_norm=batch_norm)
    slim = proxy_module("tensorflow.contrib.slim", _SlimNames(tf_slim), batch_norm=batch_norm,
                        layers=layers)
    return proxy_module("tensorflow.contrib", types.SimpleNamespace(), layers=layers, slim=slim)


class _SlimNames:
    """tf-slim's names: tf_slim.layers first, then tf_slim (initializers, arg_scope...)."""

    def __init__(self, tf_slim):
        self._sources = (tf_slim.layers, tf_slim)

    def __getattr__(self, name):
        for source in self._sources:
            if hasattr(source, name):
                return getattr(source, name)
        raise AttributeError("tf-slim has no %r (tensorflow.contrib.layers.%s)" % (name, name))


# ----------------------------------------------------------------------------- MNIST


class DataSet:
    """What the TF1 tutorial reader returned per split: images, labels, num_examples."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels
        self.num_examples = images.shape[0]


def make_read_data_sets(mnist_dir):
    """`read_data_sets` with the TF1 tutorial reader's splits and dtypes, from local IDX files."""
    def read_data_sets(train_dir=None, fake_data=False, one_hot=False, dtype=None, reshape=True,
                       validation_size=data.MNIST_VALIDATION_SIZE, **unused):
        def split(images_name, labels_name, start=0, stop=None):
            images = data.read_idx(os.path.join(mnist_dir, images_name))[start:stop]
            labels = data.read_idx(os.path.join(mnist_dir, labels_name))[start:stop]
            images = data.idx_images_to_float(images)
            if reshape:
                images = images.reshape(images.shape[0], MNIST_PIXELS)
            return DataSet(images, noise.make_one_hot(labels, 10) if one_hot else labels)

        train_files = (data.MNIST_TRAIN_IMAGES, data.MNIST_TRAIN_LABELS)
        return types.SimpleNamespace(
            train=split(*train_files, start=validation_size),
            validation=split(*train_files, stop=validation_size),
            test=split(data.MNIST_TEST_IMAGES, data.MNIST_TEST_LABELS))
    return read_data_sets


def make_examples_modules(mnist_dir):
    """`tensorflow.examples.tutorials.mnist.input_data` and its parent packages."""
    input_data = types.ModuleType("tensorflow.examples.tutorials.mnist.input_data")
    input_data.read_data_sets = make_read_data_sets(mnist_dir)
    mnist = types.ModuleType("tensorflow.examples.tutorials.mnist")
    mnist.input_data = input_data
    tutorials = types.ModuleType("tensorflow.examples.tutorials")
    tutorials.mnist = mnist
    examples = types.ModuleType("tensorflow.examples")
    examples.tutorials = tutorials
    return {module.__name__: module for module in (examples, tutorials, mnist, input_data)}


# ----------------------------------------------------------------------------- installing


def build_modules(recorder, mnist_dir, ordered=True):
    """{module name: module} of everything the checkout may import from `tensorflow`."""
    import tensorflow as tf
    tf.compat.v1.disable_v2_behavior()
    contrib = make_contrib_module(tf)
    examples = make_examples_modules(mnist_dir)
    modules = {"tensorflow": make_tensorflow_module(tf, recorder, contrib,
                                                     examples["tensorflow.examples"], ordered),
               "tensorflow.contrib": contrib, "tensorflow.contrib.layers": contrib.layers,
               "tensorflow.contrib.slim": contrib.slim}
    modules.update(examples)
    return modules


def install_import_hook(modules, repo):
    """Makes `import tensorflow...` inside files under `repo` (only) return the shim's modules."""
    root = os.path.abspath(repo) + os.sep
    original_import = builtins.__import__

    def shim_import(name, globals=None, locals=None, fromlist=(), level=0):
        caller = (globals or {}).get("__file__") or ""
        if level == 0 and name in modules and os.path.abspath(caller).startswith(root):
            return modules[name] if fromlist else modules[name.partition(".")[0]]
        return original_import(name, globals, locals, fromlist, level)

    builtins.__import__ = shim_import


def forget_own_package():
    """Drops this project's `infogan` modules from sys.modules so that the checkout's own
    `infogan` package (same name) is imported instead."""
    for name in [name for name in sys.modules if name == "infogan" or name.startswith("infogan.")]:
        del sys.modules[name]


def run_checkout(repo, script, argv, recorder, mnist_dir, ordered=True, python_seed=None):
    """Runs `repo/script` as __main__ with `argv`, under the shim. Returns its exit status.

    `python_seed`, when given, seeds Python's `random` right before the script starts.
    """
    install_import_hook(build_modules(recorder, mnist_dir, ordered), repo)
    forget_own_package()
    sys.path.insert(0, os.path.abspath(repo))
    os.chdir(repo)
    sys.argv = [script] + list(argv)
    if python_seed is not None:
        random.seed(python_seed)
    try:
        runpy.run_path(os.path.join(repo, script), run_name="__main__")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def write_outputs(recorder, output):
    """scalars.json, images.npz, initial_state.npz and final_state.npz in `output`."""
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "scalars.json"), "w") as stream:
        json.dump({str(step): values for step, values in sorted(recorder.scalars.items())}, stream)
    np.savez(os.path.join(output, "images.npz"), **{
        "%d|%s" % (step, tag): pixels for step, images in recorder.images.items()
        for tag, pixels in images.items()})
    for name in ("initial_state", "final_state"):
        state = getattr(recorder, name)
        if state is not None:
            np.savez(os.path.join(output, name + ".npz"), **state)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m infogan.parity.shim", description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True, help="checkout of the TF1 code")
    parser.add_argument("--script", default="train.py", help="its training script")
    parser.add_argument("--mnist_dir", default=data_dir_default(), help="folder of the MNIST IDX files")
    parser.add_argument("--output", required=True, help="folder for the recorded values")
    parser.add_argument("--state", help=".npz of {TF1 name: array} to start from")
    parser.add_argument("--save_checkpoint", help="write a TF1 checkpoint here when training ends")
    parser.add_argument("--unordered", action="store_true",
                        help="leave the updates of one optimiser unordered, as the original code")
    parser.add_argument("--python_seed", type=int, help="seed Python's random (the TF1 code's "
                        "random.sample of an image folder's files) with this")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the script's flags")
    arguments = parser.parse_args(argv)
    if arguments.train_args[:1] == ["--"]:
        arguments.train_args = arguments.train_args[1:]
    return arguments


def data_dir_default():
    from infogan.config import DEFAULT_MNIST_DIR
    return DEFAULT_MNIST_DIR


def main(argv=None):
    """Entry point of `python -m infogan.parity.shim`; returns the checkout's exit status."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    state = dict(np.load(arguments.state)) if arguments.state else {}
    recorder = Recorder(state, arguments.save_checkpoint and os.path.abspath(arguments.save_checkpoint))
    output, mnist_dir = os.path.abspath(arguments.output), os.path.abspath(arguments.mnist_dir)
    status = run_checkout(os.path.abspath(arguments.repo), arguments.script, arguments.train_args,
                          recorder, mnist_dir, ordered=not arguments.unordered,
                          python_seed=arguments.python_seed)
    write_outputs(recorder, output)
    return status


if __name__ == "__main__":
    sys.exit(main())
