"""Noise is bit-identical to a direct NumPy transcription of docs/tf1_semantics.md §1."""
import numpy as np

from infogan.model import noise

from infogan import plots


def spec_infogan_noise(cardinalities, num_continuous, style_size, n, uniform_style=False):
    categorical = [np.random.randint(0, k, size=n) for k in cardinalities]
    uniform = np.random.uniform(-1.0, 1.0, size=(n, num_continuous))
    if uniform_style:  # --style_noise uniform: openai/InfoGAN's U(-1, 1) in place of N(0, 1)
        normal = np.random.uniform(-1.0, 1.0, size=(n, style_size))
    else:
        normal = np.random.standard_normal(size=(n, style_size))
    one_hots = []
    for k, values in zip(cardinalities, categorical):
        block = np.zeros((n, k))
        block[np.arange(n), values] = 1.0
        one_hots.append(block)
    return np.hstack(one_hots + [uniform, normal])


def test_infogan_noise_is_bit_identical_with_default_flags():
    np.random.seed(1234)
    expected = [spec_infogan_noise([10], 2, 62, 64) for _ in range(3)]
    np.random.seed(1234)
    sample = noise.create_infogan_noise_sample([10], 2, 62)
    actual = [sample(64) for _ in range(3)]
    for want, got in zip(expected, actual):
        assert got.dtype == np.float64 and got.shape == (64, 74)
        assert np.array_equal(want, got)


def test_uniform_style_noise_takes_the_place_of_the_normal_draw():
    np.random.seed(3)
    want = spec_infogan_noise([10], 2, 62, 16, uniform_style=True)
    from infogan.model.config import ModelConfig
    np.random.seed(3)
    got = noise.make_noise_sampler(ModelConfig(style_noise=noise.UNIFORM_STYLE))(16)
    assert np.array_equal(want, got) and np.abs(got[:, 12:]).max() <= 1.0
    np.random.seed(3)
    gan = noise.make_noise_sampler(ModelConfig(infogan=False, style_noise=noise.UNIFORM_STYLE))(4)
    np.random.seed(3)
    assert np.array_equal(gan, np.random.uniform(-1.0, 1.0, size=(4, 62)))


def test_infogan_noise_with_several_codes_and_none():
    for cardinalities, num_continuous in (([20, 20, 20], 1), ([], 3), ([4], 0)):
        np.random.seed(7)
        want = spec_infogan_noise(cardinalities, num_continuous, 5, 9)
        np.random.seed(7)
        got = noise.create_infogan_noise_sample(cardinalities, num_continuous, 5)(9)
        assert np.array_equal(want, got)


def test_gan_noise_and_following_draws_stay_in_step():
    np.random.seed(3)
    want = np.random.standard_normal(size=(5, 62))
    after = np.random.rand()
    np.random.seed(3)
    assert np.array_equal(noise.create_gan_noise_sample(62)(5), want)
    assert np.random.rand() == after


def test_make_one_hot():
    assert np.array_equal(noise.make_one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_plotter_draw_order_matches_spec():
    """Categorical strips: continuous (uniform, normal) then categorical noise of 10 rows;
    continuous strips: categorical then continuous noise of 3 rows."""
    np.random.seed(11)
    uniform10 = np.random.uniform(-1, 1, size=(10, 2))
    normal10 = np.random.standard_normal(size=(10, 4))
    categories10 = np.random.randint(0, 3, size=10)
    categories3 = np.random.randint(0, 3, size=3)
    uniform3 = np.random.uniform(-1, 1, size=(3, 2))
    normal3 = np.random.standard_normal(size=(3, 4))
    seen = []

    def generate(z):
        seen.append(z.copy())
        return np.zeros((z.shape[0], 2, 2, 1))

    np.random.seed(11)
    layout = noise.NoiseLayout([3], 2, 4)
    cat_sets = plots.categorical_variations(generate, layout)
    cont_sets = plots.continuous_variations(generate, layout)
    assert [names for names, _ in cat_sets] == [["category 0", "category 1", "category 2"]]
    assert cat_sets[0][1].shape == (10, 3, 2, 2, 1)      # rows = samples, columns = categories
    assert cont_sets[0][1].shape == (3, 10, 2, 2, 1)     # rows = samples, columns = sweep
    assert np.array_equal(seen[1][:, 3:5], uniform10) and np.array_equal(seen[1][:, 5:], normal10)
    assert np.all(seen[1][:, 1] == 1)                    # category 1 forced on every row
    del categories10  # drawn only to keep the stream in step
    first_sweep = seen[3]                               # continuous code 0, sample 0
    assert np.array_equal(first_sweep[:, 3], np.linspace(-2, 2, 10))
    assert np.all(first_sweep[:, 4] == uniform3[0, 1]) and np.all(first_sweep[:, 5:] == normal3[0])
    assert np.all(first_sweep[:, categories3[0]] == 1)
    assert [n for n, _ in cont_sets][1] == ["continuous variable 1, variation %d" % k for k in range(3)]
