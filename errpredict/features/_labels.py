"""Prediction targets: will an entity see enough errors in the next horizon?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.features._grid import Grid, ensure_canonical, make_grid
from errpredict.features._time import to_ns

__all__ = ["Target", "make_labels"]


@dataclass(frozen=True)
class Target:
    """The label: at least ``min_errors`` matching errors in ``(t, t + horizon]``.

    ``error_types`` keeps only errors of those types; ``min_severity`` only
    errors at or above that SeverityNumber.
    """

    horizon: str = "10m"
    min_errors: int = 5
    error_types: tuple[str, ...] | None = None
    min_severity: int | None = None

    def __post_init__(self):
        to_ns(self.horizon, name="horizon")
        if not isinstance(self.min_errors, int | np.integer) or self.min_errors < 1:
            raise ConfigError(
                f"The 'min_errors' parameter must be an int in [1, inf). Got {self.min_errors!r} "
                "instead."
            )
        if self.min_severity is not None and not 1 <= int(self.min_severity) <= 24:
            raise ConfigError(
                "The 'min_severity' parameter must be a SeverityNumber in [1, 24]. "
                f"Got {self.min_severity!r} instead."
            )

    def horizon_steps(self, step_ns: int) -> int:
        h = to_ns(self.horizon, name="horizon")
        if h % step_ns:
            raise ConfigError(
                f"The 'horizon' ({self.horizon}) must be a whole number of steps "
                f"({step_ns / 1e9:g} s)."
            )
        return h // step_ns

    def matching(self, events: pd.DataFrame) -> np.ndarray:
        """Which events count towards the target."""
        keep = events["is_error"].to_numpy(dtype=bool).copy()
        if self.error_types is not None:
            if "error_type" not in events:
                return np.zeros(len(events), dtype=bool)
            keep &= events["error_type"].isin(list(self.error_types)).to_numpy()
        if self.min_severity is not None:
            keep &= events["severity"].to_numpy() >= int(self.min_severity)
        return keep

    def bucket_counts(self, events: pd.DataFrame, grid: Grid) -> np.ndarray:
        """Matching errors per (entity, bucket), shape ``(E, B)``."""
        keep = self.matching(events)
        cell = grid.entity_codes[keep] * grid.n_buckets + grid.bucket[keep]
        n = len(grid.entities) * grid.n_buckets
        return np.bincount(cell, minlength=n)[:n].reshape(len(grid.entities), grid.n_buckets)

    def label_array(self, events: pd.DataFrame, grid: Grid) -> np.ndarray:
        """Labels ``(T * E,)`` time-major as floats: 1, 0, or NaN when the future is not
        fully in the data (the last ``horizon`` of the grid)."""
        h = self.horizon_steps(grid.step_ns)
        counts = self.bucket_counts(events, grid)
        p = np.zeros((counts.shape[0], counts.shape[1] + 1), np.int64)
        np.cumsum(counts, axis=1, out=p[:, 1:])
        b = np.arange(grid.n_buckets)
        hi = np.minimum(b + 1 + h, grid.n_buckets)
        future = p[:, hi] - p[:, b + 1]
        y = (future >= self.min_errors).astype(np.float64)
        y[:, b + h > grid.n_buckets - 1] = np.nan
        return y.T.reshape(-1)

    def recent_array(self, events: pd.DataFrame, grid: Grid) -> np.ndarray:
        """Matching errors in ``(t - horizon, t]`` per cell ``(T * E,)``: the persistence
        signal, and what tells an onset point (below ``min_errors``) from an incident."""
        h = self.horizon_steps(grid.step_ns)
        counts = self.bucket_counts(events, grid)
        p = np.zeros((counts.shape[0], counts.shape[1] + 1), np.int64)
        np.cumsum(counts, axis=1, out=p[:, 1:])
        b = np.arange(grid.n_buckets)
        past = p[:, b + 1] - p[:, np.maximum(b + 1 - h, 0)]
        return past.T.reshape(-1)


def make_labels(
    events: pd.DataFrame,
    horizon: str = "10m",
    min_errors: int = 5,
    error_types: list[str] | None = None,
    min_severity: int | None = None,
    *,
    entity: str = "service",
    step: str = "1m",
) -> pd.Series:
    """Label every (decision time, entity) of the grid of ``events``.

    Returns a float Series indexed like ``ErrorHistoryFeaturizer.transform``:
    1.0 when at least ``min_errors`` matching errors fall in ``(t, t + horizon]``,
    0.0 when not, NaN for the last ``horizon`` of the data, whose future is
    unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"timestamp": pd.to_datetime(
    ...     ["2026-01-05 00:00:00", "2026-01-05 00:01:30", "2026-01-05 00:03:00"], utc=True),
    ...     "service": "api", "is_error": [False, True, False]})
    >>> make_labels(ev, horizon="1m", min_errors=1).tolist()
    [0.0, 1.0, 0.0, nan]
    """
    target = Target(horizon, min_errors, tuple(error_types) if error_types else None,
                    min_severity)
    events = ensure_canonical(events, what="make_labels events")
    grid = make_grid(events, entity, to_ns(step, name="step"))
    return pd.Series(target.label_array(events, grid), index=grid.index(), name="label")
