"""Scoring risk on the decision grid: ranking, alarms, onsets and lead time."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from errpredict.models._threshold import recall_at_precision

__all__ = ["score_risk", "persistence_risk", "METRIC_KEYS"]

METRIC_KEYS = ("pr_auc", "onset_pr_auc", "roc_auc", "precision", "recall", "f1", "threshold",
               "recall_at_p90", "lead_time_median_s", "alarms_per_entity_day")

_DAY_NS = 86_400 * 1_000_000_000


def persistence_risk(recent: np.ndarray, min_errors: int) -> np.ndarray:
    """The persistence baseline: what just happened will go on.

    Risk ``r / (r + min_errors)`` of ``r`` matching errors in the last horizon;
    it crosses 0.5 exactly when the last horizon met the target.
    """
    r = recent.astype(np.float64)
    return r / (r + float(min_errors))


def _safe(fn, y, p) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    return float(fn(y, p))


def _lead_times(y: np.ndarray, alarm: np.ndarray, first_error_ns: np.ndarray,
                t_ns: np.ndarray) -> tuple[np.ndarray, int]:
    """Lead times (s) of detected episodes and the number of episodes, one entity.

    An episode is a run of positive labels. Its first error is the first
    matching error after the run starts; the lead time is that error's time
    minus the first alarm raised during the run (negative when late).
    """
    pos = y == 1
    starts = np.flatnonzero(pos & ~np.concatenate([[False], pos[:-1]]))
    ends = np.flatnonzero(pos & ~np.concatenate([pos[1:], [False]]))
    leads = []
    for s, e in zip(starts, ends, strict=True):
        hits = np.flatnonzero(alarm[s : e + 1])
        if hits.size:
            leads.append((first_error_ns[s] - t_ns[s + hits[0]]) / 1e9)
    return np.asarray(leads, dtype=np.float64), len(starts)


def score_risk(
    y: np.ndarray,
    risk: np.ndarray,
    *,
    threshold: float,
    recent: np.ndarray,
    min_errors: int,
    entity: np.ndarray,
    t_ns: np.ndarray,
    first_error_ns: np.ndarray,
    step_ns: int,
    details: bool = False,
) -> dict:
    """Every figure of an evaluation, on the labelled cells of a grid.

    ``entity``, ``t_ns``, ``recent`` (matching errors in the last horizon) and
    ``first_error_ns`` (time of the next matching error after ``t``) are per
    cell; cells of one entity must be in time order. With ``details``, the
    result also holds ``lead_times_s``: the lead time of every detected
    episode (entities in sorted order, episodes in time order).
    """
    y = y.astype(np.int64)
    alarm = risk >= threshold
    onset = recent < min_errors
    tp = int(np.sum(alarm & (y == 1)))
    fp = int(np.sum(alarm & (y == 0)))
    fn = int(np.sum(~alarm & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    leads, episodes, raises = [], 0, 0
    entities = np.unique(entity)
    for e in entities:
        sel = np.flatnonzero(entity == e)
        lt, n_ep = _lead_times(y[sel], alarm[sel], first_error_ns[sel], t_ns[sel])
        leads.append(lt)
        episodes += n_ep
        a = alarm[sel]
        raises += int(a[0]) + int(np.sum(a[1:] & ~a[:-1]))
    leads_all = np.concatenate(leads) if leads else np.empty(0)
    n_days = len(y) * step_ns / _DAY_NS
    out = {
        "pr_auc": _safe(average_precision_score, y, risk),
        "onset_pr_auc": _safe(average_precision_score, y[onset], risk[onset]),
        "roc_auc": _safe(roc_auc_score, y, risk),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "threshold": float(threshold),
        "recall_at_p90": recall_at_precision(y, risk, 0.9),
        "lead_time_median_s": float(np.median(leads_all)) if leads_all.size else None,
        "alarms_per_entity_day": raises / n_days if n_days else None,
        "episodes": episodes,
        "episodes_detected": int(leads_all.size),
        "positives": int(y.sum()),
        "n": int(len(y)),
        "positive_rate": float(y.mean()) if len(y) else None,
    }
    if details:
        out["lead_times_s"] = [float(v) for v in leads_all]
    return out
