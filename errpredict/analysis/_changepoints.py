"""Change points in a mean: PELT on a Gaussian mean-change cost.

PELT (Killick, Fearnhead and Eckley, "Optimal detection of changepoints with
a linear computational cost", JASA 2012) finds the segmentation that
minimises the total segment cost plus a penalty per change point, exactly,
pruning candidates that can never again be optimal. The cost of a segment is
the weighted residual sum of squares about its weighted mean, divided by the
noise variance (twice the Gaussian negative log-likelihood up to a constant),
computed from cumulative sums so that each step is one vectorised numpy
expression over the surviving candidates.
"""

from __future__ import annotations

import math

import numpy as np

from errpredict.exceptions import ConfigError

__all__ = ["detect_change_points", "robust_scale"]


def robust_scale(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Noise standard deviation per unit weight, from first differences (MAD).

    Differences of neighbouring points (points with zero weight are skipped)
    cancel the mean, so a few shifts barely move the estimate; each difference
    is standardised by its weights, ``(y[i] - y[i-1]) / sqrt(1/w[i] + 1/w[i-1])``.
    Returns 0.0 for fewer than two weighted points.
    """
    y = np.asarray(values, dtype="float64")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype="float64")
    keep = w > 0
    y, w = y[keep], w[keep]
    if y.size < 2:
        return 0.0
    d = np.diff(y) / np.sqrt(1.0 / w[1:] + 1.0 / w[:-1])
    mad = float(np.median(np.abs(d - np.median(d))))
    return mad / 0.6744897501960817


def detect_change_points(
    values: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    penalty: float | None = None,
    min_size: int = 3,
    scale: float | None = None,
) -> np.ndarray:
    """Indices where the mean of ``values`` shifts, by PELT.

    Parameters
    ----------
    values
        The series, one value per time step, no NaN.
    weights
        Non-negative weight per value (the value's precision, such as the
        number of events behind a rate); ``None`` weighs all values 1. Values
        with weight 0 do not count.
    penalty
        Cost added per change point, in units of the normalised cost; the
        default ``3 log n`` is the MBIC penalty (Zhang and Siegmund, 2007),
        the default of R's ``changepoint`` package. Larger gives fewer points.
    min_size
        Minimum segment length, in time steps.
    scale
        Noise standard deviation per unit weight; ``None`` estimates it with
        :func:`robust_scale`. A series without noise (scale 0) has no change
        point.

    Returns
    -------
    numpy.ndarray
        Sorted int64 positions ``i`` at which a new segment starts
        (``values[i]`` is the first value after the shift).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = np.r_[rng.normal(0, 1, 50), rng.normal(4, 1, 30), rng.normal(1, 1, 40)]
    >>> detect_change_points(x).tolist()
    [50, 80]
    """
    y = np.asarray(values, dtype="float64")
    if y.ndim != 1:
        raise ConfigError(f"detect_change_points expects a 1-d series; got shape {y.shape}")
    if np.isnan(y).any():
        raise ConfigError(
            "detect_change_points: 'values' has NaN at position "
            f"{int(np.flatnonzero(np.isnan(y))[0])}; drop or fill missing values, or give "
            "them weight 0"
        )
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype="float64")
    if w.shape != y.shape or np.isnan(w).any() or (w < 0).any():
        raise ConfigError(
            "detect_change_points: 'weights' must be non-negative numbers, one per value; "
            f"got shape {w.shape} for {y.shape[0]} values"
        )
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ConfigError(
            "The 'min_size' parameter of detect_change_points must be an int in [1, inf). "
            f"Got {min_size!r} instead."
        )
    n = y.size
    if penalty is None:
        penalty = 3.0 * math.log(max(n, 2))
    if not penalty >= 0:
        raise ConfigError(
            "The 'penalty' parameter of detect_change_points must be a float in [0, inf). "
            f"Got {penalty!r} instead."
        )
    sigma = robust_scale(y, w) if scale is None else float(scale)
    if n < 2 * min_size or not sigma > 0 or (w > 0).sum() < 2:
        return np.zeros(0, dtype="int64")
    wsum = w.sum()
    center = float((w * y).sum() / wsum)
    z = (y - center) / sigma
    cw = np.r_[0.0, np.cumsum(w)]
    c1 = np.r_[0.0, np.cumsum(w * z)]
    c2 = np.r_[0.0, np.cumsum(w * z * z)]
    return _pelt(cw, c1, c2, n, float(penalty), int(min_size))


def _segment_cost(cw, c1, c2, starts: np.ndarray, end: int) -> np.ndarray:
    """Normalised cost of the segments ``[start, end)``: weighted squared deviations."""
    sw = cw[end] - cw[starts]
    s1 = c1[end] - c1[starts]
    s2 = c2[end] - c2[starts]
    # a segment of zero weight has s1 == s2 == 0, so any positive divisor gives 0
    return np.maximum(s2 - s1 * s1 / np.maximum(sw, 1e-300), 0.0)


def _pelt(cw, c1, c2, n: int, penalty: float, min_size: int) -> np.ndarray:
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype="int64")
    never = np.iinfo("int64").max // 2
    # candidate last change points, compacted in place; ``dead`` is the time at
    # which a candidate was shown unable to start the last segment. It may still
    # be optimal for ends closer than min_size, so it leaves min_size steps later.
    cand = np.zeros(n + 1, dtype="int64")
    dead = np.full(n + 1, never, dtype="int64")
    k = 1
    for t in range(min_size, n + 1):
        new = t - min_size
        if new >= min_size:
            cand[k], dead[k] = new, never
            k += 1
        c = cand[:k]
        total = best[c] + _segment_cost(cw, c1, c2, c, t)
        i = int(total.argmin())
        value = float(total[i]) + penalty
        best[t] = value
        last[t] = c[i]
        d = dead[:k]
        np.minimum(d, np.where(total > value + 1e-9 * (1.0 + abs(value)), t, never), out=d)
        gone = d + min_size <= t + 1  # not a candidate from the next step on
        if gone.any():
            keep = ~gone
            m = int(keep.sum())
            cand[:m], dead[:m] = c[keep], d[keep]
            k = m
    points = []
    t = n
    while t > 0:
        t = int(last[t])
        if t > 0:
            points.append(t)
    return np.array(sorted(points), dtype="int64")
