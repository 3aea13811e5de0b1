"""How well a trained InfoGAN disentangles (`infogan-evaluate`).

A checkpoint of the TF1 code can be evaluated too (trained with its default networks, e.g. written
by `python -m infogan.parity.shim --save_checkpoint`), with the same measures.

- Unsupervised categorical accuracy on the 10000 test images of the run's dataset (MNIST or
  Fashion-MNIST; a run on an image folder, which has no labels, is refused): the Q network's most
  likely category of each real image, mapped to the labels one-to-one (Hungarian) and
  many-to-one (the InfoGAN paper's measure), the mapping itself (categories are unsupervised:
  category 3 need not be the digit 3), the clustering measures NMI and ARI, and the confusion
  matrix.
- For each continuous code, the correlation between the code and the Q network's predicted mean
  on generated samples.
- Figures: categories x samples, and each continuous code swept over [-2, 2].

The discriminator and Q network run as in training (batch statistics, batches of the run's
batch size); nothing is written back to the checkpoint.
"""
import os
import sys

import numpy as np
import tensorflow as tf

from infogan import data, plots
from infogan.config import (CONFIG_FILE, MNIST_SHAPE, ConfigError, DataConfig, RunConfig,
                            load_run_config, unwritable_reason)
from infogan.model.config import ModelConfig
from infogan.model.models import build_models, noise_to_tensor
from infogan.model.architecture import infer_output_shapes, parse_architecture
from infogan.model.networks import REAL_PASS
from infogan.model.noise import NoiseLayout
from infogan.tools import metrics
from infogan.training.checkpoints import restore_networks
from infogan.training.step import build_optimizers
from infogan.training.run_folder import CHECKPOINT_SUBDIR
from infogan.training.tf1_checkpoint import load_tf1_checkpoint


def print_warning(message):
    """One warning line on stderr."""
    print("warning: %s" % message, file=sys.stderr)


class FiguresNotWritten(OSError):
    """The figures could not be written; `results` holds every measure all the same."""

    def __init__(self, message, results):
        super().__init__(message)
        self.results = results


def check_checkpoint_of_run(log_dir, checkpoint_path, warn=print_warning):
    """Refuses a checkpoint of another run (its networks are described by that run's config.json);
    warns about one that lies in no run's folder (it is read if its variables fit).

    Raises:
      ConfigError: `checkpoint_path` lies in the checkpoints folder of another run.
    """
    folder = os.path.realpath(os.path.dirname(os.path.abspath(checkpoint_path)))
    if folder == os.path.realpath(os.path.join(log_dir, CHECKPOINT_SUBDIR)):
        return
    owner = os.path.dirname(folder)
    if os.path.basename(folder) == CHECKPOINT_SUBDIR and os.path.exists(
            os.path.join(owner, CONFIG_FILE)):
        raise ConfigError("--checkpoint %s belongs to the run %s, not to --logdir %s; pass "
                          "--logdir %s" % (checkpoint_path, owner, log_dir, owner))
    warn("--checkpoint %s is not in %s; reading it with the networks of %s" % (
        checkpoint_path, os.path.join(log_dir, CHECKPOINT_SUBDIR), os.path.join(log_dir, CONFIG_FILE)))


def restore_models(log_dir, checkpoint_path=None, warn=print_warning):
    """Rebuilds a run's networks and loads its newest usable (or the given) checkpoint.

    Args:
      warn: where the warning about a checkpoint outside the run's folder goes.

    Returns:
      (TrainConfig, InfoGANModels, checkpoint path).

    Raises:
      ConfigError: no readable config.json or checkpoint, or a checkpoint of another run.
    """
    config = load_run_config(log_dir)
    if checkpoint_path is not None:
        check_checkpoint_of_run(log_dir, checkpoint_path, warn)
    generated = infer_output_shapes(parse_architecture(config.model.generator),
                                    (config.model.z_size,))[-1]
    models = build_models(config.model, tuple(generated))
    return config, models, restore_networks(log_dir, models, checkpoint_path)


def restore_tf1_models(path, model_config=None):
    """Builds the networks and loads a checkpoint of the TF1 code (or of the TF1 reference).

    Args:
      path: TF1 checkpoint prefix, or a folder with a `checkpoint` file.
      model_config: the networks it was trained with; default the TF1 code's defaults.

    Returns:
      InfoGANModels.

    Raises:
      ConfigError: unreadable checkpoint, or one that does not fit these networks.
    """
    models = build_models(model_config or ModelConfig(), MNIST_SHAPE)
    # The Adam state in the checkpoint needs somewhere to go; evaluation does not use it.
    optimizers = build_optimizers(models, RunConfig.generator_lr, RunConfig.discriminator_lr)
    load_tf1_checkpoint(path, models, optimizers)
    return models


def predict_categories(models, images, batch_size):
    """The Q network's most likely value of the first categorical code for each image."""
    first_code = NoiseLayout.of(models.config).categorical_slices[0]

    @tf.function(autograph=False)
    def predict(batch):
        hidden = models.discriminator(batch, training=True, pass_index=REAL_PASS)["hidden"]
        return tf.argmax(models.q_network(hidden, training=True)[:, first_code], axis=1)

    return np.concatenate([predict(tf.constant(images[start:start + batch_size])).numpy()
                           for start in range(0, len(images), batch_size)])


def continuous_correlations(models, num_samples, batch_size, seed=0):
    """Pearson correlation between each continuous code and Q's predicted mean on G's samples."""
    layout = NoiseLayout.of(models.config)
    np.random.seed(seed)
    codes, predicted = [], []
    for _ in range(max(1, num_samples // batch_size)):
        noise = layout.sample(batch_size)
        images = models.generator(noise_to_tensor(noise), training=True)
        hidden = models.discriminator(images, training=True)["hidden"]
        out = models.q_network(hidden, training=True).numpy()
        codes.append(noise[:, layout.continuous_slice])
        predicted.append(out[:, layout.continuous_slice])  # Q's means sit where the codes do
    codes, predicted = np.concatenate(codes), np.concatenate(predicted)
    return [float(np.corrcoef(codes[:, j], predicted[:, j])[0, 1]) for j in range(codes.shape[1])]


def write_figures(models, out_dir, seed=0):
    """Writes categories x samples and one sweep per continuous code as PNGs; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    np.random.seed(seed)
    generate = lambda z: models.generator(noise_to_tensor(z), training=False).numpy()  # noqa: E731
    paths = []
    for plotted in plots.variation_sets(generate, models.config, variations=5):
        paths.append(os.path.join(out_dir, plotted["kind"] + ".png"))
        plots.save_grid_figure(paths[-1], plotted["grid"], plotted["title"], plotted["column_labels"])
    return paths


def labelled_dataset(config):
    """The IDX dataset whose test labels score a run: its own.

    Args:
      config: the run's TrainConfig.

    Returns:
      data.MNIST or data.FASHION_MNIST.

    Raises:
      ConfigError: the run trained on an image folder, which has no labels.
    """
    source = config.data.source
    if not source.is_idx:
        raise ConfigError("evaluation scores the categories against a test set's labels, and the "
                          "image folder %s has none; infogan-sample draws images from this run"
                          % source.path)
    return source.kind


def evaluate(log_dir, checkpoint_path=None, data_dir=None, num_samples=2048, batch_size=None):
    """Runs every measure on a run of this port, on its dataset's test set; returns a dict of
    results (printed by `main`).

    Args:
      data_dir: the folder of the test set's IDX files; default the run's (--mnist_dir, or
        --fashion_mnist_dir for a Fashion-MNIST run).
      batch_size: batches for the batch statistics; default the run's own batch size.

    Raises:
      ConfigError: no readable run or checkpoint, a run on an image folder, or networks that
        cannot be evaluated.
    """
    config, models, path = restore_models(log_dir, checkpoint_path)
    kind = labelled_dataset(config)
    return evaluate_models(models, path, data_dir or config.data.source.path,
                           batch_size or config.run.batch_size,
                           os.path.join(log_dir, "eval"), num_samples, kind=kind)


def evaluate_tf1_checkpoint(path, model_config=None, mnist_dir=None, num_samples=2048,
                            batch_size=RunConfig.batch_size):
    """Runs every measure on a TF1 checkpoint; figures go to `eval/` beside it.

    Args:
      model_config: the networks it was trained with; default the TF1 code's defaults.
      batch_size: batches for the batch statistics; default the TF1 code's batch size.
    """
    models = restore_tf1_models(path, model_config)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return evaluate_models(models, path, mnist_dir or DataConfig.mnist_dir, batch_size,
                           os.path.join(folder, "eval"), num_samples)


def evaluate_models(models, checkpoint, data_dir, batch_size, figure_dir, num_samples,
                    warn=print_warning, kind=data.MNIST):
    """Every measure on restored networks: accuracies, the category -> label mapping, NMI, ARI,
    the confusion matrix, code correlations, figures.

    Figures are skipped, with a warning before anything is computed, when `figure_dir` cannot be
    written; the results then say why (`figures_skipped`).

    Args:
      data_dir: the folder of the IDX files of dataset `kind` (data.MNIST or data.FASHION_MNIST),
        whose test set is measured.

    Raises:
      ConfigError: networks that cannot be evaluated.
      FiguresNotWritten: writing the figures failed after every measure was taken.
    """
    model_config = models.config
    if models.q_network is None or not model_config.categorical_cardinality:
        raise ConfigError("evaluation needs an InfoGAN run with a categorical code (this one is a "
                          "plain GAN or has none)")
    if tuple(models.image_shape) != MNIST_SHAPE:
        raise ConfigError("evaluation measures the %s test images (%s), but these networks make %s "
                          "images" % (kind, "x".join(map(str, MNIST_SHAPE)),
                                      "x".join(map(str, models.image_shape))))
    unwritable = unwritable_reason(figure_dir)
    if unwritable is not None:
        warn("the figures cannot be written to %s (%s); the results are only printed"
             % (figure_dir, unwritable))
    images, labels = data.load_mnist_test(data_dir, kind)
    predictions = predict_categories(models, images, batch_size)
    counts = metrics.confusion_matrix(predictions, labels, model_config.categorical_cardinality[0])
    results = {"checkpoint": checkpoint, "dataset": kind, "confusion": counts,
               "one_to_one": metrics.one_to_one_accuracy(counts),
               "many_to_one": metrics.many_to_one_accuracy(counts),
               "mapping": metrics.one_to_one_mapping(counts),
               "nmi": metrics.normalized_mutual_information(counts),
               "ari": metrics.adjusted_rand_index(counts)}
    if model_config.num_continuous:
        results["continuous_correlations"] = continuous_correlations(models, num_samples, batch_size)
    results["figures"] = []
    if unwritable is not None:
        results["figures_skipped"] = unwritable
        return results
    try:
        results["figures"] = write_figures(models, figure_dir)
    except OSError as error:
        raise FiguresNotWritten("the figures could not be written to %s (%s)" % (
            figure_dir, error.strerror or error), results) from None
    return results
