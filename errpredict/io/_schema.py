"""The canonical event table: column names, dtypes and the one normaliser.

Every reader ends in :func:`to_canonical`, so that a CSV file, an OTLP export
and a BGL log all come out as the same validated, time-sorted DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from errpredict.exceptions import SchemaError

__all__ = [
    "CANONICAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "STRING_COLUMNS",
    "SEVERITY_NAMES",
    "metric_columns",
    "to_canonical",
]

REQUIRED_COLUMNS = ("timestamp", "service")
STRING_COLUMNS = ("service", "operation", "error_type", "host", "message", "trace_id")
CANONICAL_COLUMNS = (
    "timestamp",
    "service",
    "operation",
    "is_error",
    "error_type",
    "severity",
    "duration_ms",
    "host",
    "message",
    "trace_id",
)

#: Text levels mapped to the OpenTelemetry SeverityNumber at the start of each range.
SEVERITY_NAMES = {
    "TRACE": 1,
    "DEBUG": 5,
    "INFO": 9,
    "INFORMATION": 9,
    "NOTICE": 10,
    "WARN": 13,
    "WARNING": 13,
    "ERROR": 17,
    "ERR": 17,
    "SEVERE": 17,
    "CRITICAL": 21,
    "CRIT": 21,
    "FATAL": 21,
    "ALERT": 21,
    "EMERG": 21,
    "EMERGENCY": 21,
}
ERROR_SEVERITY = 17
WARN_SEVERITY = 13

_TRUE = {"true", "t", "yes", "y", "1", "error", "err"}
_FALSE = {"false", "f", "no", "n", "0", "", "ok", "unset"}
# columns that mean "the span status": ERROR (or 2, the OTLP enum) marks an error
_STATUS_COLUMNS = ("status", "status_code", "otel.status_code")

RowLabel = Callable[[int], str]


def _default_row(i: int) -> str:
    return f"row {i}"


def metric_columns(events: pd.DataFrame) -> list[str]:
    """Names of the extra numeric columns, the metric signals aggregated per window."""
    skip = set(CANONICAL_COLUMNS)
    return [
        c
        for c in events.columns
        if c not in skip
        and (pd.api.types.is_float_dtype(events[c]) or pd.api.types.is_integer_dtype(events[c]))
        and not pd.api.types.is_bool_dtype(events[c])
    ]


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _epoch_unit(values: np.ndarray) -> str:
    top = float(np.nanmax(np.abs(values))) if values.size else 0.0
    if top < 1e11:
        return "s"
    if top < 1e14:
        return "ms"
    if top < 1e17:
        return "us"
    return "ns"


def parse_timestamps(col: pd.Series, *, where: str, row: RowLabel = _default_row) -> pd.Series:
    """Parse ISO-8601 strings, epoch numbers or datetimes into ``datetime64[ns, UTC]``."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col):
        missing = col.isna().to_numpy()
        if missing.any():
            raise SchemaError(
                f"{where}: column 'timestamp' {row(_first_bad(missing))}: missing value; "
                "every event needs a time (ISO-8601 or epoch s/ms/us/ns)"
            )
        out = col.dt.tz_convert("UTC") if col.dt.tz is not None else col.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        if missing.any():
            raise SchemaError(
                f"{where}: column 'timestamp' {row(_first_bad(missing))}: missing value; "
                "every event needs a time (ISO-8601 or epoch s/ms/us/ns)"
            )
        unit = _epoch_unit(values)
        if unit == "ns" or pd.api.types.is_integer_dtype(col):
            ints = col.to_numpy(dtype="int64")
            scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
            ns = ints * scale
        else:
            scale = {"s": 1e9, "ms": 1e6, "us": 1e3}[unit]
            ns = np.round(values * scale).astype("int64")
        out = pd.Series(pd.to_datetime(ns, unit="ns", utc=True), index=col.index)
    else:
        text = col.astype("str")
        missing = col.isna().to_numpy()
        if missing.any():
            raise SchemaError(
                f"{where}: column 'timestamp' {row(_first_bad(missing))}: missing value; "
                "every event needs a time (ISO-8601 or epoch s/ms/us/ns)"
            )
        first = str(text.iloc[0]).strip()
        if first.lstrip("+-").replace(".", "", 1).isdigit():  # epoch numbers written as text
            numeric = pd.to_numeric(text, errors="coerce")
            if numeric.notna().all():
                return parse_timestamps(numeric, where=where, row=row)
        try:
            out = pd.to_datetime(text, utc=True, format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            bad = _first_bad(parsed.isna().to_numpy())
            raise SchemaError(
                f"{where}: column 'timestamp' {row(bad)}: cannot parse {text.iloc[bad]!r}; "
                "expected ISO-8601 (2026-01-31T12:00:00Z) or epoch s/ms/us/ns"
            ) from None
    return out.dt.as_unit("ns")


def _parse_severity(col: pd.Series, *, where: str, row: RowLabel) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = col.astype("str").str.strip().str.upper()
        mapped = text.map(SEVERITY_NAMES)
        numeric = pd.to_numeric(text, errors="coerce")
        values = mapped.fillna(numeric).to_numpy(dtype="float64", na_value=np.nan)
        unknown = np.isnan(values) & col.notna().to_numpy() & (text != "").to_numpy()
        if unknown.any():
            i = _first_bad(unknown)
            raise SchemaError(
                f"{where}: column 'severity' {row(i)}: unknown level {col.iloc[i]!r}; expected "
                "an OpenTelemetry SeverityNumber 1-24 or one of "
                "TRACE, DEBUG, INFO, WARN, ERROR, FATAL"
            )
    values = np.nan_to_num(values, nan=0.0)
    bad = (values < 0) | (values > 24) | (values != np.floor(values))
    if bad.any():
        i = _first_bad(bad)
        raise SchemaError(
            f"{where}: column 'severity' {row(i)}: {col.iloc[i]!r} is not a SeverityNumber; "
            "expected an integer 1-24 (0 for unspecified)"
        )
    return pd.Series(values.astype("int8"), index=col.index)


def _parse_bool(col: pd.Series, *, where: str, row: RowLabel) -> pd.Series:
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return col.astype(bool)
    if pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype="float64", na_value=0.0)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            i = _first_bad(bad)
            raise SchemaError(
                f"{where}: column 'is_error' {row(i)}: {col.iloc[i]!r} is not a boolean; "
                "expected true/false or 1/0"
            )
        return pd.Series(values == 1.0, index=col.index)
    text = col.astype("str").str.strip().str.lower().fillna("")
    true = text.isin(_TRUE).to_numpy()
    bad = ~(true | text.isin(_FALSE).to_numpy() | col.isna().to_numpy())
    if bad.any():
        i = _first_bad(bad)
        raise SchemaError(
            f"{where}: column 'is_error' {row(i)}: {col.iloc[i]!r} is not a boolean; "
            "expected true/false or 1/0"
        )
    return pd.Series(true, index=col.index)


def _status_is_error(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col):
        return (col.to_numpy(dtype="float64", na_value=0.0) == 2.0)
    text = col.astype("str").str.strip().str.upper()
    return text.isin(["ERROR", "STATUS_CODE_ERROR", "2"]).to_numpy()


def _clean_str(col: pd.Series) -> pd.Series:
    out = col.astype("str")
    blank = out.str.strip() == ""
    if blank.any():
        out = out.mask(blank)
    return out


def to_canonical(
    frame: pd.DataFrame,
    *,
    where: str = "events",
    row: RowLabel = _default_row,
    sort: bool = True,
) -> pd.DataFrame:
    """Validate ``frame`` and return the canonical event table.

    Parameters
    ----------
    frame
        Events in any column order; ``timestamp`` and ``service`` are required.
    where
        What the events came from (a path), used in error messages.
    row
        Maps a 0-based row position to the words used in error messages
        (a file reader says ``"line 1044"``).
    sort
        Sort by timestamp (stable, so ties keep their input order).

    Returns
    -------
    pandas.DataFrame
        Canonical columns first (absent optional string columns are omitted,
        ``is_error`` and ``severity`` always present), then metric and other
        columns, sorted by ``timestamp``, with a fresh ``RangeIndex``.

    Raises
    ------
    SchemaError
        A required column is missing, or a value cannot be parsed; the
        message names the column, the row and the value.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"timestamp": [1_700_000_060, 1_700_000_000],
    ...                     "service": ["api", "db"], "severity": ["ERROR", "INFO"]})
    >>> ev = to_canonical(raw)
    >>> ev[["service", "is_error", "severity"]].to_dict("list")
    {'service': ['db', 'api'], 'is_error': [False, True], 'severity': [9, 17]}
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(
            f"{where}: expected a pandas DataFrame of events, got {type(frame).__name__}"
        )
    cols = {str(c).strip(): c for c in frame.columns}
    frame = frame.rename(columns={v: k for k, v in cols.items()})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing required column {missing[0]!r}; the columns are "
            f"{sorted(map(str, frame.columns))[:12]}; every event needs 'timestamp' and 'service' "
            "(rename your columns, or pass the right --format)"
        )
    if len(frame) == 0:
        raise SchemaError(f"{where}: no events (the table has a header and no rows)")
    frame = frame.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    out["timestamp"] = parse_timestamps(frame["timestamp"], where=where, row=row)
    svc = frame["service"]
    missing_svc = svc.isna().to_numpy() | (svc.astype("str").str.strip() == "").to_numpy()
    if missing_svc.any():
        raise SchemaError(
            f"{where}: column 'service' {row(_first_bad(missing_svc))}: missing value; "
            "every event needs the service that emitted it"
        )
    for name in STRING_COLUMNS:
        if name in frame.columns:
            out[name] = _clean_str(frame[name])
    if "severity" in frame.columns:
        out["severity"] = _parse_severity(frame["severity"], where=where, row=row)
    else:
        out["severity"] = pd.Series(np.zeros(len(frame), dtype="int8"))
    if "is_error" in frame.columns:
        out["is_error"] = _parse_bool(frame["is_error"], where=where, row=row)
    else:
        derived = out["severity"].to_numpy() >= ERROR_SEVERITY
        if "error_type" in out:
            derived |= out["error_type"].notna().to_numpy()
        for name in _STATUS_COLUMNS:
            if name in frame.columns:
                derived |= _status_is_error(frame[name])
        out["is_error"] = pd.Series(derived)
    if "duration_ms" in frame.columns:
        dur = pd.to_numeric(frame["duration_ms"], errors="coerce")
        bad = dur.isna().to_numpy() & frame["duration_ms"].notna().to_numpy()
        if bad.any():
            i = _first_bad(bad)
            raise SchemaError(
                f"{where}: column 'duration_ms' {row(i)}: {frame['duration_ms'].iloc[i]!r} "
                "is not a number; expected milliseconds"
            )
        out["duration_ms"] = dur.astype("float64")
    ordered = [c for c in CANONICAL_COLUMNS if c in out]
    result = pd.DataFrame({c: out[c] for c in ordered})
    for c in frame.columns:
        if c in CANONICAL_COLUMNS:
            continue
        col = frame[c]
        if pd.api.types.is_bool_dtype(col) or (
            pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
        ):
            result[c] = col.astype("float64")
        else:
            result[c] = col
    if sort:
        ts = result["timestamp"].to_numpy(dtype="datetime64[ns]")
        if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():
            result = result.iloc[np.argsort(ts, kind="stable")].reset_index(drop=True)
    return result
