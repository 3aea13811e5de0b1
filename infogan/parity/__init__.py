"""The TF1 comparison kit: a TF1-style reference graph and training loop written from the
specification, a shim that runs an unmodified checkout of the original code, and the comparison
that `python -m infogan.parity` prints. The rest of the package never imports it.
"""
