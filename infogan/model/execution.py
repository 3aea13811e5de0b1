"""How a run computes, not what: the execution policy built from `fast`, `precision` and
`jit_compile`.

The layers, the batch norms and the training step ask an `ExecutionPolicy` which kernels to run,
which dtype the products take, whether losses are scaled and whether the step is compiled with
XLA; nothing else reads those settings. The default policy, `FAITHFUL`, is the TF1 code's:
bit-identical results.

oneDNN is a process setting: TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` once, when it loads (left
unset, it turns oneDNN on where the CPU has AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX, off
elsewhere). `prepare_process()` sets it for a policy that wants oneDNN, before TensorFlow loads;
once TensorFlow is loaded with oneDNN off it can only say so. This module imports no TensorFlow.
"""
import dataclasses
import os
import sys
import warnings
from typing import Optional

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
# A Keras mixed-precision policy name -> the dtype of its products (its compute dtype).
PRODUCT_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
MAX_LEAKY_RELU = "max"        # max(x, 0.01 x): the TF1 code's ops
NATIVE_LEAKY_RELU = "native"  # TensorFlow's LeakyRelu op, with the TF1 code's subgradient at 0
_warned = []  # the oneDNN warning is given once per process


@dataclasses.dataclass(frozen=True)
class ExecutionPolicy:
    """The execution settings and what follows from them.

    Attributes:
      fast: TensorFlow's fused batch norm, its native leaky ReLU and oneDNN's CPU kernels (the
        same maths, rounded differently).
      precision: a key of PRODUCT_DTYPES: float32, or products in bfloat16/float16.
      jit_compile: compile the training step with XLA (rounded differently too).
    """
    fast: bool = False
    precision: str = "float32"
    jit_compile: bool = False

    def __post_init__(self):
        if self.precision not in PRODUCT_DTYPES:
            raise ValueError("precision must be one of %s, got %r" % (
                ", ".join(PRODUCT_DTYPES), self.precision))

    @classmethod
    def from_settings(cls, fast=False, precision="float32", jit_compile=False):
        """The policy of these settings.

        Args:
          fast: bool; precision: a key of PRODUCT_DTYPES; jit_compile: bool.

        Returns:
          an ExecutionPolicy.

        Raises:
          ValueError: an unknown precision.
        """
        return cls(fast=bool(fast), precision=precision, jit_compile=bool(jit_compile))

    @property
    def fused_batch_norm(self):
        """Whether the batch norms run TensorFlow's fused kernel (else the TF1 code's ops)."""
        return self.fast

    @property
    def leaky_relu(self):
        """MAX_LEAKY_RELU (the TF1 code's) or NATIVE_LEAKY_RELU."""
        return NATIVE_LEAKY_RELU if self.fast else MAX_LEAKY_RELU

    @property
    def product_dtype(self):
        """The dtype of the convolutions and matrix products: float32, bfloat16 or float16."""
        return PRODUCT_DTYPES[self.precision]

    @property
    def low_precision_products(self):
        """Whether the products run in 16 bits. Everything else stays float32, but for a fused
        batch norm and the activation after it, which take a 16-bit product as it is."""
        return self.product_dtype != "float32"

    @property
    def filter_gradient_as_product(self):
        """Whether the convolutions' filter gradients are one bfloat16 matrix product each
        (model/conv_gradients.py): with --fast, where oneDNN's bfloat16 filter-gradient kernel
        gains nothing over float32."""
        return self.fast and self.product_dtype == "bfloat16"

    @property
    def loss_scaling(self):
        """Whether the losses need a dynamic loss scale: float16 gradients underflow."""
        return self.product_dtype == "float16"

    @property
    def onednn(self):
        """True: this policy runs oneDNN's kernels; None: TensorFlow's default for this CPU."""
        return True if self.fast else None

    def prepare_process(self):
        """Sets what TensorFlow reads when it loads; call it before TensorFlow is imported.

        With oneDNN wanted, sets TF_ENABLE_ONEDNN_OPTS=1 unless the environment already sets it
        (the user's choice wins). When TensorFlow is already loaded with oneDNN off, warns (once
        per process) that this run goes without oneDNN's kernels.
        """
        if not self.onednn:
            return
        if "tensorflow" not in sys.modules:
            os.environ.setdefault(ONEDNN_VARIABLE, "1")
            return
        if not onednn_enabled() and not _warned:
            _warned.append(True)
            warnings.warn(
                "fast mode without oneDNN's kernels: TensorFlow was loaded with oneDNN off (%s=%s); "
                "set %s=1 before TensorFlow is imported, or train in a new process" % (
                    ONEDNN_VARIABLE, os.environ.get(ONEDNN_VARIABLE, "unset: off on this CPU"),
                    ONEDNN_VARIABLE), RuntimeWarning, stacklevel=2)


def onednn_enabled() -> Optional[bool]:
    """Whether the loaded TensorFlow runs oneDNN's kernels; None before TensorFlow is loaded."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())


FAITHFUL = ExecutionPolicy()  # the TF1 code's kernels: bit-identical results
