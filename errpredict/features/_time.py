"""Durations on the decision grid: parsing ``"1m"``, ``"10m"``, ``"1d"`` and naming windows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError

__all__ = ["to_ns", "format_duration", "grid_bucket", "NS_PER_S"]

NS_PER_S = 1_000_000_000
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_S,
    "sec": NS_PER_S,
    "m": 60 * NS_PER_S,
    "min": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
    "d": 86400 * NS_PER_S,
    "w": 7 * 86400 * NS_PER_S,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


def to_ns(value: str | int | float | pd.Timedelta, *, name: str = "duration") -> int:
    """Parse a positive duration into integer nanoseconds.

    Accepts ``"90s"``, ``"1m"``, ``"10min"``, ``"2h"``, ``"1d"``, a
    :class:`pandas.Timedelta`, or a number of seconds.

    >>> to_ns("10m") // 1_000_000_000
    600
    """
    if isinstance(value, pd.Timedelta | np.timedelta64):
        ns = int(pd.Timedelta(value).value)
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        ns = int(round(float(value) * NS_PER_S))
    elif isinstance(value, str):
        m = _PATTERN.match(value.lower())
        if not m or m.group(2) not in _UNITS:
            raise ConfigError(
                f"The {name!r} parameter must be a duration like '30s', '1m', '10m', '1h' or "
                f"'1d'. Got {value!r} instead."
            )
        ns = int(round(float(m.group(1)) * _UNITS[m.group(2)]))
    else:
        raise ConfigError(
            f"The {name!r} parameter must be a duration like '1m' or a number of seconds. "
            f"Got {value!r} instead."
        )
    if ns <= 0:
        raise ConfigError(
            f"The {name!r} parameter must be a positive duration. Got {value!r} instead."
        )
    return ns


def format_duration(ns: int) -> str:
    """Shortest exact name of a duration: ``600e9 -> '10m'``.

    >>> format_duration(86_400 * 1_000_000_000), format_duration(90 * 1_000_000_000)
    ('1d', '90s')
    """
    for unit, size in (("d", _UNITS["d"]), ("h", _UNITS["h"]), ("m", _UNITS["m"]), ("s", NS_PER_S)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def grid_bucket(ts_ns: np.ndarray, step_ns: int) -> np.ndarray:
    """Bucket of each time on the epoch-aligned grid, right-closed.

    Bucket ``b`` holds the events in ``((b - 1) * step, b * step]``, so the
    decision time ``t = b * step`` sees every event up to and including ``t``.
    """
    return -((-ts_ns) // step_ns)
