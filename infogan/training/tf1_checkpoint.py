"""TF1 checkpoints in and out: the port's state under the TF1 code's variable names
(docs/tf1_semantics.md §10).

The port's Keras variable paths already are the TF1 names (`generator/layer_0/weights`), except
the conv batch norms' EMA shadows, which TF1 named after the moments tensors of each pass:

    <net>/<layer>/batch_norm/ema_mean_<pass>  ->
    <net>/<layer>/batch_norm/<scope>/<layer>/batch_norm/moments/Squeeze/ExponentialMovingAverage

(`Squeeze_1` for the variance; `<scope>` is `<net>` for pass 0 and `<net>_<pass>` after, so the
discriminator's real-image pass is `discriminator_1`). The optimisers' state maps as
docs/tf1_semantics.md §10 describes: D's Adam owns `<name>/Adam`, `<name>/Adam_1`, `beta1_power`,
`beta2_power`; G's Adam owns `<name>/Adam`, `<name>/Adam_1` of G and Q variables, `<name>/Adam_2`,
`<name>/Adam_3` of D variables, and `beta1_power_1`, `beta2_power_1`. The Adam slots the TF1 code
also gave its batch-norm statistics (always zero) are accepted and ignored.

Usage:
    load_tf1_checkpoint("model.ckpt-1000", models, optimizers)   # validates, then assigns
    values = export_tf1_state(models, optimizers)                  # {TF1 name: np.ndarray}
"""
import dataclasses
import os
import re
from typing import Dict

import numpy as np
import tensorflow as tf

from infogan.config import CONFIG_FILE, ConfigError
from infogan.model import losses
from infogan.model.config import ModelConfig
from infogan.model.options import weight_shaping_flags
from infogan.training.run_folder import CHECKPOINT_SUBDIR

EMA_SHADOW = "ExponentialMovingAverage"
MODEL_SCOPES = ("generator/", "discriminator/", "mutual_info/")
MODEL_FLAGS = weight_shaping_flags(ModelConfig)
MAX_LISTED = 12
_ADAM_SLOT = re.compile(r"^(?P<owner>.+)/Adam(_\d+)?$")
_ZERO_GRADIENT_SLOT = re.compile(
    r"/(%s|BatchNorm/moving_mean|BatchNorm/moving_variance)/Adam(_\d+)?$" % EMA_SHADOW)
# Object-based checkpoints (this port's) name values by object path, e.g.
# `generator/layer_0/kernel/.ATTRIBUTES/VARIABLE_VALUE`, and hold their object graph.
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_ATTRIBUTES = "/.ATTRIBUTES/"
_PORT_EMA = re.compile(
    r"^(?P<net>[^/]+)/(?P<layer>.+)/batch_norm/ema_(?P<stat>mean|variance)_(?P<pass>\d+)$")


class CheckpointMismatchError(ConfigError):
    """A TF1 checkpoint that does not fit the model; the message lists every problem."""


@dataclasses.dataclass
class TF1VariableMap:
    """The port's variables under their TF1 names.

    Attributes:
      required: model variables (with batch-norm statistics) and the learning rates.
      optimizer: Adam slots and beta powers; a checkpoint holds all of them or none.
    """
    required: Dict[str, tf.Variable]
    optimizer: Dict[str, tf.Variable]

    def all(self):
        """Every mapped variable, required first."""
        return {**self.required, **self.optimizer}


def tf1_variable_name(path):
    """The TF1 name of a port variable, from its Keras path.

    Args:
      path: e.g. `discriminator/layer_0/batch_norm/ema_variance_1`.

    Returns:
      e.g. `discriminator/layer_0/batch_norm/discriminator_1/layer_0/batch_norm/moments/`
      `Squeeze_1/ExponentialMovingAverage`; other paths are returned unchanged.
    """
    match = _PORT_EMA.match(path)
    if match is None:
        return path
    net, layer, pass_index = match.group("net"), match.group("layer"), int(match.group("pass"))
    scope = net if pass_index == 0 else "%s_%d" % (net, pass_index)
    squeeze = "Squeeze" if match.group("stat") == "mean" else "Squeeze_1"
    return "%s/%s/batch_norm/%s/%s/batch_norm/moments/%s/%s" % (
        net, layer, scope, layer, squeeze, EMA_SHADOW)


def is_ignored_tf1_name(name):
    """True for TF1 variables the port has no counterpart of and needs none: the Adam slots of
    the conv EMA shadows and of the fc batch norms' moving statistics. The TF1 code handed its
    optimisers every variable of a scope; those statistics are read only in the `tf.cond` branch
    not taken in training, so their gradient is always zero and their slots stay zero."""
    return _ZERO_GRADIENT_SLOT.search(name) is not None


def _networks(models):
    return [net for net in (models.generator, models.discriminator, models.q_network) if net is not None]


def model_variable_map(models):
    """{TF1 name: variable} of every variable of the three networks, statistics included."""
    return {tf1_variable_name(v.path): v for net in _networks(models) for v in net.variables}


def optimizer_variable_map(models, optimizers):
    """{TF1 name: variable} of both optimisers' Adam slots and beta powers (docs/tf1_semantics.md
    §10); empty when the MI loss is not the TF1 code's separate update (no TF1 counterpart)."""
    if models.q_network is not None and not losses.separate_mutual_info_update(models):
        return {}
    names = {id(v): tf1_variable_name(v.path) for net in _networks(models) for v in net.variables}
    result = {}
    for variable in losses.discriminator_variables(models):
        m, v = optimizers.discriminator.slots(variable)
        result[names[id(variable)] + "/Adam"], result[names[id(variable)] + "/Adam_1"] = m, v
    result["beta1_power"] = optimizers.discriminator.beta1_power
    result["beta2_power"] = optimizers.discriminator.beta2_power
    discriminator_ids = {id(v) for v in losses.discriminator_variables(models)}
    generator_updates = losses.generator_variables(models) + losses.mutual_info_variables(models)
    for variable in {id(v): v for v in generator_updates}.values():
        first, second = ("Adam_2", "Adam_3") if id(variable) in discriminator_ids else ("Adam", "Adam_1")
        m, v = optimizers.generator.slots(variable)
        result["%s/%s" % (names[id(variable)], first)] = m
        result["%s/%s" % (names[id(variable)], second)] = v
    result["beta1_power_1"] = optimizers.generator.beta1_power
    result["beta2_power_1"] = optimizers.generator.beta2_power
    return result


def tf1_variable_map(models, optimizers):
    """The port's whole training state under TF1 names.

    Args:
      models: InfoGANModels.
      optimizers: train_step.Optimizers built for these models.

    Returns:
      TF1VariableMap.
    """
    required = model_variable_map(models)
    required["generator_lr"] = optimizers.generator.learning_rate
    required["discriminator_lr"] = optimizers.discriminator.learning_rate
    return TF1VariableMap(required=required, optimizer=optimizer_variable_map(models, optimizers))


def export_tf1_state(models, optimizers):
    """The port's training state as {TF1 name: np.ndarray} (what a TF1 checkpoint would hold)."""
    return {name: variable.numpy() for name, variable in tf1_variable_map(models, optimizers).all().items()}


def _dtype(variable):
    return tf.as_dtype(variable.dtype).base_dtype


def _slot_owner(name):
    match = _ADAM_SLOT.match(name)
    return match.group("owner") if match else None


def _listing(title, problems):
    """`title N: a, b, ...` of {name: description}: variables first, then Adam slots, and no
    slot whose variable is itself listed."""
    names = [name for name in problems if _slot_owner(name) not in problems]
    names.sort(key=lambda name: (_slot_owner(name) is not None, name))
    shown = ", ".join(problems[name] for name in names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        shown += " (and %d more)" % (len(names) - MAX_LISTED)
    return "%s %d: %s" % (title, len(names), shown)


def find_mismatches(variable_map, shapes, dtypes=None):
    """Compares what a checkpoint holds with what the port needs.

    Args:
      variable_map: TF1VariableMap of the port.
      shapes: {TF1 name: shape} of the checkpoint.
      dtypes: optional {TF1 name: tf.DType} of the checkpoint.

    Returns:
      (problems, with_optimizer): a list of one-line descriptions (empty when it fits), and
      whether the checkpoint holds the optimiser state.
    """
    with_optimizer = any(name in shapes for name in variable_map.optimizer)
    wanted = variable_map.all() if with_optimizer else variable_map.required
    missing = {name: name for name in wanted if name not in shapes}
    mismatched = {}
    for name, variable in wanted.items():
        if name not in shapes:
            continue
        if tuple(shapes[name]) != tuple(variable.shape):
            mismatched[name] = "%s (checkpoint %s, model %s)" % (
                name, list(shapes[name]), list(variable.shape))
        elif dtypes is not None and dtypes[name].base_dtype != _dtype(variable):
            mismatched[name] = "%s (checkpoint %s, model %s)" % (
                name, dtypes[name].base_dtype.name, _dtype(variable).name)
    known = variable_map.all()
    no_adam = not variable_map.optimizer  # a model with no TF1 Adam layout: the slots are unused
    unexpected = {name: name for name in shapes if name.startswith(MODEL_SCOPES)
                  and name not in known and not is_ignored_tf1_name(name)
                  and not (no_adam and _slot_owner(name) is not None)}
    problems = [_listing(title, items) for title, items in (
        ("missing", missing), ("wrong shape or type", mismatched), ("not in this model", unexpected))
        if items]
    return problems, with_optimizer


def check_fits(variable_map, shapes, source, dtypes=None):
    """Raises CheckpointMismatchError naming every problem, before anything is assigned.

    Args:
      source: what holds the values, for the message ("the TF1 checkpoint model.ckpt").

    Returns:
      whether the source holds the optimiser state.
    """
    problems, with_optimizer = find_mismatches(variable_map, shapes, dtypes)
    if problems:
        raise CheckpointMismatchError("%s does not fit this model (were %s the same?): %s" % (
            source, ", ".join(MODEL_FLAGS), "; ".join(problems)))
    return with_optimizer


def _check_and_assign(models, optimizers, shapes, read, source, dtypes=None):
    """Checks everything, then assigns `read(name)` to each mapped variable."""
    variable_map = tf1_variable_map(models, optimizers)
    with_optimizer = check_fits(variable_map, shapes, source, dtypes)
    targets = variable_map.all() if with_optimizer else variable_map.required
    for name, variable in targets.items():
        variable.assign(np.asarray(read(name), dtype=_dtype(variable).as_numpy_dtype))
    return with_optimizer


def assign_tf1_state(models, optimizers, values, source="the TF1 state"):
    """Assigns a {TF1 name: array} state to the port, after checking that all of it fits.

    Optimiser state (Adam slots, beta powers) is assigned when present and left as built when
    entirely absent. Adam slots of the conv EMA shadows are accepted and ignored.

    Returns:
      whether the optimiser state was assigned.

    Raises:
      CheckpointMismatchError: missing variables, wrong shapes, or another architecture.
    """
    shapes = {name: np.shape(value) for name, value in values.items()}
    return _check_and_assign(models, optimizers, shapes, values.__getitem__, source)


def open_checkpoint(path):
    """A `tf.train.load_checkpoint` reader for a checkpoint prefix or folder.

    Raises:
      ConfigError: nothing readable there.
    """
    try:
        return tf.train.load_checkpoint(path)
    except (tf.errors.OpError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError("cannot read a TF1 checkpoint at %s (pass the prefix, e.g. "
                          "model.ckpt-1000, or its folder): %s" % (path, message)) from None


def check_not_port_checkpoint(path, names):
    """Refuses a checkpoint written by this port where one of the TF1 code is expected.

    Args:
      path: the checkpoint's prefix or folder.
      names: the names of the values it holds.

    Raises:
      ConfigError naming the run folder it belongs to (where it lies in one).
    """
    if not any(name == _OBJECT_GRAPH_KEY or _ATTRIBUTES in name for name in names):
        return
    folder = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)))
    run = os.path.dirname(folder) if os.path.basename(folder) == CHECKPOINT_SUBDIR else folder
    if os.path.exists(os.path.join(run, CONFIG_FILE)):
        hint = "continue its run with --resume=%s (train), or pass --logdir %s (evaluate, sample)" % (
            run, run)
    else:
        hint = "pass the folder of the run it came from to --resume (train) or --logdir"
    raise ConfigError("--tf1_checkpoint %s is a checkpoint of this port, not of the TF1 code; %s"
                      % (path, hint))


def read_tf1_checkpoint(path):
    """Every tensor of a TF1 checkpoint as {name: np.ndarray}."""
    reader = open_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def load_tf1_checkpoint(path, models, optimizers):
    """Loads a TF1 checkpoint (from the TF1 reference or the original code) into the port.

    Every model variable, both EMA sets of the discriminator's conv batch norms, the fc moving
    statistics and the learning rates must be there; the Adam slots and beta powers are loaded
    when the checkpoint has them, so training continues where the TF1 run stopped.

    Args:
      path: checkpoint prefix (or a folder with a `checkpoint` file).
      models: InfoGANModels.
      optimizers: train_step.Optimizers.

    Returns:
      whether the optimiser state was loaded.

    Raises:
      ConfigError: unreadable checkpoint, or one of this port; CheckpointMismatchError (a
        ConfigError): one message listing all missing, mismatched and unexpected variables.
        Nothing is assigned then.
    """
    reader = open_checkpoint(path)
    check_not_port_checkpoint(path, reader.get_variable_to_shape_map())
    return _check_and_assign(models, optimizers, reader.get_variable_to_shape_map(),
                             reader.get_tensor, "the TF1 checkpoint %s" % path,
                             reader.get_variable_to_dtype_map())


def save_tf1_checkpoint(prefix, values):
    """Writes {TF1 name: array} as a name-based (TF1 Saver style, V2 format) checkpoint.

    Returns:
      the checkpoint prefix.
    """
    names = sorted(values)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.convert_to_tensor(values[name]) for name in names])
    return prefix
