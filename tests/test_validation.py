"""Input validation: every bad flag or dataset stops the run before anything is written."""
import dataclasses
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from image_fixtures import truncate, write_image
from infogan.model.architecture import ArchitectureError
from infogan.config import ConfigError, TrainConfig, check_image_shape, preflight
from infogan.data import DatasetError
from infogan.model.config import ModelConfig


def model_config(**changes):
    return dataclasses.replace(ModelConfig(), **changes)


@pytest.mark.parametrize("changes,fragment", [
    (dict(batch_size=0), "--batch_size must be a positive integer, got 0"),
    (dict(epochs=-1), "--epochs must be a positive integer, got -1"),
    (dict(plot_every=0), "--plot_every must be a positive integer, got 0"),
    (dict(generator_steps=0), "--generator_steps must be a positive integer, got 0"),
    (dict(mutual_info_warmup=-1), "--mutual_info_warmup must be an integer, 0 or more, got -1"),
    (dict(mutual_info_warmup=100), "--mutual_info_warmup weighs the mutual-information term of "
     "the GAN losses: add --mutual_info_loss gan_losses"),
    (dict(max_images=0), "--max_images must be a positive integer"),
    (dict(generator_lr=0.0), "--generator_lr must be a positive finite number"),
    (dict(scale_dataset=(64, 0)), "--scale_dataset takes two positive integers"),
    (dict(model=model_config(style_size=0)), "--style_size must be a positive integer, got 0"),
    (dict(model=model_config(categorical_cardinality=(10, 0))),
     "--categorical_cardinality values must be positive, got [10, 0]"),
    (dict(model=model_config(num_continuous=-1)), "--num_continuous must be 0 or more"),
    (dict(model=model_config(categorical_lambda=-0.5)), "--categorical_lambda must be a finite number, 0 or more"),
    (dict(model=model_config(continuous_lambda=-1.0)), "--continuous_lambda must be a finite number, 0 or more"),
    (dict(scale_dataset=(64, 64)), "MNIST images are 28x28: drop --scale_dataset (got 64 64)"),
    (dict(dataset="fashion_mnist", scale_dataset=(32, 32)), "Fashion-MNIST images are 28x28"),
    (dict(dataset="/no/such/folder"), "--dataset /no/such/folder is not a folder"),
    (dict(dataset="fashion_mnist", fashion_mnist_dir="/no/such"),
     "apt-get install dataset-fashion-mnist"),
    (dict(mnist_dir="/no/such"), "MNIST file /no/such/train-images-idx3-ubyte.gz is missing"),
    (dict(allreduce_precision="bfloat16"),
     "--allreduce_precision bfloat16 exchanges gradients between replicas"),
    (dict(allreduce_precision="float16", distribution_strategy="mirrored"),
     "--allreduce_precision must be one of float32, bfloat16"),
    (dict(tpu="local"), "--tpu names the TPU of --distribution_strategy tpu"),
    (dict(model=model_config(style_noise="cauchy")), "--style_noise must be one of normal, uniform"),
])
def test_bad_values_are_refused(changes, fragment):
    with pytest.raises(ConfigError) as error:
        preflight(dataclasses.replace(TrainConfig(), **changes))
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("changes", [
    dict(model=model_config(num_continuous=0, fix_std=False)),
    dict(model=model_config(categorical_cardinality=())),
    dict(model=model_config(categorical_lambda=0.0, continuous_lambda=0.0)),
    dict(model=model_config(infogan=False)),
])
def test_unusual_but_valid_models_pass(changes):
    config = dataclasses.replace(TrainConfig(), **changes)
    preflight(config)
    check_image_shape(config.model, (28, 28, 1))


@pytest.mark.parametrize("flag,description,token,position", [
    ("generator", "fc:1024,fc:7x7x128,reshap:7:7:128,deconv:4:2:64,deconv:4:2:1:sigmoid",
     "reshap:7:7:128", 2),
    ("discriminator", "conv:4:2:64:lrelu,conv:4:2:x:lrelu", "conv:4:2:x:lrelu", 1),
    ("discriminator", "conv:4:2:64:lrelu,fc:1024:swish", "fc:1024:swish", 1),
])
def test_bad_architecture_names_flag_token_and_position(flag, description, token, position):
    with pytest.raises(ArchitectureError) as error:
        preflight(TrainConfig(model=model_config(**{flag: description})))
    message = str(error.value)
    assert message.startswith("--%s: " % flag) and repr(token) in message
    assert "layer %d of" % position in message


def test_generator_and_data_shapes_must_match():
    with pytest.raises(ConfigError) as error:  # the default 28x28 generator, --scale_dataset 64 64
        check_image_shape(ModelConfig(), (64, 64, 1))
    assert str(error.value) == (
        "the generator makes images of shape 28x28x1 but the data's images are 64x64x1 (height x "
        "width x channels): change --generator so that it makes 64x64x1 images, or pass "
        "--scale_dataset 28 28 (image folders only)")
    with pytest.raises(ConfigError, match="or pass --force_grayscale"):
        check_image_shape(ModelConfig(), (28, 28, 3))


def test_existing_log_folder_or_cache_file_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    preflight(TrainConfig(logdir=str(tmp_path / "run")))  # new or empty is fine
    (tmp_path / "run" / "events.out").write_text("keep")
    with pytest.raises(ConfigError, match="already holds files; pass a new --logdir"):
        preflight(TrainConfig(logdir=str(tmp_path / "run")))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; pass a folder"):
        preflight(TrainConfig(logdir=str(tmp_path / "file")))
    with pytest.raises(ConfigError, match="--cache_dir .* is a file"):
        preflight(TrainConfig(cache_dir=str(tmp_path / "file")))


def test_folder_named_fashion_mnist_is_still_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image(str(tmp_path / "fashion_mnist" / "a.png"), "RGB")
    config = folder_config("./fashion_mnist", batch_size=1)
    assert not config.data.source.is_idx and config.data.source.name == "fashion_mnist"
    assert preflight(config).dataset.folder.paths == (os.path.join("./fashion_mnist", "a.png"),)
    assert TrainConfig(dataset="fashion_mnist").data.source.kind == "fashion_mnist"


TINY_NETS = dict(generator="fc:16,fc:2x4x8,reshape:2:4:8,deconv:3:2:4,deconv:3:2:3:sigmoid",
                 discriminator="conv:3:2:4:lrelu,fc:6:lrelu")  # 8x16x3 images


def folder_config(folder, **changes):
    return TrainConfig(model=model_config(**TINY_NETS), dataset=str(folder), scale_dataset=(16, 8),
                       **changes)


@pytest.mark.parametrize("changes,fragment", [
    ("batch_size=3", "--batch_size 3 is larger than the data (2 images)"),
    ("batch_size=2, force_grayscale=True", "the generator makes images of shape 8x16x3 but the "
                                           "data's images are 8x16x1"),
])
def test_preflight_refuses_a_folder_that_does_not_fit_without_tensorflow(tmp_path, changes,
                                                                         fragment):
    for name in ("a.png", "b.jpg"):
        write_image(str(tmp_path / "images" / name), "RGB", "PNG" if name.endswith("png") else "JPEG")
    code = ("import sys\n"
            "from infogan.config import ConfigError, TrainConfig, preflight\n"
            "from infogan.model.config import ModelConfig\n"
            "try:\n"
            "    preflight(TrainConfig(model=ModelConfig(**%r), dataset=%r, scale_dataset=(16, 8), %s))\n"
            "except ConfigError as error:\n"
            "    print(error)\n"
            "print('tensorflow' in sys.modules)\n" % (TINY_NETS, str(tmp_path / "images"), changes))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT), timeout=120)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[-1] == "False", result.stdout + result.stderr
    assert len(lines) == 2 and fragment in lines[0], result.stdout
    assert result.stderr == ""  # the folder's log waits for training to open it


def test_training_opens_the_preflighted_folder_without_listing_it_again(tmp_path, monkeypatch,
                                                                        capsys):
    from infogan.data import image_scan
    from infogan.training.loop import load_images
    write_image(str(tmp_path / "images" / "a.png"), "RGB")
    (tmp_path / "images" / "broken.png").write_text("not a png")
    checked = preflight(folder_config(tmp_path / "images", batch_size=1))
    assert checked.num_images == 1 and capsys.readouterr() == ("", "")

    def listed_again(*args):
        raise AssertionError("listed again: %s" % (args,))
    monkeypatch.setattr(image_scan, "find_images", listed_again)
    monkeypatch.setattr(image_scan, "inspect_image", listed_again)
    dataset, _ = load_images(checked)
    assert dataset.paths == [str(tmp_path / "images" / "a.png")] and dataset.image_shape == (8, 16, 3)
    captured = capsys.readouterr()
    assert "warning: skipping %s" % (tmp_path / "images" / "broken.png") in captured.err
    assert "1 images (1 RGB), 1 skipped" in captured.out


def test_load_images_checks_shapes_before_building_a_cache(tmp_path, capsys):
    from infogan.training.loop import load_images
    write_image(str(tmp_path / "images" / "a.png"), "L")
    config = folder_config(tmp_path / "images", cache_dir=str(tmp_path / "cache"), batch_size=1)
    with pytest.raises(ConfigError, match="data's images are 8x16x1.*--generator"):
        load_images(config)  # the generator makes RGB
    assert not (tmp_path / "cache").exists()
    write_image(str(tmp_path / "images" / "b.png"), "RGB")
    write_image(str(tmp_path / "images" / "c.jpg"), "RGB", "JPEG")
    truncate(write_image(str(tmp_path / "images" / "d.png"), "RGB", size=(64, 64)))
    dataset, name = load_images(config)
    assert name == "images" and dataset.shape == (3, 8, 16, 3) and dataset.cache_path
    captured = capsys.readouterr()
    assert "d.png" in captured.err and "warning: skipping" in captured.err
    assert "3 images (2 RGB, 1 grayscale), 1 skipped" in captured.out


def run_train(tmp_path, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "train.py"), *args,
                             "--logdir", str(tmp_path / "log")],
                            capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("train.py: error: ")]
    return result, errors


@pytest.mark.slow
@pytest.mark.parametrize("args,fragment", [
    (["--dataset", "/no/such/folder"], "--dataset /no/such/folder is not a folder"),
    (["--generator", "fc:1024,fc:7x7x128,reshape:7:7:128,dekonv:4:2:64"], "'dekonv:4:2:64' (layer 3"),
    (["--scale_dataset", "64", "64"], "MNIST images are 28x28"),
    (["--num_cpu_devices", "2"], "--num_cpu_devices choose the devices of a strategy"),
    (["--distribution_strategy", "mirrored", "--jit_compile"], "--jit_compile is for one device"),
    (["--distribution_strategy", "mirrored", "--num_cpu_devices", "0"],
     "--num_cpu_devices must be an integer from 1 to 64, got 0"),
])
def test_train_py_refuses_before_loading_tensorflow(tmp_path, args, fragment):
    result, errors = run_train(tmp_path, *args)
    assert result.returncode == 2 and len(errors) == 1 and fragment in errors[0], result.stderr
    assert not (tmp_path / "log").exists()


@pytest.mark.slow
def test_train_py_refuses_fast_xla_on_the_cpu(tmp_path):
    """Once TensorFlow says there is no GPU: one line naming the fix, exit 2, nothing written."""
    import tensorflow as tf
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("XLA with --fast stays available on a GPU")
    result, errors = run_train(tmp_path, "--fast", "--jit_compile")
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "drop --jit_compile" in errors[0]
    assert not (tmp_path / "log").exists()


@pytest.mark.slow
def test_train_py_refuses_bad_folders_and_shapes(tmp_path):
    """Errors found while reading the folder: still one line, exit 2, nothing written."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.png").write_text("not a png")
    result, errors = run_train(tmp_path, "--dataset", str(empty), "--scale_dataset", "28", "28")
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "none of the 1 image files" in errors[0] and "broken.png" in result.stderr
    write_image(str(tmp_path / "good" / "a.png"), "L", size=(64, 64))
    result, errors = run_train(tmp_path, "--dataset", str(tmp_path / "good"), "--scale_dataset", "64", "64",
                               "--batch_size", "1")
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "shape 28x28x1 but the data's images are 64x64x1" in errors[0]
    assert not (tmp_path / "log").exists() and not os.path.exists(
        os.path.join(REPO_ROOT, "good_log"))


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError) and issubclass(ConfigError, ValueError)


def test_the_paper_recipe_sets_its_values_and_explicit_flags_win():
    from infogan.config import RECIPES, with_recipe
    from infogan.model.config import GAN_LOSSES, SEPARATE_UPDATE
    paper = with_recipe(TrainConfig(), "paper")
    assert paper.run.recipe == "paper" and paper.run.batch_size == 128
    assert paper.model.discriminator == RECIPES["paper"]["discriminator"]
    assert paper.model.mutual_info_loss == GAN_LOSSES
    preflight(paper)
    kept = with_recipe(TrainConfig(batch_size=32, model=model_config(mutual_info_loss=SEPARATE_UPDATE)),
                       "paper", keep=("batch_size", "mutual_info_loss"))
    assert kept.run.batch_size == 32 and kept.model.mutual_info_loss == SEPARATE_UPDATE
    assert kept.model.discriminator == RECIPES["paper"]["discriminator"]
    assert with_recipe(TrainConfig(), "tf1") == TrainConfig()


@pytest.mark.parametrize("changes,named", [
    (dict(fast=True), "--fast"), (dict(precision="mixed_bfloat16"), "--precision mixed_bfloat16"),
    (dict(recipe="paper"), "--recipe paper"),
    (dict(model=model_config(style_noise="uniform")), "--style_noise uniform"),
    (dict(model=model_config(weight_init="paper")), "--weight_init paper"),
    (dict(model=model_config(fc_batch_norm="paper")), "--fc_batch_norm paper"),
    (dict(model=model_config(mutual_info_loss="gan_losses")), "--mutual_info_loss gan_losses"),
    (dict(model=model_config(discriminator="conv:4:2:64:lrelu:nobn,fc:16:lrelu")), ":bn / :nobn"),
    (dict(run=dataclasses.replace(TrainConfig().run, generator_steps=2)), "--generator_steps 2"),
    (dict(run=dataclasses.replace(TrainConfig().run, mutual_info_warmup=100)),
     "--mutual_info_warmup 100"),
])
def test_parity_refuses_what_the_tf1_code_cannot_compute(changes, named):
    from infogan.parity.command import check_tf1_computation
    check_tf1_computation(TrainConfig())
    with pytest.raises(ConfigError, match=named):
        check_tf1_computation(dataclasses.replace(TrainConfig(), **changes))
