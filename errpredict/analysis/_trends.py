"""Error rate per entity over time, short-versus-long trend and change points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.analysis._changepoints import detect_change_points, robust_scale
from errpredict.analysis._common import (
    ensure_events,
    parse_freq,
    require_column,
    timestamps_ns,
    window_buckets,
)
from errpredict.exceptions import ConfigError, SchemaError

__all__ = ["Trends", "trends"]

#: Largest entity x bucket grid built before asking for a coarser ``freq``.
MAX_CELLS = 20_000_000
#: Noise of a variance-stabilised rate (arcsine square root) or count (Anscombe) per unit weight.
_STABLE_SCALE = 0.5


@dataclass(frozen=True, eq=False)
class Trends:
    """Error rates per entity on a regular time grid, their trend and change points.

    Attributes
    ----------
    rates : pandas.DataFrame
        One row per (entity, bucket), every entity on the same grid from the
        first to the last bucket of the events: ``entity``, ``timestamp``
        (bucket start, UTC), ``events``, ``errors``, ``rate`` (errors /
        events, NaN for a bucket without events), ``short_mean`` and
        ``long_mean`` (the trailing-window means, see ``basis``), ``trend``
        (``short_mean / long_mean``: above 1 the errors are rising) and
        ``level`` (the mean of the segment between change points that the
        bucket belongs to).
    change_points : pandas.DataFrame
        One row per change point: ``entity``, ``timestamp`` (start of the
        first bucket after the shift), ``before`` and ``after`` (the levels
        of the segments either side).
    summary : pandas.DataFrame
        One row per entity: ``entity``, ``events``, ``errors``,
        ``error_rate`` (NaN when ``basis == "count"``), ``short_mean``,
        ``long_mean`` and ``trend`` at the last bucket, ``level`` (of the last
        segment), ``change_points`` (how many) and ``last_change`` (NaT when
        none).
    entity : str
        The column the events were grouped by.
    freq, short, long : pandas.Timedelta
        Bucket width and the two trailing windows.
    basis : str
        ``"rate"`` when the events include success rows: means and levels
        are error rates (errors / events over the window or segment).
        ``"count"`` when every event is an error: means and levels are
        errors per bucket.

    Examples
    --------
    >>> import pandas as pd
    >>> from errpredict.io import to_canonical
    >>> ev = to_canonical(pd.DataFrame({
    ...     "timestamp": pd.date_range("2026-01-01", periods=4, freq="30min"),
    ...     "service": "api", "is_error": [False, True, False, False]}))
    >>> tr = trends(ev, freq="1h", short="1h", long="2h")
    >>> tr.basis, tr.rates["rate"].tolist(), tr.rates["trend"].tolist()
    ('rate', [0.5, 0.0], [1.0, 0.0])
    """

    rates: pd.DataFrame
    change_points: pd.DataFrame
    summary: pd.DataFrame
    entity: str
    freq: pd.Timedelta
    short: pd.Timedelta
    long: pd.Timedelta
    basis: str


def trends(
    events: pd.DataFrame,
    *,
    entity: str = "service",
    freq: str | pd.Timedelta = "5min",
    short: str | pd.Timedelta = "1h",
    long: str | pd.Timedelta = "24h",
    penalty: float | None = None,
    min_size: int = 3,
) -> Trends:
    """Error rate per entity over time, its trend and where it shifted.

    Events are counted per entity in ``freq``-wide buckets aligned to the
    Unix epoch. The trend compares the trailing ``short`` window with the
    trailing ``long`` one (windows that reach before the first bucket are
    shortened); each mean is a ratio of sums, so that empty buckets weigh
    nothing.

    Change points come from PELT (Killick, Fearnhead and Eckley, 2012; see
    :func:`detect_change_points`) on the variance-stabilised series: the
    arcsine square root of each bucket's rate weighted by its events (a
    binomial rate of ``n`` events then has variance ``1 / (4 n)``) or, when
    every event is an error, the Anscombe square root of the count
    (variance ``1/4``). The noise scale is the larger of that value and a
    robust estimate from first differences, so that bursty (overdispersed)
    traffic does not turn every fluctuation into a change point. Buckets
    without events are left out of the segmentation, so a change point is the
    first bucket with events after the shift and ``min_size`` counts buckets
    with events (with ``basis == "count"`` every bucket counts).

    Parameters
    ----------
    events
        The canonical event table.
    entity
        Column to group by (``"service"``, ``"host"`` ...); rows where it
        is missing are left out.
    freq
        Bucket width.
    short, long
        Trailing windows of the trend, whole multiples of ``freq``, with
        ``short <= long``.
    penalty
        Cost per change point; ``None`` is ``3 log(buckets)`` (MBIC).
        Larger gives fewer change points.
    min_size
        Minimum buckets between change points.

    Returns
    -------
    Trends

    Raises
    ------
    ConfigError
        An unknown ``entity`` column, a bad duration, windows that are not
        multiples of ``freq``, or a grid too large for ``freq``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from errpredict.io import to_canonical
    >>> ts = pd.date_range("2026-01-01", periods=600, freq="1min")
    >>> err = np.r_[np.arange(300) % 50 == 0, np.arange(300) % 4 == 0]
    >>> ev = to_canonical(pd.DataFrame({"timestamp": ts, "service": "api", "is_error": err}))
    >>> tr = trends(ev, freq="10min", short="30min", long="2h")
    >>> tr.change_points[["timestamp", "before", "after"]].to_dict("records")
    [{'timestamp': Timestamp('2026-01-01 05:00:00+0000', tz='UTC'), 'before': 0.02, 'after': 0.25}]
    >>> tr.summary[["errors", "short_mean", "long_mean"]].round(3).to_dict("records")
    [{'errors': 81, 'short_mean': 0.233, 'long_mean': 0.25}]
    """
    owner = "trends"
    events = ensure_events(events)
    require_column(events, entity, name="entity", owner=owner)
    width = parse_freq(freq, name="freq", owner=owner)
    short_td = parse_freq(short, name="short", owner=owner)
    long_td = parse_freq(long, name="long", owner=owner)
    k_short = window_buckets(short_td, width, name="short", owner=owner)
    k_long = window_buckets(long_td, width, name="long", owner=owner)
    if k_long < k_short:
        raise ConfigError(
            f"The 'long' parameter of {owner} must be at least 'short' ({short!r}). "
            f"Got {long!r} instead."
        )
    column = events[entity]
    keep = column.notna().to_numpy()
    if not keep.any():
        raise SchemaError(f"events: column {entity!r} has no values; nothing to group by")
    codes, names = pd.factorize(column[keep], sort=True)
    names = np.asarray(names.astype(str), dtype=object)
    is_error = events["is_error"].to_numpy(dtype=bool)[keep]
    step = width.value
    bucket = timestamps_ns(events["timestamp"])[keep] // step
    first = int(bucket.min())
    n_buckets = int(bucket.max()) - first + 1
    n_entities = len(names)
    if n_buckets * n_entities > MAX_CELLS:
        raise ConfigError(
            f"The 'freq' parameter of {owner} gives {n_buckets:,} buckets x {n_entities:,} "
            f"entities, more than {MAX_CELLS:,}; pick a coarser freq than {freq!r}."
        )
    cell = codes.astype("int64") * n_buckets + (bucket - first)
    size = n_entities * n_buckets
    n_ev = np.bincount(cell, minlength=size).reshape(n_entities, n_buckets)
    n_err = np.bincount(cell[is_error], minlength=size).reshape(n_entities, n_buckets)
    basis = "rate" if (~is_error).any() else "count"

    short_mean = _trailing_mean(n_err, n_ev, k_short, basis)
    long_mean = _trailing_mean(n_err, n_ev, k_long, basis)
    grid = pd.to_datetime((first + np.arange(n_buckets)) * step, unit="ns", utc=True)

    levels = np.empty((n_entities, n_buckets))
    cp_rows: list[tuple[str, int, float, float]] = []
    for i in range(n_entities):
        points = _entity_change_points(n_err[i], n_ev[i], basis, penalty, min_size)
        bounds = np.r_[0, points, n_buckets]
        seg_level = np.array(
            [
                _level(n_err[i, a:b], n_ev[i, a:b], basis)
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        )
        levels[i] = np.repeat(seg_level, np.diff(bounds))
        cp_rows += [(names[i], p, seg_level[j], seg_level[j + 1]) for j, p in enumerate(points)]

    rates = pd.DataFrame(
        {
            "entity": pd.Series(np.repeat(names, n_buckets), dtype="str"),
            "timestamp": np.tile(grid, n_entities),
            "events": n_ev.ravel().astype("int64"),
            "errors": n_err.ravel().astype("int64"),
            "rate": _ratio(n_err, n_ev).ravel(),
            "short_mean": short_mean.ravel(),
            "long_mean": long_mean.ravel(),
            "trend": _ratio(short_mean, long_mean).ravel(),
            "level": levels.ravel(),
        }
    )
    change_points = pd.DataFrame(
        {
            "entity": pd.Series([r[0] for r in cp_rows], dtype="str"),
            "timestamp": grid[np.array([r[1] for r in cp_rows], dtype="int64")],
            "before": np.array([r[2] for r in cp_rows], dtype="float64"),
            "after": np.array([r[3] for r in cp_rows], dtype="float64"),
        }
    )
    summary = _summary(names, n_err, n_ev, short_mean, long_mean, levels, change_points, basis)
    return Trends(
        rates=rates,
        change_points=change_points,
        summary=summary,
        entity=entity,
        freq=width,
        short=short_td,
        long=long_td,
        basis=basis,
    )


def _entity_change_points(
    errors: np.ndarray, n_events: np.ndarray, basis: str, penalty: float | None, min_size: int
) -> np.ndarray:
    if basis == "rate":
        # buckets without events say nothing about the rate: segment the others
        where = np.flatnonzero(n_events > 0)
        y = np.arcsin(np.sqrt(errors[where] / n_events[where]))
        w = n_events[where].astype("float64")
    else:
        where = np.arange(errors.size)
        y = np.sqrt(errors + 0.375)
        w = np.ones(errors.size)
    if y.size < 2 or y.min() == y.max():
        return np.zeros(0, dtype="int64")
    scale = max(_STABLE_SCALE, robust_scale(y, w))
    points = detect_change_points(y, w, penalty=penalty, min_size=min_size, scale=scale)
    return where[points]


def _level(errors: np.ndarray, n_events: np.ndarray, basis: str) -> float:
    if basis == "count":
        return float(errors.sum() / errors.size)
    total = n_events.sum()
    return float(errors.sum() / total) if total else float("nan")


def _trailing_mean(errors: np.ndarray, n_events: np.ndarray, k: int, basis: str) -> np.ndarray:
    sum_err = _trailing_sum(errors, k)
    if basis == "rate":
        return _ratio(sum_err, _trailing_sum(n_events, k))
    span = np.minimum(np.arange(1, errors.shape[1] + 1), k)
    return sum_err / span


def _trailing_sum(values: np.ndarray, k: int) -> np.ndarray:
    cum = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    ends = np.arange(1, values.shape[1] + 1)
    starts = np.maximum(ends - k, 0)
    return cum[:, ends] - cum[:, starts]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _summary(names, n_err, n_ev, short_mean, long_mean, levels, change_points, basis):
    counts = change_points.groupby("entity").size()
    last = change_points.groupby("entity")["timestamp"].max()
    total_ev = n_ev.sum(axis=1)
    total_err = n_err.sum(axis=1)
    rate = _ratio(total_err, total_ev) if basis == "rate" else np.full(len(names), np.nan)
    return pd.DataFrame(
        {
            "entity": pd.Series(names, dtype="str"),
            "events": total_ev.astype("int64"),
            "errors": total_err.astype("int64"),
            "error_rate": rate,
            "short_mean": short_mean[:, -1],
            "long_mean": long_mean[:, -1],
            "trend": _ratio(short_mean[:, -1], long_mean[:, -1]),
            "level": levels[:, -1],
            "change_points": np.array([counts.get(n, 0) for n in names], dtype="int64"),
            "last_change": pd.to_datetime(
                pd.Series([last.get(n, pd.NaT) for n in names], dtype="datetime64[ns, UTC]")
            ),
        }
    )
