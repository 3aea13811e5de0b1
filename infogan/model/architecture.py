"""The compact architecture string of the TF1 code (docs/tf1_semantics.md §2), parsed without TensorFlow.

A description such as ``"fc:1024,fc:7x7x128,reshape:7:7:128,deconv:4:2:64"`` becomes a list of
`LayerSpec`; `infogan.model.networks` turns that list into Keras layers.
"""
import dataclasses
from typing import Optional, Tuple

ACTIVATION_NAMES = ("lrelu", "relu", "sigmoid", "tanh", "identity")
DEFAULT_ACTIVATION = "relu"
# Order matters: a string is split at its first '+', else its first '-', else '*', 'x', '/'.
_OPERATORS = (
    ("+", lambda a, b: a + b),
    ("-", lambda a, b: a - b),
    ("*", lambda a, b: a * b),
    ("x", lambda a, b: a * b),
    ("/", lambda a, b: a // b),
)
_SYNTAX = ("conv:K:S:N[:act][:bn|:nobn], deconv:K:S:N[:act][:bn|:nobn], fc:N[:act][:bn|:nobn] "
           "or reshape:d1:d2:...")
BATCH_NORM_OPTIONS = {"bn": True, "nobn": False}  # a layer's own batch-norm choice
MAX_SIZE = 2 ** 31 - 1  # TensorFlow's kernels index a dimension with 32-bit integers
MAX_EXPRESSION_CHARS = 200  # a size longer than this is a mistake, not a network
_SHOWN_CHARS = 80  # longer tokens and strings are shortened in messages


class ArchitectureError(ValueError):
    """A malformed architecture string; the message names the token and its position."""


def parse_math(expression):
    """Evaluates an integer expression the way the TF1 code does (`7x7x128` -> 6272).

    The string is split at the first '+', else the first '-', else '*', else 'x', else '/'
    (integer division), and both sides are evaluated recursively, so `8-2-1` is 8-(2-1) = 7.
    Each operator's terms are folded from the right, which is that recursion without its depth.

    Raises:
      ValueError: the expression is longer than MAX_EXPRESSION_CHARS, or not made of integers
        and these operators.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError("an expression of %d characters; at most %d are accepted" % (
            len(expression), MAX_EXPRESSION_CHARS))
    return _evaluate(expression, 0)


def _evaluate(expression, level):
    """`expression`, which holds none of the operators before _OPERATORS[level]."""
    for index in range(level, len(_OPERATORS)):
        symbol, combine = _OPERATORS[index]
        if symbol not in expression:
            continue
        parts = expression.split(symbol)
        result = _evaluate(parts[-1], index + 1)
        for position in range(len(parts) - 2, -1, -1):  # a op (b op (c ...)), as TF1 recursed
            if symbol == "/" and result == 0:
                raise ValueError("division by zero in %r" % symbol.join(parts[position:]))
            result = combine(_evaluate(parts[position], index + 1), result)
        return result
    try:
        return int(expression)
    except ValueError:
        raise ValueError("%r is not an integer expression" % expression) from None


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One comma-separated token of an architecture string.

    Attributes:
      kind: "conv", "deconv", "fc" or "reshape".
      token: the token as written.
      position: its 0-based index in the string.
      num_outputs: filters (conv/deconv) or units (fc); None for reshape.
      kernel_size, stride: conv/deconv only.
      activation: one of ACTIVATION_NAMES; None for reshape.
      shape: reshape target without the batch axis; None otherwise.
      batch_norm: True (`:bn`) or False (`:nobn`) when the token chooses; None: --use_batch_norm
        decides, as in the TF1 code (which had no per-layer choice).
    """
    kind: str
    token: str
    position: int
    num_outputs: Optional[int] = None
    kernel_size: Optional[int] = None
    stride: Optional[int] = None
    activation: Optional[str] = None
    shape: Optional[Tuple[int, ...]] = None
    batch_norm: Optional[bool] = None

    @property
    def has_weights(self):
        return self.kind != "reshape"

    def describe(self):
        """The line the TF1 code prints for this layer with debug=True."""
        if self.kind == "reshape":
            return "Reshape to %r" % (list(self.shape),)
        if self.kind == "fc":
            return "Fully connected with num_outputs=%d followed by %s%s" % (
                self.num_outputs, self.activation, self._batch_norm_note())
        title = "Convolution" if self.kind == "conv" else "Deconvolution"
        return "%s with nkernels=%d, stride=%d, num_outputs=%d followed by %s%s" % (
            title, self.kernel_size, self.stride, self.num_outputs, self.activation,
            self._batch_norm_note())

    def _batch_norm_note(self):
        """Nothing for TF1's tokens; the layer's own batch-norm choice otherwise."""
        if self.batch_norm is None:
            return ""
        return " (batch norm)" if self.batch_norm else " (no batch norm)"


def _shortened(text):
    """`text`, cut to _SHOWN_CHARS characters (marked with "...") for a one-line message."""
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 3] + "..."


def _fail(description, position, token, reason):
    raise ArchitectureError(
        "Could not parse layer description: %r (layer %d of %r): %s; expected %s" % (
            _shortened(token), position, _shortened(description), reason, _SYNTAX))


def _positive(description, position, token, text):
    try:
        value = parse_math(text)
    except ValueError as error:
        _fail(description, position, token, str(error))
    if value <= 0:
        _fail(description, position, token, "%r evaluates to %d, which is not positive" % (
            _shortened(text), value))
    if value > MAX_SIZE:
        _fail(description, position, token, "%r is too large (at most %d)" % (
            _shortened(text), MAX_SIZE))
    return value


def _activation(description, position, token, name):
    if name not in ACTIVATION_NAMES:
        _fail(description, position, token, "unknown activation %r (one of %s)" % (
            name, ", ".join(ACTIVATION_NAMES)))
    return name


def _options(description, position, token, fields):
    """The optional trailing fields of a layer: an activation and/or a batch-norm choice."""
    activation, batch_norm = DEFAULT_ACTIVATION, None
    if len(fields) > 2 or len({field in BATCH_NORM_OPTIONS for field in fields}) < len(fields):
        _fail(description, position, token, "after the sizes come at most an activation and one "
              "of :bn / :nobn")
    for field in fields:
        if field in BATCH_NORM_OPTIONS:
            batch_norm = BATCH_NORM_OPTIONS[field]
        else:
            activation = _activation(description, position, token, field)
    return activation, batch_norm


def _parse_token(description, position, token):
    kind, _, rest = token.partition(":")
    params = rest.split(":") if rest else []
    if kind in ("conv", "deconv"):
        if len(params) < 3:
            _fail(description, position, token, "%s takes kernel, stride and filters" % kind)
        kernel, stride, outputs = (_positive(description, position, token, p) for p in params[:3])
        activation, batch_norm = _options(description, position, token, params[3:])
        return LayerSpec(kind, token, position, num_outputs=outputs, kernel_size=kernel,
                         stride=stride, activation=activation, batch_norm=batch_norm)
    if kind == "fc":
        if not params:
            _fail(description, position, token, "fc takes its number of outputs")
        activation, batch_norm = _options(description, position, token, params[1:])
        return LayerSpec(kind, token, position,
                         num_outputs=_positive(description, position, token, params[0]),
                         activation=activation, batch_norm=batch_norm)
    if kind == "reshape":
        if not params:
            _fail(description, position, token, "reshape needs at least one dimension")
        shape = tuple(_positive(description, position, token, p) for p in params)
        return LayerSpec(kind, token, position, shape=shape)
    _fail(description, position, token, "unknown layer type %r" % kind)


def parse_architecture(description):
    """Parses an architecture string into a list of `LayerSpec`.

    Raises:
      ArchitectureError: (a ValueError) naming the offending token and its position.
    """
    if not isinstance(description, str) or not description.strip():
        raise ArchitectureError("Could not parse layer description: the architecture string is empty")
    return [_parse_token(description, position, token.strip())
            for position, token in enumerate(description.split(","))]


def infer_output_shapes(specs, input_shape):
    """Propagates a per-example shape through parsed layers, without TensorFlow.

    Args:
      specs: list of `LayerSpec` from `parse_architecture`.
      input_shape: shape of one example (no batch axis), e.g. (74,) or (28, 28, 1).

    Returns:
      list with the per-example output shape (a tuple) of each layer.

    Raises:
      ArchitectureError: a layer cannot take the shape it receives (a conv on a vector, a
        reshape whose size differs from its input's).
    """
    shapes, shape = [], tuple(input_shape)
    for spec in specs:
        shape = _layer_output_shape(spec, shape)
        shapes.append(shape)
    return shapes


def _layer_output_shape(spec, shape):
    if spec.kind == "fc":
        return shape[:-1] + (spec.num_outputs,)
    if spec.kind == "reshape":
        size, target = _product(shape), _product(spec.shape)
        if size != target:
            raise ArchitectureError(
                "Layer %d (%r) reshapes to %s = %d values per example, but its input %s has %d; "
                "make the reshape dimensions multiply to %d" % (
                    spec.position, spec.token, list(spec.shape), target, list(shape), size, size))
        return spec.shape
    if len(shape) != 3:
        raise ArchitectureError(
            "Layer %d (%r) is a %s and needs a [height, width, channels] input, but gets %s; "
            "add a reshape before it" % (spec.position, spec.token, spec.kind, list(shape)))
    height, width, _ = shape
    if spec.kind == "conv":  # SAME padding
        return (-(-height // spec.stride), -(-width // spec.stride), spec.num_outputs)
    return (height * spec.stride, width * spec.stride, spec.num_outputs)


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


def describe_network(name, specs):
    """The lines TF1's run_network printed with debug=True: a title, one line a layer, a blank."""
    return ["%s architecture" % name] + [spec.describe() for spec in specs] + [""]


def count_values(specs, input_shape):
    """Counts, without TensorFlow, the weights of parsed layers and the values they output.

    Args:
      specs: list of `LayerSpec`.
      input_shape: shape of one example (no batch axis).

    Returns:
      (weights, outputs): the layers' weights and biases, and the values all layers output for
      one example.

    Raises:
      ArchitectureError: as `infer_output_shapes`.
    """
    weights, outputs, shape = 0, 0, tuple(input_shape)
    for spec, output_shape in zip(specs, infer_output_shapes(specs, input_shape)):
        if spec.has_weights:
            taps = 1 if spec.kind == "fc" else spec.kernel_size ** 2
            weights += (taps * shape[-1] + 1) * spec.num_outputs
        outputs += _product(output_shape)
        shape = output_shape
    return weights, outputs
