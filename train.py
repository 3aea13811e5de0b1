"""Train InfoGAN on MNIST or an image folder: `python train.py --categorical_lambda=1.0 --fix_std`.

The flags are those of the TF1 train.py (`--help` lists them); the logic lives in the `infogan`
package, and `infogan-train` is the same command once the package is installed.
"""
from infogan.cli import train

if __name__ == "__main__":
    train.run()
