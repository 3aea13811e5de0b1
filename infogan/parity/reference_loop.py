"""The TF1 code's training loop (docs/tf1_semantics.md §7 and §9), driving a `TF1Reference`.

It consumes NumPy exactly as the TF1 loop did: `np.random.seed(seed)`, then per epoch one
shuffle, per iteration the D noise then the G noise, and every `plot_every` iterations the
plotter's draws. `python -m infogan.parity` runs it next to the port's training loop.
"""
import dataclasses
import os
from typing import Dict, List, Optional

import numpy as np

from infogan import plots
from infogan.data.image_scan import IMAGE_EXTENSIONS
from infogan.model.noise import make_noise_sampler
from infogan.training.loop import epoch_line
from infogan.training.plotter import GAN_PLOT_IMAGES

# TF1Reference step results -> the port's result keys (the TensorBoard tags where there is one).
D_STEP_KEYS = {"discriminator_objective": "discriminator_objective",
               "neg_mutual_info": "d_step_infogan_loss"}
G_STEP_KEYS = {"generator_objective": "generator_objective",
               "mutual_info": "mutual_info_objective",
               "ll_categorical": "ll_categorical_objective",
               "ll_continuous": "ll_continuous_objective",
               "std_contig": "std_contig",
               "neg_mutual_info": "g_step_infogan_loss"}


def tf1_listing(folder):
    """The image files below `folder` in the TF1 code's order: each folder as `os.walk` yields it,
    its files as the file system lists them (docs/tf1_semantics.md §7)."""
    return [os.path.join(base, name) for base, _, names in os.walk(folder) for name in names
            if name.lower().endswith(IMAGE_EXTENSIONS)]


@dataclasses.dataclass
class Step:
    """One iteration's inputs: a real batch (may be short) and the D and G noise."""
    batch: np.ndarray
    discriminator_noise: np.ndarray
    generator_noise: np.ndarray


@dataclasses.dataclass
class Plot:
    """A plot after `iteration` iterations; `rng_state` is NumPy's state when it starts drawing."""
    iteration: int
    rng_state: tuple


@dataclasses.dataclass
class RunRecord:
    """What one side of a comparison computed and logged.

    Attributes:
      values: per iteration, {result key (a TensorBoard tag where there is one): float}.
      images: {step: {image summary tag: uint8 pixels [H, W, C]}}.
      state: {TF1 name: array} after the last iteration, or None.
      epoch_lines: the printed epoch lines.
    """
    values: List[Dict[str, float]]
    images: Dict[int, Dict[str, np.ndarray]]
    state: Optional[Dict[str, np.ndarray]] = None
    epoch_lines: List[str] = dataclasses.field(default_factory=list)


def epoch_batches(dataset, indices, batch_size, sample_noise):
    """One epoch of Steps, after shuffling `indices` in place.

    Args:
      dataset: a `data.Dataset`.
      indices: int32 permutation of its images, carried over epochs.

    Returns:
      an iterator; the last batch may be short, noise always has `batch_size` rows.
    """
    np.random.shuffle(indices)
    for batch in dataset.batches(indices, batch_size):
        discriminator_noise = sample_noise(batch_size)
        yield Step(batch, discriminator_noise, sample_noise(batch_size))


def draw_plot_noise(model_config, batch_size, sample_noise):
    """Consumes NumPy as one TF1 plot does, generating nothing."""
    if not model_config.infogan:
        sample_noise(batch_size)
        return
    plots.variation_sets(lambda noise: np.zeros((len(noise), 1, 1, 1), np.float32), model_config)


def tf1_schedule(dataset, model_config, batch_size, seed, iterations, plot_every):
    """The first `iterations` Steps of a TF1 run, with a Plot after every `plot_every`-th.

    Seeds NumPy's global generator with `seed` and starts new epochs as needed. Each Plot records
    the RNG state its draws start from; replaying it from that state draws the same noise.

    Returns:
      list of Step and Plot.
    """
    np.random.seed(seed)
    sample_noise = make_noise_sampler(model_config)
    indices = np.arange(dataset.num_images, dtype=np.int32)
    events, done = [], 0
    while done < iterations:
        for step in epoch_batches(dataset, indices, batch_size, sample_noise):
            events.append(step)
            done += 1
            if done % plot_every == 0:
                events.append(Plot(done, np.random.get_state()))
                draw_plot_noise(model_config, batch_size, sample_noise)
            if done == iterations:
                break
    return events


def reference_iteration(reference, step):
    """One TF1 iteration (D step, then G step) on a TF1Reference.

    Returns:
      dict with the port's result keys (None values dropped).
    """
    results = {}
    for step_results, keys in (
            (reference.discriminator_step(step.batch, step.discriminator_noise), D_STEP_KEYS),
            (reference.generator_step(step.generator_noise), G_STEP_KEYS)):
        results.update({keys[key]: float(value) for key, value in step_results.items()
                        if key in keys and value is not None})
    return results


def reference_plot(reference, model_config, batch_size, sample_noise):
    """The TF1 plotter's image summaries (it draws NumPy as the TF1 plotter did).

    Returns:
      {summary tag: uint8 pixels [H, W, C]}, as the PNGs hold them.
    """
    if not model_config.infogan:
        return reference.fake_image_summary(sample_noise(batch_size), GAN_PLOT_IMAGES)
    images = {}
    for plotted in plots.variation_sets(reference.generate, model_config):
        images.update(reference.image_summaries(
            {name: plots.image_strip(strip) for name, strip in plotted["strips"]}))
    return images


def replay_reference(reference, model_config, batch_size, schedule):
    """Runs a `tf1_schedule` on a TF1Reference; returns its RunRecord (no epoch lines)."""
    sample_noise = make_noise_sampler(model_config)
    record = RunRecord(values=[], images={})
    for event in schedule:
        if isinstance(event, Plot):
            np.random.set_state(event.rng_state)
            record.images[event.iteration] = reference_plot(reference, model_config, batch_size,
                                                             sample_noise)
        else:
            record.values.append(reference_iteration(reference, event))
    record.state = reference.get_variables()
    return record


def train_reference(reference, dataset, model_config, epochs, batch_size, seed, plot_every):
    """The TF1 training loop on a TF1Reference; prints its epoch lines.

    Args:
      reference: a TF1Reference holding the starting state.
      dataset: a `data.Dataset`.
      model_config: the ModelConfig the reference was built with.
      epochs, batch_size, seed, plot_every: as the train.py flags.

    Returns:
      RunRecord: per-iteration values, the plots' images, the final state, the epoch lines.
    """
    np.random.seed(seed)
    sample_noise = make_noise_sampler(model_config)
    indices = np.arange(dataset.num_images, dtype=np.int32)
    record = RunRecord(values=[], images={})
    for epoch in range(epochs):
        history = {"discriminator_objective": [], "generator_objective": [], "infogan_loss": []}
        for step in epoch_batches(dataset, indices, batch_size, sample_noise):
            results = reference_iteration(reference, step)
            record.values.append(results)
            history["discriminator_objective"].append(results["discriminator_objective"])
            history["generator_objective"].append(results["generator_objective"])
            if model_config.infogan:
                history["infogan_loss"] += [results["d_step_infogan_loss"],
                                            results["g_step_infogan_loss"]]
            if len(record.values) % plot_every == 0:
                record.images[len(record.values)] = reference_plot(
                    reference, model_config, batch_size, sample_noise)
        means = {key: np.mean(np.float32(values)) if values else None
                 for key, values in history.items()}
        learning_rates = reference.session.run([reference.discriminator_lr, reference.generator_lr])
        record.epoch_lines.append(epoch_line(epoch, means, learning_rates[0], learning_rates[1],
                                             model_config.infogan))
        print(record.epoch_lines[-1], flush=True)
    record.state = reference.get_variables()
    return record
