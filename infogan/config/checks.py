"""The checks of a TrainConfig that need no TensorFlow: flag values, architectures, memory, paths,
and the data's size and shape against the batch and the generator."""
import math
import os

from infogan import data
from infogan.config.errors import ConfigError, require
from infogan.config.parts import MAX_CPU_DEVICES, config_fields
from infogan.model.architecture import (ArchitectureError, LayerSpec, count_values,
                                        infer_output_shapes, parse_architecture)
from infogan.model.config import GAN_LOSSES

MNIST_SHAPE = data.IDX_IMAGE_SHAPE
BYTES_PER_VALUE = 4  # float32
# Training holds each weight at least four times: its value, its gradient and Adam's two moments.
COPIES_PER_WEIGHT = 4
LOCK_FILE = ".lock"  # a run folder's lock (see training.run_folder); it does not make it a run


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
    """Checks every flag value of a TrainConfig (and its ModelConfig) that needs no file.

    Raises:
      ConfigError naming the flag, the value and what is accepted.
    """
    model, run, execution = config.model, config.run, config.execution
    for name in ("epochs", "batch_size", "plot_every", "checkpoint_every", "generator_steps"):
        require(_is_int(getattr(run, name)) and getattr(run, name) > 0,
                "--%s must be a positive integer, got %s" % (name, getattr(run, name)))
    require(_is_int(run.mutual_info_warmup) and run.mutual_info_warmup >= 0,
            "--mutual_info_warmup must be an integer, 0 or more, got %s" % run.mutual_info_warmup)
    require(not run.mutual_info_warmup or (model.infogan and model.mutual_info_loss == GAN_LOSSES),
            "--mutual_info_warmup weighs the mutual-information term of the GAN losses: add "
            "--mutual_info_loss gan_losses (or --recipe paper); a separate MI update moves as far "
            "whatever its loss's scale (Adam)")
    for name in ("generator_lr", "discriminator_lr"):
        value = getattr(run, name)
        require(_is_number(value) and math.isfinite(value) and value > 0,
                "--%s must be a positive finite number, got %s" % (name, value))
    require(model.style_size > 0, "--style_size must be a positive integer, got %d" % model.style_size)
    require(model.num_continuous >= 0, "--num_continuous must be 0 or more, got %d" % model.num_continuous)
    require(all(k > 0 for k in model.categorical_cardinality),
            "--categorical_cardinality values must be positive, got %s" % (
                list(model.categorical_cardinality),))
    require(not model.infogan or model.categorical_cardinality or model.num_continuous > 0,
            "InfoGAN needs at least one latent code: pass --categorical_cardinality K or "
            "--num_continuous N (N > 0), or --noinfogan for a plain GAN")
    for name in ("categorical_lambda", "continuous_lambda"):
        value = getattr(model, name)
        require(_is_number(value) and math.isfinite(value) and value >= 0,
                "--%s must be a finite number, 0 or more, got %s" % (name, value))
    require(_is_int(run.seed) and 0 <= run.seed < 2 ** 32,
            "--seed must be an integer from 0 to 2**32 - 1 (NumPy's range), got %s" % run.seed)
    for name, value in (("max_images", config.data.max_images), ("max_iterations", run.max_iterations)):
        require(value is None or (_is_int(value) and value > 0),
                "--%s must be a positive integer, got %s" % (name, value))
    scale = config.data.scale_dataset
    require(len(scale) == 2 and all(s > 0 for s in scale),
            "--scale_dataset takes two positive integers (width height), got %s" % (list(scale),))
    _check_choices(config)
    require(_is_int(run.status_every) and run.status_every >= 0,
            "--status_every must be 0 (no status lines) or a positive number of seconds, got %r"
            % (run.status_every,))
    _check_devices(execution)


def _check_choices(config):
    """Every enum field holds one of its choices."""
    for part, field in config_fields():
        choices, value = field.metadata["choices"], getattr(getattr(config, part), field.name)
        require(choices is None or value in choices, "--%s must be one of %s, got %r" % (
            field.name, ", ".join(choices or ()), value))


def _check_devices(execution):
    """The device settings fit the distribution strategy."""
    strategy = execution.distribution_strategy
    require(_is_int(execution.num_gpus) and execution.num_gpus >= 0,
            "--num_gpus must be 0 or more, got %r" % (execution.num_gpus,))
    require(_is_int(execution.num_cpu_devices) and 1 <= execution.num_cpu_devices <= MAX_CPU_DEVICES,
            "--num_cpu_devices must be an integer from 1 to %d, got %r" % (
                MAX_CPU_DEVICES, execution.num_cpu_devices))
    require(_is_number(execution.worker_timeout) and execution.worker_timeout > 0,
            "--worker_timeout must be a positive number of seconds, got %r" % (
                execution.worker_timeout,))
    require(not (execution.jit_compile and strategy != "off"),
            "--jit_compile is for one device; drop it or --distribution_strategy")
    require(execution.allreduce_precision == "float32" or strategy not in ("off", "one_device"),
            "--allreduce_precision %s exchanges gradients between replicas: use it with "
            "--distribution_strategy mirrored, multi_worker_mirrored or tpu"
            % execution.allreduce_precision)
    require(execution.tpu is None or strategy == "tpu",
            "--tpu names the TPU of --distribution_strategy tpu: add it, or drop --tpu")
    require(not (strategy == "one_device" and execution.num_gpus > 1),
            "--distribution_strategy one_device uses one device: --num_gpus 0 or 1, got %d"
            % execution.num_gpus)


def check_compilation(execution, gpus):
    """Refuses `--fast --jit_compile` where training runs on the CPU: XLA's CPU code replaces
    oneDNN's convolutions and matrix products (and their bfloat16 units) with its own, slower than
    `--fast` alone (docs/performance.md). On a GPU both stay available.

    Args:
      execution: an ExecutionConfig.
      gpus: the GPUs TensorFlow sees (training without a strategy runs on the first).

    Raises:
      ConfigError naming the fix.
    """
    require(not (execution.jit_compile and execution.fast and gpus == 0),
            "--jit_compile with --fast is slower than --fast alone on the CPU (XLA does not run "
            "oneDNN's kernels): drop --jit_compile")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_batch_size(config, num_images):
    """Refuses a batch larger than the data (TF1 would draw one short batch per epoch of it).

    Args:
      config: a TrainConfig.
      num_images: the data's training images.

    Raises:
      ConfigError.
    """
    batch_size = config.run.batch_size
    require(batch_size <= num_images,
            "--batch_size %d is larger than the data (%d images); pass --batch_size %d or less%s"
            % (batch_size, num_images, num_images,
               " or a larger --max_images" if config.data.max_images is not None else ""))


def check_tf1_checkpoint(path):
    """Refuses a --tf1_checkpoint that names nothing (None passes).

    Raises:
      ConfigError.
    """
    require(path is None or os.path.exists(path) or os.path.exists(path + ".index"),
            "--tf1_checkpoint %s: no such checkpoint; pass its prefix (model.ckpt-1000, the name "
            "before .index) or its folder" % path)


def check_log_folder(run):
    """The run's folder: an existing one to resume, else a new or empty --logdir, else a writable
    folder for the default one.

    Raises:
      ConfigError.
    """
    require(run.logdir != "", "--logdir is empty; pass a folder (new or empty), or leave --logdir "
            "out for the default one")
    if run.resume:
        require(run.logdir is not None and os.path.isdir(run.logdir),
                "--resume needs the log folder of an existing run, got %s" % run.logdir)
    elif run.logdir is not None:
        check_new_log_dir(run.logdir)
    else:
        require(os.access(run.log_root_dir, os.W_OK | os.X_OK),
                "the current folder %s is not writable, so the default log folder cannot be made "
                "there; pass --logdir" % run.log_root_dir)


def check_new_log_dir(path):
    """Refuses a --logdir that cannot become a new run's folder, without creating anything.

    Raises:
      ConfigError: the path is a file, holds files, lies under a file, or cannot be created.
    """
    if os.path.isfile(path):
        raise ConfigError("--logdir %s is a file; pass a folder (new or empty)" % path)
    if os.path.isdir(path) and folder_entries(path):
        raise ConfigError("log folder %s already holds files; pass a new --logdir so nothing "
                          "is overwritten (or --resume=%s to continue a run there)" % (path, path))
    reason = unwritable_reason(path)
    if reason is not None:
        verb = "cannot be written" if os.path.isdir(path) else "cannot be created"
        raise ConfigError("--logdir %s %s: %s; pass a --logdir you can write to" % (path, verb, reason))


def folder_entries(log_dir):
    """The names in a log folder other than the lock's own files."""
    return [name for name in os.listdir(log_dir) if not name.startswith(LOCK_FILE)]


def check_data_paths(data_config):
    """The data must exist, at the size it has (IDX), and the cache must be creatable.

    Raises:
      ConfigError.
    """
    source = data_config.source
    if source.is_idx:
        require(tuple(data_config.scale_dataset) == MNIST_SHAPE[:2],
                "%s images are 28x28: drop --scale_dataset (got %s), or pass --dataset an image "
                "folder to resize" % (data.IDX_TITLES[source.kind],
                                      " ".join(map(str, data_config.scale_dataset))))
    else:
        require(os.path.isdir(source.path),
                "--dataset %s is not a folder: pass an existing folder of .png/.jpg images, or "
                "--dataset %s" % (source.path, data.FASHION_MNIST))
    if data_config.cache_dir is not None:
        require(not os.path.exists(data_config.cache_dir) or os.path.isdir(data_config.cache_dir),
                "--cache_dir %s is a file, not a folder" % data_config.cache_dir)
        check_can_create("--cache_dir", data_config.cache_dir)


def check_can_create(flag, path):
    """Refuses a folder that does not exist and cannot be made (an existing one passes).

    Raises:
      ConfigError naming `flag` and the ancestor that is a file or not writable.
    """
    if not os.path.isdir(path):
        reason = unwritable_reason(path)
        require(reason is None, "%s %s cannot be created: %s; pass a folder you can write to" % (
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
