"""NoiseLayout: one description of where each code lies, used by sampling, plots, the step and
evaluation; its draws are the TF1 code's."""
import numpy as np
import pytest

from infogan.model.config import ModelConfig
from infogan.model.noise import NoiseLayout, create_infogan_noise_sample


def test_slices_follow_the_tf1_column_order():
    layout = NoiseLayout((3, 2), 2, 4)
    assert layout.categorical_slices == (slice(0, 3), slice(3, 5))
    assert layout.continuous_slice == slice(5, 7) and layout.style_slice == slice(7, 11)
    assert layout.size == 11 and layout.continuous_column(1) == 6


@pytest.mark.parametrize("model", [ModelConfig(), ModelConfig(infogan=False),
                                   ModelConfig(categorical_cardinality=(), num_continuous=3),
                                   ModelConfig(categorical_cardinality=(20, 20, 20), num_continuous=1)])
def test_layout_of_a_model_config_has_its_z_size(model):
    layout = NoiseLayout.of(model)
    assert layout.size == model.z_size
    np.random.seed(5)
    assert layout.sample(3).shape == (3, model.z_size)


def test_sample_split_and_encode_round_trip():
    layout = NoiseLayout((3, 2), 2, 4)
    np.random.seed(2)
    noise = layout.sample(6)
    np.random.seed(2)
    assert np.array_equal(noise, create_infogan_noise_sample((3, 2), 2, 4)(6))
    blocks, continuous = layout.split(noise)
    assert [block.shape for block in blocks] == [(6, 3), (6, 2)]
    assert np.all(blocks[0].sum(axis=1) == 1) and np.all(blocks[1].sum(axis=1) == 1)
    assert np.array_equal(continuous, noise[:, 5:7])
    categories = [block.argmax(axis=1) for block in blocks]
    assert np.array_equal(layout.encode(categories, noise[:, layout.continuous_slice.start:]), noise)


def test_set_category_rewrites_one_block_only():
    layout = NoiseLayout((3, 2), 2, 4)
    np.random.seed(0)
    noise = layout.sample(4)
    changed = noise.copy()
    layout.set_category(changed, 1, 0)
    assert np.all(changed[:, 3:5] == [1, 0])
    assert np.array_equal(np.delete(changed, [3, 4], axis=1), np.delete(noise, [3, 4], axis=1))


def test_split_codes_of_a_tensor():
    import tensorflow as tf
    from infogan.model.objectives import split_codes
    noise = np.arange(2 * 11, dtype=np.float32).reshape(2, 11)
    blocks, continuous = split_codes(tf.constant(noise), (3, 2), 2)
    assert [block.numpy().tolist() for block in blocks] == [noise[:, :3].tolist(),
                                                             noise[:, 3:5].tolist()]
    assert continuous.numpy().tolist() == noise[:, 5:7].tolist()
