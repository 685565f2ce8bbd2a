"""Live metrics of labelled predictions: threshold metrics, PR-AUC, calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

__all__ = ["N_BINS", "live_figures"]

#: Equal-width risk bins on [0, 1] for the expected calibration error.
N_BINS = 10


def _calibration(risk: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    bins = np.minimum((risk * N_BINS).astype("int64"), N_BINS - 1)
    n = np.bincount(bins, minlength=N_BINS)
    sum_risk = np.bincount(bins, weights=risk, minlength=N_BINS)
    sum_label = np.bincount(bins, weights=label.astype("float64"), minlength=N_BINS)
    filled = n > 0
    mean_risk = np.divide(sum_risk, n, out=np.zeros(N_BINS), where=filled)
    rate = np.divide(sum_label, n, out=np.zeros(N_BINS), where=filled)
    ece = float(np.sum(n[filled] * np.abs(mean_risk[filled] - rate[filled])) / len(risk))
    table = [
        {
            "lower": i / N_BINS,
            "upper": (i + 1) / N_BINS,
            "n": int(n[i]),
            "mean_predicted": float(mean_risk[i]) if filled[i] else None,
            "observed_rate": float(rate[i]) if filled[i] else None,
        }
        for i in range(N_BINS)
    ]
    return {
        "ece": ece,
        "mean_predicted": float(risk.mean()),
        "observed_rate": float(label.mean()),
        "bins": table,
    }


def live_figures(risk: np.ndarray, label: np.ndarray, *, threshold: float) -> dict[str, Any]:
    """Metrics of risks against labels at ``threshold``.

    Precision is 0.0 when nothing reached the threshold, recall 0.0 when
    there is no positive (scikit-learn's ``zero_division=0``); PR-AUC is
    ``None`` when the labels hold a single class. With no labelled
    prediction every figure is ``None`` and ``n`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> m = live_figures(np.array([0.9, 0.8, 0.3, 0.1]), np.array([True, False, True, False]),
    ...                  threshold=0.5)
    >>> m["precision"], m["recall"], round(m["brier"], 4), m["pr_auc"]
    (0.5, 0.5, 0.2875, 0.8333333333333333)
    """
    risk = np.asarray(risk, dtype="float64")
    label = np.asarray(label, dtype=bool)
    n = len(risk)
    out: dict[str, Any] = {"n": n, "positives": int(label.sum()), "threshold": float(threshold)}
    if n == 0:
        out["alarms"] = 0
        for key in ("precision", "recall", "f1", "pr_auc", "brier", "ece", "calibration"):
            out[key] = None
        return out
    alarm = risk >= threshold
    tp = int(np.sum(alarm & label))
    fp = int(np.sum(alarm & ~label))
    fn = int(np.sum(~alarm & label))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    one_class = label.all() or not label.any()
    calibration = _calibration(risk, label)
    out.update(
        {
            "alarms": int(alarm.sum()),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "pr_auc": None if one_class else float(average_precision_score(label, risk)),
            "brier": float(np.mean((risk - label) ** 2)),
            "ece": calibration["ece"],
            "calibration": calibration,
        }
    )
    return out
