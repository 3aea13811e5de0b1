"""Installs the `infogan` package (with the shipped MNIST) and its commands; run-time requirements
come from requirements.txt."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name="requirements.txt"):
    lines = (HERE / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-r"))]


setup(
    name="infogan-tf2",
    version="0.2.0",
    description="A faithful TensorFlow 2 port of JonathanRaiman/tensorflow-infogan",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["infogan", "infogan.*"]),
    package_data={"infogan.data": ["mnist/*.gz", "mnist/CHECKSUMS"]},
    python_requires=">=3.10",
    install_requires=read_requirements(),
    entry_points={"console_scripts": [
        "infogan-train = infogan.cli.train:run",
        "infogan-evaluate = infogan.cli.evaluate:run",
        "infogan-sample = infogan.cli.sample:run",
        "infogan-parity = infogan.parity.command:run",
    ]},
    # tf1: `infogan-parity --tf1_repo` runs the TF1 code's contrib layers with tf-slim.
    extras_require={"test": ["pytest>=7,<10", "tf-slim>=1.1,<2"], "tf1": ["tf-slim>=1.1,<2"]},
)
