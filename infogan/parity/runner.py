"""What `python -m infogan.parity` runs: both sides from the same state, on the same data.

The TF1 side is the TF1 reference graph (in this process) or a checkout of the original code
(in a child process, through infogan/parity/shim.py).

- Iteration mode: the same real batches and noise, drawn in the TF1 code's NumPy order, fed to
  the reference's and the port's training step for N iterations, with the TF1 plots every
  `plot_every` iterations (the checkout runs its own loop on the same images and seed).
- Epoch mode: both whole training loops (the port's is `train()`, as train.py runs it) from the
  same TF1 checkpoint and seed.

Both compare every logged value of every iteration, every image summary pixel for pixel, and
every variable at the end; epoch mode compares the printed epoch lines as well.
"""
import contextlib
import io
import math
import os
import tempfile

import numpy as np
import tensorflow as tf

from infogan.data.image_folder import ImageFolderDataset
from infogan.data.image_scan import sample_paths
from infogan.model.models import build_models, noise_to_tensor
from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.model.noise import make_noise_sampler
from infogan.parity.checkout import epoch_lines, run_checkout
from infogan.parity.compare import (IterationComparison, compare_images, compare_iterations,
                                    compare_states, max_abs_difference, report_lines)
from infogan.parity.reference import TF1Reference
from infogan.parity.reference_loop import (Plot, RunRecord, replay_reference, tf1_listing,
                                           tf1_schedule, train_reference)
from infogan.training.checkpoints import batches_per_epoch
from infogan.training.loop import load_images, train_models
from infogan.training.plotter import Plotter
from infogan.training.step import batch_agnostic_function, build_optimizers, make_train_iteration
from infogan.training.summaries import SummaryLogger, read_logs
from infogan.training.tf1_checkpoint import (assign_tf1_state, export_tf1_state,
                                             load_tf1_checkpoint, save_tf1_checkpoint)

MAX_TABLE_ROWS = 60  # longer runs print a summary of the per-iteration comparison


def build_port(config, image_shape):
    """The port's (models, optimizers) for a TrainConfig."""
    models = build_models(config.model, image_shape)
    return models, build_optimizers(models, config.run.generator_lr, config.run.discriminator_lr)


def build_reference(config, image_shape):
    """The TF1 reference graph for a TrainConfig (its initialisers seeded with config.run.seed)."""
    model = config.model
    return TF1Reference(
        image_shape, model.generator, model.discriminator, model.categorical_cardinality,
        model.num_continuous, model.style_size, model.use_batch_norm, model.fix_std, model.infogan,
        model.categorical_lambda, model.continuous_lambda, config.run.generator_lr,
        config.run.discriminator_lr, seed=config.run.seed)


def start_port(config, models, optimizers, tf1_state=None):
    """Puts the starting state into the port: config.run.tf1_checkpoint, else `tf1_state`.

    Both are checked first (CheckpointMismatchError lists what does not fit).

    Returns:
      the port's state as {TF1 name: array}.
    """
    if config.run.tf1_checkpoint is not None:
        load_tf1_checkpoint(config.run.tf1_checkpoint, models, optimizers)
    elif tf1_state is not None:
        assign_tf1_state(models, optimizers, tf1_state, source="the TF1 side's state")
    return export_tf1_state(models, optimizers)


def replay_port(config, models, optimizers, schedule, work_dir):
    """Runs a `tf1_schedule` with the port's training step (train.py's) and its plotter.

    The plots go through the port's TensorBoard writer into `work_dir` and are read back from
    the event file, so the images compared are the PNGs a user sees.

    Returns:
      RunRecord (no epoch lines).
    """
    iteration_fn = make_train_iteration(models, optimizers)
    logger = SummaryLogger(work_dir)
    plotter = Plotter(models, logger, os.path.join(work_dir, "images"),
                      make_noise_sampler(config.model), config.run.batch_size)
    record = RunRecord(values=[], images={})
    for event in schedule:
        if isinstance(event, Plot):
            np.random.set_state(event.rng_state)
            plotter.plot(event.iteration)
            continue
        results = iteration_fn(tf.constant(event.batch), noise_to_tensor(event.discriminator_noise),
                               noise_to_tensor(event.generator_noise))
        record.values.append({key: float(value.numpy()) for key, value in results.items()})
    logger.close()
    record.images = read_logs(work_dir)[1]
    record.state = export_tf1_state(models, optimizers)
    return record


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


def comparison(title, tf1_record, port_record, forward=None, epoch_mode=False):
    """The IterationComparison of two RunRecords."""
    states = []
    if tf1_record.state is not None and port_record.state is not None:
        states = compare_states(tf1_record.state, port_record.state)
    lines = (tf1_record.epoch_lines, port_record.epoch_lines) if epoch_mode else None
    return IterationComparison(title, forward or {},
                               compare_iterations(tf1_record.values, port_record.values), states,
                               compare_images(tf1_record.images, port_record.images), lines)


def tf1_dataset(config):
    """The TF1 side's training data: MNIST as the port loads it; an image folder as the TF1 code
    lists it (`tf1_listing`, apart from the port's loader, so that --epochs checks the port's row
    order), sampled as the port samples with --max_images, decoded by the port's decoder.

    Raises:
      DatasetError, ConfigError: as `load_images`.
    """
    dataset = load_images(config.replace(cache_dir=None))[0]
    if config.data.source.is_idx:
        return dataset
    paths = sample_paths(tf1_listing(config.data.dataset), config.data.max_images, config.run.seed)
    return ImageFolderDataset(dataset.name, paths, dataset.width, dataset.height, dataset.mode)


def _origin(config, fresh):
    return ("--tf1_checkpoint %s" % config.run.tf1_checkpoint if config.run.tf1_checkpoint
            else "%s (seed %d)" % (fresh, config.run.seed))


# ----------------------------------------------------------------------------- iteration mode


def comparison_data(config, iterations):
    """(config limited to the images N iterations need, their dataset, the TF1 schedule)."""
    needed = iterations * config.run.batch_size
    config = config.replace(max_images=needed if config.data.max_images is None
                                 else min(config.data.max_images, needed))
    dataset = tf1_dataset(config)
    schedule = tf1_schedule(dataset, config.model, config.run.batch_size, config.run.seed, iterations,
                            config.run.plot_every)
    return config, dataset, schedule


def compare_with_reference(config, iterations, work_dir=None):
    """The reference graph and the port from the same state on the same schedule.

    Returns:
      IterationComparison, with forward differences, images and the variables after the run.
    """
    config, dataset, schedule = comparison_data(config, iterations)
    reference = build_reference(config, dataset.image_shape)
    models, optimizers = build_port(config, dataset.image_shape)
    state = start_port(config, models, optimizers, reference.get_variables())
    reference.set_variables(state)
    first = schedule[0]
    forward = forward_differences(reference, models, first.batch, first.discriminator_noise)
    reference.set_variables(state)  # undo the forward passes' statistics updates
    assign_tf1_state(models, optimizers, state)
    tf1_record = replay_reference(reference, config.model, config.run.batch_size, schedule)
    reference.close()
    with _work_dir(work_dir) as folder:
        port_record = replay_port(config, models, optimizers, schedule, folder)
    title = "the TF1 reference graph, from %s" % _origin(config, "a fresh reference initialisation")
    return comparison(title, tf1_record, port_record, forward)


def compare_with_checkout(config, iterations, repo, work_dir):
    """The checkout's own training loop and the port on the same schedule.

    The checkout logs its objectives and images as summaries; its variables are read at the end.

    Returns:
      IterationComparison (without forward differences).
    """
    config, dataset, schedule = comparison_data(config, iterations)
    models, optimizers = build_port(config, dataset.image_shape)
    state = start_port(config, models, optimizers) if config.run.tf1_checkpoint else None
    epochs = math.ceil(iterations / batches_per_epoch(dataset.num_images, config.run.batch_size))
    run = run_checkout(repo, config.replace(epochs=epochs),
                       os.path.join(work_dir, "checkout"), state)
    assign_tf1_state(models, optimizers, run.initial_state, source="the checkout's variables")
    complete = len(run.records) == iterations
    tf1_record = RunRecord(values=run.records[:iterations],
                           images={step: images for step, images in run.images.items()
                                   if step <= iterations},
                           state=run.final_state if complete else None)
    port_record = replay_port(config, models, optimizers, schedule, os.path.join(work_dir, "port"))
    if not complete:
        port_record.state = None
    title = "the TF1 checkout at %s, from %s" % (repo, _origin(config, "its own fresh initialisation"))
    return comparison(title, tf1_record, port_record)


# ----------------------------------------------------------------------------- epoch mode


def port_training_run(config, checkpoint, work_dir):
    """Runs the port's train() (as train.py --tf1_checkpoint does) and reads back what it wrote.

    Returns:
      RunRecord: the TensorBoard scalars and images, the state training ended with, the epoch lines.
    """
    output = io.StringIO()
    log_dir = os.path.join(work_dir, "port_log")
    port_config = config.replace(tf1_checkpoint=checkpoint, progress_bar=False,
                                      logdir=log_dir, resume=False)
    with contextlib.redirect_stdout(output):
        trained = train_models(port_config)
    scalars, images = read_logs(log_dir)
    return RunRecord(values=[scalars[step] for step in sorted(scalars)], images=images,
                     state=export_tf1_state(trained.models, trained.optimizers),
                     epoch_lines=epoch_lines(output.getvalue()))


def reference_training_run(config, work_dir):
    """Runs the TF1 loop on the reference; returns (its RunRecord, the starting checkpoint)."""
    dataset = tf1_dataset(config)
    reference = build_reference(config, dataset.image_shape)
    checkpoint = config.run.tf1_checkpoint
    if checkpoint is not None:  # checked against the port first: a misfit fails before training
        reference.set_variables(start_port(config, *build_port(config, dataset.image_shape)))
    else:
        checkpoint = reference.save(os.path.join(work_dir, "start", "model.ckpt"))
    with contextlib.redirect_stdout(io.StringIO()):
        record = train_reference(reference, dataset, config.model, config.run.epochs,
                                 config.run.batch_size, config.run.seed, config.run.plot_every)
    reference.close()
    return record, checkpoint


def checkout_training_run(config, repo, work_dir):
    """Runs the checkout's train.py; returns (its RunRecord, the starting checkpoint)."""
    state = None
    if config.run.tf1_checkpoint is not None:
        state = start_port(config, *build_port(config, load_images(config)[0].image_shape))
    run = run_checkout(repo, config, os.path.join(work_dir, "checkout"), state)
    checkpoint = config.run.tf1_checkpoint or save_tf1_checkpoint(
        os.path.join(work_dir, "start", "model.ckpt"), run.initial_state)
    record = RunRecord(values=run.records, images=run.images, state=run.final_state,
                       epoch_lines=run.epoch_lines)
    return record, checkpoint


def compare_epochs(config, repo=None, work_dir=None):
    """Both training loops from the same checkpoint and seed.

    Returns:
      IterationComparison with the epoch lines, per-iteration scalars, images and final states.
    """
    with _work_dir(work_dir) as folder:
        if repo is None:
            tf1_record, checkpoint = reference_training_run(config, folder)
            title = "the TF1 reference graph's training loop"
        else:
            tf1_record, checkpoint = checkout_training_run(config, repo, folder)
            title = "the TF1 checkout at %s" % repo
        port_record = port_training_run(config, checkpoint, folder)
    origin = _origin(config, "a fresh initialisation")
    return comparison("%s, from %s" % (title, origin), tf1_record, port_record, epoch_mode=True)


@contextlib.contextmanager
def _work_dir(work_dir=None):
    """`work_dir`, or a temporary folder removed afterwards."""
    if work_dir is not None:
        os.makedirs(work_dir, exist_ok=True)
        yield work_dir
        return
    with tempfile.TemporaryDirectory(prefix="infogan_parity_") as folder:
        yield folder


def racy_images(config, repo):
    """Whether image differences within the race's size are warnings (`compare.image_warnings`):
    against a checkout of the TF1 code (whose plots race, docs/tf1_semantics.md §3) on an image
    folder or with several categorical codes, where runs of the TF1 code were seen to differ. The
    reference graph orders its reads: its images are always compared strictly."""
    return repo is not None and (config.data.dataset is not None
                                 or len(config.model.categorical_cardinality) > 1)


def report(comparison_result, config, tolerances, racy=False):
    """Prints a comparison; returns True when every target is met (see `racy_images`)."""
    model = config.model
    what = "%d epoch(s)" % config.run.epochs if comparison_result.epoch_lines else "%d iterations" % (
        len(comparison_result.rows))
    description = ("generator %s, discriminator %s, batch %d, %s, plots every %d, seed %d, "
                   "float32 on CPU" % (model.generator, model.discriminator, config.run.batch_size,
                                       what, config.run.plot_every, config.run.seed))
    lines, ok = report_lines(comparison_result, description, tolerances, max_rows=MAX_TABLE_ROWS,
                             racy_images=racy)
    print("\n".join(lines))
    return ok


def run(config, iterations, tolerances, repo=None, epoch_mode=False):
    """Runs one comparison and prints it.

    Args:
      config: TrainConfig (model flags, batch size, seed, data, plot_every, tf1_checkpoint...).
      iterations: iterations of the iteration mode.
      tolerances: compare.Tolerances.
      repo: a checkout of the TF1 code, or None for the TF1 reference graph.
      epoch_mode: compare config.run.epochs epochs of both training loops instead.

    Returns:
      True when every target is met.
    """
    racy = racy_images(config, repo)
    if epoch_mode:
        return report(compare_epochs(config, repo), config, tolerances, racy)
    if repo is None:
        return report(compare_with_reference(config, iterations), config, tolerances, racy)
    with tempfile.TemporaryDirectory(prefix="infogan_parity_") as work_dir:
        result = compare_with_checkout(config, iterations, repo, work_dir)
    return report(result, config, tolerances, racy)
