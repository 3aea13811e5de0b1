"""How well predicted categories match labels: accuracy under the best mappings, and the
clustering measures the literature reports beside it (NMI, ARI). NumPy only.

Everything is computed from the contingency table `counts[category, label]`.
"""
import numpy as np

from infogan.tools.assignment import max_weight_assignment


def confusion_matrix(predictions, labels, num_categories, num_labels=10):
    """counts[category, label]."""
    counts = np.zeros((num_categories, num_labels), dtype=np.int64)
    np.add.at(counts, (predictions, labels), 1)
    return counts


def one_to_one_mapping(counts):
    """The label each category is given by the best one-to-one mapping (Hungarian); None for the
    categories left over when there are more categories than labels."""
    if counts.shape[0] <= counts.shape[1]:
        return [int(label) for label in max_weight_assignment(counts)]
    mapping = [None] * counts.shape[0]
    for label, category in enumerate(max_weight_assignment(counts.T)):
        mapping[category] = label
    return mapping


def one_to_one_accuracy(counts):
    """Accuracy under the best one-to-one category -> label mapping (the InfoGAN paper's measure)."""
    mapping = one_to_one_mapping(counts)
    return sum(counts[category, label] for category, label in enumerate(mapping)
               if label is not None) / counts.sum()


def many_to_one_accuracy(counts):
    """Accuracy when each category is mapped to its most frequent label."""
    return counts.max(axis=1).sum() / counts.sum()


def _entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_information(counts):
    """NMI: I(category; label) / mean(H(category), H(label)) (arithmetic mean), in [0, 1]."""
    counts = np.asarray(counts, np.float64)
    h_category, h_label = _entropy(counts.sum(axis=1)), _entropy(counts.sum(axis=0))
    if h_category == 0 or h_label == 0:
        return 1.0 if h_category == h_label else 0.0
    mutual = h_category + h_label - _entropy(counts.ravel())
    return max(0.0, mutual / ((h_category + h_label) / 2))


def adjusted_rand_index(counts):
    """ARI: the Rand index of the two partitions, corrected for chance (1 perfect, ~0 random)."""
    counts = np.asarray(counts, np.float64)

    def pairs(x):
        return (x * (x - 1) / 2).sum()

    together = pairs(counts)
    rows, columns, total = pairs(counts.sum(axis=1)), pairs(counts.sum(axis=0)), pairs(counts.sum())
    expected = rows * columns / total
    maximum = (rows + columns) / 2
    return 1.0 if maximum == expected else float((together - expected) / (maximum - expected))


def shared_categories(counts, share=0.2):
    """The categories that hold two labels or more, each at least `share` of the category: where
    an unsupervised run mixes digits (e.g. 4s with 9s).

    Args:
      counts: the contingency table counts[category, label].
      share: the fraction of a category a label must hold to count.

    Returns:
      [(category, [(label, count), ...] most frequent first), ...] in category order.
    """
    counts = np.asarray(counts)
    found = []
    for category, row in enumerate(counts):
        total = row.sum()
        labels = [(int(label), int(row[label])) for label in np.argsort(-row, kind="stable")
                  if total and row[label] >= share * total]
        if len(labels) >= 2:
            found.append((category, labels))
    return found


def unmatched_labels(counts):
    """The labels that are the most frequent label of no category: digits that a run gave no
    category of their own (e.g. 9s split between a category of 4s and one of 7s).

    Args:
      counts: the contingency table counts[category, label].

    Returns:
      the labels, in order.
    """
    counts = np.asarray(counts)
    leading = {int(np.argmax(row)) for row in counts if row.sum()}
    return [label for label in range(counts.shape[1]) if label not in leading]
