"""What a replay gives back: the loop's scores, daily prequential metrics, drifts and swaps."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from errpredict.online._drift import DriftEvent

__all__ = ["ReplayProgress", "ReplayResult", "Swap", "daily_metrics", "summarize"]

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Swap:
    """The serving model changed: when, from which version to which, and why."""

    time: pd.Timestamp
    from_version: str
    to_version: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = self.time.isoformat()
        return out


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay is: passed to the ``progress`` callback after every micro-batch.

    ``acknowledged`` counts the predictions committed to the feedback store
    so far (they survive a crash); ``note`` names what just happened
    (``"drift"``, ``"swap"``, ``"decision"``, ``"feedback"``) or is ``None``.
    """

    events_done: int
    events_total: int
    steps: int
    now: pd.Timestamp | None
    drift_events: int
    swaps: int
    acknowledged: int
    note: str | None = None
    detail: Any = None


def _pr_auc(y: np.ndarray, risk: np.ndarray) -> float | None:
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(average_precision_score(y, risk))


def _threshold_figures(y: np.ndarray, alarm: np.ndarray) -> tuple[float, float]:
    tp = int(np.sum(alarm & (y == 1)))
    fp = int(np.sum(alarm & (y == 0)))
    fn = int(np.sum(~alarm & (y == 1)))
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def daily_metrics(t_ns: np.ndarray, y: np.ndarray, loop_risk: np.ndarray,
                  loop_alarm: np.ndarray, frozen_risk: np.ndarray, frozen_alarm: np.ndarray
                  ) -> pd.DataFrame:
    """PR-AUC, precision and recall per UTC day, for the loop and for the frozen model.

    Only cells with a label (``y`` not NaN) count.
    """
    ok = ~np.isnan(y)
    day = t_ns[ok] // _DAY_NS
    rows = []
    for d in np.unique(day):
        sel = np.flatnonzero(ok)[day == d]
        yy = y[sel].astype(np.int64)
        p, r = _threshold_figures(yy, loop_alarm[sel])
        fp_, fr = _threshold_figures(yy, frozen_alarm[sel])
        rows.append({
            "day": pd.Timestamp(int(d) * _DAY_NS, unit="ns", tz="UTC").date().isoformat(),
            "n": int(len(sel)), "positives": int(yy.sum()),
            "pr_auc": _pr_auc(yy, loop_risk[sel]), "precision": p, "recall": r,
            "frozen_pr_auc": _pr_auc(yy, frozen_risk[sel]), "frozen_precision": fp_,
            "frozen_recall": fr,
        })
    cols = ["day", "n", "positives", "pr_auc", "precision", "recall", "frozen_pr_auc",
            "frozen_precision", "frozen_recall"]
    return pd.DataFrame(rows, columns=cols)


def summarize(*, t_ns: np.ndarray, y: np.ndarray, loop_risk: np.ndarray,
              frozen_risk: np.ndarray, drift_at: pd.Timestamp | None,
              drift_events: list[DriftEvent], swaps: list[Swap], extra: dict) -> dict:
    """The headline figures: PR-AUC of the loop and of the frozen model after the drift.

    "After the drift" starts at ``drift_at`` when given, else at the first
    detected drift; without either the figures cover the whole replay.
    """
    ok = ~np.isnan(y)
    start, basis = None, "whole replay"
    if drift_at is not None:
        start, basis = drift_at, "drift_at"
    elif drift_events:
        start, basis = drift_events[0].time, "first detected drift"
    after = ok if start is None else ok & (t_ns >= start.value)
    yy = y[after].astype(np.int64)
    out: dict[str, Any] = {
        "after_drift_from": None if start is None else start.isoformat(),
        "after_drift_basis": basis,
        "cells_after_drift": int(after.sum()),
        "positives_after_drift": int(yy.sum()),
        "pr_auc_after_drift": _pr_auc(yy, loop_risk[after]),
        "frozen_pr_auc_after_drift": _pr_auc(yy, frozen_risk[after]),
        "pr_auc": _pr_auc(y[ok].astype(np.int64), loop_risk[ok]),
        "frozen_pr_auc": _pr_auc(y[ok].astype(np.int64), frozen_risk[ok]),
        "drift_events": len(drift_events),
        "swaps": len(swaps),
    }
    if drift_at is not None:
        later = [e for e in drift_events if e.time is not None and e.time >= drift_at]
        out["first_drift_after_drift_at"] = later[0].time.isoformat() if later else None
        out["detection_delay_s"] = (later[0].time - drift_at).total_seconds() if later else None
        out["drift_events_before_drift_at"] = len(drift_events) - len(later)
        promoted = [s for s in swaps if s.time >= drift_at]
        out["first_swap_after_drift_at"] = promoted[0].time.isoformat() if promoted else None
    out.update(extra)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class ReplayResult:
    """The outcome of :func:`replay`.

    Attributes
    ----------
    scores
        The loop's risk for every entity at every step: ``entity``,
        ``timestamp``, ``risk``, as ``errpredict predict`` writes them.
    daily
        Prequential metrics per UTC day: ``pr_auc``, ``precision``,
        ``recall`` of the loop and ``frozen_*`` of the batch model that was
        never updated.
    drift_events
        Every :class:`~errpredict.online.DriftEvent`, in order.
    swaps
        Every :class:`Swap` of the serving model.
    decisions
        Every :class:`~errpredict.updater.UpdateDecision` of the updater.
    summary
        Headline figures: ``pr_auc_after_drift`` (the loop),
        ``frozen_pr_auc_after_drift``, detection delay, counts.
    """

    scores: pd.DataFrame
    daily: pd.DataFrame
    drift_events: list[DriftEvent] = field(default_factory=list)
    swaps: list[Swap] = field(default_factory=list)
    decisions: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the scores, as plain JSON types."""
        out = {
            "pr_auc_after_drift": self.summary.get("pr_auc_after_drift"),
            "frozen_pr_auc_after_drift": self.summary.get("frozen_pr_auc_after_drift"),
            "drift_events": [e.to_dict() for e in self.drift_events],
            "swaps": [s.to_dict() for s in self.swaps],
            "decisions": [d.to_dict() for d in self.decisions],
            "daily": self.daily.to_dict("records"),
            "summary": self.summary,
        }
        return _plain(out)

    def to_json(self, indent: int | None = None) -> str:
        """One JSON object (what ``errpredict replay --json`` prints)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)
