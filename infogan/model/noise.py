"""Latent noise, drawn with NumPy exactly as the TF1 code draws it (docs/tf1_semantics.md §1).

Every function here consumes the global NumPy random stream in the same order and with
the same calls as the original, so that `np.random.seed(s)` fixes the same noise.
"""
import numpy as np

# The style noise's distribution: the TF1 code's N(0, 1), or openai/InfoGAN's U(-1, 1).
NORMAL_STYLE, UNIFORM_STYLE = "normal", "uniform"
STYLE_NOISES = (NORMAL_STYLE, UNIFORM_STYLE)


def make_one_hot(indices, size):
    """One-hot encodes integer indices.

    Args:
      indices: int array of shape [n].
      size: number of classes.

    Returns:
      float64 array of shape [n, size].
    """
    one_hot = np.zeros((indices.shape[0], size))
    one_hot[np.arange(indices.shape[0]), indices] = 1.0
    return one_hot


def create_style_noise(style_size, size, style=NORMAL_STYLE):
    """Draws style noise: N(0, 1) (the TF1 code), or U(-1, 1) with style=UNIFORM_STYLE.

    Returns:
      float64 array [size, style_size].
    """
    if style == UNIFORM_STYLE:
        return np.random.uniform(-1.0, 1.0, size=(size, style_size))
    return np.random.standard_normal(size=(size, style_size))


def create_continuous_noise(num_continuous, style_size, size, style=NORMAL_STYLE):
    """Draws continuous codes U(-1, 1) then style noise (N(0, 1) unless `style` says otherwise).

    Returns:
      float64 array [size, num_continuous + style_size]: codes first, then style.
    """
    continuous = np.random.uniform(-1.0, 1.0, size=(size, num_continuous))
    return np.hstack([continuous, create_style_noise(style_size, size, style)])


def create_categorical_noise(categorical_cardinality, size):
    """Draws one integer category per row for each categorical code.

    Returns:
      list with one int array of shape [size] per cardinality.
    """
    return [np.random.randint(0, cardinality, size=size)
            for cardinality in categorical_cardinality]


def encode_infogan_noise(categorical_cardinality, categorical_samples, continuous_samples):
    """Stacks the one-hot categorical blocks and the continuous/style columns.

    Returns:
      float64 array [n, sum(categorical_cardinality) + continuous_samples.shape[1]].
    """
    blocks = [make_one_hot(sample, size=cardinality)
              for cardinality, sample in zip(categorical_cardinality, categorical_samples)]
    blocks.append(continuous_samples)
    return np.hstack(blocks)


def create_infogan_noise_sample(categorical_cardinality, num_continuous, style_size,
                                style=NORMAL_STYLE):
    """Returns `sample(batch_size)` drawing InfoGAN noise.

    Column layout: [categorical one-hots | continuous codes | style noise].
    """
    def sample(batch_size):
        categorical = create_categorical_noise(categorical_cardinality, size=batch_size)
        continuous = create_continuous_noise(num_continuous, style_size, size=batch_size, style=style)
        return encode_infogan_noise(categorical_cardinality, categorical, continuous)
    return sample


def create_gan_noise_sample(style_size, style=NORMAL_STYLE):
    """Returns `sample(batch_size)` drawing plain GAN noise of width style_size (N(0, 1) unless
    `style` says otherwise)."""
    def sample(batch_size):
        return create_style_noise(style_size, batch_size, style)
    return sample


def make_noise_sampler(model_config):
    """`sample(batch_size)` drawing the noise of a model.ModelConfig: InfoGAN or GAN mode."""
    if model_config.infogan:
        return create_infogan_noise_sample(model_config.categorical_cardinality,
                                           model_config.num_continuous, model_config.style_size,
                                           model_config.style_noise)
    return create_gan_noise_sample(model_config.style_size, model_config.style_noise)
