"""One training iteration against a NumPy computation of the Adam updates (docs/tf1_semantics.md §6).

Gradients come from independent tapes at the values each update must see; the updates are then
computed in NumPy and compared with what `discriminator_step` / `generator_step` did. This proves
that the G optimiser is shared by the G and MI updates (its step counter advances twice) and that
both G-step gradients are taken before either update.
"""
import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_IMAGE_SHAPE
from infogan.model import losses
from infogan.model.execution import ExecutionPolicy
from infogan.model.models import build_models, noise_to_tensor
from infogan.model.networks import FAKE_PASS, REAL_PASS
from infogan.model.noise import create_infogan_noise_sample
from infogan.model.objectives import discriminator_objective, generator_objective
from infogan.training import step as train_step

B1, B2, EPS = 0.5, 0.999, 1e-8
G_LR, D_LR = 1e-3, 2e-4


def adam(weights, m, v, grad, lr, step):
    m = B1 * m + (1 - B1) * grad
    v = B2 * v + (1 - B2) * grad ** 2
    lr_t = lr * np.sqrt(1 - B2 ** step) / (1 - B1 ** step)
    return weights - lr_t * m / (np.sqrt(v) + EPS), m, v


def values(variables):
    return [v.numpy().astype(np.float64) for v in variables]


def gradients(variables, loss_fn):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return [g.numpy().astype(np.float64) for g in tape.gradient(loss, variables)]


@pytest.fixture
def setup(tiny_model_config):
    np.random.seed(0)
    models = build_models(tiny_model_config, TINY_IMAGE_SHAPE)
    optimizers = train_step.build_optimizers(models, G_LR, D_LR)
    sample = create_infogan_noise_sample(tiny_model_config.categorical_cardinality,
                                         tiny_model_config.num_continuous, tiny_model_config.style_size)
    real = tf.constant(np.random.rand(3, *TINY_IMAGE_SHAPE).astype(np.float32))  # short batch
    return models, optimizers, real, noise_to_tensor(sample(4)), noise_to_tensor(sample(4))

def assert_first_adam_update(variables, loss, learning_rate, update):
    """`update()` moves `variables` by one Adam step (from zero slots) on the gradients of `loss`."""
    before, grads = values(variables), gradients(variables, loss)
    update()
    for value, grad, after in zip(before, grads, values(variables)):
        want, _, _ = adam(value, 0, 0, grad, learning_rate, step=1)
        np.testing.assert_allclose(after, want, rtol=1e-4, atol=1e-6)



def test_one_iteration_matches_numpy_adam(setup):
    models, optimizers, real, d_noise, g_noise = setup
    G, D, Q = models.generator, models.discriminator, models.q_network
    d_vars, g_vars, mi_vars = (losses.discriminator_variables(models),
                               losses.generator_variables(models), losses.mutual_info_variables(models))

    def d_loss():
        fake = D(G(d_noise, training=True), training=True, pass_index=FAKE_PASS)
        return -discriminator_objective(fake["prob"], D(real, training=True, pass_index=REAL_PASS)["prob"])

    assert_first_adam_update(d_vars, d_loss, D_LR,
                             lambda: train_step.discriminator_step(models, optimizers, real, d_noise))

    def g_loss():
        return -generator_objective(D(G(g_noise, training=True), training=True)["prob"])

    def mi_loss():
        fake = D(G(g_noise, training=True), training=True)
        return -losses.mutual_info(models, g_noise, fake["hidden"])["mutual_info"]

    mi_before = values(mi_vars)
    g_grads, mi_grads = gradients(g_vars, g_loss), gradients(mi_vars, mi_loss)
    projection_before = values(D.prob_projection.trainable_variables)
    train_step.generator_step(models, optimizers, g_noise)

    # G variables: the G update (step 1), then the MI update (step 2) on the same m/v slots.
    g_slots = {}
    for index, (before, grad) in enumerate(zip(mi_before[:len(g_vars)], g_grads)):
        g_slots[index] = adam(before, 0, 0, grad, G_LR, step=1)
    for index, (variable, before, grad) in enumerate(zip(mi_vars, mi_before, mi_grads)):
        start, m, v = g_slots.get(index, (before, 0, 0))
        want, _, _ = adam(start, m, v, grad, G_LR, step=2)
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-4, atol=1e-6, err_msg=variable.path)
    for before, after in zip(projection_before, values(D.prob_projection.trainable_variables)):
        np.testing.assert_array_equal(before, after)  # the MI does not reach prob_projection
    np.testing.assert_allclose(optimizers.generator.beta1_power.numpy(), B1 ** 3)
    np.testing.assert_allclose(optimizers.discriminator.beta1_power.numpy(), B1 ** 2)
    assert Q is not None


def test_iteration_updates_statistics_as_tf1(setup):
    models, optimizers, real, d_noise, g_noise = setup
    G, D, Q = models.generator, models.discriminator, models.q_network
    fc_bn = D.layer_objects[2].batch_norm
    step = train_step.make_train_iteration(models, optimizers)
    results = step(real, d_noise, g_noise)
    assert set(results) == {"discriminator_objective", "generator_objective", "mutual_info_objective",
                            "ll_categorical_objective", "ll_continuous_objective", "std_contig",
                            "d_step_infogan_loss", "g_step_infogan_loss"}
    np.testing.assert_allclose(results["g_step_infogan_loss"], -results["mutual_info_objective"])
    # D's conv EMAs: the fake set moved by two passes, the real set by one.
    conv_bn = D.layer_objects[0].batch_norm
    assert np.any(conv_bn.moving_means[FAKE_PASS].numpy() != 0)
    assert np.any(conv_bn.moving_means[REAL_PASS].numpy() != 0)
    assert np.any(fc_bn.moving_mean.numpy() != 0)
    q_bn = Q.fully_connected.batch_norm
    assert np.all(q_bn.moving_mean.numpy() == 0) and np.all(q_bn.moving_variance.numpy() == 1)
    # G's fc statistics moved by two training passes: 1 - 0.999**2 of the way from 0.
    assert np.any(G.layer_objects[0].batch_norm.moving_mean.numpy() != 0)


def test_gan_mode_step(tiny_model_config):
    import dataclasses
    config = dataclasses.replace(tiny_model_config, infogan=False)
    models = build_models(config, TINY_IMAGE_SHAPE)
    assert models.q_network is None and losses.mutual_info_variables(models) == []
    optimizers = train_step.build_optimizers(models, G_LR, D_LR)
    z = noise_to_tensor(np.random.standard_normal((4, config.z_size)))
    real = tf.constant(np.random.rand(4, *TINY_IMAGE_SHAPE).astype(np.float32))
    results = train_step.make_train_iteration(models, optimizers)(real, z, z)
    assert set(results) == {"discriminator_objective", "generator_objective"}
    np.testing.assert_allclose(optimizers.generator.beta1_power.numpy(), B1 ** 2)


@pytest.mark.slow
def test_jit_compiled_iteration_matches_the_default_to_rounding(tiny_model_config):
    """--jit_compile computes the same iteration (XLA rounds differently: close, not identical)."""
    import keras
    runs = []
    for jit_compile in (False, True):
        keras.utils.set_random_seed(0)
        np.random.seed(0)
        models = build_models(tiny_model_config, TINY_IMAGE_SHAPE,
                              execution=ExecutionPolicy.from_settings(jit_compile=jit_compile))
        optimizers = train_step.build_optimizers(models, G_LR, D_LR)
        iteration = train_step.make_train_iteration(models, optimizers)
        sample = create_infogan_noise_sample(tiny_model_config.categorical_cardinality,
                                             tiny_model_config.num_continuous,
                                             tiny_model_config.style_size)
        results = []
        for _ in range(3):
            real = tf.constant(np.random.rand(4, *TINY_IMAGE_SHAPE).astype(np.float32))
            step = iteration(real, noise_to_tensor(sample(4)), noise_to_tensor(sample(4)))
            results.append({key: value.numpy() for key, value in step.items()})
        runs.append((results, values(losses.mutual_info_variables(models))))
    (plain, plain_vars), (jitted, jitted_vars) = runs
    # The first iteration's values are computed before any update: equal to float32 rounding.
    assert plain[0].keys() == jitted[0].keys()
    for key in plain[0]:
        np.testing.assert_allclose(jitted[0][key], plain[0][key], rtol=1e-5, atol=1e-6)
    # Adam's first steps are about lr * sign(gradient), so a rounding difference in a gradient
    # near zero moves a weight by up to 2 lr; beyond that the two runs must agree.
    for plain_var, jitted_var in zip(plain_vars, jitted_vars):
        np.testing.assert_allclose(jitted_var, plain_var, rtol=0, atol=3 * 2 * G_LR)
    for plain_step, jitted_step in zip(plain[1:], jitted[1:]):
        for key in plain_step:
            np.testing.assert_allclose(jitted_step[key], plain_step[key], rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("warmup,iteration,weight", [(0, 0, 1.0), (4, 1, 0.25), (4, 9, 1.0)])
def test_mutual_info_in_the_gan_losses(tiny_model_config, warmup, iteration, weight):
    """openai/InfoGAN's wiring: D's loss and G's loss each subtract the MI; D's Adam also updates
    Q; one G update per iteration. With --mutual_info_warmup N, the MI term is weighted by
    iteration / N (at most 1)."""
    import dataclasses
    config = dataclasses.replace(tiny_model_config, mutual_info_loss="gan_losses")
    np.random.seed(0)
    models = build_models(config, TINY_IMAGE_SHAPE)
    optimizers = train_step.build_optimizers(models, G_LR, D_LR, mutual_info_warmup=warmup)
    optimizers.start_iteration(iteration)
    G, D, Q = models.generator, models.discriminator, models.q_network
    assert losses.mutual_info_variables(models) == []
    d_vars = losses.discriminator_variables(models)
    assert len(d_vars) == len(D.trainable_variables) + len(Q.trainable_variables)
    sample = create_infogan_noise_sample(config.categorical_cardinality, config.num_continuous,
                                         config.style_size)
    real = tf.constant(np.random.rand(3, *TINY_IMAGE_SHAPE).astype(np.float32))
    d_noise, g_noise = noise_to_tensor(sample(4)), noise_to_tensor(sample(4))

    def d_loss():
        fake = D(G(d_noise, training=True), training=True, pass_index=FAKE_PASS)
        objective = discriminator_objective(
            fake["prob"], D(real, training=True, pass_index=REAL_PASS)["prob"])
        return -objective - weight * losses.mutual_info(models, d_noise, fake["hidden"])["mutual_info"]

    step = losses.discriminator_losses(models, real, d_noise, optimizers.mutual_info_weight)
    np.testing.assert_allclose(step.updates[0].loss, -step.results["discriminator_objective"]
                               + weight * step.results["d_step_infogan_loss"], rtol=1e-6)
    assert_first_adam_update(d_vars, d_loss, D_LR,
                             lambda: train_step.discriminator_step(models, optimizers, real, d_noise))

    def g_loss():
        fake = D(G(g_noise, training=True), training=True)
        return (-generator_objective(fake["prob"])
                - weight * losses.mutual_info(models, g_noise, fake["hidden"])["mutual_info"])

    step = losses.generator_losses(models, g_noise, optimizers.mutual_info_weight)
    np.testing.assert_allclose(step.updates[0].loss, -step.results["generator_objective"]
                               - weight * step.results["mutual_info_objective"], rtol=1e-6)
    g_vars = losses.generator_variables(models)
    g_before, g_grads = values(g_vars), gradients(g_vars, g_loss)
    q_before = values(Q.trainable_variables)
    results = train_step.generator_step(models, optimizers, g_noise)
    for before, grad, after in zip(g_before, g_grads, values(g_vars)):
        want, _, _ = adam(before, 0, 0, grad, G_LR, step=1)
        np.testing.assert_allclose(after, want, rtol=1e-4, atol=1e-6)
    for before, after in zip(q_before, values(Q.trainable_variables)):
        np.testing.assert_array_equal(before, after)  # Q moves with D's optimiser only
    np.testing.assert_allclose(optimizers.generator.beta1_power.numpy(), B1 ** 2)  # one update
    np.testing.assert_allclose(results["g_step_infogan_loss"], -results["mutual_info_objective"])


def test_several_generator_steps_are_the_g_step_repeated_on_each_noise(tiny_model_config):
    """--generator_steps 2: the iteration is the D step, then the G step on the first generator
    noise, then on the second, each at the values the one before left (bit for bit what the steps
    do one by one); the G steps' results are logged as their mean."""
    import keras
    runs = []
    for by_hand in (False, True):
        keras.utils.set_random_seed(0)
        np.random.seed(0)
        models = build_models(tiny_model_config, TINY_IMAGE_SHAPE)
        optimizers = train_step.build_optimizers(models, G_LR, D_LR)
        sample = create_infogan_noise_sample(tiny_model_config.categorical_cardinality,
                                             tiny_model_config.num_continuous,
                                             tiny_model_config.style_size)
        real = tf.constant(np.random.rand(4, *TINY_IMAGE_SHAPE).astype(np.float32))
        noises = [noise_to_tensor(sample(4)) for _ in range(3)]
        if by_hand:
            results = [train_step.discriminator_step(models, optimizers, real, noises[0])]
            results += [train_step.generator_step(models, optimizers, noise) for noise in noises[1:]]
        else:
            results = train_step.train_iteration(models, optimizers, real, *noises)
        variables = (losses.discriminator_variables(models) + losses.generator_variables(models)
                     + losses.mutual_info_variables(models))
        runs.append((results, values(variables), optimizers.generator.beta1_power.numpy()))
    (together, together_vars, together_power), (apart, apart_vars, apart_power) = runs
    # two G steps, each a G and an MI update: four steps of the shared generator Adam
    np.testing.assert_allclose([together_power, apart_power], [B1 ** 5] * 2, rtol=1e-6)
    for mine, theirs in zip(together_vars, apart_vars):
        np.testing.assert_array_equal(mine, theirs)
    for key in apart[1]:
        want = (apart[1][key].numpy() + apart[2][key].numpy()) / 2
        np.testing.assert_allclose(together[key].numpy(), want, rtol=1e-6)
    for key in apart[0]:
        np.testing.assert_array_equal(together[key].numpy(), apart[0][key].numpy())
