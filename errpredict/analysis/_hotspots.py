"""Where errors concentrate: error share against traffic share per value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from errpredict.analysis._common import ensure_events, parse_freq, timestamps_ns
from errpredict.exceptions import ConfigError

__all__ = ["HOTSPOT_COLUMNS", "hotspots"]

HOTSPOT_COLUMNS = (
    "dimension",
    "rank",
    "value",
    "errors",
    "events",
    "error_share",
    "traffic_share",
    "lift",
    "error_rate",
    "has_traffic",
    "peak_start",
    "peak_errors",
)
DEFAULT_BY = ("service", "operation", "host", "error_type")


def hotspots(
    events: pd.DataFrame,
    *,
    by: Sequence[str] | str = DEFAULT_BY,
    freq: str | pd.Timedelta = "1h",
    top: int | None = 20,
) -> pd.DataFrame:
    """Rank the values of each dimension by how much they concentrate errors.

    For every dimension in ``by`` that the events have, each value gets its
    error count, its share of all errors, its share of all events (the
    traffic), their ratio (the *lift*: 1 means errors in proportion to
    traffic, 3 means three times more errors than its traffic would explain),
    its error rate, and the ``freq``-wide time bucket in which it had the most
    errors.

    Parameters
    ----------
    events
        The canonical event table (other frames are normalised with
        :func:`errpredict.io.to_canonical`).
    by
        Dimensions (columns) to rank; the ones the events lack are skipped.
    freq
        Width of the time buckets used to find when each value was hottest.
        Buckets are aligned to the Unix epoch (``"1h"`` buckets start on the
        hour, ``"1D"`` at midnight UTC).
    top
        Keep the first ``top`` values of each dimension; ``None`` keeps all.

    Returns
    -------
    pandas.DataFrame
        One long frame, one row per (dimension, value), dimensions in the
        order of ``by``, then by ``rank``. Columns:

        - ``dimension``: the column name (``"service"``, ``"host"`` ...).
        - ``rank``: 1 = hottest. Values are ranked by ``errors`` (descending),
          ties broken by ``lift`` (descending), then by ``value``.
        - ``value``: the value of the dimension, as a string. Rows where the
          dimension is missing count in the totals but not as a value.
        - ``errors``, ``events``: error rows and all rows with this value.
        - ``error_share``: ``errors`` / all errors.
        - ``traffic_share``: ``events`` / all events.
        - ``lift``: ``error_share / traffic_share``.
        - ``error_rate``: ``errors / events``.
        - ``has_traffic``: whether the dimension is seen on success rows. When
          it is not (the events hold only errors, or the dimension is only
          set on errors, as ``error_type`` usually is) traffic is unknown and
          ``traffic_share``, ``lift`` and ``error_rate`` are NaN.
        - ``peak_start``: start (UTC) of the bucket with the most errors for
          this value (the earliest on ties; NaT when it has no error).
        - ``peak_errors``: the errors in that bucket.

    Raises
    ------
    ConfigError
        ``by`` names no column the events have, ``freq`` is not a fixed
        duration, or ``top`` is not a positive integer.

    Examples
    --------
    >>> import pandas as pd
    >>> from errpredict.io import to_canonical
    >>> ev = to_canonical(pd.DataFrame({
    ...     "timestamp": pd.date_range("2026-01-01", periods=6, freq="20min"),
    ...     "service": ["api", "api", "api", "api", "db", "db"],
    ...     "is_error": [False, False, False, True, True, True]}))
    >>> hot = hotspots(ev, by="service")
    >>> print(hot[["value", "errors", "events", "lift", "error_rate"]].to_string(index=False))
    value  errors  events  lift  error_rate
       db       2       2   2.0        1.00
      api       1       4   0.5        0.25
    >>> str(hot["peak_start"].iloc[0])
    '2026-01-01 01:00:00+00:00'
    """
    owner = "hotspots"
    events = ensure_events(events)
    width = parse_freq(freq, name="freq", owner=owner)
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1
    ):
        raise ConfigError(
            f"The 'top' parameter of {owner} must be an int in [1, inf) or None. "
            f"Got {top!r} instead."
        )
    dims = [by] if isinstance(by, str) else list(by)
    present = [d for d in dims if d in events.columns]
    if not present:
        raise ConfigError(
            f"The 'by' parameter of {owner} names no column the events have: {dims}; "
            f"the columns are {list(map(str, events.columns))}."
        )
    is_error = events["is_error"].to_numpy(dtype=bool)
    total_events = len(events)
    total_errors = int(is_error.sum())
    ns = timestamps_ns(events["timestamp"])
    step = width.value
    bucket = ns // step
    frames = [
        _rank_dimension(events[dim], dim, is_error, bucket, step, total_events, total_errors, top)
        for dim in present
    ]
    return pd.concat(frames, ignore_index=True)


def _rank_dimension(
    column: pd.Series,
    dim: str,
    is_error: np.ndarray,
    bucket: np.ndarray,
    step: int,
    total_events: int,
    total_errors: int,
    top: int | None,
) -> pd.DataFrame:
    codes, uniques = pd.factorize(column, sort=False)
    n = len(uniques)
    valid = codes >= 0
    n_events = np.bincount(codes[valid], minlength=n)
    err_mask = valid & is_error
    n_errors = np.bincount(codes[err_mask], minlength=n)
    has_traffic = bool((valid & ~is_error).any())

    error_share = _ratio(n_errors, np.full(n, total_errors))
    if has_traffic:
        traffic_share = n_events / total_events
        lift = _ratio(error_share, traffic_share)
        error_rate = _ratio(n_errors, n_events)
    else:
        traffic_share = lift = error_rate = np.full(n, np.nan)

    peak_bucket, peak_errors = _peaks(codes[err_mask], bucket[err_mask], n)
    peak_start = pd.to_datetime(
        np.where(peak_errors > 0, peak_bucket * step, np.iinfo("int64").min).view(
            "datetime64[ns]"
        ),
        utc=True,
    )
    values = np.asarray(uniques.astype(str), dtype=object)
    lift_key = np.nan_to_num(lift, nan=-np.inf)
    order = np.lexsort((values, -lift_key, -n_errors))
    if top is not None:
        order = order[:top]
    return pd.DataFrame(
        {
            "dimension": pd.Series([dim] * len(order), dtype="str"),
            "rank": np.arange(1, len(order) + 1, dtype="int64"),
            "value": pd.Series(values[order], dtype="str"),
            "errors": n_errors[order].astype("int64"),
            "events": n_events[order].astype("int64"),
            "error_share": error_share[order],
            "traffic_share": traffic_share[order],
            "lift": lift[order],
            "error_rate": error_rate[order],
            "has_traffic": np.full(len(order), has_traffic),
            "peak_start": peak_start[order],
            "peak_errors": peak_errors[order].astype("int64"),
        }
    )


def _peaks(codes: np.ndarray, bucket: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per code, the bucket with most rows (earliest on ties) and its row count."""
    peak_bucket = np.zeros(n, dtype="int64")
    peak_count = np.zeros(n, dtype="int64")
    if codes.size == 0:
        return peak_bucket, peak_count
    pairs, counts = np.unique(np.stack([codes, bucket], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs, counts = pairs[order], counts[order]
    first = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    peak_bucket[pairs[first, 0]] = pairs[first, 1]
    peak_count[pairs[first, 0]] = counts[first]
    return peak_bucket, peak_count


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out
