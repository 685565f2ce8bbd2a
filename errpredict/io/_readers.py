"""Reading any supported source into the canonical event table, whole or in chunks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io._files import check_file
from errpredict.io._otlp import iter_otlp
from errpredict.io._otlp_map import DEFAULT_METRIC_ATTRIBUTES
from errpredict.io._readlog import DEFAULT_ENTITY, ReadLog
from errpredict.io._schema import REQUIRED_COLUMNS
from errpredict.io._sniff import FORMATS, resolve_format
from errpredict.io._tabular import iter_table

__all__ = ["read_events", "iter_events", "write_events", "EventChunks", "TABULAR_SUFFIXES"]

TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class EventChunks:
    """Canonical events of one file, in time-sorted chunks of about ``chunk_rows`` rows.

    Iterate to get the chunks (each a canonical DataFrame whose ``attrs`` hold
    the reader metadata). After the iteration, :attr:`notices` and
    :attr:`skipped_lines` are complete. Each chunk is sorted by time; the file
    as a whole need not be (OTLP exports and merged logs seldom are).

    How each format is chunked: Parquet by record batches of its row groups,
    CSV with pandas' chunked C reader, JSON Lines, OTLP/JSON and BGL by lines;
    an OTLP protobuf file and a Backblaze file are read whole (a protobuf body
    must be decoded whole; a drive's failure day is known only from its whole
    history) and then cut into chunks.

    Parameters
    ----------
    path
        The events file.
    format
        One of ``auto``, ``csv``, ``parquet``, ``jsonl``, ``otlp-json``,
        ``otlp-proto``, ``bgl``, ``backblaze``.
    chunk_rows
        About how many events per chunk (a chunk may be larger when one
        OTLP request holds more).
    skip_bad_lines
        Skip and count bad input instead of raising.
    skip_columns
        Columns not to read, because the job at hand does not use them (free
        text such as ``message`` and ``trace_id`` when training); tables do
        not parse them at all, other formats drop them. ``timestamp`` and
        ``service`` are always read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ev.csv").write_text(
    ...     "timestamp,service,is_error\\n3,api,0\\n1,api,1\\n2,db,0\\n")
    >>> chunks = iter_events(folder / "ev.csv", chunk_rows=2)
    >>> [len(c) for c in chunks], chunks.source_format, chunks.default_entity
    ([2, 1], 'csv', 'service')
    """

    def __init__(
        self,
        path: str | os.PathLike,
        format: str = "auto",
        *,
        chunk_rows: int = 1_000_000,
        skip_bad_lines: bool = False,
        skip_columns: Iterable[str] = (),
    ) -> None:
        if isinstance(skip_columns, str):
            raise ConfigError(f"skip_columns must be a list of column names; got {skip_columns!r}")
        self.skip_columns = frozenset(skip_columns)
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be an int >= 1; got {chunk_rows!r}")
        self.path = Path(path)
        self.source_format, self.format_reason = resolve_format(self.path, format)
        if not (self.source_format == "backblaze" and self.path.is_dir()):
            check_file(self.path)
        self.chunk_rows = chunk_rows
        self._log = ReadLog(str(self.path), skip_bad_lines=skip_bad_lines)
        self._log.source_format = self.source_format

    @property
    def default_entity(self) -> str:
        """The column that names the entity for this format ("host" for bgl and backblaze)."""
        return DEFAULT_ENTITY.get(self.source_format, "service")

    @property
    def notices(self) -> list[str]:
        """Human sentences about what the reader did (complete after the iteration)."""
        return self._log.summary_notices()

    @property
    def skipped_lines(self) -> int:
        """How many bad input units were skipped (complete after the iteration)."""
        return self._log.skipped_lines

    def _chunks(self, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
        fmt, path, log = self.source_format, self.path, self._log
        if fmt in ("csv", "jsonl", "parquet"):
            yield from iter_table(path, fmt, log, chunk_rows, self.skip_columns)
            return
        for frame in self._other_chunks(chunk_rows):
            drop = [c for c in frame.columns if c in self.skip_columns
                    and c not in REQUIRED_COLUMNS]
            yield frame.drop(columns=drop) if drop else frame

    def _other_chunks(self, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
        fmt, path, log = self.source_format, self.path, self._log
        if fmt in ("otlp-json", "otlp-proto"):
            yield from iter_otlp(path, encoding=fmt.removeprefix("otlp-"),
                                 chunk_rows=chunk_rows or sys.maxsize,
                                 metric_attributes=DEFAULT_METRIC_ATTRIBUTES, log=log)
        elif fmt == "bgl":
            from errpredict.datasets._loghub import iter_bgl

            yield from iter_bgl(path, chunk_rows=chunk_rows or sys.maxsize, log=log)
        elif fmt == "backblaze":
            from errpredict.datasets._backblaze import load_backblaze

            whole = load_backblaze(path, models=None, log=log)
            step = chunk_rows or max(len(whole), 1)
            for start in range(0, len(whole), step):
                yield whole.iloc[start : start + step].reset_index(drop=True)
        else:  # pragma: no cover - resolve_format checked it
            raise DataFormatError(f"{path}: unknown format {fmt!r}; expected one of {FORMATS}")

    def _stamp(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._log.stamp(frame, self.source_format)
        frame.attrs["format_reason"] = self.format_reason
        return frame

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for chunk in self._chunks(self.chunk_rows):
            yield self._stamp(chunk)

    def read(self) -> pd.DataFrame:
        """All events as one canonical table (what :func:`read_events` returns)."""
        frame = next(iter(self._chunks(None)))
        if self.source_format.startswith("otlp-"):
            empty = [c for c in DEFAULT_METRIC_ATTRIBUTES if c in frame and frame[c].isna().all()]
            frame = frame.drop(columns=empty)
        return self._stamp(frame)


def iter_events(
    path: str | os.PathLike,
    format: str = "auto",
    *,
    chunk_rows: int = 1_000_000,
    skip_bad_lines: bool = False,
    skip_columns: Iterable[str] = (),
) -> EventChunks:
    """Read an events file in time-sorted canonical chunks (bounded memory).

    Returns an iterable :class:`EventChunks`; see it for the parameters and
    how each format is chunked.
    """
    return EventChunks(path, format, chunk_rows=chunk_rows, skip_bad_lines=skip_bad_lines,
                       skip_columns=skip_columns)


def read_events(
    path: str | os.PathLike, format: str = "auto", *, skip_bad_lines: bool = False,
    skip_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Read an events file into the validated, time-sorted canonical table.

    Parameters
    ----------
    path
        An events file: a table in the canonical schema (CSV, Parquet, JSON
        Lines), an OTLP export (JSON or protobuf, traces or logs), a LogHub
        BGL log, or Backblaze drive data (a CSV file or a folder of them).
    format
        ``"auto"`` (by extension and content), ``"csv"``, ``"parquet"``,
        ``"jsonl"``, ``"otlp-json"``, ``"otlp-proto"``, ``"bgl"`` or
        ``"backblaze"``.
    skip_bad_lines
        Skip lines (or OTLP records) that cannot be parsed, count them and
        go on, instead of raising. Values that parse but break the schema
        (an unparseable timestamp in a CSV row) still raise SchemaError.
    skip_columns
        Columns not to read because the job does not use them (e.g.
        ``["message", "trace_id"]`` for training): less to parse and to hold.

    Returns
    -------
    pandas.DataFrame
        The canonical events. ``attrs`` holds ``source_format`` (what was
        read), ``format_reason`` (why auto picked it, or "given"),
        ``default_entity`` ("host" for bgl and backblaze, else "service"),
        ``notices`` (sentences about what the reader did, e.g. the Backblaze
        relabelling or skipped lines) and ``skipped_lines``.

    Raises
    ------
    DataFormatError
        The file is missing, empty, of an unknown type or malformed; the
        message names the line or the field.
    SchemaError
        A column or value does not fit the schema; the message names it.
    """
    return EventChunks(path, format, skip_bad_lines=skip_bad_lines,
                       skip_columns=skip_columns).read()


def _suffix_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst", ".xz"):
        suffixes = suffixes[:-1]
    return TABULAR_SUFFIXES.get(suffixes[-1]) if suffixes else None


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
