"""Run configuration, with the TF1 defaults, and its validation."""
import dataclasses
import json
import math
import os
from typing import Optional, Tuple

from infogan import data
from infogan.model.architecture import (ArchitectureError, LayerSpec, count_values,
                                        infer_output_shapes, parse_architecture)
from infogan.model.config import GAN_LOSSES, MUTUAL_INFO_LOSSES, ModelConfig
from infogan.model.noise import STYLE_NOISES

DEFAULT_MNIST_DIR = data.DEFAULT_MNIST_DIR
CONFIG_FILE = "config.json"  # a run's TrainConfig, in its log folder
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DISTRIBUTION_STRATEGIES = ("off", "one_device", "mirrored", "multi_worker_mirrored", "tpu")
ALLREDUCE_PRECISIONS = ("float32", "bfloat16")
# Recipes: named sets of flag values (explicit flags still win). "tf1" is the TF1 code's.
RECIPES = {
    "tf1": {},
    # The InfoGAN paper's MNIST setup, as openai/InfoGAN (whose numbers the paper reports) builds
    # it: no batch norm on D's first layer, D's fc layer on the flattened features (1024 wide, and
    # Q on them), the MI loss subtracted from both GAN losses, batches of 128.
    "paper": {"discriminator": "conv:4:2:64:lrelu:nobn,conv:4:2:128:lrelu,reshape:6272,fc:1024:lrelu",
              "mutual_info_loss": GAN_LOSSES, "batch_size": 128},
}
MNIST_SHAPE = (28, 28, 1)
# More logical CPU devices only add replicas and thread pools; TensorFlow takes minutes to set up
# thousands of them.
MAX_CPU_DEVICES = 64
BYTES_PER_VALUE = 4  # float32
# Training holds each weight at least four times: its value, its gradient and Adam's two moments.
COPIES_PER_WEIGHT = 4


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
    image_order: str = data.TF1_ORDER      # image folders' row order: data.IMAGE_ORDERS
    log_root: Optional[str] = None         # None: the current folder, as for any command
    progress_bar: Optional[bool] = None    # None: only when stdout is a terminal
    status_every: int = 120                # without a bar: a status line every N seconds (0: none)
    tf1_checkpoint: Optional[str] = None   # start from this TF1 checkpoint (prefix or folder)
    checkpoint_every: int = 500            # iterations between checkpoints (also at epoch ends)
    max_iterations: Optional[int] = None   # stop (with a checkpoint) after this many iterations
    resume: bool = False                   # continue the run in `logdir` from its newest checkpoint
    jit_compile: bool = False              # XLA-compile the training step (not bit-identical to TF1)
    recipe: str = "tf1"                    # the RECIPES entry the flags started from
    fast: bool = False                     # faster kernels, same maths (not bit-identical to TF1)
    precision: str = "float32"             # or a Keras mixed-precision policy (PRECISIONS)
    distribution_strategy: str = "off"     # DISTRIBUTION_STRATEGIES; off: one device, as TF1
    num_gpus: int = 0                      # mirrored / one_device: local GPUs (0: the CPU)
    num_cpu_devices: int = 1               # split the host CPU into this many logical devices
    worker_timeout: float = 300.0          # multi-worker: seconds to wait for a worker (or TPU)
    tpu: Optional[str] = None              # tpu: name, grpc:// address or "local" (None: TPU_NAME)
    allreduce_precision: str = "float32"   # gradients exchanged between replicas in this precision

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
    validate_numbers(config)
    _validate_paths(config)
    _require(config.tf1_checkpoint is None or os.path.exists(config.tf1_checkpoint)
             or os.path.exists(config.tf1_checkpoint + ".index"),
             "--tf1_checkpoint %s: no such checkpoint; pass its prefix (model.ckpt-1000, the name "
             "before .index) or its folder" % config.tf1_checkpoint)
    validate_architectures(config.model)
    check_memory(config.model, config.batch_size)


def validate_architectures(model):
    """Parses the generator and discriminator strings of a ModelConfig.

    Raises:
      ArchitectureError naming the flag, the token and its position.
    """
    for flag in ("generator", "discriminator"):
        try:
            parse_architecture(getattr(model, flag))
        except ArchitectureError as error:
            raise ArchitectureError("--%s: %s" % (flag, error)) from None


def physical_memory():
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


# The parts of training_memory's estimate, and the flags that size each.
MEMORY_PARTS = {"generator weights": "--generator", "discriminator weights": "--discriminator",
                "latent codes": "--categorical_cardinality, --num_continuous or --style_size",
                "a batch's activations": "--batch_size (or the layers' sizes)"}


def training_memory(model, batch_size):
    """A lower bound of the memory training needs, from the architecture alone (no TensorFlow).

    Args:
      model: a ModelConfig whose architecture strings parse.
      batch_size: images per batch.

    Returns:
      {MEMORY_PARTS key: bytes}; {} when the networks do not fit together (check_image_shape
      reports that once the data is known).
    """
    generator = parse_architecture(model.generator)
    # D's probability layer, Q's hidden layer; Q's output layer grows with the codes.
    heads = [LayerSpec("fc", "fc:1", 0, num_outputs=1)]
    q_output = []
    if model.infogan:
        heads.append(LayerSpec("fc", "fc:128", 1, num_outputs=128))
        q_output.append(LayerSpec("fc", "fc", 2, num_outputs=model.q_output_width))
    try:
        image_shape = infer_output_shapes(generator, (model.z_size,))[-1]
        g_weights, g_outputs = count_values(generator, (model.z_size,))
        discriminator = parse_architecture(model.discriminator) + heads
        d_weights, d_outputs = count_values(discriminator, image_shape)
        q_weights, q_outputs = count_values(
            q_output, infer_output_shapes(discriminator, image_shape)[-1])
    except ArchitectureError:
        return {}
    g_codes = g_weights - count_values(generator, (1,))[0]  # the first layer's, per noise value
    per_weight = COPIES_PER_WEIGHT * BYTES_PER_VALUE
    # A batch's forward passes keep their outputs for the gradients: the generator's, and the
    # discriminator's on the real and on the generated images. The host's noise is float64.
    return {"generator weights": (g_weights - g_codes) * per_weight,
            "discriminator weights": d_weights * per_weight,
            "latent codes": (g_codes + q_weights) * per_weight
            + batch_size * (2 * model.z_size * 8 + 2 * q_outputs * BYTES_PER_VALUE),
            "a batch's activations": batch_size * BYTES_PER_VALUE * (
                g_outputs + 2 * (math.prod(image_shape) + d_outputs))}


def check_memory(model, batch_size, available=None):
    """Refuses networks that cannot be trained in this machine's memory, before anything is built.

    Args:
      model: a ModelConfig whose architecture strings parse.
      batch_size: images per batch.
      available: the memory in bytes; default this machine's (no check where it is unknown).

    Raises:
      ConfigError naming the estimate, the machine's memory and the flags of its largest part.
    """
    available = physical_memory() if available is None else available
    parts = training_memory(model, batch_size)
    needed = sum(parts.values())
    if available is None or needed <= available:
        return
    largest = max(parts, key=parts.get)
    raise ConfigError(
        "training these networks needs at least %s of memory (%s), more than this machine's %s; "
        "make %s smaller" % (_bytes_text(needed), "; ".join(
            "%s %s" % (part, _bytes_text(size)) for part, size in parts.items()),
            _bytes_text(available), MEMORY_PARTS[largest]))


def _bytes_text(size):
    return "%.1f GB" % (size / 1e9) if size >= 1e8 else "%.1f MB" % (size / 1e6)


def validate_numbers(config):
    """Checks every numeric flag of a TrainConfig (and its ModelConfig).

    Raises:
      ConfigError naming the flag, the value and what is accepted.
    """
    model = config.model
    for name in ("epochs", "batch_size", "plot_every", "checkpoint_every"):
        _require(_is_int(getattr(config, name)) and getattr(config, name) > 0,
                 "--%s must be a positive integer, got %s" % (name, getattr(config, name)))
    for name in ("generator_lr", "discriminator_lr"):
        value = getattr(config, name)
        _require(_is_number(value) and math.isfinite(value) and value > 0,
                 "--%s must be a positive finite number, got %s" % (name, value))
    _require(model.style_size > 0, "--style_size must be a positive integer, got %d" % model.style_size)
    _require(model.num_continuous >= 0, "--num_continuous must be 0 or more, got %d" % model.num_continuous)
    _require(all(k > 0 for k in model.categorical_cardinality),
             "--categorical_cardinality values must be positive, got %s" % (
                 list(model.categorical_cardinality),))
    _require(not model.infogan or model.categorical_cardinality or model.num_continuous > 0,
             "InfoGAN needs at least one latent code: pass --categorical_cardinality K or "
             "--num_continuous N (N > 0), or --noinfogan for a plain GAN")
    for name in ("categorical_lambda", "continuous_lambda"):
        value = getattr(model, name)
        _require(_is_number(value) and math.isfinite(value) and value >= 0,
                 "--%s must be a finite number, 0 or more, got %s" % (name, value))
    _require(_is_int(config.seed) and 0 <= config.seed < 2 ** 32,
             "--seed must be an integer from 0 to 2**32 - 1 (NumPy's range), got %s" % config.seed)
    for name in ("max_images", "max_iterations"):
        value = getattr(config, name)
        _require(value is None or (_is_int(value) and value > 0),
                 "--%s must be a positive integer, got %s" % (name, value))
    _require(len(config.scale_dataset) == 2 and all(s > 0 for s in config.scale_dataset),
             "--scale_dataset takes two positive integers (width height), got %s" % (
                 list(config.scale_dataset),))
    _require(model.mutual_info_loss in MUTUAL_INFO_LOSSES, "--mutual_info_loss must be one of %s, "
             "got %r" % (", ".join(MUTUAL_INFO_LOSSES), model.mutual_info_loss))
    _require(model.style_noise in STYLE_NOISES, "--style_noise must be one of %s, got %r" % (
        ", ".join(STYLE_NOISES), model.style_noise))
    _require(config.image_order in data.IMAGE_ORDERS, "--image_order must be one of %s, got %r" % (
        ", ".join(data.IMAGE_ORDERS), config.image_order))
    _require(config.precision in PRECISIONS, "--precision must be one of %s, got %r" % (
        ", ".join(PRECISIONS), config.precision))
    _require(config.recipe in RECIPES, "--recipe must be one of %s, got %r" % (
        ", ".join(RECIPES), config.recipe))
    _require(config.distribution_strategy in DISTRIBUTION_STRATEGIES, "--distribution_strategy "
             "must be one of %s, got %r" % (", ".join(DISTRIBUTION_STRATEGIES),
                                           config.distribution_strategy))
    _require(_is_int(config.num_gpus) and config.num_gpus >= 0,
             "--num_gpus must be 0 or more, got %r" % (config.num_gpus,))
    _require(_is_int(config.num_cpu_devices) and 1 <= config.num_cpu_devices <= MAX_CPU_DEVICES,
             "--num_cpu_devices must be an integer from 1 to %d, got %r" % (
                 MAX_CPU_DEVICES, config.num_cpu_devices))
    _require(_is_int(config.status_every) and config.status_every >= 0,
             "--status_every must be 0 (no status lines) or a positive number of seconds, got %r"
             % (config.status_every,))
    _require(_is_number(config.worker_timeout) and config.worker_timeout > 0,
             "--worker_timeout must be a positive number of seconds, got %r" % (config.worker_timeout,))
    _require(not (config.jit_compile and config.distribution_strategy != "off"),
             "--jit_compile is for one device; drop it or --distribution_strategy")
    _require(config.allreduce_precision in ALLREDUCE_PRECISIONS, "--allreduce_precision must be "
             "one of %s, got %r" % (", ".join(ALLREDUCE_PRECISIONS), config.allreduce_precision))
    _require(config.allreduce_precision == "float32" or config.distribution_strategy not in (
        "off", "one_device"), "--allreduce_precision %s exchanges gradients between replicas: use it "
             "with --distribution_strategy mirrored, multi_worker_mirrored or tpu"
             % config.allreduce_precision)
    _require(config.tpu is None or config.distribution_strategy == "tpu",
             "--tpu names the TPU of --distribution_strategy tpu: add it, or drop --tpu")
    _require(not (config.distribution_strategy == "one_device" and config.num_gpus > 1),
             "--distribution_strategy one_device uses one device: --num_gpus 0 or 1, got %d"
             % config.num_gpus)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def with_recipe(config, recipe, keep=()):
    """`config` with the settings of RECIPES[recipe], except the fields named in `keep` (the flags
    given explicitly).

    Raises:
      ConfigError: an unknown recipe.
    """
    _require(recipe in RECIPES, "--recipe must be one of %s, got %r" % (", ".join(RECIPES), recipe))
    model_fields = {field.name for field in dataclasses.fields(ModelConfig)}
    settings = {key: value for key, value in RECIPES[recipe].items() if key not in keep}
    model = dataclasses.replace(config.model, **{k: v for k, v in settings.items() if k in model_fields})
    return dataclasses.replace(config, model=model, recipe=recipe,
                               **{k: v for k, v in settings.items() if k not in model_fields})


def check_batch_size(config, num_images):
    """Refuses a batch larger than the data (TF1 would draw one short batch per epoch of it).

    Raises:
      ConfigError.
    """
    _require(config.batch_size <= num_images,
             "--batch_size %d is larger than the data (%d images); pass --batch_size %d or less%s"
             % (config.batch_size, num_images, num_images,
                " or a larger --max_images" if config.max_images is not None else ""))


def _validate_paths(config):
    """The data must exist, and neither the log folder nor the cache may clobber anything."""
    _require(config.logdir != "", "--logdir is empty; pass a folder (new or empty), or leave "
             "--logdir out for the default one")
    kind = config.idx_kind
    if kind is not None:
        title = "MNIST" if kind == data.MNIST else "Fashion-MNIST"
        _require(tuple(config.scale_dataset) == MNIST_SHAPE[:2],
                 "%s images are 28x28: drop --scale_dataset (got %s), or pass --dataset an image "
                 "folder to resize" % (title, " ".join(map(str, config.scale_dataset))))
        try:
            check_batch_size(config, data.training_images_count(config.idx_dir, config.max_images, kind))
        except data.DatasetError as error:
            raise ConfigError(str(error)) from None
    else:
        _require(os.path.isdir(config.dataset),
                 "--dataset %s is not a folder: pass an existing folder of .png/.jpg images, or "
                 "--dataset %s" % (config.dataset, data.FASHION_MNIST))
    if config.resume:
        _require(config.logdir is not None and os.path.isdir(config.logdir),
                 "--resume needs the log folder of an existing run, got %s" % config.logdir)
    elif config.logdir is not None:
        from infogan.training.run_folder import check_new_log_dir  # no TensorFlow there
        check_new_log_dir(config.logdir)
    else:
        _require(os.access(config.log_root_dir, os.W_OK | os.X_OK),
                 "the current folder %s is not writable, so the default log folder cannot be "
                 "made there; pass --logdir" % config.log_root_dir)
    if config.cache_dir is not None:
        _require(not os.path.exists(config.cache_dir) or os.path.isdir(config.cache_dir),
                 "--cache_dir %s is a file, not a folder" % config.cache_dir)
        check_can_create("--cache_dir", config.cache_dir)


def check_can_create(flag, path):
    """Refuses a folder that does not exist and cannot be made (an existing one passes).

    Raises:
      ConfigError naming `flag` and the ancestor that is a file or not writable.
    """
    if not os.path.isdir(path):
        reason = unwritable_reason(path)
        _require(reason is None, "%s %s cannot be created: %s; pass a folder you can write to" % (
            flag, path, reason))


def unwritable_reason(path):
    """Why files cannot be written in the folder `path` (made first if missing), or None.

    Returns:
      e.g. "/data is not writable", "/data/x is a file, not a folder", or None.
    """
    if os.path.isdir(path):
        return None if os.access(path, os.W_OK | os.X_OK) else "%s is not writable" % path
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return "%s is a file, not a folder" % parent
    return None if os.access(parent, os.W_OK | os.X_OK) else "%s is not writable" % parent


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


def save_run_config(log_dir, config):
    """Writes a run's TrainConfig as JSON into its log folder (atomically)."""
    path = os.path.join(log_dir, CONFIG_FILE)
    with open(path + ".tmp", "w") as stream:
        json.dump(dataclasses.asdict(config), stream, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def load_run_config(log_dir):
    """Reads the TrainConfig a run was started with.

    Raises:
      ConfigError: the folder holds no config.json (it is not a run of this package), or one that
        cannot be read as a run's configuration.
    """
    path = os.path.join(log_dir, CONFIG_FILE)
    _require(os.path.isdir(log_dir), "%s is not a folder; pass the log folder of a run" % log_dir)
    _require(os.path.exists(path), "%s holds no %s: pass the log folder of a run started by this "
             "package" % (log_dir, CONFIG_FILE))
    try:
        with open(path) as stream:
            values = json.load(stream)
        model = dict(values.pop("model"))
        model["categorical_cardinality"] = tuple(model["categorical_cardinality"])
        values["scale_dataset"] = tuple(values["scale_dataset"])
        values.setdefault("image_order", data.SORTED_ORDER)  # older runs listed folders sorted
        config = TrainConfig(model=ModelConfig(**_known(ModelConfig, model)),
                             **_known(TrainConfig, values))
        validate_numbers(config)
        validate_architectures(config.model)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        detail = str(error).splitlines()[0] if str(error) else ""
        raise ConfigError("%s cannot be read as a run's configuration (%s: %s); it was damaged or "
                          "written by something else" % (path, type(error).__name__, detail)) from None
    return config


def _known(dataclass, values):
    names = {field.name for field in dataclasses.fields(dataclass)}
    return {key: value for key, value in values.items() if key in names}


def resumed_config(log_dir, **changes):
    """The saved config of the run in `log_dir`, set to resume there, with `changes` applied
    (those that may differ between sessions: epochs, speed settings...)."""
    return dataclasses.replace(load_run_config(log_dir), resume=True, logdir=log_dir, **changes)
