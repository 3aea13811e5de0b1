"""Loaders: IDX datasets (MNIST, Fashion-MNIST), streamed image folders, the cache, seeded order."""
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import MNIST_DIR, REPO_ROOT
from image_fixtures import (truncate, write_idx_folder, write_image, write_mixed_folder,
                            write_undecodable_png, write_unsorted_folder)
from infogan import data

WIDTH, HEIGHT = 16, 8


def tf1_pixels(path, width=WIDTH, height=HEIGHT, force_grayscale=False):
    """docs/tf1_semantics.md §7 for one file: Pillow bilinear resize if the size differs, then "L"."""
    image = Image.open(path)
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    if force_grayscale:
        image = image.convert("L")
    array = np.asarray(image)
    return array[:, :, None] if array.ndim == 2 else array


def quiet(message):
    del message


def open_folder(path, **kwargs):
    from infogan.data import image_folder
    kwargs.setdefault("log", quiet)
    return image_folder.open_image_folder(str(path), WIDTH, HEIGHT, **kwargs)


def all_batches(dataset, permutation, batch_size):
    return list(dataset.batches(np.asarray(permutation, dtype=np.int32), batch_size))


# --- IDX datasets ---------------------------------------------------------------------------

def test_idx_split_values_and_max_images(tmp_path):
    train = write_idx_folder(str(tmp_path))
    images = data.load_mnist(str(tmp_path))
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images[..., 0], train[5000:].astype(np.float32) * np.float32(1 / 255))
    assert data.load_mnist(str(tmp_path), max_images=5).shape[0] == 5
    np.testing.assert_array_equal(data.load_mnist(str(tmp_path), max_images=5), images[:5])
    test_images, labels = data.load_mnist_test(str(tmp_path))
    assert test_images.shape == (7, 28, 28, 1) and labels.dtype == np.int64


def test_fashion_mnist_reads_the_same_layout(tmp_path):
    write_idx_folder(str(tmp_path), seed=3)
    dataset = data.mnist_dataset(str(tmp_path), kind=data.FASHION_MNIST)
    assert dataset.name == "fashion_mnist" and dataset.shape == (12, 28, 28, 1)
    with pytest.raises(data.DatasetError, match="apt-get install dataset-fashion-mnist"):
        data.mnist_dataset(str(tmp_path / "absent"), kind=data.FASHION_MNIST)


def test_broken_idx_files(tmp_path):
    import gzip
    path = str(tmp_path / "x.gz")
    with gzip.open(path, "wb") as stream:  # header says 3x4x4, body has 43 bytes
        stream.write(bytes([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4]) + bytes(43))
    with pytest.raises(data.DatasetError, match="truncated"):
        data.read_idx(path)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(bytes(1000))[:20])
    with pytest.raises(data.DatasetError, match="cannot be read"):
        data.read_idx(str(tmp_path / "cut.gz"))
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"hello"))
    with pytest.raises(data.DatasetError, match="not an unsigned-byte IDX"):
        data.read_idx(str(tmp_path / "text.gz"))


def test_mnist_batches_are_the_tf1_slices():
    """The shipped MNIST: 55000 images, TF1's values, batches images[idx[i:i + 64]] in shuffle order."""
    dataset = data.mnist_dataset(MNIST_DIR)
    raw = data.read_idx(os.path.join(MNIST_DIR, data.MNIST_TRAIN_IMAGES))
    expected = raw[5000:].astype(np.float32) * np.float32(1.0 / 255.0)
    assert dataset.shape == (55000, 28, 28, 1)
    np.testing.assert_array_equal(dataset.images[..., 0], expected)
    np.random.seed(1234)
    indices = np.arange(55000, dtype=np.int32)
    np.random.shuffle(indices)
    batches = list(dataset.batches(indices, 64))
    assert len(batches) == 860 and batches[-1].shape[0] == 55000 - 859 * 64
    for number in (0, 431, 859):
        np.testing.assert_array_equal(batches[number][..., 0],
                                      expected[indices[number * 64:(number + 1) * 64]])


@pytest.mark.skipif(not os.path.isfile(os.path.join(data.DEFAULT_FASHION_MNIST_DIR,
                                                    data.MNIST_TRAIN_IMAGES)),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_installed_fashion_mnist():
    dataset = data.mnist_dataset(data.DEFAULT_FASHION_MNIST_DIR, kind=data.FASHION_MNIST)
    assert dataset.shape == (55000, 28, 28, 1) and dataset.images.max() == 1.0
    _, labels = data.load_mnist_test(data.DEFAULT_FASHION_MNIST_DIR, kind=data.FASHION_MNIST)
    assert sorted(set(labels.tolist())) == list(range(10))


# --- image folders: listing, modes, pixels ------------------------------------------------------

def test_listing_is_recursive_case_insensitive_in_tf1_or_sorted_order(tmp_path):
    from infogan.data import image_scan
    paths = write_mixed_folder(str(tmp_path))
    walked = [os.path.join(folder, name) for folder, _, names in os.walk(str(tmp_path))
              for name in names if name != "notes.txt"]
    assert image_scan.find_images(str(tmp_path)) == walked
    assert image_scan.find_images(str(tmp_path), data.SORTED_ORDER) == sorted(paths.values())


def unsorted_folder(root, **kwargs):
    listed = write_unsorted_folder(str(root), **kwargs)
    if listed is None:
        pytest.skip("this file system lists the files sorted")
    return listed


def test_rows_are_the_tf1_listing_unless_sorted_is_asked_for(tmp_path):
    listed = unsorted_folder(tmp_path)
    assert open_folder(tmp_path).paths == listed
    assert open_folder(tmp_path, order=data.SORTED_ORDER).paths == sorted(listed)
    # --max_images samples the list in the chosen order, with the seed
    assert open_folder(tmp_path, max_images=10, seed=7).paths == random.Random(7).sample(listed, 10)
    assert open_folder(tmp_path, max_images=10, seed=7, order=data.SORTED_ORDER).paths == (
        random.Random(7).sample(sorted(listed), 10))


def test_a_cache_of_one_order_is_never_read_in_the_other(tmp_path):
    from infogan.data import image_cache
    listed = unsorted_folder(tmp_path / "images", count=6)
    cache_dir = str(tmp_path / "cache")
    datasets = {order: image_cache.cached(open_folder(tmp_path / "images", order=order), cache_dir,
                                          log=quiet, warn=quiet)
                for order in data.IMAGE_ORDERS}
    assert len({dataset.cache_path for dataset in datasets.values()}) == 2
    for order, paths in ((data.TF1_ORDER, listed), (data.SORTED_ORDER, sorted(listed))):
        assert datasets[order].paths == paths
        expected = np.stack([tf1_pixels(path) for path in paths]).astype(np.float32) / 255.0
        np.testing.assert_array_equal(np.concatenate(all_batches(datasets[order], range(6), 4)),
                                      expected)


def test_image_order_is_saved_with_a_run_and_older_runs_load_as_sorted(tmp_path):
    from infogan.cli.train import RESUME_FLAGS
    from infogan.config import (ConfigError, TrainConfig, load_run_config, resumed_config,
                                save_run_config, validate_numbers)
    save_run_config(str(tmp_path), TrainConfig(dataset="chairs"))
    assert load_run_config(str(tmp_path)).data.image_order == data.TF1_ORDER
    path = tmp_path / "config.json"
    values = json.loads(path.read_text())
    del values["image_order"]  # written before the flag existed, when folders were listed sorted
    path.write_text(json.dumps(values))
    assert resumed_config(str(tmp_path)).data.image_order == data.SORTED_ORDER
    assert "image_order" not in RESUME_FLAGS  # a resumed run keeps its rows
    with pytest.raises(ConfigError, match="--image_order must be one of tf1, sorted, got 'hash'"):
        validate_numbers(TrainConfig(image_order="hash"))


def test_mixed_folder_uses_the_majority_mode_and_says_so(tmp_path):
    write_mixed_folder(str(tmp_path))
    lines = []
    dataset = open_folder(tmp_path, log=lines.append)
    assert dataset.mode == "RGB" and dataset.shape == (7, HEIGHT, WIDTH, 3)
    assert lines == ["Image folder %s: 7 images (4 RGB, 2 grayscale, 1 RGBA); using 3 channels "
                     "(RGB): the majority; the others are converted" % tmp_path]
    lines.clear()
    dataset = open_folder(tmp_path, force_grayscale=True, log=lines.append)
    assert dataset.shape == (7, HEIGHT, WIDTH, 1) and lines[0].endswith(
        "using 1 channel (grayscale): --force_grayscale")


def test_choose_mode_ties_go_to_more_channels():
    from infogan.data.image_scan import choose_mode
    assert choose_mode({"L": 2, "RGB": 2}, False)[0] == "RGB"
    assert choose_mode({"L": 3, "RGBA": 1}, False) == ("L", "the majority; the others are converted")
    assert choose_mode({"RGBA": 5}, True) == ("L", "--force_grayscale")


@pytest.mark.parametrize("mode,natural", [("P", "RGB"), ("LA", "RGBA"), ("1", "L"), ("I;16", "L"),
                                          ("RGBA", "RGBA"), ("L", "L")])
def test_modes_pillow_cannot_stack_become_l_rgb_or_rgba(tmp_path, mode, natural):
    from infogan.data.image_folder import decode_image
    from infogan.data.image_scan import CHANNELS, inspect_image
    path = write_image(str(tmp_path / "x.png"), mode)
    assert inspect_image(path) == natural
    decoded = decode_image(path, WIDTH, HEIGHT, natural)
    assert decoded.shape == (HEIGHT, WIDTH, CHANNELS[natural]) and decoded.dtype == np.uint8
    assert decoded.max() > decoded.min()  # real pixels, not palette indices or 0/1 values


@pytest.mark.parametrize("name", ["rgb_a.png", "deep/er/rgb_c.jpg", "gray.png", "alpha.png"])
@pytest.mark.parametrize("force_grayscale", [False, True])
def test_pixels_are_those_of_the_tf1_loader(tmp_path, name, force_grayscale):
    from infogan.data.image_folder import decode_image
    from infogan.data.image_scan import inspect_image
    path = write_mixed_folder(str(tmp_path))[name]
    mode = "L" if force_grayscale else inspect_image(path)
    for width, height in ((WIDTH, HEIGHT), (20, 12)):  # resized, and the file's own size
        np.testing.assert_array_equal(decode_image(path, width, height, mode),
                                      tf1_pixels(path, width, height, force_grayscale))


def test_other_modes_are_resized_then_converted(tmp_path):
    from infogan.data.image_folder import decode_image
    path = write_mixed_folder(str(tmp_path))["gray.png"]
    rgb = decode_image(path, WIDTH, HEIGHT, "RGB")
    gray = tf1_pixels(path)[..., 0]
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)


# --- streaming and its order --------------------------------------------------------------------

def test_streamed_batches_follow_the_permutation(tmp_path):
    for index, (image_format, size) in enumerate([("PNG", (20, 12)), ("PNG", (WIDTH, HEIGHT)),
                                                  ("JPEG", (9, 30)), ("PNG", (40, 10))]):
        write_image(str(tmp_path / ("%d.%s" % (index, image_format.lower()))), "RGB", image_format,
                    size=size, seed=index)
    dataset = open_folder(tmp_path)
    permutation = [2, 0, 3, 1]
    batches = all_batches(dataset, permutation, 3)
    assert [batch.shape[0] for batch in batches] == [3, 1]
    expected = np.stack([tf1_pixels(dataset.paths[i]) for i in permutation]).astype(np.float32) / 255.0
    streamed = np.concatenate(batches)
    assert streamed.dtype == np.float32
    np.testing.assert_array_equal(streamed, expected)  # bit-identical to the TF1 array


def test_seeded_order_and_sample_are_deterministic(tmp_path):
    for index in range(12):
        write_image(str(tmp_path / ("%02d.png" % index)), "RGB", seed=index)
    first = open_folder(tmp_path, max_images=5, seed=7)
    assert open_folder(tmp_path, max_images=5, seed=7).paths == first.paths
    assert open_folder(tmp_path, max_images=5, seed=8).paths != first.paths
    assert len(first.paths) == 5 and len(set(first.paths)) == 5
    assert open_folder(tmp_path, max_images=50, seed=7).num_images == 12

    def epoch_batches():
        np.random.seed(1234)
        indices = np.arange(first.num_images, dtype=np.int32)
        np.random.shuffle(indices)
        batches = all_batches(first, indices, 2)
        return batches, np.random.uniform()  # the stream draws nothing from NumPy's generator
    (batches_a, draw_a), (batches_b, draw_b) = epoch_batches(), epoch_batches()
    np.random.seed(1234)
    np.random.shuffle(np.arange(first.num_images, dtype=np.int32))
    assert draw_a == draw_b == np.random.uniform()
    for a, b in zip(batches_a, batches_b):
        np.testing.assert_array_equal(a, b)


# --- broken files -------------------------------------------------------------------------------

def test_broken_files_are_skipped_with_a_warning_naming_them(tmp_path):
    good = write_image(str(tmp_path / "good.png"), "RGB")
    broken = [truncate(write_image(str(tmp_path / "cut.png"), "RGB", size=(64, 64))),
              truncate(write_image(str(tmp_path / "cut.jpg"), "RGB", "JPEG", size=(64, 64)), 0.9),
              str(tmp_path / "text.png")]
    (tmp_path / "text.png").write_text("not a png")
    warnings = []
    dataset = open_folder(tmp_path, warn=warnings.append)
    assert dataset.paths == [good]
    assert len(warnings) == 3 and all(any(path in w for w in warnings) for path in broken)


def test_no_readable_image_refuses(tmp_path):
    (tmp_path / "a.png").write_text("not a png")
    with pytest.raises(data.DatasetError, match="none of the 1 image files"):
        open_folder(tmp_path, warn=quiet)
    with pytest.raises(data.DatasetError, match="holds no .png/.jpg/.jpeg images"):
        open_folder(_empty(tmp_path))
    with pytest.raises(data.DatasetError, match="does not exist"):
        open_folder(tmp_path / "missing")


def _empty(tmp_path):
    folder = tmp_path / "empty"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "readme.txt").write_text("no images")
    return folder


def test_undecodable_image_while_streaming_names_the_file(tmp_path):
    write_image(str(tmp_path / "good.png"), "RGB")
    bad = write_undecodable_png(str(tmp_path / "bad.png"))
    dataset = open_folder(tmp_path)  # the header check cannot see this one
    assert dataset.num_images == 2
    with pytest.raises(data.DatasetError, match="bad.png cannot be decoded"):
        all_batches(dataset, [0, 1], 2)
    assert bad in dataset.paths


# --- the cache ----------------------------------------------------------------------------------

def test_cache_gives_the_same_batches_and_is_reused(tmp_path):
    from infogan.data import image_cache
    folder = tmp_path / "images"
    write_mixed_folder(str(folder))
    dataset = open_folder(folder)
    permutation = np.random.RandomState(0).permutation(dataset.num_images)
    lines = []
    cached = image_cache.cached(dataset, str(tmp_path / "cache"), log=lines.append)
    assert cached.cache_path.startswith(str(tmp_path / "cache")) and lines[0].startswith("Building")
    for a, b in zip(all_batches(dataset, permutation, 3), all_batches(cached, permutation, 3)):
        np.testing.assert_array_equal(a, b)
    again = image_cache.cached(dataset, str(tmp_path / "cache"), log=lines.append)
    assert lines[1].startswith("Reading") and again.cache_path == cached.cache_path
    grayscale = image_cache.cached(open_folder(folder, force_grayscale=True), str(tmp_path / "cache"),
                                   log=lines.append)
    assert grayscale.cache_path != cached.cache_path and grayscale.image_shape == (HEIGHT, WIDTH, 1)
    os.utime(dataset.paths[0], ns=(0, 0))  # a changed file makes a new cache
    assert image_cache.cached(dataset, str(tmp_path / "cache"), log=quiet).cache_path != cached.cache_path


def test_truncated_cache_file_is_named(tmp_path):
    from infogan.data import image_cache
    write_mixed_folder(str(tmp_path / "images"))
    cached = image_cache.cached(open_folder(tmp_path / "images"), str(tmp_path / "cache"), log=quiet)
    os.truncate(cached.cache_path, 100)
    with pytest.raises(data.DatasetError, match="cache file .* is truncated; delete it"):
        all_batches(cached, [6, 0], 2)


def test_cache_build_skips_undecodable_images(tmp_path):
    from infogan.data import image_cache
    folder = tmp_path / "images"
    good = write_image(str(folder / "good.png"), "RGB")
    write_undecodable_png(str(folder / "bad.png"))
    warnings = []
    dataset = open_folder(folder)
    cached = image_cache.cached(dataset, str(tmp_path / "cache"), log=quiet, warn=warnings.append)
    assert cached.paths == [good] and len(warnings) == 1 and "bad.png" in warnings[0]
    np.testing.assert_array_equal(all_batches(cached, [0], 4)[0][0],
                                  tf1_pixels(good).astype(np.float32) / 255.0)
    first_cache = image_cache.cache_files(str(tmp_path / "cache"), dataset)
    os.remove(good)
    with pytest.raises(data.DatasetError, match="none of the 1 images"):
        image_cache.cached(open_folder(folder, warn=quiet), str(tmp_path / "cache"), log=quiet,
                           warn=quiet)
    # the failed build left nothing behind
    assert sorted(os.listdir(str(tmp_path / "cache"))) == sorted(os.path.basename(p) for p in first_cache)


# --- the upstream README's chairs command -------------------------------------------------------

CHAIRS_FLAGS = [
    "--scale_dataset", "64", "64", "--batch_size", "128",
    "--discriminator", "conv:4:2:64:lrelu,conv:4:2:128:lrelu,conv:4:2:256:lrelu,conv:4:1:256:lrelu,"
                       "conv:4:1:256:lrelu,fc:1024:lrelu",
    "--generator", "fc:1024,fc:8x8x256,reshape:8:8:256,deconv:4:1:256,deconv:4:2:256,deconv:4:2:128,"
                   "deconv:4:2:64,deconv:4:1:1:sigmoid",
    "--categorical_lambda", "1.0", "--continuous_lambda", "10.0",
    "--categorical_cardinality", "20", "20", "20", "--num_continuous", "1", "--style_size", "128",
    "--plot_every", "400", "--force_grayscale"]


@pytest.mark.slow
def test_chairs_command_runs_one_epoch_on_a_mixed_folder(tmp_path):
    folder = tmp_path / "chairs"
    write_mixed_folder(str(folder))
    for index in range(12):
        write_image(str(folder / "more" / ("%02d.png" % index)), "RGB", size=(70, 60), seed=100 + index)
    log_dir = tmp_path / "log"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), "--dataset", str(folder), *CHAIRS_FLAGS,
         "--max_images", "16", "--batch_size", "16",  # a batch may not exceed the data
         "--epochs", "1", "--logdir", str(log_dir), "--cache_dir", str(tmp_path / "cache")],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Image folder %s: 16 images (" % folder), lines[0]
    assert lines[0].endswith("using 1 channel (grayscale): --force_grayscale")
    assert "Generator produced images of shape (64, 64, 1)" in lines
    assert lines[-1].startswith("epoch 0 >> discriminator LL") and "infogan loss" in lines[-1]
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(str(log_dir)))
    shutil.rmtree(str(tmp_path / "cache"))
