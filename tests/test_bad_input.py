"""Bad input is refused with one line before anything is built: absurd sizes, unparseable or
unwritable paths, environment variables and checkpoints of the wrong kind."""
import dataclasses
import json
import os
import random
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from infogan import config as config_lib
from infogan.config import ConfigError, TrainConfig, check_memory, preflight
from infogan.model import architecture
from infogan.model.architecture import ArchitectureError
from infogan.model.config import DEFAULT_GENERATOR, ModelConfig

GiB = 2 ** 30


def _tf1_parse_math(expression):
    """The TF1 code's recursion, as SPEC section 2 states it (the reference for parse_math)."""
    for symbol, combine in (("+", int.__add__), ("-", int.__sub__), ("*", int.__mul__),
                            ("x", int.__mul__), ("/", int.__floordiv__)):
        index = expression.find(symbol)
        if index >= 0:
            return combine(_tf1_parse_math(expression[:index]), _tf1_parse_math(expression[index + 1:]))
    return int(expression)


def test_parse_math_computes_what_the_tf1_recursion_computes():
    generator = random.Random(0)
    for _ in range(2000):
        terms = [str(generator.randint(1, 9)) for _ in range(generator.randint(1, 7))]
        text = terms[0] + "".join(generator.choice("+-*x/") + term for term in terms[1:])
        try:
            want = _tf1_parse_math(text)
        except ZeroDivisionError:
            with pytest.raises(ValueError, match="division by zero"):
                architecture.parse_math(text)
            continue
        assert architecture.parse_math(text) == want, text
    assert architecture.parse_math("8-2-1") == 7


def test_a_long_expression_is_evaluated_without_recursion():
    text = "+".join(["1"] * 100)  # 199 characters: 100 levels of TF1's recursion
    assert architecture.parse_math(text) == 100


@pytest.mark.parametrize("description,fragment", [
    ("fc:99999999999999999999", "'99999999999999999999' is too large (at most 2147483647)"),
    ("fc:65536x65536", "is too large (at most 2147483647)"),
    ("fc:" + "+".join(["1"] * 1200), "an expression of 2399 characters; at most 200 are accepted"),
])
def test_sizes_too_large_or_too_long_are_architecture_errors(description, fragment):
    with pytest.raises(ArchitectureError) as error:
        preflight(TrainConfig(model=ModelConfig(generator=description)))
    message = str(error.value)
    assert message.startswith("--generator: ") and fragment in message
    assert "\n" not in message and len(message) < 600


def test_count_values_of_the_default_generator():
    specs = architecture.parse_architecture(DEFAULT_GENERATOR)
    weights, outputs = architecture.count_values(specs, (74,))
    assert weights == (74 + 1) * 1024 + (1024 + 1) * 6272 + (16 * 128 + 1) * 64 + (16 * 64 + 1)
    assert outputs == 1024 + 6272 + 6272 + 14 * 14 * 64 + 28 * 28


def _model(**changes):
    return dataclasses.replace(ModelConfig(), **changes)


@pytest.mark.parametrize("model,flag", [
    (_model(generator="fc:100000000," + DEFAULT_GENERATOR.partition(",")[2]), "--generator"),
    (_model(discriminator="conv:30000:2:64"), "--discriminator"),
    (_model(categorical_cardinality=(100000000,)), "--categorical_cardinality, --num_continuous or "
     "--style_size"),
    (_model(style_size=1000000000), "--categorical_cardinality"),
    (_model(generator="fc:7x7x128,reshape:7:7:128,deconv:4:2:64,deconv:4:2000:1:sigmoid"),
     "--batch_size"),
])
def test_networks_that_cannot_fit_in_memory_are_refused(model, flag):
    with pytest.raises(ConfigError) as error:
        check_memory(model, 64, available=64 * GiB)
    message = str(error.value)
    assert "more than this machine's 68.7 GB; make %s" % flag in message
    assert message.startswith("training these networks needs at least ")


def test_the_default_networks_fit_and_validate_checks_this_machine():
    check_memory(ModelConfig(), 64, available=GiB)
    with pytest.raises(ConfigError, match="more than this machine's"):
        preflight(TrainConfig(model=_model(style_size=1000000000)))


@pytest.mark.parametrize("changes,fragment", [
    (dict(status_every=-1), "--status_every must be 0 (no status lines) or a positive number"),
    (dict(num_cpu_devices=100000), "--num_cpu_devices must be an integer from 1 to 64"),
    (dict(logdir=""), "--logdir is empty"),
    (dict(cache_dir=os.path.join(REPO_ROOT, "README.md", "cache")), "README.md is a file"),
])
def test_bad_flags_are_refused(changes, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        preflight(dataclasses.replace(TrainConfig(), **changes))


def test_a_cache_dir_that_cannot_be_created_is_refused(tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != str(tmp_path) and real_access(
        path, mode))  # tmp_path read-only (root ignores permissions)
    with pytest.raises(ConfigError, match="--cache_dir .* cannot be created: .* is not writable"):
        preflight(TrainConfig(cache_dir=str(tmp_path / "cache")))


def test_a_damaged_architecture_in_config_json_is_one_line(tmp_path):
    config_lib.save_run_config(str(tmp_path), TrainConfig(model=_model(
        generator="fc:" + "+".join(["1"] * 1200))))
    with pytest.raises(ConfigError) as error:
        config_lib.load_run_config(str(tmp_path))
    assert "cannot be read as a run's configuration (ArchitectureError: --generator:" in str(error.value)


def test_unwritable_reason(tmp_path, monkeypatch):
    assert config_lib.unwritable_reason(str(tmp_path / "new" / "deeper")) is None
    readme = os.path.join(REPO_ROOT, "README.md")
    assert config_lib.unwritable_reason(os.path.join(readme, "x")) == "%s is a file, not a folder" % readme
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert config_lib.unwritable_reason(str(tmp_path)) == "%s is not writable" % tmp_path


def test_interrupted_write_links_are_removed_not_followed(tmp_path):
    from infogan.training.run_folder import remove_interrupted_writes
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_text("the user's")
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    os.symlink(target, folder / "ckpt-5_temp.tmp")
    assert remove_interrupted_writes(str(tmp_path / "run")) == ["ckpt-5_temp.tmp"]
    assert not os.path.lexists(folder / "ckpt-5_temp.tmp")
    assert (target / "keep").read_text() == "the user's"


def _cluster(task):
    return json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": task})


@pytest.mark.parametrize("text,fragment", [
    (None, "which is not set"),
    ("{cluster: }", "which is not valid JSON (Expecting property name"),
    ("[1]", "which must be a JSON object"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), "names no chief or worker addresses"),
    (_cluster({"type": "ps", "index": 0}), "\"task\" must be {\"type\": \"worker\" or \"chief\""),
    (_cluster({"type": "worker", "index": 2}), "task index 2 is not one of the 2 worker addresses"),
])
def test_tf_config_problems_are_named(text, fragment):
    from infogan.training.placement import check_tf_config
    with pytest.raises(ConfigError) as error:
        check_tf_config(text)
    assert "TF_CONFIG environment variable, " in str(error.value) and fragment in str(error.value)


def test_a_good_tf_config_passes():
    from infogan.training.placement import check_tf_config
    check_tf_config(_cluster({"type": "worker", "index": 1}))


def test_more_gpus_than_the_machine_has_are_refused(monkeypatch):
    import tensorflow as tf
    from infogan.training import placement
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with pytest.raises(ConfigError, match="--num_gpus 4: TensorFlow sees 0 GPUs on this machine"):
        placement.make_placement("mirrored", num_gpus=4)
    placement.check_gpus(0)


def _port_checkpoint(run):
    import tensorflow as tf
    os.makedirs(run)
    config_lib.save_run_config(run, TrainConfig())
    return tf.train.Checkpoint(value=tf.Variable(1.0)).write(os.path.join(run, "checkpoints", "ckpt-1"))


def test_a_port_checkpoint_given_as_tf1_checkpoint_names_its_run(tmp_path):
    from infogan.training import tf1_checkpoint
    run = str(tmp_path / "run")
    prefix = _port_checkpoint(run)
    with pytest.raises(ConfigError) as error:
        tf1_checkpoint.load_tf1_checkpoint(prefix, None, None)  # refused before the models are read
    assert str(error.value) == (
        "--tf1_checkpoint %s is a checkpoint of this port, not of the TF1 code; continue its run with "
        "--resume=%s (train), or pass --logdir %s (evaluate, sample)" % (prefix, run, run))
    tf1_checkpoint.check_not_port_checkpoint(prefix, ["generator/layer_0/weights", "beta1_power"])


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    from infogan.tools.evaluate import check_checkpoint_of_run
    other = str(tmp_path / "other")
    prefix = _port_checkpoint(other)
    mine = str(tmp_path / "mine")
    os.makedirs(os.path.join(mine, "checkpoints"))
    with pytest.raises(ConfigError, match="belongs to the run %s, not to --logdir %s; pass --logdir %s"
                       % (other, mine, other)):
        check_checkpoint_of_run(mine, prefix)
    warnings = []
    check_checkpoint_of_run(mine, os.path.join(mine, "checkpoints", "ckpt-1"), warnings.append)
    assert warnings == []
    check_checkpoint_of_run(mine, str(tmp_path / "loose" / "ckpt-1"), warnings.append)
    assert len(warnings) == 1 and "is not in %s" % os.path.join(mine, "checkpoints") in warnings[0]


def test_evaluation_prints_its_results_when_the_figures_cannot_be_written(tmp_path, monkeypatch):
    from conftest import MNIST_DIR
    from test_checkpoints import CONFIG
    from infogan.model.models import build_models
    from infogan.tools import evaluate
    models = build_models(CONFIG.model, config_lib.MNIST_SHAPE)
    warnings = []
    blocked = os.path.join(REPO_ROOT, "README.md", "eval")
    results = evaluate.evaluate_models(models, "ckpt", MNIST_DIR, 1000, blocked, 64, warnings.append)
    assert warnings == ["the figures cannot be written to %s (%s is a file, not a folder); the "
                        "results are only printed" % (blocked, os.path.join(REPO_ROOT, "README.md"))]
    assert results["figures"] == [] and results["confusion"].sum() == 10000

    def fail(*args):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(evaluate, "write_figures", fail)
    with pytest.raises(evaluate.FiguresNotWritten) as error:
        evaluate.evaluate_models(models, "ckpt", MNIST_DIR, 1000, str(tmp_path / "eval"), 64)
    assert "(Read-only file system)" in str(error.value)
    assert error.value.results["confusion"].sum() == 10000


def _run(args, cwd):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


@pytest.mark.slow
@pytest.mark.parametrize("args,fragment", [
    (["--num", "2000000000"], "--num must be an integer from 1 to 9000"),
    (["--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1"),
    (["--out", "README.md/samples.png"], "the folder"),
    (["--export", "README.md/export"], "--export README.md/export cannot be written: "),
])
def test_sample_refuses_bad_flags_in_one_line(args, fragment):
    result = _run(["-m", "infogan.cli.sample", "--logdir", ".", *args], REPO_ROOT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr


@pytest.mark.slow
def test_train_refuses_absurd_sizes_in_one_line(tmp_path):
    for args in (["--style_size", "1000000000"],
                 ["--distribution_strategy", "mirrored", "--num_cpu_devices", "100000"]):
        result = _run([os.path.join(REPO_ROOT, "train.py"), *args], str(tmp_path))
        assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
        assert result.stderr.startswith("train.py: error: "), result.stderr
    assert os.listdir(tmp_path) == []


def test_sample_refuses_an_unwritable_out_folder(tmp_path, monkeypatch):
    from infogan.cli import sample as sample_cli
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match="cannot be written: %s is not writable" % tmp_path):
        sample_cli._check_out(str(tmp_path / "samples.png"))


def test_an_unwritable_cache_dir_is_read_but_not_built(tmp_path, monkeypatch):
    from image_fixtures import write_image
    from infogan.data import DatasetError, image_cache, image_folder
    folder, cache = tmp_path / "images", str(tmp_path / "cache")
    write_image(str(folder / "a.png"), "L")
    dataset = image_folder.open_image_folder(str(folder), 6, 5, log=lambda line: None)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != cache and real_access(path, mode))
    os.makedirs(cache)
    with pytest.raises(DatasetError, match="--cache_dir .* holds no cache of these images and is not "
                       "writable"):
        image_cache.cached(dataset, cache, log=print)
    monkeypatch.setattr(os, "access", real_access)
    image_cache.cached(dataset, cache, log=print)  # built
    monkeypatch.setattr(os, "access", lambda path, mode: path != cache and real_access(path, mode))
    assert image_cache.cached(dataset, cache, log=print).cache_path.startswith(cache)
