"""The TF1 comparison kit: a TF1-style reference graph and training loop written from the
specification, a shim that runs an unmodified checkout of the original code, and the comparison
that `python -m infogan.parity` prints. The rest of the package never imports it.
"""

# Against a checkout whose plots race (docs/tf1_semantics.md §3), image differences up to this many
# 1/255 levels are warnings when every other target is met; runs of the TF1 code differed by 16-24.
IMAGE_RACE_LEVELS = 32
