"""The port's commands: train (`train.py`, `infogan-train`), evaluate and sample. Each defines its
flags, checks them before TensorFlow loads, and reports bad input as one line with exit status 2.
(The parity command belongs to the TF1 kit: `infogan.parity.command`.)
"""
