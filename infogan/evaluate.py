"""How well a trained InfoGAN disentangles: `python -m infogan.evaluate --logdir DIR`.

- Unsupervised categorical accuracy on the 10000 MNIST test images: the Q network's most likely
  category of each real image, mapped to the digit labels one-to-one (Hungarian) and
  many-to-one, with the confusion matrix (the InfoGAN paper's measure).
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
from absl import app, flags

from infogan import data, plots
from infogan.assignment import max_weight_assignment
from infogan.checkpoints import load_config, network_objects
from infogan.config import ConfigError
from infogan.model import build_models, noise_to_tensor
from infogan.networks import REAL_PASS
from infogan.noise import create_infogan_noise_sample


def restore_models(log_dir, checkpoint_path=None):
    """Rebuilds a run's networks and loads its newest (or the given) checkpoint.

    Returns:
      (TrainConfig, InfoGANModels, checkpoint path).
    """
    config = load_config(log_dir)
    image_shape = (config.scale_dataset[1], config.scale_dataset[0], 1)
    if config.dataset is not None:
        raise ConfigError("evaluation needs an MNIST run; %s trained on %s" % (log_dir, config.dataset))
    models = build_models(config.model, image_shape)
    path = checkpoint_path or tf.train.latest_checkpoint(os.path.join(log_dir, "checkpoints"))
    if path is None:
        raise ConfigError("no checkpoint in %s/checkpoints" % log_dir)
    tf.train.Checkpoint(**network_objects(models)).restore(path).expect_partial()
    return config, models, path


def predict_categories(models, images, batch_size):
    """The Q network's most likely value of the first categorical code for each image."""
    cardinality = models.config.categorical_cardinality[0]

    @tf.function(autograph=False)
    def predict(batch):
        hidden = models.discriminator(batch, training=True, pass_index=REAL_PASS)["hidden"]
        return tf.argmax(models.q_network(hidden, training=True)[:, :cardinality], axis=1)

    return np.concatenate([predict(tf.constant(images[start:start + batch_size])).numpy()
                           for start in range(0, len(images), batch_size)])


def confusion_matrix(predictions, labels, num_categories, num_labels=10):
    """counts[category, label]."""
    counts = np.zeros((num_categories, num_labels), dtype=np.int64)
    np.add.at(counts, (predictions, labels), 1)
    return counts


def one_to_one_accuracy(counts):
    """Accuracy under the best one-to-one category -> label mapping (Hungarian)."""
    if counts.shape[0] <= counts.shape[1]:
        chosen = counts[np.arange(counts.shape[0]), max_weight_assignment(counts)].sum()
    else:
        chosen = counts.T[np.arange(counts.shape[1]), max_weight_assignment(counts.T)].sum()
    return chosen / counts.sum()


def many_to_one_accuracy(counts):
    """Accuracy when each category is mapped to its most frequent label."""
    return counts.max(axis=1).sum() / counts.sum()


def continuous_correlations(models, num_samples, batch_size, seed=0):
    """Pearson correlation between each continuous code and Q's predicted mean on G's samples."""
    config = models.config
    np.random.seed(seed)
    sample = create_infogan_noise_sample(config.categorical_cardinality, config.num_continuous,
                                         config.style_size)
    offset = sum(config.categorical_cardinality)
    codes, predicted = [], []
    for _ in range(max(1, num_samples // batch_size)):
        noise = sample(batch_size)
        images = models.generator(noise_to_tensor(noise), training=True)
        hidden = models.discriminator(images, training=True)["hidden"]
        out = models.q_network(hidden, training=True).numpy()
        codes.append(noise[:, offset:offset + config.num_continuous])
        predicted.append(out[:, offset:offset + config.num_continuous])
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


def evaluate(log_dir, checkpoint_path=None, mnist_dir=None, num_samples=2048, batch_size=None):
    """Runs every measure; returns a dict of results (also printed by `main`).

    Args:
      batch_size: batches for the batch statistics; default the run's own batch size.
    """
    config, models, path = restore_models(log_dir, checkpoint_path)
    if models.q_network is None or not config.model.categorical_cardinality:
        raise ConfigError("evaluation needs an InfoGAN run with a categorical code")
    images, labels = data.load_mnist_test(mnist_dir or config.mnist_dir)
    batch_size = batch_size or config.batch_size
    predictions = predict_categories(models, images, batch_size)
    counts = confusion_matrix(predictions, labels, config.model.categorical_cardinality[0])
    results = {"checkpoint": path, "confusion": counts,
               "one_to_one": one_to_one_accuracy(counts), "many_to_one": many_to_one_accuracy(counts)}
    if config.model.num_continuous:
        results["continuous_correlations"] = continuous_correlations(models, num_samples, batch_size)
    results["figures"] = write_figures(models, os.path.join(log_dir, "eval"))
    return results

FLAGS = flags.FLAGS


def define_flags():
    """Defines this command's flags (only when run as a program)."""
    flags.DEFINE_string("logdir", None, "Log folder of a run (holds config.json and checkpoints/).")
    flags.DEFINE_string("checkpoint", None, "A checkpoint path (default: the run's newest).")
    flags.DEFINE_string("mnist_dir", None, "MNIST folder (default: the run's).")


def main(argv):
    del argv
    if FLAGS.logdir is None:
        sys.exit("evaluate: error: pass --logdir, the log folder of a run")
    try:
        results = evaluate(FLAGS.logdir, FLAGS.checkpoint, FLAGS.mnist_dir)
    except ConfigError as error:
        print("evaluate: error: %s" % error, file=sys.stderr)
        sys.exit(2)
    print("checkpoint: %s" % results["checkpoint"])
    print("categorical accuracy, one-to-one (Hungarian): %.2f%%" % (100 * results["one_to_one"]))
    print("categorical accuracy, many-to-one: %.2f%%" % (100 * results["many_to_one"]))
    print("confusion matrix (rows: Q category, columns: digit label):")
    print(results["confusion"])
    for code, value in enumerate(results.get("continuous_correlations", [])):
        print("continuous code %d: correlation(code, Q mean) = %.3f" % (code, value))
    print("figures: %s" % ", ".join(results["figures"]))


if __name__ == "__main__":
    define_flags()
    app.run(main)
