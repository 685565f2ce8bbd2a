"""The readers' way into :func:`~errpredict.io.to_canonical`, with fast paths for big chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from errpredict.io._schema import RowLabel, _default_row, to_canonical

__all__ = ["canonical"]


def _fast_timestamps(col: pd.Series) -> pd.Series | None:
    """ISO-8601 text parsed in one pass, or None to leave it to ``to_canonical``."""
    if not (pd.api.types.is_string_dtype(col) or col.dtype == object) or col.isna().any():
        return None
    first = str(col.iloc[0]).strip() if len(col) else ""
    if not first or first.lstrip("+-").replace(".", "", 1).isdigit():
        return None  # epoch numbers written as text: to_canonical picks the unit
    try:
        return pd.to_datetime(col, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return None  # to_canonical names the bad row


def canonical(frame: pd.DataFrame, *, where: str, row: RowLabel = _default_row) -> pd.DataFrame:
    """:func:`to_canonical`, then a stable sort by time on the int64 view of the timestamps."""
    if "timestamp" in frame.columns and len(frame):
        parsed = _fast_timestamps(frame["timestamp"])
        if parsed is not None:
            frame = frame.assign(timestamp=parsed)
    out = to_canonical(frame, where=where, row=row, sort=False)
    ns = out["timestamp"].array.asi8
    if len(ns) > 1 and not (ns[1:] >= ns[:-1]).all():
        out = out.iloc[np.argsort(ns, kind="stable")].reset_index(drop=True)
    return out
