"""Best one-to-one assignment (Hungarian algorithm), written out to avoid a SciPy dependency."""
import numpy as np


def max_weight_assignment(weights):
    """Assigns each row to a distinct column maximising the total weight.

    Args:
      weights: [rows, columns] array with rows <= columns.

    Returns:
      int array [rows]: the column given to each row.
    """
    weights = np.asarray(weights, dtype=np.float64)
    rows, columns = weights.shape
    if rows > columns:
        raise ValueError("need rows <= columns, got %s; transpose the matrix" % (weights.shape,))
    cost = weights.max() - weights  # minimise cost == maximise weight
    # Shortest augmenting paths with potentials (1-indexed; column 0 is a sentinel).
    u, v = np.zeros(rows + 1), np.zeros(columns + 1)
    owner = np.zeros(columns + 1, dtype=int)  # owner[j]: row assigned to column j
    for row in range(1, rows + 1):
        owner[0], column = row, 0
        slack = np.full(columns + 1, np.inf)
        previous = np.zeros(columns + 1, dtype=int)
        used = np.zeros(columns + 1, dtype=bool)
        while owner[column] != 0:
            used[column] = True
            current, delta, next_column = owner[column], np.inf, 0
            for j in range(1, columns + 1):
                if used[j]:
                    continue
                reduced = cost[current - 1, j - 1] - u[current] - v[j]
                if reduced < slack[j]:
                    slack[j], previous[j] = reduced, column
                if slack[j] < delta:
                    delta, next_column = slack[j], j
            for j in range(columns + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            column = next_column
        while column:
            owner[column] = owner[previous[column]]
            column = previous[column]
    assignment = np.zeros(rows, dtype=int)
    for j in range(1, columns + 1):
        if owner[j]:
            assignment[owner[j] - 1] = j - 1
    return assignment
