"""The training configuration: `TrainConfig`, made of frozen parts (`model`, `data`, `run`,
`execution`) whose fields carry their flag's metadata (`infogan.model.options`). Field names are
the train.py flag names. Imports no TensorFlow."""
import dataclasses
import os
from typing import Optional, Tuple

from infogan import data
from infogan.config.recipes import RECIPES
from infogan.model.config import ModelConfig
from infogan.model.execution import PRODUCT_DTYPES, ExecutionPolicy
from infogan.model.options import BEYOND_TF1, PORT, TF1, flag_fields, option

PRECISIONS = tuple(PRODUCT_DTYPES)
DISTRIBUTION_STRATEGIES = ("off", "one_device", "mirrored", "multi_worker_mirrored", "tpu")
ALLREDUCE_PRECISIONS = ("float32", "bfloat16")
# More logical CPU devices only add replicas and thread pools; TensorFlow takes minutes to set up
# thousands of them.
MAX_CPU_DEVICES = 64


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which images to train on, and how they are read."""
    dataset: Optional[str] = option(None, "A folder of .png/.jpg images (searched recursively), or "
                                    "fashion_mnist; the shipped MNIST when not given.", TF1)
    max_images: Optional[int] = option(None, "Use at most this many images (MNIST: the first N of "
                                       "its 55000 training images; a folder: a seeded random "
                                       "sample).", TF1)
    scale_dataset: Tuple[int, int] = option((28, 28), "Resize images to WIDTH HEIGHT (image "
                                            "folders only; MNIST is 28 28).", TF1)
    force_grayscale: bool = option(False, "Convert images to one channel (image folders).", TF1)
    mnist_dir: str = option(data.DEFAULT_MNIST_DIR, "Folder of the four MNIST IDX .gz files.", PORT)
    fashion_mnist_dir: str = option(data.DEFAULT_FASHION_MNIST_DIR, "Folder of the four "
                                    "Fashion-MNIST IDX .gz files (--dataset fashion_mnist).", PORT)
    cache_dir: Optional[str] = option(None, "Image folders: keep the decoded, resized images in "
                                      "this folder (built before training, reused by later "
                                      "runs).", PORT)
    image_order: str = option(data.TF1_ORDER, "Image folders' row order, which fixes every batch: "
                              "tf1 (the TF1 code's: os.walk, each folder's files as the file "
                              "system lists them) or sorted (the same on every machine).", PORT,
                              choices=data.IMAGE_ORDERS)

    @property
    def source(self):
        """The `data.DatasetSource` this names (its kind, name and folder)."""
        return data.dataset_source(self)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How long and with what schedule to train, and where the run's folder is."""
    epochs: int = option(100, "Passes over the data.", TF1, resumable=True)
    batch_size: int = option(64, "Images per batch.", TF1)
    generator_lr: float = option(1e-3, "Adam learning rate of the generator and of the "
                                 "mutual-information update (which also moves D and Q).", TF1)
    discriminator_lr: float = option(2e-4, "Adam learning rate of the discriminator.", TF1)
    generator_steps: int = option(1, "G steps per iteration, each on new noise, after the D step "
                                  "(a G step: the G update, and the MI update where it is "
                                  "separate): 1 (the TF1 code), or more to train G harder "
                                  "against D.", BEYOND_TF1)
    mutual_info_warmup: int = option(0, "Iterations over which the mutual-information term's weight "
                                     "in the GAN losses rises linearly from 0 to 1 (with "
                                     "--mutual_info_loss gan_losses, which --recipe paper sets): 0 "
                                     "(no warm-up, the TF1 code and openai/InfoGAN), or e.g. 1000.",
                                     BEYOND_TF1)
    seed: int = option(1234, "Seed of NumPy's generator (draws noise and batches, as in TF1) and "
                       "of TensorFlow's initialisers (the TF1 code left those unseeded).", TF1)
    plot_every: int = option(200, "Iterations between TensorBoard image plots (each also saved as "
                             "a PNG under <logdir>/images).", TF1)
    logdir: Optional[str] = option(None, "Log folder: must be new or empty. Default: "
                                   "./<dataset>_log/<infogan|gan>, else the first free of ...-0, "
                                   "...-1.", PORT)
    resume: bool = option(False, "Continue a run from its newest checkpoint: --resume=LOGDIR, or "
                          "bare --resume for the newest default run here. The run's flags come "
                          "from its config.json; {resumable} may be given anew.", PORT,
                          resumable=True, flag_type=str, from_flag=lambda value: value is not None)
    max_iterations: Optional[int] = option(None, "Stop, with a checkpoint, after this many "
                                           "iterations in all.", PORT, resumable=True)
    checkpoint_every: int = option(500, "Iterations between checkpoints (also written at every "
                                   "epoch end and on Ctrl-C/SIGTERM) in <logdir>/checkpoints.",
                                   PORT, resumable=True)
    status_every: int = option(120, "When the output is not a terminal: seconds between status "
                               "lines (0: none). On a terminal a progress bar is drawn instead.",
                               PORT, resumable=True)
    tf1_checkpoint: Optional[str] = option(None, "Start from this checkpoint of the TF1 code (its "
                                           "prefix or folder): weights, batch-norm statistics, "
                                           "learning rates, Adam state.", PORT)
    recipe: str = option("tf1", "A named set of flag values: tf1 (the TF1 code's defaults) or "
                         "paper (the InfoGAN paper's MNIST setup, see docs/training.md); flags "
                         "given explicitly override it.", BEYOND_TF1, choices=tuple(RECIPES))
    log_root: Optional[str] = option(None, "Where default log folders go (None: the current "
                                     "folder, as for any command).", PORT, flag=False)
    progress_bar: Optional[bool] = option(None, "Draw a progress bar (None: only when stdout is a "
                                          "terminal).", PORT, flag=False)

    @property
    def log_root_dir(self):
        """The folder default log folders go under: `log_root`, else the current folder."""
        return self.log_root if self.log_root is not None else os.getcwd()


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
    """How the same computation is executed: kernels, precision, compilation and devices."""
    fast: bool = option(False, "Faster kernels for the same maths: TensorFlow's fused batch norm, a "
                        "native leaky ReLU and oneDNN's CPU kernels. Results agree with the "
                        "default to float32 rounding, not bit for bit.", BEYOND_TF1, resumable=True)
    precision: str = option("float32", "float32, or a Keras mixed-precision policy: matrix "
                            "products in bfloat16/float16, batch-norm statistics, objectives and "
                            "the MI terms in float32 (not bit-identical).", BEYOND_TF1,
                            choices=PRECISIONS)
    jit_compile: bool = option(False, "Compile the training step with XLA. Not bit-identical to "
                               "the TF1 code (its kernels round differently). Not with --fast on "
                               "the CPU, where XLA's kernels replace oneDNN's and run slower.",
                               BEYOND_TF1, resumable=True)
    distribution_strategy: str = option(
        "off", "Train on several devices with tf.distribute: off (one device, as the TF1 code), "
        "one_device, mirrored (the devices of this host), multi_worker_mirrored (several hosts, "
        "from TF_CONFIG) or tpu (see --tpu); batch statistics and objectives over the global "
        "--batch_size.", BEYOND_TF1, resumable=True, choices=DISTRIBUTION_STRATEGIES)
    num_gpus: int = option(0, "With a strategy: the local GPUs to use (0: the CPU).", BEYOND_TF1,
                           resumable=True)
    num_cpu_devices: int = option(
        1, "With a strategy: split the host CPU into this many logical devices (to try mirrored "
        "without GPUs), at most %d: each adds a replica and its threads on the same cores, and "
        "TensorFlow takes minutes to set up thousands." % MAX_CPU_DEVICES, BEYOND_TF1,
        resumable=True)
    worker_timeout: float = option(300.0, "multi_worker_mirrored: seconds to wait for every worker "
                                   "to come up, and for a worker that stops answering; tpu: for "
                                   "the TPU system.", BEYOND_TF1, resumable=True)
    tpu: Optional[str] = option(None, "--distribution_strategy tpu: the TPU's name, grpc:// "
                                "address, or local on a TPU VM (default: the TPU_NAME variable).",
                                BEYOND_TF1, resumable=True)
    allreduce_precision: str = option(
        "float32", "With a strategy of several replicas: exchange gradients between them in "
        "float32, or in bfloat16 (half the bytes; rounds each gradient to 8 bits of mantissa).",
        BEYOND_TF1, resumable=True, choices=ALLREDUCE_PRECISIONS)

    def policy(self):
        """The ExecutionPolicy of these settings: the one place kernels, loss scale, oneDNN and
        XLA are decided from them."""
        return ExecutionPolicy.from_settings(fast=self.fast, precision=self.precision,
                                             jit_compile=self.jit_compile)


# TrainConfig's parts, by attribute name.
PARTS = {"model": ModelConfig, "data": DataConfig, "run": RunConfig, "execution": ExecutionConfig}
# Every field's part, by field (flag) name.
PART_OF = {field.name: part for part, cls in PARTS.items() for field in dataclasses.fields(cls)}


@dataclasses.dataclass(frozen=True, init=False)
class TrainConfig:
    """Everything `train` needs, in parts: `model` (ModelConfig), `data`, `run`, `execution`.

    Build and change it by flag name (each goes to its part), or by whole parts:

        config = TrainConfig(epochs=1, max_images=320, logdir="runs/first")
        config.replace(logdir="runs/second").run.logdir
    """
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    run: RunConfig = RunConfig()
    execution: ExecutionConfig = ExecutionConfig()

    def __init__(self, model=ModelConfig(), data=DataConfig(), run=RunConfig(),
                 execution=ExecutionConfig(), **values):
        """Args:
          model, data, run, execution: the parts (default: the defaults).
          **values: fields by flag name (`epochs=1`), set over the parts.

        Raises:
          TypeError: a name that is neither a field nor a part.
        """
        unknown = sorted(name for name in values if name not in PART_OF)
        if unknown:
            raise TypeError("TrainConfig has no field %s" % ", ".join(unknown))
        parts = {"model": model, "data": data, "run": run, "execution": execution}
        for part in PARTS:
            changes = {name: value for name, value in values.items() if PART_OF[name] == part}
            value = dataclasses.replace(parts[part], **changes) if changes else parts[part]
            object.__setattr__(self, part, value)

    @classmethod
    def create(cls, **values):
        """A TrainConfig of the defaults with `values` (flag names or parts) set; see `__init__`."""
        return cls(**values)

    def replace(self, **values):
        """This config with `values` (flag names or parts) set; see `__init__`."""
        return dataclasses.replace(self, **values)

    def flat(self):
        """{flag name: value} of every field of every part."""
        return {field.name: getattr(getattr(self, part), field.name)
                for part, cls in PARTS.items() for field in dataclasses.fields(cls)}


def config_fields():
    """(part name, field) of every field of TrainConfig's parts, in order."""
    return [(part, field) for part, cls in PARTS.items() for field in dataclasses.fields(cls)]


def flag_names():
    """The names of the fields that are command-line flags, in order."""
    return [field.name for cls in PARTS.values() for field in flag_fields(cls)]


def resumable_names():
    """The flags `--resume` may give anew: how long and how fast a run trains, not what it models."""
    return [field.name for cls in PARTS.values() for field in flag_fields(cls)
            if field.metadata["resumable"]]
