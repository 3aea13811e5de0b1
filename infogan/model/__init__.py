"""The InfoGAN model of the TF1 code: noise, architecture strings, the three batch norms, the
generator, discriminator and Q networks, the objectives, and `replicas`: the global-batch means,
moments and gradient sums these compute inside the replicas of a tf.distribute strategy.

`config` and `architecture` import no TensorFlow (flags are checked with them first).
"""
