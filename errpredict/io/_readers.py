"""Readers and writers of the canonical event table: CSV, Parquet, JSON Lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from errpredict.exceptions import DataFormatError, SchemaError
from errpredict.io._schema import to_canonical

__all__ = ["read_events", "write_events", "TABULAR_SUFFIXES"]

TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def _suffix_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst", ".xz"):
        suffixes = suffixes[:-1]
    return TABULAR_SUFFIXES.get(suffixes[-1]) if suffixes else None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataFormatError(f"{path}: no such file; check the path given to --data")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory; give the path of one events file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty; expected a header and events")


def _read_csv(path: Path) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(path, sep=sep, engine="pyarrow")
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: the file is empty; expected a header and events") from None
    except Exception:
        pass  # the pyarrow engine does not say where; the C engine does
    try:
        return pd.read_csv(path, sep=sep, engine="c", low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: the file is empty; expected a header and events") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataFormatError(f"{path}: not a readable CSV file: {detail}") from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(
                    f"{path}: line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                    "expected one JSON object per line"
                ) from None
            if not isinstance(obj, dict):
                raise DataFormatError(
                    f"{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}"
                )
            rows.append(obj)
    if not rows:
        raise DataFormatError(f"{path}: no events (the file has only blank lines)")
    return pd.DataFrame.from_records(rows)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataFormatError(f"{path}: not a readable Parquet file ({exc})") from None


def read_events(path: str | os.PathLike, *, format: str = "auto") -> pd.DataFrame:
    """Read an events file into the validated, time-sorted canonical table.

    Parameters
    ----------
    path
        A CSV, Parquet or JSON Lines file in the canonical schema.
    format
        ``"auto"`` (by extension), ``"csv"``, ``"parquet"`` or ``"jsonl"``.

    Raises
    ------
    DataFormatError
        The file is missing, empty, of an unknown type or malformed.
    SchemaError
        A column or value does not fit the schema; the message names it.
    """
    path = Path(path)
    _check_file(path)
    fmt = format
    if fmt == "auto":
        fmt = _suffix_format(path)
        if fmt is None:
            raise DataFormatError(
                f"{path}: unknown file type {path.suffix or '(no extension)'!r}; "
                "expected .csv, .parquet or .jsonl (or name the format with --format)"
            )
    if fmt == "csv":
        frame = _read_csv(path)
        row = _csv_row
    elif fmt == "parquet":
        frame = _read_parquet(path)
        row = _plain_row
    elif fmt == "jsonl":
        frame = _read_jsonl(path)
        row = _plain_row
    else:
        raise DataFormatError(
            f"{path}: format {format!r} is not a table format; expected csv, parquet or jsonl"
        )
    if len(frame.columns) == 0:
        raise DataFormatError(f"{path}: the file is empty; expected a header and events")
    try:
        return to_canonical(frame, where=str(path), row=row)
    except SchemaError:
        raise


def _csv_row(i: int) -> str:
    return f"row {i} (line {i + 2})"


def _plain_row(i: int) -> str:
    return f"row {i}"


def write_events(events: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write events as CSV, Parquet or JSON Lines, chosen by the extension of ``path``."""
    path = Path(path)
    fmt = _suffix_format(path)
    if fmt is None:
        raise DataFormatError(
            f"{path}: unknown file type {path.suffix or '(no extension)'!r}; "
            "expected .csv, .parquet or .jsonl"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        events.to_parquet(path, index=False)
    elif fmt == "csv":
        out = events.copy()
        if "timestamp" in out.columns and isinstance(out["timestamp"].dtype, pd.DatetimeTZDtype):
            out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.to_csv(path, index=False, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    else:
        out = events.copy()
        if "timestamp" in out.columns and isinstance(out["timestamp"].dtype, pd.DatetimeTZDtype):
            out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.to_json(path, orient="records", lines=True, date_format="iso")
    return path
