"""Objectives against the NumPy formulas of docs/tf1_semantics.md §5."""
import numpy as np
import pytest
import tensorflow as tf

from infogan.model import objectives
from infogan.model.objectives import TINY


def numpy_mutual_info(out, categoricals, continuous, cat_lambda, cont_lambda, fix_std):
    ll_cat, offset = np.zeros(out.shape[0]), 0
    for block in categoricals:
        logits = out[:, offset:offset + block.shape[1]]
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        ll_cat += (np.log(prob + TINY) * block).sum(axis=1)
        offset += block.shape[1]
    n = continuous.shape[1]
    mean = out[:, offset:offset + n]
    std = np.ones_like(mean) if fix_std else np.sqrt(np.exp(out[:, offset + n:offset + 2 * n]))
    eps = (continuous - mean) / (std + TINY)
    ll_cont = (-0.5 * np.log(2 * np.pi) - np.log(std + TINY) - 0.5 * eps ** 2).sum(axis=1)
    return {"mutual_info": (cont_lambda * ll_cont + cat_lambda * ll_cat).mean(),
            "ll_categorical": ll_cat.mean(), "ll_continuous": ll_cont.mean(), "std_contig": std.mean()}


def one_hot(rng, n, k):
    return np.eye(k)[rng.randint(0, k, size=n)]


@pytest.mark.parametrize("cardinalities", [[10], [3, 4, 2], []])
@pytest.mark.parametrize("fix_std", [True, False])
def test_mutual_info_matches_numpy(cardinalities, fix_std):
    rng = np.random.RandomState(len(cardinalities))
    n, num_continuous = 6, 2
    width = sum(cardinalities) + (num_continuous if fix_std else 2 * num_continuous)
    out = rng.normal(size=(n, width)).astype(np.float32)
    cats = [one_hot(rng, n, k).astype(np.float32) for k in cardinalities]
    cont = rng.uniform(-1, 1, size=(n, num_continuous)).astype(np.float32)
    got = objectives.mutual_info_from_logits(tf.constant(out), [tf.constant(c) for c in cats],
                                             tf.constant(cont), 0.7, 1.3, fix_std)
    want = numpy_mutual_info(out.astype(np.float64), cats, cont, 0.7, 1.3, fix_std)
    for key, value in want.items():
        np.testing.assert_allclose(got[key].numpy(), value, rtol=1e-5, atol=1e-5, err_msg=key)
    if not cardinalities:
        assert got["ll_categorical"].numpy() == 0.0


def test_gan_objectives():
    p_fake = np.array([[0.2], [0.9], [0.0]], np.float32)
    p_real = np.array([[0.7], [1.0]], np.float32)
    d = objectives.discriminator_objective(tf.constant(p_fake), tf.constant(p_real)).numpy()
    g = objectives.generator_objective(tf.constant(p_fake)).numpy()
    np.testing.assert_allclose(d, np.log(1 - p_fake + TINY).mean() + np.log(p_real + TINY).mean(), 1e-6)
    np.testing.assert_allclose(g, np.log(p_fake + TINY).mean(), 1e-6)


def test_split_codes_layout():
    z = np.arange(2 * 12, dtype=np.float32).reshape(2, 12)
    cats, cont = objectives.split_codes(tf.constant(z), (3, 4), 2)
    assert [c.shape[1] for c in cats] == [3, 4]
    np.testing.assert_array_equal(cont, z[:, 7:9])
