"""The InfoGAN model of the TF1 code: noise, architecture strings, the three batch norms, the
generator, discriminator and Q networks, and the objectives.

`config` and `architecture` import no TensorFlow (flags are checked with them first).
"""
