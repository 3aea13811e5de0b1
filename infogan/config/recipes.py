"""Recipes: named sets of flag values that a run starts from (flags given explicitly still win)."""
from infogan.config.errors import require
from infogan.model.config import GAN_LOSSES

RECIPES = {
    "tf1": {},  # the TF1 code's defaults
    # The InfoGAN paper's MNIST setup, as openai/InfoGAN (whose numbers the paper reports) builds
    # it: no batch norm on D's first layer, D's fc layer on the flattened features (1024 wide, and
    # Q on them), the MI loss subtracted from both GAN losses, batches of 128.
    "paper": {"discriminator": "conv:4:2:64:lrelu:nobn,conv:4:2:128:lrelu,reshape:6272,fc:1024:lrelu",
              "mutual_info_loss": GAN_LOSSES, "batch_size": 128},
}


def with_recipe(config, recipe, keep=()):
    """`config` with the settings of RECIPES[recipe], except the fields named in `keep` (the flags
    given explicitly).

    Args:
      config: a TrainConfig.
      recipe: a RECIPES name.
      keep: flag names whose values in `config` win over the recipe's.

    Returns:
      the TrainConfig, its `recipe` set.

    Raises:
      ConfigError: an unknown recipe.
    """
    require(recipe in RECIPES, "--recipe must be one of %s, got %r" % (", ".join(RECIPES), recipe))
    settings = {key: value for key, value in RECIPES[recipe].items() if key not in keep}
    return config.replace(recipe=recipe, **settings)
