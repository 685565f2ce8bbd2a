"""Shared argument checks for the analysis views.

The views accept the canonical event table; anything else goes through
:func:`errpredict.io.to_canonical` once, at the boundary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError, SchemaError
from errpredict.io import to_canonical

__all__ = [
    "ensure_events",
    "format_duration",
    "parse_freq",
    "require_column",
    "timestamps_ns",
    "window_buckets",
]


def ensure_events(events: pd.DataFrame, *, where: str = "events") -> pd.DataFrame:
    """Return ``events`` as the canonical table, normalising it only when needed."""
    if not isinstance(events, pd.DataFrame):
        raise SchemaError(
            f"{where}: expected a pandas DataFrame of events, got {type(events).__name__}; "
            "read a file with errpredict.io.read_events(path)"
        )
    canonical = (
        len(events) > 0
        and {"timestamp", "service", "is_error"} <= set(events.columns)
        and isinstance(events["timestamp"].dtype, pd.DatetimeTZDtype)
        and pd.api.types.is_bool_dtype(events["is_error"])
    )
    if not canonical:
        return to_canonical(events, where=where)
    ts = timestamps_ns(events["timestamp"])
    if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():
        order = np.argsort(ts, kind="stable")
        events = events.iloc[order].reset_index(drop=True)
    return events


def parse_freq(value: str | pd.Timedelta, *, name: str, owner: str) -> pd.Timedelta:
    """Parse a fixed bucket width such as ``"5min"`` or ``"1h"``."""
    try:
        out = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be a fixed duration such as '5min', "
            f"'1h' or '1D'. Got {value!r} instead."
        ) from None
    if pd.isna(out) or out <= pd.Timedelta(0):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be a positive duration such as '5min'. "
            f"Got {value!r} instead."
        )
    return out


def window_buckets(window: pd.Timedelta, freq: pd.Timedelta, *, name: str, owner: str) -> int:
    """Number of ``freq`` buckets in ``window``; the window must be a whole multiple."""
    ratio = window / freq
    if ratio < 1 or ratio != int(ratio):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be a whole multiple of freq "
            f"({format_duration(freq)}). Got {format_duration(window)} instead; pick a window "
            f"such as {format_duration(freq * max(1, round(ratio)))}."
        )
    return int(ratio)


def require_column(frame: pd.DataFrame, column: str, *, name: str, owner: str) -> None:
    """Raise when ``column`` (the value of parameter ``name``) is not in ``frame``."""
    if column not in frame.columns:
        raise ConfigError(
            f"The {name!r} parameter of {owner} names column {column!r}, which the events do "
            f"not have; the columns are {list(map(str, frame.columns))}."
        )


def format_duration(delta: pd.Timedelta) -> str:
    """A short form of a duration that pandas parses back: ``5min``, ``24h``, ``7D``."""
    seconds = int(delta.total_seconds())
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if unit == "D" and seconds < 2 * size:
            continue
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s" if seconds else str(delta)


def timestamps_ns(column: pd.Series) -> np.ndarray:
    """Nanoseconds since the Unix epoch (UTC) of a datetime column, as int64."""
    return pd.DatetimeIndex(column).as_unit("ns").asi8
