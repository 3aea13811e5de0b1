"""16-bit copies of the weights, cast once per training iteration and shared by its passes.

With 16-bit products, each layer casts its float32 kernel to the product dtype at every use: the
generator's and Q's 6.4-million-weight fc kernels were cast in the D step (G makes the fake
images, Q scores them) and again in the G step, although the D step does not move them. Inside
`iteration_copies()`, a layer's cast is made once and reused until an update moves the variable
(`WeightCopies.forget`).

The reuse changes no value: a copy is the cast of the variable as it still is, and each reuse
carries its own gradient, the cast of its upstream gradient to float32, exactly what a fresh cast
would give (its contributions are summed in float32, as before). Outside a scope, or in float32,
`product_weight` is a plain cast.
"""
import contextlib
import threading

import tensorflow as tf

# The scopes open while a training step is traced, innermost last, per thread: a MirroredStrategy
# traces its replicas' steps in threads of their own.
_local = threading.local()


def _active():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


class WeightCopies:
    """The copies made so far in one iteration: {id(variable): (variable, copy)}."""

    def __init__(self):
        self._copies = {}

    def product_weight(self, variable, dtype):
        """`variable` cast to `dtype`: the copy made earlier in the iteration, or a new one.

        Args:
          variable: a float32 tf.Variable.
          dtype: the product dtype (a tf.DType).

        Returns:
          a tensor of `dtype`, differentiable with respect to `variable`.
        """
        key = id(variable)
        if key in self._copies and self._copies[key][1].dtype == dtype:
            return _reuse(tf.convert_to_tensor(variable), self._copies[key][1])
        copy = tf.cast(variable, dtype)
        self._copies[key] = (variable, copy)
        return copy

    def forget(self, variables):
        """Drops the copies of `variables` (an update has moved them)."""
        for variable in variables:
            self._copies.pop(id(variable), None)


def _reuse(value, copy):
    """`copy` (the cast of `value`), with `value`'s gradient: the upstream gradient cast back."""
    @tf.custom_gradient
    def reuse(source):
        def gradient(upstream):
            return tf.cast(upstream, source.dtype)
        return tf.identity(copy), gradient
    return reuse(value)


@contextlib.contextmanager
def iteration_copies(enabled=True):
    """Opens a WeightCopies scope for the layers' products (none when not `enabled`).

    Yields:
      the WeightCopies, or None.
    """
    if not enabled:
        yield None
        return
    copies = WeightCopies()
    _active().append(copies)
    try:
        yield copies
    finally:
        _active().remove(copies)


def product_weight(variable, dtype):
    """`variable` cast to `dtype`, through the innermost open scope if there is one.

    Args:
      variable: a float32 tf.Variable; dtype: a tf.DType.

    Returns:
      a tensor of `dtype`.
    """
    if variable.dtype == dtype:
        return tf.convert_to_tensor(variable)
    scopes = _active()
    if not scopes:
        return tf.cast(variable, dtype)
    return scopes[-1].product_weight(variable, dtype)


def forget(variables):
    """Tells the innermost open scope (if any) that an update moved `variables`."""
    scopes = _active()
    if scopes:
        scopes[-1].forget(variables)
