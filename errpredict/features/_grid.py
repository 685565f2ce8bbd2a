"""The decision grid: which entities, which buckets, and each event's cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.exceptions import SchemaError
from errpredict.features._time import grid_bucket

__all__ = ["Grid", "make_grid", "ensure_canonical"]


@dataclass(frozen=True)
class Grid:
    """Entities (sorted) and buckets ``first .. first + n_buckets - 1`` of ``step_ns``."""

    entities: np.ndarray  # object array of entity names, sorted
    step_ns: int
    first: int  # absolute bucket number of the first decision time
    n_buckets: int
    entity_codes: np.ndarray  # per event
    bucket: np.ndarray  # per event, relative to ``first``

    @property
    def times_ns(self) -> np.ndarray:
        return (self.first + np.arange(self.n_buckets, dtype=np.int64)) * self.step_ns

    def index(self) -> pd.MultiIndex:
        """Row keys of a feature matrix: time-major, entities sorted within a time."""
        times = pd.to_datetime(self.times_ns, unit="ns", utc=True)
        return pd.MultiIndex.from_product([times, self.entities], names=["timestamp", "entity"])


def ensure_canonical(events: pd.DataFrame, *, what: str = "X") -> pd.DataFrame:
    """Pass canonical tables through; normalise anything else with ``to_canonical``."""
    from errpredict.io import to_canonical

    if not isinstance(events, pd.DataFrame):
        raise SchemaError(
            f"{what}: expected a pandas DataFrame of events (the canonical table), "
            f"got {type(events).__name__}"
        )
    ts = events.get("timestamp")
    if (
        ts is not None
        and isinstance(ts.dtype, pd.DatetimeTZDtype)
        and str(ts.dtype.tz) == "UTC"
        and ts.dtype.unit == "ns"
        and "is_error" in events
        and events["is_error"].dtype == bool
        and "severity" in events
        and "service" in events
    ):
        if len(events) == 0:
            raise SchemaError(f"{what}: no events (the table has no rows)")
        return events
    return to_canonical(events, where=what)


def make_grid(events: pd.DataFrame, entity: str, step_ns: int) -> Grid:
    """Grid spanning ``events`` for the entity column ``entity``."""
    if entity not in events.columns:
        raise SchemaError(
            f"The entity column {entity!r} is not in the events; the columns are "
            f"{list(events.columns)[:12]}. Pick one with --entity (service, host, ...)."
        )
    col = events[entity]
    if col.isna().any():
        row = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise SchemaError(
            f"column {entity!r} row {row}: missing value; every event needs an entity when "
            f"{entity!r} is the entity (fill it in, or pick another --entity)"
        )
    codes, names = pd.factorize(col, sort=True)
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    absb = grid_bucket(ts, step_ns)
    first = int(absb.min())
    n = int(absb.max()) - first + 1
    return Grid(np.asarray(names, dtype=object), step_ns, first, n, codes.astype(np.int64),
                absb - first)
