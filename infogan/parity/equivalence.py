"""Does a strategy compute what one device computes? `python -m infogan.parity.equivalence`.

From the same weights, batches and noise, compares the single-device port with the port under a
strategy (mirrored on `--num_cpu_devices` logical CPU devices, or `--num_gpus` GPUs): the forward
outputs in training mode, the gradients of the first iteration's three updates (D, G, MI) as the
training step computes them, the objectives of iterations 0 and 1, then reports how far the two
drift apart over `--iterations`. The reduction order differs (sums over replicas), so later
iterations drift as any one-ulp change does in a GAN. As a yardstick, the same comparison is made
for one device fed the same batches with their rows permuted (the same maths, another summation
order). Exit status 0 when the targets are met, 1 when not, 2 for bad input.
"""
import numpy as np
from absl import flags

from infogan.cli import common
from infogan.config import ConfigError
from infogan.model.config import DEFAULT_DISCRIMINATOR, DEFAULT_GENERATOR

FLAGS = flags.FLAGS
PROGRAM = "equivalence"  # in messages when sys.argv names no program
FLAG_NAMES = ("num_cpu_devices", "num_gpus", "batch_size", "iterations", "seed", "generator",
              "discriminator", "forward_tolerance", "gradient_tolerance", "objective_tolerance")
DESCRIPTION = (
    "Does a tf.distribute strategy compute what one device computes? From the same weights, "
    "batches and noise, compares the forward outputs in training mode, the gradients of the first "
    "iteration's D, G and MI updates, and the logged objectives of every iteration, beside the "
    "same comparison for one device fed the rows of each batch permuted. Exit status: 0 every "
    "target met, 1 one is not, 2 bad input.")


def define_flags():
    """Defines this command's flags."""
    flags.DEFINE_integer("num_cpu_devices", 2, "Logical CPU devices of the mirrored strategy.")
    flags.DEFINE_integer("num_gpus", 0, "GPUs of the mirrored strategy instead (0: the CPU devices).")
    flags.DEFINE_integer("batch_size", 64, "Global batch size.")
    flags.DEFINE_integer("iterations", 20, "Iterations to run side by side (2 or more).")
    flags.DEFINE_integer("seed", 1234, "Seeds the weights, the batches and the noise.")
    flags.DEFINE_string("generator", DEFAULT_GENERATOR, "Generator architecture.")
    flags.DEFINE_string("discriminator", DEFAULT_DISCRIMINATOR, "Discriminator architecture.")
    flags.DEFINE_float("forward_tolerance", 1e-5, "Forward outputs: max relative difference.")
    flags.DEFINE_float("gradient_tolerance", 1e-5,
                       "First-iteration gradients: max relative difference.")
    flags.DEFINE_float("objective_tolerance", 1e-4,
                       "Objectives of iterations 0-1: max relative difference.")


def help_page():
    """This command's --help."""
    return common.help_text("usage: python -m infogan.parity.equivalence [flags]", DESCRIPTION,
                            [("Flags", FLAG_NAMES)])


def relative(want, got):
    """max |want - got| / max |want| (0 when both are 0)."""
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    scale = np.abs(want).max() if want.size else 0.0
    return float(np.abs(want - got).max() / scale) if scale else float(np.abs(got).max() if got.size else 0.0)


def forward_and_gradients(models, real, d_noise, g_noise):
    """Training-mode outputs, and the gradients of the D, G and MI losses (as the training step
    defines them) with respect to what each update moves; batch means are this replica's share."""
    import tensorflow as tf
    from infogan.model.replicas import sum_over_replicas
    from infogan.model import losses
    with tf.GradientTape(persistent=True) as tape:
        d_step = losses.discriminator_losses(models, real, d_noise)
        g_step = losses.generator_losses(models, g_noise)
    outputs = {"G (training)": d_step.forward["fake_images"]}
    for name, key in (("real pass", "real"), ("fake pass", "fake")):
        outputs.update({"D %s, %s" % (output, name): d_step.forward[key][output]
                        for output in ("prob", "hidden")})
    gradients = {}
    for update in d_step.updates + g_step.updates:
        summed = sum_over_replicas(tape.gradient(update.loss, update.variables))
        gradients.update({"%s loss: %s" % (update.name, v.path): g
                          for v, g in zip(update.variables, summed)})
    return outputs, gradients


def _variables(models):
    return models.generator.variables + models.discriminator.variables + models.q_network.variables


def compare(placement, model_config, batch_size, iterations, seed):
    """Runs one device, the placement's strategy, and one device on row-permuted batches, from the
    same state.

    Returns:
      {"strategy": ..., "rows permuted": ...}, each (forward differences, gradient differences,
      per-iteration objective differences) against one device: {name: max relative difference}.
    """
    import keras
    import tensorflow as tf
    from infogan import data
    from infogan.config import DEFAULT_MNIST_DIR
    from infogan.model.models import build_models, noise_to_tensor
    from infogan.model.noise import create_infogan_noise_sample
    from infogan.training.placement import Placement
    from infogan.training.step import build_optimizers

    def build():
        models = build_models(model_config, (28, 28, 1))
        return models, build_optimizers(models, 1e-3, 2e-4)

    strategy, one_device = placement.strategy, Placement()
    keras.utils.set_random_seed(seed)  # Keras initialisers draw from Keras's seed, not tf.random's
    single, single_optimizers = build()
    permuted, permuted_optimizers = build()
    with placement.scope():
        replicated, replicated_optimizers = build()
    for source, *targets in zip(_variables(single), _variables(permuted), _variables(replicated)):
        for target in targets:
            target.assign(source)
    images = data.load_mnist(DEFAULT_MNIST_DIR, batch_size * (iterations + 1))
    np.random.seed(seed)
    sample = create_infogan_noise_sample(model_config.categorical_cardinality,
                                         model_config.num_continuous, model_config.style_size)
    batches = [(images[i * batch_size:(i + 1) * batch_size], sample(batch_size), sample(batch_size))
               for i in range(iterations + 1)]
    order = np.random.RandomState(seed).permutation(batch_size)
    restore = np.argsort(order)

    def tensors(batch, rows=slice(None)):
        return tuple(tf.constant(np.float32(value)[rows]) for value in batch)

    want = forward_and_gradients(single, *tensors(batches[0]))
    shares = tf.function(lambda *values: strategy.run(
        lambda *rows: forward_and_gradients(replicated, *rows), args=values), autograph=False)(
            *(placement.distribute(np.float32(value)) for value in batches[0]))
    got = {"strategy": ({name: strategy.gather(value, axis=0) for name, value in shares[0].items()},
                        {name: strategy.experimental_local_results(value)[0]
                         for name, value in shares[1].items()})}
    outputs, gradients = forward_and_gradients(permuted, *tensors(batches[0], order))
    got["rows permuted"] = ({name: np.asarray(value)[restore] for name, value in outputs.items()},
                            gradients)
    iterations_of = {"strategy": placement.compile_iteration(replicated, replicated_optimizers),
                     "rows permuted": one_device.compile_iteration(permuted, permuted_optimizers)}
    reference = one_device.compile_iteration(single, single_optimizers)
    drift = {name: [] for name in got}
    for batch in batches[1:]:
        want_results = reference(tf.constant(batch[0]), *(noise_to_tensor(n) for n in batch[1:]))
        for name, iteration in iterations_of.items():
            results = iteration(*tensors(batch, order if name == "rows permuted" else slice(None)))
            drift[name].append({key: relative(want_results[key].numpy(), results[key].numpy())
                                for key in want_results})
    return {name: ({key: relative(want[0][key], got[name][0][key]) for key in want[0]},
                   {key: relative(want[1][key], got[name][1][key]) for key in want[1]},
                   drift[name]) for name in got}


def report(comparisons):
    """Prints the comparison against one device (and the row-permuted yardstick); returns whether
    the strategy meets every target."""
    forward, gradients, drift = comparisons["strategy"]
    yardstick_forward, yardstick_gradients, yardstick_drift = comparisons["rows permuted"]
    print("%-56s %12s  %12s" % ("max relative difference from one device:", "strategy", "rows permuted"))
    print("forward outputs, training mode:")
    for name, value in forward.items():
        print("  %-54s %12.2e  %12.2e" % (name, value, yardstick_forward[name]))
    worst = sorted(gradients.items(), key=lambda item: -item[1])
    print("first-iteration gradients (%d tensors), the largest:" % len(gradients))
    for name, value in worst[:5]:
        print("  %-54s %12.2e  %12.2e" % (name, value, yardstick_gradients[name]))
    print("  %-54s %12.2e  %12.2e" % ("all tensors", worst[0][1], max(yardstick_gradients.values())))
    print("logged objectives, by iteration:")
    for index, (values, yardstick) in enumerate(zip(drift, yardstick_drift)):
        print("  %-54s %12.2e  %12.2e" % ("iteration %d" % index, max(values.values()),
                                          max(yardstick.values())))
    checks = [("forward outputs", max(forward.values()), FLAGS.forward_tolerance),
              ("first-iteration gradients", worst[0][1], FLAGS.gradient_tolerance),
              ("objectives of iterations 0-1", max(max(v.values()) for v in drift[:2]),
               FLAGS.objective_tolerance)]
    for name, value, tolerance in checks:
        print("%s: %.2e %s %.0e" % (name, value, "<=" if value <= tolerance else "> (FAILED)", tolerance))
    return all(value <= tolerance for _, value, tolerance in checks)


def check_from_flags():
    """Runs the comparison the flags ask for and prints it. Returns the exit status: 0 every
    target met, 1 one is not.

    Raises:
      ConfigError: bad flags, or a device layout this machine cannot give.
    """
    if FLAGS.iterations < 2:
        raise ConfigError("--iterations must be 2 or more, got %d" % FLAGS.iterations)
    common.import_tensorflow(common.show_tensorflow_logs())
    from infogan.model.config import ModelConfig
    from infogan.training.placement import make_placement
    placement = make_placement("mirrored", FLAGS.num_gpus, FLAGS.num_cpu_devices)
    model_config = ModelConfig(generator=FLAGS.generator, discriminator=FLAGS.discriminator)
    print("mirrored on %d devices (%s) against one device; batch %d, %d iterations, seed %d" % (
        placement.num_replicas, ", ".join(placement.strategy.extended.worker_devices),
        FLAGS.batch_size, FLAGS.iterations, FLAGS.seed))
    ok = report(compare(placement, model_config, FLAGS.batch_size, FLAGS.iterations, FLAGS.seed))
    return 0 if ok else 1


def run():
    """Console entry point."""
    common.run_command(PROGRAM, define_flags, help_page, check_from_flags)


if __name__ == "__main__":
    run()
