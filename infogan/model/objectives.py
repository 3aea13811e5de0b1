"""GAN objectives and the mutual-information lower bound (docs/tf1_semantics.md §5).

Each expression keeps the TF1 code's operation order, so float32 results agree to the last bits
where the kernels do.
"""
import numpy as np
import tensorflow as tf

from infogan.model.noise import NoiseLayout
from infogan.model.replicas import batch_mean

TINY = 1e-6
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def discriminator_objective(prob_fake, prob_real):
    """What D maximises: mean(log(1 - p_fake + TINY)) + mean(log(p_real + TINY))."""
    return (batch_mean(tf.math.log(1.0 - prob_fake + TINY))
            + batch_mean(tf.math.log(prob_real + TINY)))


def generator_objective(prob_fake):
    """What G maximises: mean(log(p_fake + TINY))."""
    return batch_mean(tf.math.log(prob_fake + TINY))


def split_codes(noise, categorical_cardinality, num_continuous):
    """Splits InfoGAN noise into its latent codes (`NoiseLayout.split`).

    Returns:
      (list of one-hot blocks, one per categorical code; the continuous codes [n, num_continuous]).
    """
    return NoiseLayout(categorical_cardinality, num_continuous).split(noise)


def mutual_info_from_logits(q_output, true_categoricals, true_continuous,
                            categorical_lambda, continuous_lambda, fix_std):
    """The MI lower bound from the Q network's output.

    Args:
      q_output: [n, sum(cardinalities) + num_continuous (x2 without fix_std)] Q outputs.
      true_categoricals: list of one-hot blocks [n, k].
      true_continuous: [n, num_continuous] codes.
      categorical_lambda, continuous_lambda: weights of the two log-likelihoods.
      fix_std: std 1 if True, else sqrt(exp(second half of the continuous outputs)).

    Returns:
      dict of scalars: mutual_info, ll_categorical, ll_continuous, std_contig (batch means).
    """
    offset, ll_categorical = 0, None
    for true_categorical in true_categoricals:
        cardinality = true_categorical.shape[1]
        prob = tf.nn.softmax(q_output[:, offset:offset + cardinality])
        block = tf.reduce_sum(tf.math.log(prob + TINY) * true_categorical, axis=1)
        ll_categorical = block if ll_categorical is None else ll_categorical + block
        offset += cardinality
    if ll_categorical is None:
        ll_categorical = tf.constant(0.0, tf.float32)

    num_continuous = true_continuous.shape[1]
    mean = q_output[:, offset:offset + num_continuous]
    if fix_std:
        std = tf.ones_like(mean)
    else:
        std = tf.sqrt(tf.exp(q_output[:, offset + num_continuous:offset + 2 * num_continuous]))
    epsilon = (true_continuous - mean) / (std + TINY)
    ll_continuous = tf.reduce_sum(
        -_HALF_LOG_2PI - tf.math.log(std + TINY) - 0.5 * tf.square(epsilon), axis=1)

    lower_bound = continuous_lambda * ll_continuous + categorical_lambda * ll_categorical
    return {
        "mutual_info": batch_mean(lower_bound),
        "ll_categorical": batch_mean(ll_categorical),
        "ll_continuous": batch_mean(ll_continuous),
        "std_contig": batch_mean(std),
    }


def reconstruct_mutual_info(q_network, true_categoricals, true_continuous, categorical_lambda,
                            continuous_lambda, fix_std, hidden, is_training):
    """Runs the Q network on the discriminator's hidden features and scores the codes.

    Args:
      q_network: a `MutualInfoHead` (TF1's `mutual_info` scope).
      hidden: the discriminator's hidden features of the generated images.
      is_training: batch statistics in Q's batch norm if True.
      (others as in `mutual_info_from_logits`)

    Returns:
      dict of scalars: mutual_info, ll_categorical, ll_continuous, std_contig.
    """
    q_output = q_network(hidden, training=is_training)
    return mutual_info_from_logits(q_output, true_categoricals, true_continuous,
                                   categorical_lambda, continuous_lambda, fix_std)
