"""--weight_init: the TF1 code's Glorot-uniform weights by default, or the InfoGAN paper's code's
N(0, 0.02) (truncated for convolutions), biases 0 and conv batch-norm gamma N(1, 0.02) either way."""
import dataclasses

import keras
import numpy as np

from infogan.model.config import PAPER_INIT, TF1_INIT, ModelConfig
from infogan.model.models import build_models
from infogan.model.networks import Conv, Deconv, Dense, WeightLayer

# Layers large enough for their weights' spread to be measured.
MODEL = ModelConfig(generator="fc:256,fc:7x7x32,reshape:7:7:32,deconv:4:2:32,deconv:4:2:1:sigmoid",
                    discriminator="conv:4:2:32:lrelu,conv:4:2:64:lrelu,fc:256:lrelu")


def weight_layers(models):
    found = []
    for network in (models.generator, models.discriminator, models.q_network):
        found += [layer for layer in network._flatten_layers() if isinstance(layer, WeightLayer)]
    return found


def build(weight_init):
    keras.utils.set_random_seed(3)
    return build_models(dataclasses.replace(MODEL, weight_init=weight_init), (28, 28, 1))


def test_the_default_is_the_tf1_codes_glorot_uniform():
    assert ModelConfig().weight_init == TF1_INIT
    models = build(TF1_INIT)
    for layer in weight_layers(models):
        fan_in = np.prod(layer.kernel.shape[:-1]) if isinstance(layer, Dense) else None
        assert isinstance(layer.kernel_initializer(), keras.initializers.GlorotUniform)
        if fan_in:
            limit = np.sqrt(6.0 / (fan_in + layer.kernel.shape[-1]))
            assert np.abs(layer.kernel.numpy()).max() <= limit


def test_paper_weights_are_normal_with_std_002_truncated_for_convolutions():
    models = build(PAPER_INIT)
    kinds = {Conv: 0, Deconv: 0, Dense: 0}
    for layer in weight_layers(models):
        weights = layer.kernel.numpy().ravel()
        kind = type(layer)
        kinds[kind] += 1
        if weights.size >= 4000:
            # a normal truncated at two deviations keeps 0.88 of its deviation
            expected = 0.02 * (0.88 if kind is Conv else 1.0)
            assert abs(weights.std() - expected) < 0.002, (layer.name, weights.std())
            assert abs(weights.mean()) < 0.002
        if kind is Conv:
            assert np.abs(weights).max() <= 2 * 0.02 + 1e-7  # truncated at two deviations
        elif weights.size >= 4000:
            assert np.abs(weights).max() > 2 * 0.02  # a plain normal's tails
        if layer.bias is not None:
            assert not layer.bias.numpy().any()
    assert all(kinds.values()), kinds
    gammas = np.concatenate([v.numpy() for v in models.discriminator.variables + models.generator.variables
                             if v.path.endswith("gamma")])
    assert abs(gammas.mean() - 1) < 0.01 and 0.01 < gammas.std() < 0.03


def test_the_flag_reaches_the_model_and_old_runs_start_as_tf1():
    from infogan.cli import train as train_cli
    from infogan.config import TrainConfig
    assert TrainConfig().model.weight_init == TF1_INIT
    assert TrainConfig(model=ModelConfig(weight_init=PAPER_INIT)).flat()["weight_init"] == PAPER_INIT
    assert "weight_init" in train_cli.BEYOND_TF1_FLAGS
    assert "weight_init" not in train_cli.RESUME_FLAGS  # it decides only how a run starts
