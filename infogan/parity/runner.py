"""What `python -m infogan.parity` runs: both sides from the same state, on the same data.

The TF1 side is the TF1 reference graph (in this process) or a checkout of the original code
(in a child process, through infogan/parity/shim.py). Iteration mode: the same real batches and
noise, drawn in the TF1 code's NumPy order, fed to both for N iterations. Epoch mode: both whole
training loops from the same TF1 checkpoint and seed, compared by their printed epoch lines.
"""
import contextlib
import dataclasses
import io
import math
import os
import tempfile

import tensorflow as tf

from infogan.model.models import build_models, noise_to_tensor
from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.parity.compare import (IterationComparison, compare_iterations, compare_states,
                                   max_abs_difference, report_lines)
from infogan.training.tf1_checkpoint import (assign_tf1_state, export_tf1_state, load_tf1_checkpoint,
                                    save_tf1_checkpoint)
from infogan.parity.reference_loop import reference_iteration, tf1_feed, train_reference
from infogan.parity.reference import TF1Reference
from infogan.parity.checkout import NO_PLOTS, epoch_lines, run_checkout
from infogan.training.step import batch_agnostic_function, build_optimizers, make_train_iteration
from infogan.training.loop import load_images, make_noise_sampler, train


def build_port(config, image_shape):
    """The port's (models, optimizers) for a TrainConfig."""
    models = build_models(config.model, image_shape)
    return models, build_optimizers(models, config.generator_lr, config.discriminator_lr)


def build_reference(config, image_shape):
    """The TF1 reference graph for a TrainConfig (its initialisers seeded with config.seed)."""
    model = config.model
    return TF1Reference(
        image_shape, model.generator, model.discriminator, model.categorical_cardinality,
        model.num_continuous, model.style_size, model.use_batch_norm, model.fix_std, model.infogan,
        model.categorical_lambda, model.continuous_lambda, config.generator_lr,
        config.discriminator_lr, seed=config.seed)


def start_port(config, models, optimizers, tf1_state=None):
    """Puts the starting state into the port: config.tf1_checkpoint, else `tf1_state`.

    Both are checked first (CheckpointMismatchError lists what does not fit).

    Returns:
      the port's state as {TF1 name: array}.
    """
    if config.tf1_checkpoint is not None:
        load_tf1_checkpoint(config.tf1_checkpoint, models, optimizers)
    elif tf1_state is not None:
        assign_tf1_state(models, optimizers, tf1_state, source="the TF1 side's state")
    return export_tf1_state(models, optimizers)


def port_iterations(models, optimizers, feed):
    """Runs the port's compiled training iteration (train.py's) on each (batch, D noise, G noise).

    Returns:
      list of {result key: float}.
    """
    iteration_fn = make_train_iteration(models, optimizers)
    records = []
    for batch, discriminator_noise, generator_noise in feed:
        results = iteration_fn(tf.constant(batch), noise_to_tensor(discriminator_noise),
                               noise_to_tensor(generator_noise))
        records.append({key: float(value.numpy()) for key, value in results.items()})
    return records


def forward_differences(reference, models, batch, noise):
    """Max absolute differences of the forward outputs, both sides holding the same state.

    The port's passes are compiled like its training step. Training-mode passes update
    batch-norm statistics (the same way on both sides).

    Returns:
      {output name: max abs difference}.
    """
    z = noise_to_tensor(noise)
    generator, discriminator = models.generator, models.discriminator
    result = {}
    for training in (False, True):
        port = batch_agnostic_function(lambda x, training=training: generator(x, training=training))
        result["G (%s mode)" % ("training" if training else "inference")] = max_abs_difference(
            reference.generate(noise, is_training=training), port(z))
    images = reference.generate(noise)
    for name, inputs, pass_index in (("fake", images, FAKE_PASS), ("real", batch, REAL_PASS)):
        tf1 = reference.discriminate(inputs, is_training=True, real_pass=pass_index == REAL_PASS)
        port = batch_agnostic_function(lambda x, pass_index=pass_index: discriminator(
            x, training=True, pass_index=pass_index))(tf.constant(inputs))
        for key in ("prob", "hidden"):
            result["D %s (%s pass)" % (key, name)] = max_abs_difference(tf1[key], port[key])
    if models.q_network is not None:
        port = batch_agnostic_function(lambda x: models.q_network(discriminator(
            generator(x, training=True), training=True, pass_index=FAKE_PASS)["hidden"],
            training=True))
        result["Q output"] = max_abs_difference(reference.mutual_info(noise)["q_output"], port(z))
    return result


# ----------------------------------------------------------------------------- iteration mode


def comparison_data(config, iterations):
    """(config limited to the images N iterations need, their dataset, the TF1 feed)."""
    needed = iterations * config.batch_size
    config = dataclasses.replace(config, max_images=needed if config.max_images is None
                                 else min(config.max_images, needed))
    dataset = load_images(config)[0]
    feed = tf1_feed(dataset, config.batch_size, make_noise_sampler(config.model), config.seed,
                    iterations)
    return config, dataset, feed


def compare_with_reference(config, iterations):
    """The reference graph and the port from the same state on the same feed.

    Returns:
      IterationComparison, with forward differences and the variables after the run.
    """
    config, dataset, feed = comparison_data(config, iterations)
    reference = build_reference(config, dataset.image_shape)
    models, optimizers = build_port(config, dataset.image_shape)
    state = start_port(config, models, optimizers, reference.get_variables())
    reference.set_variables(state)
    forward = forward_differences(reference, models, feed[0][0], feed[0][1])
    reference.set_variables(state)  # undo the forward passes' statistics updates
    assign_tf1_state(models, optimizers, state)
    tf1_records = [reference_iteration(reference, *item) for item in feed]
    rows = compare_iterations(tf1_records, port_iterations(models, optimizers, feed))
    states = compare_states(reference.get_variables(), export_tf1_state(models, optimizers))
    reference.close()
    origin = ("--tf1_checkpoint %s" % config.tf1_checkpoint if config.tf1_checkpoint
              else "a fresh reference initialisation (seed %d)" % config.seed)
    return IterationComparison("the TF1 reference graph, from %s" % origin, forward, rows, states)


def compare_with_checkout(config, iterations, repo, work_dir):
    """The checkout's own training loop and the port on the same feed.

    The checkout logs its objectives as scalar summaries; its variables are read at the end.

    Returns:
      IterationComparison (without forward differences).
    """
    config, dataset, feed = comparison_data(config, iterations)
    models, optimizers = build_port(config, dataset.image_shape)
    state = start_port(config, models, optimizers) if config.tf1_checkpoint else None
    epochs = math.ceil(iterations / math.ceil(dataset.num_images / config.batch_size))
    run = run_checkout(repo, dataclasses.replace(config, epochs=epochs, plot_every=NO_PLOTS),
                       work_dir, state)
    assign_tf1_state(models, optimizers, run.initial_state, source="the checkout's variables")
    rows = compare_iterations(run.records[:iterations], port_iterations(models, optimizers, feed))
    states = []
    if run.final_state is not None and len(run.records) == iterations:
        states = compare_states(run.final_state, export_tf1_state(models, optimizers))
    origin = ("--tf1_checkpoint %s" % config.tf1_checkpoint if config.tf1_checkpoint
              else "its own fresh initialisation")
    return IterationComparison("the TF1 checkout at %s, from %s" % (repo, origin), {}, rows, states)


def report_iterations(comparison, config, tolerances):
    """Prints the comparison; returns True when every target is met."""
    model = config.model
    description = "generator %s, discriminator %s, batch %d, %d iterations, seed %d, float32 on CPU" % (
        model.generator, model.discriminator, config.batch_size, len(comparison.rows), config.seed)
    lines, ok = report_lines(comparison, description, tolerances)
    print("\n".join(lines))
    return ok


# ----------------------------------------------------------------------------- epoch mode


def port_epoch_lines(config, checkpoint, work_dir):
    """Runs the port's train() (as train.py --tf1_checkpoint does); returns its epoch lines."""
    output = io.StringIO()
    port_config = dataclasses.replace(config, tf1_checkpoint=checkpoint, progress_bar=False,
                                      logdir=os.path.join(work_dir, "port_log"))
    with contextlib.redirect_stdout(output):
        train(port_config)
    return epoch_lines(output.getvalue())


def reference_epoch_lines(config, work_dir):
    """Runs the TF1 loop on the reference; returns (its epoch lines, the starting checkpoint)."""
    dataset = load_images(config)[0]
    reference = build_reference(config, dataset.image_shape)
    checkpoint = config.tf1_checkpoint
    if checkpoint is not None:  # checked against the port first: a misfit fails before training
        reference.set_variables(start_port(config, *build_port(config, dataset.image_shape)))
    else:
        checkpoint = reference.save(os.path.join(work_dir, "start", "model.ckpt"))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        train_reference(reference, dataset, config.model, config.epochs, config.batch_size,
                        config.seed, config.plot_every)
    reference.close()
    return epoch_lines(output.getvalue()), checkpoint


def checkout_epoch_lines(config, repo, work_dir):
    """Runs the checkout's train.py; returns (its epoch lines, the starting checkpoint)."""
    state = None
    if config.tf1_checkpoint is not None:
        state = start_port(config, *build_port(config, load_images(config)[0].image_shape))
    run = run_checkout(repo, config, work_dir, state)
    checkpoint = config.tf1_checkpoint or save_tf1_checkpoint(
        os.path.join(work_dir, "start", "model.ckpt"), run.initial_state)
    return run.epoch_lines, checkpoint


def compare_epochs(config, repo=None):
    """Both training loops from the same checkpoint and seed; prints both sets of epoch lines.

    Returns:
      True when they are identical.
    """
    with tempfile.TemporaryDirectory(prefix="infogan_parity_") as work_dir:
        if repo is None:
            tf1_lines, checkpoint = reference_epoch_lines(config, work_dir)
            title = "TF1 reference"
        else:
            tf1_lines, checkpoint = checkout_epoch_lines(config, repo, work_dir)
            title = "TF1 checkout %s" % repo
        port_lines = port_epoch_lines(config, checkpoint, work_dir)
    identical = bool(tf1_lines) and tf1_lines == port_lines
    print("\n".join(["%s:" % title] + tf1_lines + ["port:"] + port_lines
                    + ["epoch lines identical: %s" % ("yes" if identical else "NO")]))
    return identical


def run(config, iterations, tolerances, repo=None, epoch_mode=False):
    """Runs one comparison and prints it.

    Args:
      config: TrainConfig (model flags, batch size, seed, data, tf1_checkpoint...).
      iterations: iterations of the iteration mode.
      tolerances: compare.Tolerances.
      repo: a checkout of the TF1 code, or None for the TF1 reference graph.
      epoch_mode: compare the epoch lines of config.epochs epochs instead.

    Returns:
      True when every target is met.
    """
    if epoch_mode:
        return compare_epochs(config, repo)
    if repo is None:
        return report_iterations(compare_with_reference(config, iterations), config, tolerances)
    with tempfile.TemporaryDirectory(prefix="infogan_parity_") as work_dir:
        comparison = compare_with_checkout(config, iterations, repo, work_dir)
    return report_iterations(comparison, config, tolerances)
