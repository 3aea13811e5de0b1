"""The Hungarian assignment, the accuracy measures, NMI and ARI on known matrices."""
import itertools

import numpy as np
import pytest

from infogan.tools.assignment import max_weight_assignment


def brute_force(weights):
    rows, columns = weights.shape
    return max(sum(weights[i, p[i]] for i in range(rows))
               for p in itertools.permutations(range(columns), rows))


def test_known_permutation_is_recovered():
    counts = np.eye(10, dtype=int)[np.random.RandomState(0).permutation(10)] * 100 + 1
    assignment = max_weight_assignment(counts)
    assert np.all(counts[np.arange(10), assignment] == 101)


def test_greedy_would_fail_here():
    weights = np.array([[10, 9], [9, 0]])  # greedy takes (0,0)=10 then 0; optimum is 9+9
    assert list(max_weight_assignment(weights)) == [1, 0]


def test_matches_brute_force_on_random_rectangular_matrices():
    rng = np.random.RandomState(1)
    for _ in range(100):
        rows = rng.randint(1, 6)
        weights = rng.randint(0, 30, size=(rows, rng.randint(rows, 7))).astype(float)
        assignment = max_weight_assignment(weights)
        assert len(set(assignment)) == rows
        assert weights[np.arange(rows), assignment].sum() == brute_force(weights)


def test_more_rows_than_columns_is_refused():
    with pytest.raises(ValueError, match="rows <= columns"):
        max_weight_assignment(np.zeros((3, 2)))


def test_accuracies_from_a_confusion_matrix():
    from infogan.tools.metrics import confusion_matrix, many_to_one_accuracy, one_to_one_accuracy
    predictions = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    labels = np.array([1, 1, 0, 0, 2, 2, 0, 2])
    counts = confusion_matrix(predictions, labels, 3, 3)
    assert counts.tolist() == [[0, 2, 1], [2, 0, 0], [1, 0, 2]]
    assert one_to_one_accuracy(counts) == 6 / 8       # 0->1, 1->0, 2->2
    assert many_to_one_accuracy(counts) == 6 / 8
    wide = confusion_matrix(np.array([0, 0, 0, 1]), np.array([3, 3, 1, 2]), 2, 4)
    assert one_to_one_accuracy(wide) == 3 / 4 and many_to_one_accuracy(wide) == 3 / 4
    tall = confusion_matrix(np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1]), 4, 2)
    assert one_to_one_accuracy(tall) == 2 / 4 and many_to_one_accuracy(tall) == 1.0


def test_mapping_nmi_and_ari():
    from infogan.tools.metrics import (adjusted_rand_index, confusion_matrix,
                                       normalized_mutual_information, one_to_one_mapping)
    counts = confusion_matrix(np.array([0, 0, 1, 1, 2, 2, 2, 0]), np.array([1, 1, 0, 0, 2, 2, 0, 2]), 3, 3)
    assert one_to_one_mapping(counts) == [1, 0, 2]
    tall = confusion_matrix(np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1]), 4, 2)
    assert one_to_one_mapping(tall).count(None) == 2
    # Labels [0, 0, 1, 1] clustered as [0, 0, 1, 2]: a refinement, so I = H(labels) = ln 2 and
    # NMI = 2 ln 2 / (ln 2 + 1.5 ln 2) = 0.8; ARI = (1 - 0.5 * 1 / 6) / (1.5 - 1 / 12) = 4 / 7.
    refined = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1]), 3, 2)
    assert normalized_mutual_information(refined) == pytest.approx(0.8)
    assert adjusted_rand_index(refined) == pytest.approx(4 / 7)
    perfect = confusion_matrix(np.array([2, 2, 0, 1]), np.array([0, 0, 1, 2]), 3, 3)
    assert normalized_mutual_information(perfect) == pytest.approx(1.0)
    assert adjusted_rand_index(perfect) == pytest.approx(1.0)
    rng = np.random.RandomState(0)
    unrelated = confusion_matrix(rng.randint(0, 10, 20000), rng.randint(0, 10, 20000), 10)
    assert normalized_mutual_information(unrelated) < 0.01
    assert abs(adjusted_rand_index(unrelated)) < 0.01


def test_shared_categories_name_the_digits_a_category_mixes():
    from infogan.tools.metrics import shared_categories
    counts = np.zeros((3, 10), np.int64)
    counts[0, 4], counts[0, 9], counts[0, 1] = 500, 400, 10  # 4s and 9s
    counts[1, 7] = 900                                       # one digit
    counts[2, 3], counts[2, 5] = 800, 150                    # 5s below a fifth of the category
    assert shared_categories(counts) == [(0, [(4, 500), (9, 400)])]
    assert shared_categories(counts, share=0.1) == [(0, [(4, 500), (9, 400)]), (2, [(3, 800), (5, 150)])]
    assert shared_categories(np.zeros((2, 10))) == []


def test_unmatched_labels_are_the_digits_that_lead_no_category():
    from infogan.tools.metrics import unmatched_labels
    counts = np.zeros((10, 10), np.int64)
    for digit in range(10):
        counts[digit, digit] = 100
    assert unmatched_labels(counts) == []
    counts[9, 9], counts[9, 1] = 40, 60  # category 9 becomes a second category of 1s
    assert unmatched_labels(counts) == [9]
    assert unmatched_labels(np.zeros((2, 10))) == list(range(10))
