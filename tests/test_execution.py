"""The execution policy: what `fast`, `precision` and `jit_compile` decide, and that the library's
train() prepares the process as the command line does (oneDNN is read once, when TensorFlow
loads)."""
import json
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

from conftest import REPO_ROOT
from infogan.model import execution
from infogan.model.execution import FAITHFUL, ExecutionPolicy


def test_the_default_policy_is_the_tf1_codes_kernels():
    assert ExecutionPolicy.from_settings() == FAITHFUL
    assert (FAITHFUL.fused_batch_norm, FAITHFUL.leaky_relu, FAITHFUL.product_dtype) == (
        False, execution.MAX_LEAKY_RELU, "float32")
    assert not FAITHFUL.low_precision_products and not FAITHFUL.loss_scaling
    assert FAITHFUL.onednn is None and not FAITHFUL.jit_compile  # TensorFlow's own oneDNN default


@pytest.mark.parametrize("precision,dtype,scaled", [("mixed_bfloat16", "bfloat16", False),
                                                    ("mixed_float16", "float16", True)])
def test_fast_and_precision_choose_kernels_dtype_and_loss_scale(precision, dtype, scaled):
    policy = ExecutionPolicy.from_settings(fast=True, precision=precision, jit_compile=True)
    assert policy.fused_batch_norm and policy.leaky_relu == execution.NATIVE_LEAKY_RELU
    assert policy.product_dtype == dtype and policy.low_precision_products
    assert policy.loss_scaling == scaled and policy.onednn and policy.jit_compile
    assert policy.filter_gradient_as_product == (dtype == "bfloat16")  # oneDNN's bf16 kernel


def test_filter_gradients_are_products_only_with_fast_bfloat16():
    for fast, precision in ((False, "float32"), (True, "float32"), (False, "mixed_bfloat16")):
        policy = ExecutionPolicy.from_settings(fast=fast, precision=precision)
        assert not policy.filter_gradient_as_product, (fast, precision)


def test_fast_jit_compile_is_refused_on_the_cpu_only():
    from infogan.config import ConfigError, ExecutionConfig, check_compilation
    fast_xla = ExecutionConfig(fast=True, jit_compile=True)
    with pytest.raises(ConfigError, match="drop --jit_compile"):
        check_compilation(fast_xla, gpus=0)
    check_compilation(fast_xla, gpus=1)
    check_compilation(ExecutionConfig(jit_compile=True), gpus=0)  # XLA on the faithful kernels
    check_compilation(ExecutionConfig(fast=True), gpus=0)


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_bfloat16"):
        ExecutionPolicy.from_settings(precision="float64")


def test_the_layers_ask_the_policy():
    from infogan.model.config import ModelConfig
    from infogan.model.models import build_models
    from infogan.model.networks import fast_leaky_rectify, leaky_rectify
    for policy, activation in ((FAITHFUL, leaky_rectify),
                               (ExecutionPolicy.from_settings(fast=True), fast_leaky_rectify)):
        models = build_models(ModelConfig(), (28, 28, 1), execution=policy)
        first = models.discriminator.layer_objects[0]
        assert models.execution == policy and first._activation is activation
        assert first.batch_norm.runs_fused() == policy.fused_batch_norm
        assert models.q_network.fully_connected.batch_norm.runs_fused() == policy.fused_batch_norm


def test_a_loaded_tensorflow_without_onednn_is_reported_once(monkeypatch):
    import tensorflow  # noqa: F401  (loaded: the policy can only say so)
    monkeypatch.setattr(execution, "onednn_enabled", lambda: False)
    monkeypatch.setattr(execution, "_warned", [])
    fast = ExecutionPolicy.from_settings(fast=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast.prepare_process()
        fast.prepare_process()
        FAITHFUL.prepare_process()  # wants nothing: says nothing
    assert len(caught) == 1 and "fast mode without oneDNN's kernels" in str(caught[0].message)


# Runs a training entry point in a fresh process and stops it when TensorFlow is first imported,
# printing the oneDNN setting TensorFlow would read and the policies built on the way there.
_UP_TO_TENSORFLOW = textwrap.dedent("""
    import json, os, sys
    from infogan.config.parts import ExecutionConfig
    seen = []
    build = ExecutionConfig.policy
    ExecutionConfig.policy = lambda self: seen.append(build(self)) or seen[-1]

    class StopAtTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow":
                print(json.dumps({"onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                                  "policies": sorted({repr(policy) for policy in seen})}))
                sys.stdout.flush()
                os._exit(0)

    sys.meta_path.insert(0, StopAtTensorFlow())
    if sys.argv[1] == "library":
        import infogan
        infogan.train(infogan.TrainConfig(**json.loads(sys.argv[2])))
    else:
        from infogan.cli.train import run
        sys.argv = ["infogan-train"] + sys.argv[2:]
        run()
""")


def _up_to_tensorflow(tmp_path, environment, *args):
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(environment, PYTHONPATH=REPO_ROOT)
    result = subprocess.run([sys.executable, "-c", _UP_TO_TENSORFLOW, *args], capture_output=True,
                            text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("environment,flags,want", [
    ({}, ["--fast", "--precision", "mixed_bfloat16"], "1"),
    ({}, [], None),  # TensorFlow's default for this CPU, as the TF1 code ran
    ({"TF_ENABLE_ONEDNN_OPTS": "0"}, ["--fast"], "0"),  # the user's setting wins
])
def test_library_train_prepares_the_process_as_the_command_line(tmp_path, environment, flags, want):
    settings = {"fast": "--fast" in flags, "precision": flags[-1] if "--precision" in flags
                else "float32", "epochs": 1}
    library = _up_to_tensorflow(tmp_path, environment, "library", json.dumps(settings))
    command_line = _up_to_tensorflow(tmp_path, environment, "cli", "--epochs", "1", *flags)
    assert library == command_line
    assert library["onednn"] == want
    assert library["policies"] == [repr(ExecutionPolicy.from_settings(
        fast=settings["fast"], precision=settings["precision"]))]
