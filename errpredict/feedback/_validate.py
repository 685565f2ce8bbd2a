"""Validation of what is recorded: ids, risks, and tables of predictions."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import FeedbackError, SchemaError
from errpredict.feedback._values import new_ids, ns_column

__all__ = ["check_risk", "prediction_rows", "text"]


def text(value: Any, name: str) -> str:
    """``value`` if it is a non-empty string, else a :class:`FeedbackError` naming ``name``."""
    if not isinstance(value, str) or not value:
        raise FeedbackError(f"argument {name!r}: got {value!r}; expected a non-empty string")
    return value


def check_risk(risk: Any, kind: str) -> float | None:
    """A risk as a float: a probability for ``"risk"`` predictions, any finite number or
    ``None`` for other kinds."""
    if risk is None and kind != "risk":
        return None
    try:
        value = float(risk)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or (kind == "risk" and not 0.0 <= value <= 1.0):
        expected = "a probability in [0, 1]" if kind == "risk" else "a finite number or None"
        raise FeedbackError(
            f"argument 'risk': got {risk!r}; a {kind!r} prediction needs {expected}"
        )
    return value


def prediction_rows(
    frame: pd.DataFrame, *, model_version: str, kind: str
) -> tuple[Iterator[tuple], list[str]]:
    """Validate a table of predictions; return the rows to insert and their ids."""
    where = "record_predictions frame"
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("entity", "timestamp", "risk") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing column {missing[0]!r}; the columns are "
            f"{sorted(map(str, frame.columns))[:12]}; expected entity, timestamp, risk "
            "(and optionally prediction_id, features_hash)"
        )
    n = len(frame)
    if n == 0:
        return iter(()), []
    entity = frame["entity"]
    bad = entity.isna().to_numpy()
    if bad.any():
        raise SchemaError(f"{where}: column 'entity' row {int(np.argmax(bad))}: missing value")
    ts = ns_column(frame["timestamp"], where=where)
    risk = pd.to_numeric(frame["risk"], errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(risk)
    if kind == "risk":
        bad |= (risk < 0) | (risk > 1)
    if bad.any():
        i = int(np.argmax(bad))
        value = frame["risk"].iloc[i]
        value = value.item() if isinstance(value, np.generic) else value
        raise SchemaError(
            f"{where}: column 'risk' row {i}: {value!r}; a {kind!r} "
            "prediction needs a probability in [0, 1]"
        )
    if "prediction_id" in frame.columns:
        given = frame["prediction_id"].to_numpy(dtype=object)
        fresh = iter(new_ids(int(pd.isna(given).sum())))
        ids = [next(fresh) if pd.isna(v) else str(v) for v in given]
    else:
        ids = new_ids(n)
    if "features_hash" in frame.columns:
        hashes = [None if pd.isna(v) else str(v) for v in frame["features_hash"]]
    else:
        hashes = repeat(None)
    rows = zip(
        ids,
        repeat(kind),
        repeat(model_version),
        entity.astype(str).tolist(),
        ts.tolist(),
        hashes,
        risk.tolist(),
        repeat(None),
        repeat(time.time_ns()),
        strict=False,
    )
    return rows, ids
