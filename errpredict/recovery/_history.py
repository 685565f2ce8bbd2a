"""Time to recovery from an error history, and its per-key summary.

For each error row, when the same entity (and the same operation, when the
history has operations) served a call successfully again: how long a caller
that retried the call would have had to wait. Errors with no later success
are censored (``NaN``) and count as not recovered.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.exceptions import SchemaError

__all__ = [
    "BURST_LEVELS",
    "QUANTILE_GRID",
    "RecoveryStats",
    "burst_level",
    "recovery_times",
    "summarise_recovery",
]

#: Quantile levels kept per key (compact, JSON-able, enough to interpolate any level).
QUANTILE_GRID = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99, 1.0)


def _check_events(events: pd.DataFrame, where: str) -> None:
    if not isinstance(events, pd.DataFrame):
        raise SchemaError(
            f"{where}: expected the canonical event table (a DataFrame), got "
            f"{type(events).__name__}; read files with errpredict.io.read_events"
        )
    for col in ("timestamp", "service", "is_error"):
        if col not in events.columns:
            raise SchemaError(
                f"{where}: events lack column {col!r}; pass them through "
                "errpredict.io.to_canonical first"
            )


BURST_LEVELS = ("single", "few", "burst")


def burst_level(recent: int | None, few: int = 2, many: int = 10) -> str:
    """``"single"``, ``"few"`` or ``"burst"`` for a count of recent errors (this one included)."""
    if recent is None:
        return "any"
    return "single" if recent < few else "burst" if recent >= many else "few"


def recovery_times(
    events: pd.DataFrame, *, use_operation: bool = True, recent_window_s: float = 300.0
) -> pd.DataFrame:
    """When each error was followed by a success of the same entity/operation.

    The fault behind an error cleared at some time between the last error
    of its run (the errors of the same entity/operation before the next
    success) and that success. ``recovery_s`` is the upper end (time to the
    next success), ``cleared_s`` the lower end (time to the last error of
    the run; 0 for an isolated error). With dense traffic the two agree;
    with sparse traffic ``recovery_s`` mostly measures the gap between
    requests, and ``cleared_s`` is the better guess of how long a retry must
    wait.

    Parameters
    ----------
    events
        The canonical event table, success rows included.
    use_operation
        Match on (service, operation) when the table has operations.
    recent_window_s
        ``recent`` counts the errors of the same service in this window
        before each error, the error included.

    Returns
    -------
    pandas.DataFrame
        One row per error: ``timestamp``, ``service``, ``operation`` (when
        used), ``error_type`` (``"unknown"`` when missing), ``recovery_s``
        and ``cleared_s`` (``NaN`` when the entity never succeeded again) and
        ``recent``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "timestamp": pd.to_datetime([0, 1, 4, 5], unit="s", utc=True),
    ...     "service": "api", "is_error": [True, True, False, True],
    ...     "error_type": ["HTTP 503", "HTTP 503", None, "HTTP 503"]})
    >>> rt = recovery_times(ev)
    >>> rt["recovery_s"].tolist(), rt["cleared_s"].tolist(), rt["recent"].tolist()
    ([4.0, 3.0, nan], [1.0, 0.0, nan], [1, 2, 3])
    """
    _check_events(events, "recovery_times")
    ts = events["timestamp"].to_numpy("datetime64[ns]").view("int64")
    err = events["is_error"].to_numpy(dtype=bool)
    service = events["service"].astype("str").to_numpy()
    with_op = use_operation and "operation" in events.columns and events["operation"].notna().any()
    if with_op:
        op = events["operation"].fillna("").astype("str").to_numpy()
        key = pd.Series(service, dtype="object") + "\x1f" + pd.Series(op, dtype="object")
    else:
        key = pd.Series(service, dtype="object")
    recovery = np.full(len(ts), np.nan)
    cleared = np.full(len(ts), np.nan)
    for order, t, e in _groups(pd.factorize(key)[0], ts, err):
        ok_pos = np.flatnonzero(~e)
        errs = np.flatnonzero(e)
        if not len(errs) or not len(ok_pos):
            continue
        nxt = np.searchsorted(ok_pos, errs)  # first success after each error
        found = nxt < len(ok_pos)
        q = ok_pos[nxt[found]]
        p = errs[found]
        recovery[order[p]] = (t[q] - t[p]) / 1e9
        cleared[order[p]] = (t[q - 1] - t[p]) / 1e9
    recent = np.zeros(len(ts), dtype=np.int64)
    window = int(recent_window_s * 1e9)
    for order, t, e in _groups(pd.factorize(pd.Series(service))[0], ts, err):
        et = t[e]
        idx = np.arange(len(et))
        recent[order[e]] = idx - np.searchsorted(et, et - window, side="right") + 1
    rows = np.flatnonzero(err)
    out = pd.DataFrame({"timestamp": events["timestamp"].array[rows],  # tz kept, no objects
                        "service": service[rows]})
    if with_op:
        out["operation"] = op[rows]
    if "error_type" in events.columns:
        out["error_type"] = events["error_type"].to_numpy()[rows]
        out["error_type"] = out["error_type"].fillna("unknown").astype("str")
    else:
        out["error_type"] = "unknown"
    out["recovery_s"] = recovery[rows]
    out["cleared_s"] = cleared[rows]
    out["recent"] = recent[rows]
    return out


def _groups(codes: np.ndarray, ts: np.ndarray, err: np.ndarray):
    """Yield (original positions, times, error flags) per group code, each sorted by time."""
    order = np.lexsort((ts, codes))
    codes_s = codes[order]
    bounds = np.flatnonzero(np.diff(codes_s)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ts)], strict=True):
        idx = order[lo:hi]
        yield idx, ts[idx], err[idx]


def _interp(x: float, xp: tuple[float, ...], fp: tuple[float, ...]) -> float:
    """``numpy.interp`` for one value (ties in ``xp`` take the last), without array overhead."""
    if x <= xp[0]:
        return float(fp[0]) if x < xp[0] else float(fp[bisect_right(xp, x) - 1])
    if x >= xp[-1]:
        return float(fp[-1])
    i = bisect_right(xp, x)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    return float(f0 + (f1 - f0) * (x - x0) / (x1 - x0))


@dataclass(frozen=True)
class RecoveryStats:
    """Summary of the time to recovery of one (entity, error type).

    Parameters
    ----------
    n
        Errors seen.
    n_recovered
        Errors after which the entity succeeded again.
    quantiles
        Time to recovery (seconds) of the recovered errors at :data:`QUANTILE_GRID`.
    """

    n: int
    n_recovered: int
    quantiles: tuple[float, ...]

    @property
    def recovered_share(self) -> float:
        """Share of errors after which the entity succeeded again."""
        return self.n_recovered / self.n if self.n else 0.0

    def quantile(self, q: float) -> float:
        """Time to recovery at level ``q`` among recovered errors (interpolated)."""
        if not self.n_recovered:
            return float("nan")
        return _interp(q, (0.0, *QUANTILE_GRID), (self.quantiles[0], *self.quantiles))

    def share_within(self, seconds: float) -> float:
        """Share of all errors (censored ones count as not recovered) cleared within ``seconds``."""
        if not self.n_recovered:
            return 0.0
        level = _interp(seconds, (0.0, *self.quantiles), (0.0, *QUANTILE_GRID))
        return self.recovered_share * level

    def to_dict(self) -> dict:
        return {"n": self.n, "n_recovered": self.n_recovered, "quantiles": list(self.quantiles)}

    @classmethod
    def from_dict(cls, data: dict) -> RecoveryStats:
        return cls(int(data["n"]), int(data["n_recovered"]), tuple(map(float, data["quantiles"])))


def summarise_recovery(
    times: pd.DataFrame,
    keys: tuple[str, ...] = ("service", "error_type"),
    value: str = "cleared_s",
) -> dict[tuple[str, ...], RecoveryStats]:
    """Summarise :func:`recovery_times` per key into :class:`RecoveryStats` of ``value``."""
    out: dict[tuple[str, ...], RecoveryStats] = {}
    if times.empty:
        return out
    grid = np.asarray(QUANTILE_GRID)
    for key, group in times.groupby(list(keys), sort=True):
        values = group[value].to_numpy(dtype="float64")
        done = values[~np.isnan(values)]
        qs = tuple(np.round(np.quantile(done, grid), 6).tolist()) if len(done) else ()
        k = key if isinstance(key, tuple) else (key,)
        out[tuple(map(str, k))] = RecoveryStats(len(values), len(done), qs)
    return out
