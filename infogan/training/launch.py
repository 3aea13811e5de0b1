"""The library's front door to training, importable before TensorFlow: it prepares the process
as the run's ExecutionPolicy asks (oneDNN is read once, when TensorFlow loads), then trains."""
from infogan import config as config_lib


def train(config, **options):
    """Trains InfoGAN (or a GAN) as the TF1 code did, printing its lines and writing its logs,
    with the process prepared as the command line prepares it: called before TensorFlow is
    imported, `fast=True` gets oneDNN's kernels as `--fast` does.

    Args:
      config: a `TrainConfig`, or the `Preflighted` that `infogan.config.preflight` returned.
      **options: passed to `infogan.training.loop.train` (`wait_guard`).

    Returns:
      the log folder.

    Raises:
      ConfigError: a bad setting, before anything else. Then what
        `infogan.training.loop.train_models` raises.
    """
    checked = config_lib.preflighted(config)  # the one preflight, before TensorFlow loads
    checked.config.execution.policy().prepare_process()
    from infogan.training import loop  # imports TensorFlow
    return loop.train(checked, **options)
