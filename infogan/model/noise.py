"""Latent noise, drawn with NumPy exactly as the TF1 code draws it (docs/tf1_semantics.md §1),
and `NoiseLayout`, which says where each code lies in it.

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

    Column layout: [categorical one-hots | continuous codes | style noise] (see `NoiseLayout`).
    """
    return NoiseLayout(categorical_cardinality, num_continuous, style_size, style).sample


def create_gan_noise_sample(style_size, style=NORMAL_STYLE):
    """Returns `sample(batch_size)` drawing plain GAN noise of width style_size (N(0, 1) unless
    `style` says otherwise)."""
    return NoiseLayout((), 0, style_size, style, infogan=False).sample


class NoiseLayout:
    """Where each code lies in a noise vector, and how it is drawn, encoded and decoded.

    InfoGAN noise is [categorical one-hots | continuous codes | style noise]; a plain GAN's is style
    noise alone. The Q network's output holds its categorical logits and continuous means in the
    same columns as the noise holds the codes.

    Attributes:
      categorical_slices: one column slice per categorical code (its one-hot block).
      continuous_slice: the columns of the continuous codes.
      style_slice: the columns of the style noise.
      size: the noise's width (the generator's input size).
    """

    def __init__(self, categorical_cardinality=(), num_continuous=0, style_size=0,
                 style=NORMAL_STYLE, infogan=True):
        """Args:
          categorical_cardinality: the number of categories of each categorical code.
          num_continuous: the number of continuous codes.
          style_size: the width of the style noise.
          style: the style noise's distribution (STYLE_NOISES).
          infogan: False for a plain GAN, whose noise has no codes.
        """
        self.infogan, self.style = infogan, style
        self.categorical_cardinality = tuple(categorical_cardinality) if infogan else ()
        self.num_continuous = num_continuous if infogan else 0
        self.style_size = style_size
        start, self.categorical_slices = 0, ()
        for cardinality in self.categorical_cardinality:
            self.categorical_slices += (slice(start, start + cardinality),)
            start += cardinality
        self.continuous_slice = slice(start, start + self.num_continuous)
        self.style_slice = slice(self.continuous_slice.stop, self.continuous_slice.stop + style_size)
        self.size = self.style_slice.stop

    @classmethod
    def of(cls, model_config):
        """The layout of a model.ModelConfig's noise (InfoGAN or plain GAN)."""
        return cls(model_config.categorical_cardinality, model_config.num_continuous,
                   model_config.style_size, model_config.style_noise, model_config.infogan)

    def continuous_column(self, code):
        """The noise column of continuous code `code`."""
        return self.continuous_slice.start + code

    def draw_categories(self, size):
        """One NumPy draw per categorical code, as `create_categorical_noise`."""
        return create_categorical_noise(self.categorical_cardinality, size)

    def draw_continuous(self, size):
        """The continuous codes then the style noise, as `create_continuous_noise`.

        Returns:
          float64 array [size, num_continuous + style_size].
        """
        return create_continuous_noise(self.num_continuous, self.style_size, size, self.style)

    def encode(self, categories, continuous):
        """Noise from category indices (one int array per code) and `draw_continuous`'s columns.

        Returns:
          float64 array [n, size].
        """
        return encode_infogan_noise(self.categorical_cardinality, categories, continuous)

    def sample(self, batch_size):
        """Draws a batch of noise with the TF1 code's NumPy calls (docs/tf1_semantics.md §1).

        Returns:
          float64 array [batch_size, size].
        """
        if not self.infogan:
            return create_style_noise(self.style_size, batch_size, self.style)
        categories = self.draw_categories(batch_size)
        return self.encode(categories, self.draw_continuous(batch_size))

    def split(self, noise):
        """The codes of a noise batch (a NumPy array or a tensor).

        Returns:
          (list of one-hot blocks [n, k], one per categorical code; continuous codes [n, num_continuous]).
        """
        return ([noise[:, columns] for columns in self.categorical_slices],
                noise[:, self.continuous_slice])

    def set_category(self, noise, code, category):
        """Writes category `category` (0 <= category < its cardinality) of categorical code `code`
        into every row of the NumPy array `noise`, in place."""
        noise[:, self.categorical_slices[code]] = np.eye(self.categorical_cardinality[code])[category]


def make_noise_sampler(model_config):
    """`sample(batch_size)` drawing the noise of a model.ModelConfig: InfoGAN or GAN mode."""
    return NoiseLayout.of(model_config).sample
