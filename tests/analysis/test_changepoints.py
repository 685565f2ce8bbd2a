from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errpredict.analysis import detect_change_points
from errpredict.analysis._changepoints import _segment_cost, robust_scale
from errpredict.exceptions import ConfigError


def _optimal_partition(y, w, penalty, min_size, scale):
    """Exhaustive dynamic programme (no pruning), the reference PELT must match."""
    n = len(y)
    z = (y - (w * y).sum() / w.sum()) / scale
    cw = np.r_[0.0, np.cumsum(w)]
    c1 = np.r_[0.0, np.cumsum(w * z)]
    c2 = np.r_[0.0, np.cumsum(w * z * z)]
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=int)
    for t in range(min_size, n + 1):
        cand = np.array([0, *range(min_size, t - min_size + 1)])
        total = best[cand] + _segment_cost(cw, c1, c2, cand, t)
        i = int(np.argmin(total))
        best[t], last[t] = total[i] + penalty, cand[i]
    points, t = [], n
    while t > 0:
        t = int(last[t])
        if t > 0:
            points.append(t)
    return sorted(points), best[n]


def test_two_shifts_in_a_seeded_gaussian_series():
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(0, 1, 50), rng.normal(4, 1, 30), rng.normal(1, 1, 40)]
    assert detect_change_points(x).tolist() == [50, 80]


def test_a_larger_penalty_keeps_only_the_big_shift():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, 60), rng.normal(2, 1, 60), rng.normal(8, 1, 60)]
    assert detect_change_points(x, scale=1.0).tolist() == [60, 120]
    assert detect_change_points(x, scale=1.0, penalty=300.0).tolist() == [120]
    assert detect_change_points(x, scale=1.0, penalty=3000.0).tolist() == []


def test_min_size_bounds_the_segments():
    x = np.r_[np.zeros(20), 50.0, np.zeros(20)]
    assert detect_change_points(x, scale=1.0, min_size=1).tolist() == [20, 21]
    points = detect_change_points(x, scale=1.0, min_size=5)
    assert np.diff(np.r_[0, points, x.size]).min() >= 5


def test_zero_weight_values_do_not_count():
    x = np.r_[np.zeros(30), 100.0, np.zeros(29)]
    w = np.ones_like(x)
    w[30] = 0.0
    assert detect_change_points(x, w, scale=1.0, min_size=1).tolist() == []
    assert detect_change_points(x, scale=1.0, min_size=1).tolist() == [30, 31]


def test_noise_free_and_short_series_have_no_change_point():
    assert detect_change_points(np.r_[np.zeros(10), np.ones(10)]).tolist() == []  # scale 0
    assert detect_change_points(np.arange(5.0), scale=1.0, min_size=3).tolist() == []


def test_robust_scale_ignores_a_shift_and_standardises_by_weight():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 2, 2000), rng.normal(50, 2, 2000)]
    assert robust_scale(x) == pytest.approx(2.0, rel=0.05)
    w = np.full(4000, 4.0)
    assert robust_scale(x / 2.0, w) == pytest.approx(2.0, rel=0.05)
    assert robust_scale(np.array([1.0])) == 0.0


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(-20, 20), min_size=1, max_size=40),
    weights=st.lists(st.integers(0, 3), min_size=40, max_size=40),
    penalty=st.floats(0.0, 30.0),
    min_size=st.integers(1, 4),
)
def test_pelt_finds_the_optimal_segmentation(values, weights, penalty, min_size):
    y = np.asarray(values, dtype=float)
    w = np.asarray(weights[: y.size], dtype=float)
    if w.sum() == 0:
        w[0] = 1.0
    got = detect_change_points(y, w, penalty=penalty, min_size=min_size, scale=1.0)
    if y.size < 2 * min_size or (w > 0).sum() < 2:
        assert got.tolist() == []
        return
    want, cost = _optimal_partition(y, w, penalty, min_size, 1.0)
    assert got.tolist() == want
    assert math.isfinite(cost)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1.0, math.nan, 2.0],), {}, "NaN at position 1"),
        (([1.0, 2.0], [1.0, -1.0]), {}, "non-negative"),
        (([1.0, 2.0], [1.0]), {}, "one per value"),
        (([1.0, 2.0],), {"min_size": 0}, r"'min_size' parameter .* \[1, inf\)"),
        (([1.0, 2.0],), {"penalty": -1.0}, r"'penalty' parameter"),
        (([[1.0, 2.0]],), {}, "1-d series"),
    ],
)
def test_bad_input_says_what_to_do(args, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        detect_change_points(*args, **kwargs)
