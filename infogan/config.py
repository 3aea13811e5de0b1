"""Run configuration, with the TF1 defaults, and its validation."""
import dataclasses
import os
from typing import Optional, Tuple

from infogan import data
from infogan.model.architecture import ArchitectureError, infer_output_shapes, parse_architecture
from infogan.model.config import ModelConfig

DEFAULT_MNIST_DIR = data.DEFAULT_MNIST_DIR
MNIST_SHAPE = (28, 28, 1)


class ConfigError(ValueError):
    """A flag value that cannot work; the message names the flag and what to pass instead."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything `train` needs. Field names are the train.py flag names."""
    model: ModelConfig = ModelConfig()
    epochs: int = 100
    batch_size: int = 64
    generator_lr: float = 1e-3
    discriminator_lr: float = 2e-4
    plot_every: int = 200
    seed: int = 1234
    dataset: Optional[str] = None          # None: MNIST
    mnist_dir: str = DEFAULT_MNIST_DIR
    max_images: Optional[int] = None
    scale_dataset: Tuple[int, int] = (28, 28)  # width, height
    force_grayscale: bool = False
    logdir: Optional[str] = None           # None: <log root>/<dataset>_log/<infogan|gan>[-k]
    fashion_mnist_dir: str = data.DEFAULT_FASHION_MNIST_DIR  # used with dataset="fashion_mnist"
    cache_dir: Optional[str] = None        # image folders: keep decoded images here
    log_root: Optional[str] = None         # None: the current folder, as for any command
    progress_bar: Optional[bool] = None    # None: only when stdout is a terminal
    tf1_checkpoint: Optional[str] = None   # start from this TF1 checkpoint (prefix or folder)
    checkpoint_every: int = 500            # iterations between checkpoints (also at epoch ends)
    max_iterations: Optional[int] = None   # stop (with a checkpoint) after this many iterations
    resume: bool = False                   # continue the run in `logdir` from its newest checkpoint
    jit_compile: bool = False              # XLA-compile the training step (not bit-identical to TF1)

    @property
    def log_root_dir(self):
        """The folder default log folders go under: `log_root`, else the current folder."""
        return self.log_root if self.log_root is not None else os.getcwd()

    @property
    def dataset_name(self):
        """`mnist`, `fashion_mnist`, or the image folder's base name (names the default log folder)."""
        if self.dataset is None:
            return data.MNIST
        return os.path.basename(os.path.normpath(self.dataset))

    @property
    def idx_kind(self):
        """data.MNIST or data.FASHION_MNIST for the IDX datasets, None for an image folder."""
        if self.dataset is None:
            return data.MNIST
        return data.FASHION_MNIST if self.dataset == data.FASHION_MNIST else None

    @property
    def idx_dir(self):
        """The folder of the IDX files of an IDX dataset."""
        return self.mnist_dir if self.idx_kind == data.MNIST else self.fashion_mnist_dir


def _require(condition, message):
    if not condition:
        raise ConfigError(message)


def validate(config):
    """Checks flag values, architecture strings and paths, before any data is read.

    Imports no TensorFlow, so a bad flag costs no start-up time.

    Raises:
      ConfigError, or ArchitectureError for a malformed architecture string (naming the flag,
      the token and its position).
    """
    _validate_numbers(config)
    _validate_paths(config)
    _require(config.tf1_checkpoint is None or os.path.exists(config.tf1_checkpoint)
             or os.path.exists(config.tf1_checkpoint + ".index"),
             "--tf1_checkpoint %s: no such checkpoint; pass its prefix (model.ckpt-1000, the name "
             "before .index) or its folder" % config.tf1_checkpoint)
    for flag in ("generator", "discriminator"):
        try:
            parse_architecture(getattr(config.model, flag))
        except ArchitectureError as error:
            raise ArchitectureError("--%s: %s" % (flag, error)) from None


def _validate_numbers(config):
    model = config.model
    for name in ("epochs", "batch_size", "plot_every", "checkpoint_every"):
        _require(getattr(config, name) > 0, "--%s must be a positive integer, got %d" % (
            name, getattr(config, name)))
    for name in ("generator_lr", "discriminator_lr"):
        _require(getattr(config, name) > 0, "--%s must be positive, got %g" % (name, getattr(config, name)))
    _require(model.style_size > 0, "--style_size must be a positive integer, got %d" % model.style_size)
    _require(model.num_continuous >= 0, "--num_continuous must be 0 or more, got %d" % model.num_continuous)
    _require(all(k > 0 for k in model.categorical_cardinality),
             "--categorical_cardinality values must be positive, got %s" % (
                 list(model.categorical_cardinality),))
    for name in ("categorical_lambda", "continuous_lambda"):
        _require(getattr(model, name) >= 0, "--%s must be 0 or more, got %g" % (name, getattr(model, name)))
    _require(config.max_images is None or config.max_images > 0,
             "--max_images must be a positive integer, got %s" % config.max_images)
    _require(len(config.scale_dataset) == 2 and all(s > 0 for s in config.scale_dataset),
             "--scale_dataset takes two positive integers (width height), got %s" % (
                 list(config.scale_dataset),))


def _validate_paths(config):
    """The data must exist, and neither the log folder nor the cache may clobber anything."""
    kind = config.idx_kind
    if kind is not None:
        title = "MNIST" if kind == data.MNIST else "Fashion-MNIST"
        _require(tuple(config.scale_dataset) == MNIST_SHAPE[:2],
                 "%s images are 28x28: drop --scale_dataset (got %s), or pass --dataset an image "
                 "folder to resize" % (title, " ".join(map(str, config.scale_dataset))))
        try:
            data.idx_path(config.idx_dir, data.MNIST_TRAIN_IMAGES, kind)
        except data.DatasetError as error:
            raise ConfigError(str(error)) from None
    else:
        _require(os.path.isdir(config.dataset),
                 "--dataset %s is not a folder: pass an existing folder of .png/.jpg images, or "
                 "--dataset %s" % (config.dataset, data.FASHION_MNIST))
    if config.resume:
        _require(config.logdir is not None and os.path.isdir(config.logdir),
                 "--resume needs the log folder of an existing run, got %s" % config.logdir)
    elif config.logdir is not None and os.path.exists(config.logdir):
        _require(os.path.isdir(config.logdir) and not os.listdir(config.logdir),
                 "log folder %s already holds files; pass a new --logdir so nothing is overwritten"
                 % config.logdir)
    if config.cache_dir is not None:
        _require(not os.path.exists(config.cache_dir) or os.path.isdir(config.cache_dir),
                 "--cache_dir %s is a file, not a folder" % config.cache_dir)


def _shape_text(shape):
    return "x".join(str(size) for size in shape)


def check_image_shape(model, image_shape):
    """Checks that the generator makes images of the data's shape and the discriminator takes them.

    Args:
      model: a `ModelConfig`.
      image_shape: the data's (height, width, channels).

    Raises:
      ConfigError naming both shapes and the flags to change; ArchitectureError for a layer
      that cannot fit.
    """
    generated = tuple(infer_output_shapes(parse_architecture(model.generator), (model.z_size,))[-1])
    image_shape = tuple(image_shape)
    if generated != image_shape:
        fixes = ["change --generator so that it makes %s images" % _shape_text(image_shape)]
        if len(generated) == 3 and generated[:2] != image_shape[:2]:
            fixes.append("pass --scale_dataset %d %d (image folders only)" % (generated[1], generated[0]))
        if len(generated) == 3 and generated[2] == 1 and image_shape[2] != 1:
            fixes.append("pass --force_grayscale")
        raise ConfigError(
            "the generator makes images of shape %s but the data's images are %s (height x width x "
            "channels): %s" % (_shape_text(generated), _shape_text(image_shape), ", or ".join(fixes)))
    infer_output_shapes(parse_architecture(model.discriminator), image_shape)
