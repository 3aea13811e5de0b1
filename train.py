"""Train InfoGAN on MNIST or an image folder: `python train.py --categorical_lambda=1.0 --fix_std`.

The flags are those of the TF1 train.py; the logic lives in the `infogan` package.
"""
from absl import app

from infogan import cli

if __name__ == "__main__":
    cli.define_flags()
    app.run(cli.main, flags_parser=cli.parse_flags)
