"""Evaluation of a risk model on a history, with the persistence baseline beside it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.features import Target
from errpredict.features._grid import Grid
from errpredict.models._metrics import persistence_risk, score_risk

__all__ = ["GridTruth", "grid_truth", "score_with_baseline"]


@dataclass
class GridTruth:
    """Per-cell truth on a grid, time-major ``(T * E,)``: label, recent errors and the
    time of the next matching error."""

    y: np.ndarray
    recent: np.ndarray
    first_error_ns: np.ndarray
    entity: np.ndarray
    t_ns: np.ndarray
    alive: np.ndarray  # the entity exists: from its first event to a horizon after its last

    @property
    def scored(self) -> np.ndarray:
        """Cells that training and evaluation use: labelled, and the entity alive."""
        return ~np.isnan(self.y) & self.alive


def grid_truth(events: pd.DataFrame, grid: Grid, target: Target) -> GridTruth:
    y = target.label_array(events, grid)
    recent = target.recent_array(events, grid)
    n_e, n_b = len(grid.entities), grid.n_buckets
    t = grid.times_ns
    keep = target.matching(events)
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")[keep]
    codes = grid.entity_codes[keep]
    nxt = np.full((n_b, n_e), np.iinfo(np.int64).max, dtype=np.int64)
    order = np.lexsort((ts, codes))
    ts, codes = ts[order], codes[order]
    bounds = np.searchsorted(codes, np.arange(n_e + 1))
    for e in range(n_e):
        et = ts[bounds[e] : bounds[e + 1]]
        if et.size:
            i = np.searchsorted(et, t, side="right")
            ok = i < et.size
            nxt[ok, e] = et[i[ok]]
    ent = np.tile(np.arange(n_e), n_b)
    tt = np.repeat(t, n_e)
    first = np.full(n_e, n_b, dtype=np.int64)
    last = np.full(n_e, -1, dtype=np.int64)
    np.minimum.at(first, grid.entity_codes, grid.bucket)
    np.maximum.at(last, grid.entity_codes, grid.bucket)
    b = np.arange(n_b)[:, None]
    h = target.horizon_steps(grid.step_ns)
    alive = ((b >= first[None, :]) & (b <= last[None, :] + h)).reshape(-1)
    return GridTruth(y, recent, nxt.reshape(-1), ent, tt, alive)


def score_with_baseline(truth: GridTruth, risk: np.ndarray, threshold: float, target: Target,
                        step_ns: int, rows: np.ndarray | slice | None = None,
                        details: bool = False) -> dict:
    """Model figures plus ``baseline`` (persistence) on the labelled cells of ``rows``.

    With ``details``, both also hold ``lead_times_s`` (see :func:`score_risk`).
    """
    sel = np.arange(len(truth.y)) if rows is None else np.arange(len(truth.y))[rows]
    sel = sel[truth.scored[sel]]
    kw = dict(recent=truth.recent[sel], min_errors=target.min_errors, entity=truth.entity[sel],
              t_ns=truth.t_ns[sel], first_error_ns=truth.first_error_ns[sel], step_ns=step_ns,
              details=details)
    # per-entity time order: cells are time-major, so a stable sort by entity keeps time order
    y = truth.y[sel]
    out = score_risk(y, risk[sel], threshold=threshold, **kw)
    base = persistence_risk(truth.recent[sel], target.min_errors)
    out["baseline"] = score_risk(y, base, threshold=0.5, **kw)
    return out
