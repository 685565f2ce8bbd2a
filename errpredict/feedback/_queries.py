"""Read side of the feedback store: tables, one prediction, counts, live metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import FeedbackError
from errpredict.feedback._frames import outcome_frame, prediction_frame
from errpredict.feedback._metrics import live_figures
from errpredict.feedback._store import Store
from errpredict.feedback._values import from_ns, to_ns

__all__ = [
    "read_counts",
    "read_live_metrics",
    "read_outcomes",
    "read_prediction",
    "read_predictions",
    "read_predictions_by_id",
    "read_versions",
]

_PREDICTION_SQL = (
    "SELECT p.id, p.kind, p.model_version, p.entity, p.ts_ns, p.features_hash, p.risk, "
    "p.payload, p.created_ns, p.label, p.label_source FROM predictions p"
)
_OUTCOME_SQL = (
    "SELECT o.id, o.prediction_id, p.kind, p.entity, p.ts_ns, p.risk, p.model_version, "
    "o.label, o.outcome, o.source, o.observed_ns, o.recorded_ns "
    "FROM outcomes o JOIN predictions p ON p.id = o.prediction_id"
)
_CHUNK = 500  # ids per IN (...) list, well below SQLite's variable limit


def _where(sql: str, *, kind: Any, model_version: Any = None, since: Any) -> tuple[str, tuple]:
    clauses, params = [], []
    if kind is not None:
        clauses.append("p.kind = ?")
        params.append(kind)
    if model_version is not None:
        clauses.append("p.model_version = ?")
        params.append(model_version)
    if since is not None:
        clauses.append("p.ts_ns >= ?")
        params.append(to_ns(since, name="since"))
    return (sql + " WHERE " + " AND ".join(clauses) if clauses else sql), tuple(params)


def read_predictions(store: Store, *, kind: Any, model_version: Any, since: Any) -> pd.DataFrame:
    sql, params = _where(_PREDICTION_SQL, kind=kind, model_version=model_version, since=since)
    return prediction_frame(store.query(sql + " ORDER BY p.ts_ns, p.rowid", params))


def read_outcomes(store: Store, *, kind: Any, since: Any) -> pd.DataFrame:
    sql, params = _where(_OUTCOME_SQL, kind=kind, since=since)
    return outcome_frame(store.query(sql + " ORDER BY o.rowid", params))


def read_predictions_by_id(store: Store, prediction_ids: Sequence[str]) -> pd.DataFrame:
    ids = list(prediction_ids)
    rows: list[tuple] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows += store.query(f"{_PREDICTION_SQL} WHERE p.id IN ({marks})", tuple(chunk))
    order = {pid: i for i, pid in enumerate(ids)}
    rows.sort(key=lambda r: order[r[0]])
    return prediction_frame(rows)


def read_prediction(store: Store, prediction_id: str) -> dict[str, Any]:
    frame = read_predictions_by_id(store, [prediction_id])
    if frame.empty:
        raise FeedbackError(
            f"get_prediction: unknown prediction_id {prediction_id!r}; check the id that "
            "record_prediction returned"
        )
    record = _plain(frame.iloc[0].to_dict())
    outs = outcome_frame(
        store.query(f"{_OUTCOME_SQL} WHERE o.prediction_id = ? ORDER BY o.rowid", (prediction_id,))
    )
    keep = ["outcome_id", "label", "outcome", "source", "observed_at", "recorded_at"]
    record["outcomes"] = [_plain(r) for r in outs[keep].to_dict("records")]
    return record


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """Missing values as ``None`` and labels as ``bool``, for a record handed to a caller."""
    out = {}
    for key, value in record.items():
        if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif key == "label" and value is not None:
            value = bool(value)
        out[key] = value
    return out


def read_counts(store: Store) -> dict[str, Any]:
    by_kind = dict(
        store.query("SELECT kind, COUNT(*) FROM predictions GROUP BY kind ORDER BY kind")
    )
    by_source = dict(store.query("SELECT source, COUNT(*) FROM outcomes GROUP BY source"))
    labelled, positives = store.query(
        "SELECT COUNT(label), COALESCE(SUM(label), 0) FROM predictions"
    )[0]
    return {
        "predictions": sum(by_kind.values()),
        "outcomes": sum(by_source.values()),
        "explicit": by_source.get("explicit", 0),
        "implicit": by_source.get("implicit", 0),
        "labelled": labelled,
        "positives": positives,
        "by_kind": by_kind,
    }


def read_versions(store: Store) -> list[str]:
    rows = store.query("SELECT DISTINCT model_version FROM predictions ORDER BY model_version")
    return [r[0] for r in rows]


def read_live_metrics(
    store: Store, model_version: str | None, *, window: int, threshold: float
) -> dict[str, Any]:
    sql = "SELECT ts_ns, risk, label FROM predictions WHERE kind = 'risk' AND label IS NOT NULL"
    params: tuple = ()
    if model_version is not None:
        sql += " AND model_version = ?"
        params = (model_version,)
    rows = store.query(sql + " ORDER BY ts_ns DESC, rowid DESC LIMIT ?", (*params, window))
    rows.reverse()
    risk = np.array([r[1] for r in rows], dtype="float64")
    label = np.array([r[2] for r in rows], dtype="int64") == 1
    out: dict[str, Any] = {"model_version": model_version, "window": window}
    out.update(live_figures(risk, label, threshold=threshold))
    span = from_ns([rows[0][0], rows[-1][0]]) if rows else [None, None]
    out["since"], out["until"] = span[0], span[1]
    return out
