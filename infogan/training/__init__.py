"""Training: the optimiser, the training step (a function of models, optimisers, batch and noise),
the TF1 training loop, its TensorBoard logs and plots, and checkpoints (the port's own and TF1's).
"""
