"""Training on several devices or hosts with tf.distribute, with the maths of one device.

`replicas`: what the networks, objectives and optimiser do inside a replica (batch statistics and
batch means over the global batch, gradients summed over replicas); on one device it is the
single-device computation, op for op. `strategies`: building a strategy from the flags, and the
distributed training iteration (host-drawn batches and noise split across replicas).
"""
