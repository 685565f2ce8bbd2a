"""Tables in the canonical schema: CSV, JSON Lines and Parquet, whole or in chunks."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from errpredict.exceptions import DataFormatError
from errpredict.io._canon import canonical
from errpredict.io._files import json_lines, open_text
from errpredict.io._readlog import ReadLog
from errpredict.io._schema import REQUIRED_COLUMNS, STRING_COLUMNS

__all__ = ["read_table", "iter_table"]

_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


def _sep(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    return "\t" if name.endswith(".tsv") else ","


def _empty(path: Path) -> DataFormatError:
    return DataFormatError(f"{path}: the file is empty; expected a header and events")


def _csv_header(path: Path) -> tuple[list[str], str | None]:
    """The columns of a CSV file and the text of its first timestamp (None when absent)."""
    try:
        header = [str(c) for c in pd.read_csv(path, sep=_sep(path), nrows=0).columns]
    except pd.errors.EmptyDataError:
        raise _empty(path) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a readable CSV file: {exc}") from None
    stamp = [c for c in header if c.strip() == "timestamp"][:1]
    first = None
    if stamp:
        try:  # a glance only: a bad line is for the reader proper to name (or skip)
            head = pd.read_csv(path, sep=_sep(path), nrows=1, usecols=stamp, dtype="str",
                               keep_default_na=False, on_bad_lines="skip")
            first = str(head.iloc[0, 0]).strip() if len(head) else None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
            first = None
    return header, first


def _kept(columns: list[str], skip: frozenset[str]) -> list[str]:
    """The columns to read: all but those skipped (required columns are always read)."""
    return [c for c in columns if c.strip() not in skip or c.strip() in REQUIRED_COLUMNS]


def _csv_chunks(path: Path, log: ReadLog, chunk_rows: int | None, skip: frozenset[str]
                ) -> Iterator[pd.DataFrame]:
    """Raw CSV chunks (C engine, so errors name the line); bad lines counted when skipping.

    Skipped columns are dropped after parsing: the C engine with ``usecols`` would let
    lines with surplus fields through."""
    header = _csv_header(path)[0]
    columns = _kept(header, skip)
    options = dict(sep=_sep(path), engine="c", low_memory=False,
                   dtype={c: "str" for c in header if c.strip() in STRING_COLUMNS},
                   on_bad_lines="warn" if log.skip_bad_lines else "error")

    def kept(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[columns] if len(columns) < len(header) else frame

    if chunk_rows is None:
        yield kept(_csv_step(path, log, lambda: pd.read_csv(path, **options)))
        return
    with pd.read_csv(path, chunksize=chunk_rows, **options) as reader:
        while True:
            chunk = _csv_step(path, log, lambda: next(reader, None))
            if chunk is None:
                return
            yield kept(chunk)


def _csv_step(path: Path, log: ReadLog, read):
    """Run one read, turning parser errors into DataFormatError and counting skipped lines."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = read()
    except pd.errors.EmptyDataError:
        raise _empty(path) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataFormatError(
            f"{path}: not a readable CSV file: {detail}; fix the line, or pass "
            "skip_bad_lines=True (--skip-bad-lines) to skip bad lines and count them"
        ) from None
    for w in caught:
        for lineno, why in _SKIPPED.findall(str(w.message)):
            log.skip("line", f"{path}: line {lineno}: {why}")
    return frame


#: an ISO-8601 time with a zone ("Z" or "+02:00"), which Arrow parses to UTC itself
_ZONED_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)$")
_COMPRESSED = (".gz", ".bz2", ".zst", ".xz", ".lz4")


def _read_csv_fast(path: Path, skip: frozenset[str]) -> pd.DataFrame | None:
    """The whole CSV through Arrow's multithreaded reader; None when it cannot say why not.

    Integer columns with gaps come out as floats (Arrow keeps their nulls), and the
    canonical string columns stay strings with empty cells as missing values. An
    uncompressed file is memory-mapped (its pages are the page cache's, not copies), only
    the columns not skipped are converted, and zoned ISO-8601 timestamps are parsed by
    Arrow as it reads.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header, first = _csv_header(path)
    columns = _kept(header, skip)
    types = {c: pa.string() for c in columns if c.strip() in STRING_COLUMNS}
    for c in columns:
        if c.strip() == "timestamp" and first and _ZONED_ISO.match(first):
            types[c] = pa.timestamp("ns", tz="UTC")
    source = path if path.name.lower().endswith(_COMPRESSED) else pa.memory_map(str(path))
    try:
        table = pacsv.read_csv(
            source,
            parse_options=pacsv.ParseOptions(delimiter=_sep(path)),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=columns,
                                                 strings_can_be_null=True),
        )
        return table.to_pandas(self_destruct=True, split_blocks=True)
    except Exception:  # Arrow does not say which line; the C engine will
        return None
    finally:
        if not isinstance(source, Path):
            source.close()


def _json_chunks(path: Path, log: ReadLog, chunk_rows: int | None, skip: frozenset[str]
                 ) -> Iterator[pd.DataFrame]:
    for frame in _json_frames(path, log, chunk_rows):
        yield frame[_kept(list(frame.columns), skip)] if skip else frame


def _json_frames(path: Path, log: ReadLog, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    columns = _json_keys(path) if chunk_rows is not None else None
    rows: list[dict] = []
    for lineno, obj in json_lines(path, log, "one JSON object per line"):
        if not isinstance(obj, dict):
            log.bad("line", f"{path}: line {lineno}: expected a JSON object, got "
                            f"{type(obj).__name__}")
            continue
        rows.append(obj)
        if chunk_rows is not None and len(rows) >= chunk_rows:
            yield pd.DataFrame.from_records(rows, columns=columns)
            rows = []
    if rows or chunk_rows is None:
        yield pd.DataFrame.from_records(rows, columns=columns)


def _json_keys(path: Path) -> list[str]:
    """Every key of a JSON Lines file, so that all chunks share one set of columns."""
    keys: dict[str, None] = {}
    with open_text(path) as fh:
        for line in fh:
            try:
                obj = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                keys.update(dict.fromkeys(obj))
    return list(keys)


def _parquet_chunks(path: Path, chunk_rows: int | None, skip: frozenset[str]
                    ) -> Iterator[pd.DataFrame]:
    try:
        reader = pq.ParquetFile(path)
        columns = _kept(reader.schema_arrow.names, skip)
        if chunk_rows is None:
            yield reader.read(columns=columns).to_pandas(self_destruct=True, split_blocks=True)
            return
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    for batch in reader.iter_batches(batch_size=chunk_rows, columns=columns):
        yield batch.to_pandas()


def _raw_chunks(path: Path, fmt: str, log: ReadLog, chunk_rows: int | None,
                skip: frozenset[str]):
    if fmt == "csv":
        if chunk_rows is None and not log.skip_bad_lines:
            frame = _read_csv_fast(path, skip)
            if frame is not None:
                return iter([frame])
        return _csv_chunks(path, log, chunk_rows, skip)
    if fmt == "jsonl":
        return _json_chunks(path, log, chunk_rows, skip)
    return _parquet_chunks(path, chunk_rows, skip)


def iter_table(
    path: Path, fmt: str, log: ReadLog, chunk_rows: int | None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[pd.DataFrame]:
    """Yield canonical, time-sorted chunks of a CSV, JSON Lines or Parquet file.

    ``chunk_rows=None`` reads the whole file as one chunk. Error messages
    name rows by their place in the whole file. Columns named in ``skip`` are
    not read (the required ones always are).
    """
    log.source_format = fmt
    offset = 0
    for raw in _raw_chunks(path, fmt, log, chunk_rows, skip):
        if len(raw.columns) == 0:
            raise _empty(path)
        if fmt == "csv" and not log.skipped_lines:

            def row(i: int, base: int = offset) -> str:
                return f"row {base + i} (line {base + i + 2})"

        else:

            def row(i: int, base: int = offset) -> str:
                return f"row {base + i}"

        if len(raw) == 0 and offset > 0:
            continue
        if len(raw) == 0 and log.skipped_lines:
            raise DataFormatError(
                f"{path}: no events left after skipping {log.skipped_lines} bad line(s); "
                f"first: {log.first_error}"
            )
        yield canonical(raw, where=str(path), row=row)
        offset += len(raw)


def read_table(path: Path, fmt: str, log: ReadLog, skip: frozenset[str] = frozenset()
               ) -> pd.DataFrame:
    """The whole file as one canonical table."""
    return next(iter_table(path, fmt, log, None, skip))
