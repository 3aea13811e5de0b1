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


def hook_training_step(monkeypatch, call_number, before=None, after=None):
    """Makes every compiled training iteration call `before(models)` just before its
    `call_number`-th call, and pass that call's results (a dict) through `after`."""
    from infogan.training import placement
    real = placement.Placement.compile_iteration

    def compile_iteration(self, models, optimizers):
        step, calls = real(self, models, optimizers), []

        def run(*args):
            calls.append(1)
            hit = len(calls) == call_number
            if hit and before is not None:
                before(models)
            results = step(*args)
            return after(dict(results)) if hit and after is not None else results
        return run
    monkeypatch.setattr(placement.Placement, "compile_iteration", compile_iteration)
