"""Converting any events file to canonical Parquet, chunk by chunk."""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io._readers import EventChunks

__all__ = ["ingest", "IngestSummary", "PARQUET_METADATA_KEY"]

#: Key of the JSON metadata that :func:`ingest` writes into the Parquet footer.
PARQUET_METADATA_KEY = b"errpredict"


@dataclass(frozen=True)
class IngestSummary:
    """What :func:`ingest` read and wrote.

    ``time_ordered`` is False when a chunk started before the previous one
    ended: each row group is sorted by time, the file as a whole is not, and
    :func:`~errpredict.io.read_events` sorts it when reading it whole.
    """

    source: str
    out: str
    source_format: str
    format_reason: str
    rows: int
    errors: int
    entity: str
    entities: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    time_ordered: bool
    chunks: int
    skipped_lines: int
    notices: tuple[str, ...] = ()
    error_types: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready values (times as ISO-8601 strings)."""
        out = asdict(self)
        out["start"] = None if self.start is None else self.start.isoformat()
        out["end"] = None if self.end is None else self.end.isoformat()
        out["notices"] = list(self.notices)
        return out

    def to_text(self) -> str:
        """A few lines for people."""
        how = "auto: " + self.format_reason if self.format_reason != "given" else "given"
        lines = [
            f"read {self.source} as {self.source_format} ({how})",
            f"wrote {self.rows:,} events to {self.out} ({self.chunks} row group(s))",
            f"errors: {self.errors:,} ({self.errors / max(self.rows, 1):.2%})",
            f"entities ({self.entity}): {self.entities:,}",
            f"time range: {self.start} .. {self.end}"
            + ("" if self.time_ordered else " (the input was not in time order)"),
        ]
        if self.error_types:
            top = sorted(self.error_types.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            lines.append("error types: " + ", ".join(f"{k} {v}" for k, v in top))
        if self.skipped_lines:
            lines.append(f"skipped: {self.skipped_lines} bad input unit(s)")
        lines += [f"note: {n}" for n in self.notices]
        return "\n".join(lines)


def _table(chunk: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    chunk = chunk.copy(deep=False)
    chunk.attrs = {}
    with warnings.catch_warnings():
        # pyarrow reads tz-aware columns through Series.values, which pandas 3.1 deprecates
        warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
        table = pa.Table.from_pandas(chunk, preserve_index=False)
    if schema is None or table.schema.equals(schema):
        return table
    extra = [n for n in table.column_names if n not in schema.names]
    if extra:
        raise DataFormatError(
            f"column {extra[0]!r} appears after the first chunk; every chunk needs the same "
            "columns (read the file whole with read_events, or give it a fixed header)"
        )
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(len(table), f.type))
            continue
        try:
            columns.append(table[f.name].cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataFormatError(
                f"column {f.name!r} changes type between chunks ({f.type} first, then "
                f"{table.schema.field(f.name).type}); make its values consistent"
            ) from None
    return pa.Table.from_arrays(columns, schema=schema)


def ingest(
    path: str | os.PathLike,
    out: str | os.PathLike,
    format: str = "auto",
    *,
    skip_bad_lines: bool = False,
    chunk_rows: int = 1_000_000,
    entity: str | None = None,
) -> IngestSummary:
    """Convert an events file of any supported format to canonical Parquet.

    The input is read in chunks (:func:`~errpredict.io.iter_events`) and each
    chunk is written as it comes, so memory stays bounded by the chunk size
    whatever the file size. The Parquet footer holds a JSON record (key
    ``errpredict``) with the source format, row count and whether the file is
    in time order.

    Parameters
    ----------
    path
        The input events file.
    out
        The Parquet file to write (``.parquet``); written to a temporary name
        and renamed at the end, so a failed ingest leaves no partial file.
    format
        As for :func:`~errpredict.io.read_events`.
    skip_bad_lines
        Skip and count bad input instead of raising.
    chunk_rows
        Events per chunk (and about per row group).
    entity
        Column whose distinct values are counted; default the format's own
        (``host`` for bgl and backblaze, else ``service``).

    Returns
    -------
    IngestSummary
        Rows, errors, entities, time range, format (and why auto picked it),
        notices and skipped input.
    """
    path, out = Path(path), Path(out)
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise ConfigError(f"out must be a .parquet file; got {str(out)!r}")
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise ConfigError(f"out {str(out)!r} is the input file; write to another path")
    chunks = EventChunks(path, format, chunk_rows=chunk_rows, skip_bad_lines=skip_bad_lines)
    entity = entity or chunks.default_entity
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    writer: pq.ParquetWriter | None = None
    rows = errors = n_chunks = 0
    start = end = None
    ordered = True
    seen: set = set()
    kinds: Counter = Counter()
    try:
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            table = _table(chunk, None if writer is None else writer.schema)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=max(len(chunk), 1))
            ts = chunk["timestamp"]
            lo, hi = ts.iloc[0], ts.iloc[-1]
            if end is not None and lo < end:
                ordered = False
            start = lo if start is None else min(start, lo)
            end = hi if end is None else max(end, hi)
            rows += len(chunk)
            errors += int(chunk["is_error"].sum())
            if entity in chunk.columns:
                seen.update(chunk[entity].dropna().unique().tolist())
            if "error_type" in chunk.columns:
                kinds.update(chunk.loc[chunk["is_error"], "error_type"].dropna().tolist())
            n_chunks += 1
        if writer is None:
            raise DataFormatError(f"{path}: no events to write")
        if entity not in writer.schema.names:
            raise ConfigError(f"entity {entity!r} is not a column of {path}; the columns are "
                              f"{writer.schema.names}")
        summary = IngestSummary(
            source=str(path), out=str(out), source_format=chunks.source_format,
            format_reason=chunks.format_reason, rows=rows, errors=errors, entity=entity,
            entities=len(seen), start=start, end=end, time_ordered=ordered, chunks=n_chunks,
            skipped_lines=chunks.skipped_lines, notices=tuple(chunks.notices),
            error_types=dict(kinds.most_common()),
        )  # fmt: skip
        meta = {k: v for k, v in summary.to_dict().items() if k not in ("source", "out")}
        writer.add_key_value_metadata({PARQUET_METADATA_KEY: json.dumps(meta).encode()})
        writer.close()
        writer = None
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return summary
