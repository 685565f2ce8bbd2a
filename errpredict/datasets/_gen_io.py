"""Writing a generated history: events by extension, ground-truth incidents beside them.

CSV events go through a columnar writer (pyarrow) so that a million rows
take about a second; Parquet and JSON Lines use
:func:`errpredict.io.write_events`. The incidents land in
``<stem>.incidents.csv`` next to the events and come back with
:func:`read_incidents`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from errpredict.exceptions import DataFormatError, SchemaError
from errpredict.io import write_events

if TYPE_CHECKING:
    from errpredict.datasets._generator import GeneratedHistory

__all__ = ["INCIDENT_COLUMNS", "write_history", "read_incidents", "incidents_path",
           "write_events_csv"]

#: Columns of the ground-truth incidents table, in order.
INCIDENT_COLUMNS = (
    "incident_id",
    "service",
    "root_service",
    "mechanism",
    "has_precursor",
    "precursor_start",
    "start",
    "end",
    "error_type",
    "retry_after_s",
    "severity_level",
)
_TIME_COLUMNS = ("precursor_start", "start", "end")
_FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_COMPRESSION = (".gz", ".bz2", ".zst", ".xz")


def _split(path: Path) -> tuple[str, str, bool]:
    """(stem without the format suffixes, format suffix, compressed?)."""
    name = path.name
    compressed = name.lower().endswith(_COMPRESSION)
    if compressed:
        name = name[: name.rfind(".")]
    suffix = Path(name).suffix.lower()
    if suffix not in _FORMATS:
        raise DataFormatError(
            f"{path}: unknown file type {path.suffix or '(no extension)'!r} for the events; "
            "expected .csv, .parquet or .jsonl"
        )
    return name[: -len(suffix)], suffix, compressed


def incidents_path(path: str | os.PathLike) -> Path:
    """Where the incidents of events written to ``path`` go: ``hist.csv -> hist.incidents.csv``."""
    path = Path(path)
    stem, _, _ = _split(path)
    return path.with_name(f"{stem}.incidents.csv")


def _iso(ns: np.ndarray) -> pa.Array:
    """UTC epoch nanoseconds as ``2026-01-05T00:00:00.123Z``, at the coarsest exact unit."""
    unit = "ms" if not (ns % 1_000_000).any() else ("us" if not (ns % 1_000).any() else "ns")
    scale = {"ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    text = pc.cast(pa.array(ns // scale, type=pa.timestamp(unit)), pa.string())
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, "Z", "")


def _arrow_column(col: pd.Series) -> pa.Array:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return _iso(col.dt.tz_convert("UTC").dt.as_unit("ns").to_numpy(
            dtype="datetime64[ns]").view("int64"))
    return pa.array(col, from_pandas=True)


def write_events_csv(events: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the canonical event table as CSV, fast (ISO-8601 UTC times, empty = missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({str(name): _arrow_column(events[name]) for name in events.columns})
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    options = pa_csv.WriteOptions(delimiter=sep, quoting_style="needed")
    pa_csv.write_csv(table, str(path), write_options=options)
    return path


def write_history(history: GeneratedHistory, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the events to ``path`` (by extension) and the incidents to ``<stem>.incidents.csv``.

    Parameters
    ----------
    history
        What :func:`generate_history` returned.
    path
        ``.csv``, ``.parquet`` or ``.jsonl`` file for the events.

    Returns
    -------
    tuple of Path
        The events file and the incidents file.

    Raises
    ------
    DataFormatError
        The extension is not one of the supported formats.
    """
    path = Path(path)
    _, suffix, compressed = _split(path)
    if _FORMATS[suffix] == "csv" and not compressed:
        write_events_csv(history.events, path)
    else:
        write_events(history.events, path)
    inc_path = incidents_path(path)
    inc = history.incidents.copy()
    for name in _TIME_COLUMNS:
        inc[name] = inc[name].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.replace(
            r"(\.\d{3})000Z$", r"\1Z", regex=True)
    inc.to_csv(inc_path, index=False)
    return path, inc_path


def read_incidents(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ground-truth incidents table written by :func:`write_history`.

    Accepts the incidents file itself or the events file it sits beside.
    """
    path = Path(path)
    if not path.name.endswith(".incidents.csv"):
        path = incidents_path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such incidents file; write_history writes it beside "
                              "the events as <stem>.incidents.csv")
    table = pd.read_csv(path, dtype={"service": "str", "root_service": "str",
                                     "mechanism": "str", "error_type": "str",
                                     "severity_level": "str"})
    missing = [c for c in INCIDENT_COLUMNS if c not in table.columns]
    if missing:
        raise SchemaError(f"{path}: missing incidents column {missing[0]!r}; expected the "
                          f"columns {list(INCIDENT_COLUMNS)}")
    for name in _TIME_COLUMNS:
        table[name] = pd.to_datetime(table[name], utc=True, format="ISO8601").dt.as_unit("ns")
    has = table["has_precursor"]
    if has.dtype != bool:
        has = has.astype("str").str.lower().map({"true": True, "false": False})
    return table.astype({"incident_id": "int64", "retry_after_s": "float64"}).assign(
        has_precursor=has.astype(bool).to_numpy(dtype=bool)
    )[list(INCIDENT_COLUMNS)]
