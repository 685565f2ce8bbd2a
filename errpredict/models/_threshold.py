"""Alarm thresholds chosen on validation scores."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

__all__ = ["choose_threshold", "recall_at_precision"]


def choose_threshold(y: np.ndarray, p: np.ndarray, target_precision: float | None = None) -> float:
    """Best-F1 threshold, or the lowest one reaching ``target_precision``.

    When no threshold reaches the target precision, the one with the highest
    precision is returned.

    >>> choose_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.35
    """
    if len(np.unique(y)) < 2:
        return 0.5
    prec, rec, thr = precision_recall_curve(y, p)
    prec, rec = prec[:-1], rec[:-1]
    if target_precision is None:
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
        return float(thr[int(np.argmax(f1))])
    ok = np.flatnonzero(prec >= target_precision)
    if ok.size:
        return float(thr[ok[0]])
    return float(thr[int(np.argmax(prec))])


def recall_at_precision(y: np.ndarray, p: np.ndarray, precision: float) -> float:
    """Highest recall among thresholds whose precision is at least ``precision``."""
    if len(np.unique(y)) < 2:
        return float("nan")
    prec, rec, _ = precision_recall_curve(y, p)
    ok = prec >= precision
    return float(rec[ok].max()) if ok.any() else 0.0
