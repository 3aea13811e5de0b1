"""The TF1 code's training loop (SPEC section 7), driving a `TF1Reference`.

It consumes NumPy exactly as the TF1 loop did: `np.random.seed(seed)`, then per epoch one
shuffle, per iteration the D noise then the G noise, and every `plot_every` iterations the
plotter's draws. `python -m infogan.parity` runs it next to the port's `training.train`.
"""
import numpy as np

from infogan import plots
from infogan.training.loop import epoch_line, make_noise_sampler

# TF1Reference step results -> the port's result keys (the TensorBoard tags where there is one).
D_STEP_KEYS = {"discriminator_objective": "discriminator_objective",
               "neg_mutual_info": "d_step_infogan_loss"}
G_STEP_KEYS = {"generator_objective": "generator_objective",
               "mutual_info": "mutual_info_objective",
               "ll_categorical": "ll_categorical_objective",
               "ll_continuous": "ll_continuous_objective",
               "std_contig": "std_contig",
               "neg_mutual_info": "g_step_infogan_loss"}


def epoch_batches(dataset, indices, batch_size, sample_noise):
    """One epoch of (real batch, D noise, G noise), after shuffling `indices` in place.

    Args:
      dataset: a `data.Dataset`.
      indices: int32 permutation of its images, carried over epochs.

    Returns:
      an iterator; the last batch may be short, noise always has `batch_size` rows.
    """
    np.random.shuffle(indices)
    for batch in dataset.batches(indices, batch_size):
        discriminator_noise = sample_noise(batch_size)
        yield batch, discriminator_noise, sample_noise(batch_size)


def tf1_feed(dataset, batch_size, sample_noise, seed, iterations):
    """The first `iterations` (batch, D noise, G noise) of a TF1 run without plots.

    Seeds NumPy's global generator with `seed` and starts new epochs as needed.

    Returns:
      list of (float32 batch, float64 D noise, float64 G noise).
    """
    np.random.seed(seed)
    indices = np.arange(dataset.num_images, dtype=np.int32)
    feed = []
    while len(feed) < iterations:
        for item in epoch_batches(dataset, indices, batch_size, sample_noise):
            feed.append(item)
            if len(feed) == iterations:
                break
    return feed


def reference_iteration(reference, batch, discriminator_noise, generator_noise):
    """One TF1 iteration (D step, then G step) on a TF1Reference.

    Returns:
      dict with the port's result keys (None values dropped).
    """
    results = {}
    for step_results, keys in ((reference.discriminator_step(batch, discriminator_noise), D_STEP_KEYS),
                               (reference.generator_step(generator_noise), G_STEP_KEYS)):
        results.update({keys[key]: value for key, value in step_results.items()
                        if key in keys and value is not None})
    return results


def draw_plot_noise(reference, model_config, batch_size, sample_noise):
    """The plotter's NumPy draws (and generator runs in inference mode), without the plots."""
    if not model_config.infogan:
        reference.generate(sample_noise(batch_size))
        return
    codes = (model_config.categorical_cardinality, model_config.num_continuous, model_config.style_size)
    plots.categorical_variations(reference.generate, *codes)
    plots.continuous_variations(reference.generate, *codes)


def train_reference(reference, dataset, model_config, epochs, batch_size, seed, plot_every):
    """The TF1 training loop on a TF1Reference; prints and returns its epoch lines.

    Args:
      reference: a TF1Reference holding the starting state.
      dataset: a `data.Dataset`.
      model_config: the ModelConfig the reference was built with.
      epochs, batch_size, seed, plot_every: as the train.py flags.

    Returns:
      list of the printed epoch lines.
    """
    np.random.seed(seed)
    sample_noise = make_noise_sampler(model_config)
    indices = np.arange(dataset.num_images, dtype=np.int32)
    lines, iteration = [], 0
    for epoch in range(epochs):
        history = {"discriminator_objective": [], "generator_objective": [], "infogan_loss": []}
        for batch, discriminator_noise, generator_noise in epoch_batches(
                dataset, indices, batch_size, sample_noise):
            results = reference_iteration(reference, batch, discriminator_noise, generator_noise)
            history["discriminator_objective"].append(results["discriminator_objective"])
            history["generator_objective"].append(results["generator_objective"])
            if model_config.infogan:
                history["infogan_loss"] += [results["d_step_infogan_loss"],
                                            results["g_step_infogan_loss"]]
            iteration += 1
            if iteration % plot_every == 0:
                draw_plot_noise(reference, model_config, batch_size, sample_noise)
        means = {key: np.mean(values) if values else None for key, values in history.items()}
        learning_rates = reference.session.run([reference.discriminator_lr, reference.generator_lr])
        lines.append(epoch_line(epoch, means, learning_rates[0], learning_rates[1], model_config.infogan))
        print(lines[-1], flush=True)
    return lines
