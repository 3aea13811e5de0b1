"""The plotter in-process on tiny networks: TF1's strip tags and images, one PNG per plotted set."""
import os

import numpy as np

from conftest import TINY_IMAGE_SHAPE


class RecordingLogger:
    def __init__(self):
        self.images = []

    def image(self, step, tag, image):
        self.images.append((step, tag, image))


def plot_once(model_config, tmp_path):
    from infogan.model.models import build_models
    from infogan.model.noise import make_noise_sampler
    from infogan.training.plotter import Plotter
    models = build_models(model_config, TINY_IMAGE_SHAPE)
    logger = RecordingLogger()
    plotter = Plotter(models, logger, str(tmp_path / "images"), make_noise_sampler(model_config), 12)
    np.random.seed(0)
    plotter.plot(7)
    return logger.images, sorted(os.listdir(tmp_path / "images"))


def test_infogan_plot_writes_every_strip_and_set(tiny_model_config, tmp_path):
    images, files = plot_once(tiny_model_config, tmp_path)
    tags = [tag for _, tag, _ in images]
    assert tags[:3] == ["categorical_variable_0-%d/image" % c for c in range(3)]
    assert len(tags) == 3 + 2 + 2 * 3  # categories of both codes, then 3 samples per continuous code
    assert tags[-1] == "continuous_variable_1__variation_2/image"
    strip = images[0][2]
    assert strip.dtype == np.uint8 and strip.shape == (16, (10 * 11 - 3) * 2, 3)  # 10 zoomed 8x8
    assert files == ["iteration_0000007_%s.png" % kind for kind in
                     ("categorical_0", "categorical_1", "continuous_0", "continuous_1")]


def test_gan_plot_writes_ten_fake_images(tiny_model_config, tmp_path):
    import dataclasses
    images, files = plot_once(dataclasses.replace(tiny_model_config, infogan=False), tmp_path)
    assert [tag for _, tag, _ in images] == ["fake_images/image/%d" % k for k in range(10)]
    assert files == ["iteration_0000007_fake_images.png"]
