"""Conversions at the boundary of the feedback store: times, feature hashes, JSON.

Times are stored as integer nanoseconds since the epoch in UTC, so that the
store has one exact representation whatever the caller passed (a pandas
``Timestamp``, a ``datetime``, an ISO-8601 string or epoch s/ms/us/ns).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import FeedbackError
from errpredict.io._schema import parse_timestamps

__all__ = [
    "from_ns",
    "hash_features",
    "json_dumps",
    "json_loads",
    "new_ids",
    "ns_column",
    "to_ns",
]


def new_ids(n: int) -> list[str]:
    """``n`` random version-4 UUIDs as 32 hex digits, as ``uuid.uuid4().hex`` gives, in bulk."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.tobytes().hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _epoch_scale(value: float) -> int:
    top = abs(value)
    if top < 1e11:
        return 1_000_000_000
    if top < 1e14:
        return 1_000_000
    if top < 1e17:
        return 1_000
    return 1


def to_ns(value: Any, *, name: str = "timestamp") -> int:
    """Turn one time value into integer nanoseconds since the epoch (UTC).

    Naive datetimes and strings without an offset are taken as UTC; numbers
    are epoch seconds, milliseconds, microseconds or nanoseconds, told apart
    by magnitude as the event readers do.
    """
    if isinstance(value, pd.Timestamp):
        return int(value.value)
    if isinstance(value, bool | np.bool_):
        raise FeedbackError(f"argument {name!r}: got a boolean {value!r}; expected a time")
    if isinstance(value, int | np.integer):
        return int(value) * _epoch_scale(float(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise FeedbackError(f"argument {name!r}: got {value!r}; expected a finite time")
        scale = _epoch_scale(float(value))
        return int(round(float(value) * scale))
    if isinstance(value, str | dt.datetime | np.datetime64):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise FeedbackError(
                f"argument {name!r}: cannot parse {value!r} as a time ({exc}); expected "
                "ISO-8601 (2026-01-31T12:00:00Z), a datetime or epoch s/ms/us/ns"
            ) from None
        if ts is pd.NaT:
            raise FeedbackError(f"argument {name!r}: got {value!r}; expected a point in time")
        return int(ts.value)
    raise FeedbackError(
        f"argument {name!r}: got {type(value).__name__} {value!r}; expected a pandas "
        "Timestamp, a datetime, an ISO-8601 string or epoch s/ms/us/ns"
    )


def from_ns(ns: np.ndarray | list[int]) -> pd.DatetimeIndex:
    """Integer nanoseconds (UTC) back to ``datetime64[ns, UTC]``."""
    return pd.to_datetime(np.asarray(ns, dtype="int64"), unit="ns", utc=True)


def ns_column(col: pd.Series, *, where: str) -> np.ndarray:
    """A column of times as an int64 array of nanoseconds since the epoch (UTC)."""
    return parse_timestamps(col, where=where).to_numpy(dtype="datetime64[ns]").view("int64")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.Timestamp | dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta | dt.timedelta):
        return obj.total_seconds()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def json_dumps(value: Mapping[str, Any] | None, *, name: str) -> str | None:
    """Serialise a dict argument to compact JSON; ``None`` stays ``None``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FeedbackError(
            f"argument {name!r}: got {type(value).__name__}; expected a dict of JSON values"
        )
    try:
        return json.dumps(dict(value), default=_json_default, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise FeedbackError(
            f"argument {name!r}: cannot store {value!r} as JSON ({exc}); use numbers, "
            "strings, booleans, lists and dicts"
        ) from None


def json_loads(text: str | None) -> dict[str, Any] | None:
    """Inverse of :func:`json_dumps`."""
    return None if text is None else json.loads(text)


def hash_features(features: Any) -> str | None:
    """SHA-256 hex digest of a feature vector, to tell later which inputs a model saw.

    A dict (or pandas Series) is hashed as compact JSON of its items sorted by
    key, every value cast to float, so ``{"a": 1}`` and ``{"a": np.float32(1)}``
    hash alike; an array is hashed as the bytes of its C-ordered float64 copy.
    ``None`` gives ``None``.

    Examples
    --------
    >>> hash_features({"b": 2, "a": 1.0}) == hash_features({"a": 1, "b": 2.0})
    True
    >>> hash_features([1.0, 2.0])[:12]
    'dc91ce9a50dd'
    """
    if features is None:
        return None
    if isinstance(features, pd.Series):
        features = features.to_dict()
    if isinstance(features, Mapping):
        try:
            items = {str(k): float(v) for k, v in features.items()}
        except (TypeError, ValueError) as exc:
            raise FeedbackError(
                f"argument 'features': cannot hash {features!r} ({exc}); expected a dict of "
                "numbers or a numeric array"
            ) from None
        text = json.dumps(items, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
    try:
        arr = np.ascontiguousarray(features, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise FeedbackError(
            f"argument 'features': cannot hash a {type(features).__name__} ({exc}); expected "
            "a dict of numbers or a numeric array"
        ) from None
    return hashlib.sha256(arr.tobytes()).hexdigest()
