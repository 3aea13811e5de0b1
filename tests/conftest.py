"""Shared test setup: quiet TensorFlow, tiny models, repository paths."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.path.join(REPO_ROOT, "infogan", "data", "mnist")  # the shipped MNIST
# A 8x8x1 InfoGAN small enough for exact checks: every layer kind, every batch norm.
TINY_GENERATOR = "fc:16,fc:2x2x8,reshape:2:2:8,deconv:3:2:4,deconv:3:2:1:sigmoid"
TINY_DISCRIMINATOR = "conv:3:2:4:lrelu,conv:3:2:8:lrelu,fc:6:lrelu"
TINY_IMAGE_SHAPE = (8, 8, 1)


@pytest.fixture
def tiny_model_config():
    from infogan.model.config import ModelConfig
    return ModelConfig(generator=TINY_GENERATOR, discriminator=TINY_DISCRIMINATOR,
                       categorical_cardinality=(3, 2), num_continuous=2, style_size=3)
