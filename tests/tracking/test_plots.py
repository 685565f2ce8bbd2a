"""The tracking worker's precision-recall curve, drawn without scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve as sklearn_curve

from errpredict.tracking._plots import precision_recall_curve


@pytest.mark.parametrize("n, decimals, seed", [(10, 1, 0), (1000, 2, 1), (5000, 6, 2)])
def test_equals_scikit_learn_with_ties(n, decimals, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    risk = np.round(rng.random(n), decimals)  # rounding makes ties
    ours = precision_recall_curve(y, risk)
    theirs = sklearn_curve(y, risk)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_one_positive_at_the_top():
    p, r, t = precision_recall_curve(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.9]))
    assert p.tolist() == [1 / 3, 0.5, 1.0, 1.0]
    assert r.tolist() == [1.0, 1.0, 1.0, 0.0]
    assert t.tolist() == [0.1, 0.2, 0.9]
