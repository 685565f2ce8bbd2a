"""Rows of the feedback store as pandas DataFrames with fixed columns and dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from errpredict.feedback._values import from_ns, json_loads

__all__ = ["OUTCOME_COLUMNS", "PREDICTION_COLUMNS", "outcome_frame", "prediction_frame"]

PREDICTION_COLUMNS = (
    "prediction_id",
    "kind",
    "model_version",
    "entity",
    "timestamp",
    "risk",
    "features_hash",
    "payload",
    "created_at",
    "label",
    "label_source",
)
OUTCOME_COLUMNS = (
    "outcome_id",
    "prediction_id",
    "kind",
    "entity",
    "timestamp",
    "risk",
    "model_version",
    "label",
    "outcome",
    "source",
    "observed_at",
    "recorded_at",
)


def _columns(rows: list[tuple], width: int) -> list[list]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def _floats(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype="float64")


def _times(values: list) -> pd.DatetimeIndex:
    if all(v is not None for v in values):
        return from_ns(values)
    return pd.DatetimeIndex(
        [pd.NaT if v is None else pd.Timestamp(v, unit="ns", tz="UTC") for v in values],
        dtype="datetime64[ns, UTC]",
    )


def _labels(values: list) -> pd.arrays.BooleanArray:
    return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def prediction_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows ``(id, kind, model_version, entity, ts_ns, features_hash, risk, payload,
    created_ns, label, label_source)`` as a DataFrame of :data:`PREDICTION_COLUMNS`."""
    c = _columns(rows, 11)
    return pd.DataFrame(
        {
            "prediction_id": _strings(c[0]),
            "kind": _strings(c[1]),
            "model_version": _strings(c[2]),
            "entity": _strings(c[3]),
            "timestamp": _times(c[4]),
            "risk": _floats(c[6]),
            "features_hash": _strings(c[5]),
            "payload": _objects([json_loads(v) for v in c[7]]),
            "created_at": _times(c[8]),
            "label": _labels(c[9]),
            "label_source": _strings(c[10]),
        },
        columns=list(PREDICTION_COLUMNS),
    )


def outcome_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows ``(outcome_id, prediction_id, kind, entity, ts_ns, risk, model_version, label,
    outcome, source, observed_ns, recorded_ns)`` as a DataFrame of :data:`OUTCOME_COLUMNS`."""
    c = _columns(rows, 12)
    return pd.DataFrame(
        {
            "outcome_id": _strings(c[0]),
            "prediction_id": _strings(c[1]),
            "kind": _strings(c[2]),
            "entity": _strings(c[3]),
            "timestamp": _times(c[4]),
            "risk": _floats(c[5]),
            "model_version": _strings(c[6]),
            "label": _labels(c[7]),
            "outcome": _objects([json_loads(v) for v in c[8]]),
            "source": _strings(c[9]),
            "observed_at": _times(c[10]),
            "recorded_at": _times(c[11]),
        },
        columns=list(OUTCOME_COLUMNS),
    )
