"""Reading OpenTelemetry (OTLP) traces and logs into canonical events."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io._canon import canonical
from errpredict.io._files import check_file, head_bytes, open_binary
from errpredict.io._otlp_json import iter_documents, walk_document
from errpredict.io._otlp_map import DEFAULT_METRIC_ATTRIBUTES, EventColumns
from errpredict.io._otlp_proto import iter_messages, walk_message
from errpredict.io._readlog import ReadLog

__all__ = ["read_otlp", "iter_otlp", "events_from_otlp", "otlp_encoding"]

_ENCODINGS = ("auto", "json", "proto")
_SIGNALS = (None, "traces", "logs")


def otlp_encoding(head: bytes) -> str:
    """``"json"`` when the content starts like JSON, else ``"proto"``."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return "json" if text[:1] in (b"{", b"[") else "proto"


def _check(encoding: str, signal: str | None) -> None:
    if encoding not in _ENCODINGS:
        raise ConfigError(f"encoding must be one of {_ENCODINGS}; got {encoding!r}")
    if signal not in _SIGNALS:
        raise ConfigError(f"signal must be 'traces', 'logs' or None (detect); got {signal!r}")


def _canonical(sink: EventColumns, where: str) -> pd.DataFrame:
    frame = canonical(sink.to_frame(), where=where)
    sink.clear()
    return frame


def iter_otlp(
    path: str | os.PathLike,
    *,
    encoding: str = "auto",
    signal: str | None = None,
    chunk_rows: int = 1_000_000,
    metric_attributes: Iterable[str] = DEFAULT_METRIC_ATTRIBUTES,
    log: ReadLog | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield canonical, time-sorted chunks of about ``chunk_rows`` events from an OTLP file.

    Every chunk has every column in ``metric_attributes`` (NaN where absent),
    so that the chunks of one file share one schema. A JSON file is read line
    by line; a protobuf file is read whole and decoded body by body.
    See :func:`read_otlp` for the parameters.
    """
    path = Path(path)
    _check(encoding, signal)
    check_file(path)
    log = log if log is not None else ReadLog(str(path))
    if encoding == "auto":
        encoding = otlp_encoding(head_bytes(path, 4096))
    log.source_format = f"otlp-{encoding}"
    sink = EventColumns(metric_attributes)
    total = 0
    if encoding == "json":
        for where, doc in iter_documents(path, log):
            walk_document(doc, where, sink, log)
            if len(sink) >= chunk_rows:
                total += len(sink)
                yield _canonical(sink, str(path))
    else:
        with open_binary(path) as fh:
            data = fh.read()
        for place, kind, message in iter_messages(data, str(path), log, signal):
            walk_message(message, kind, place, sink, log)
            if len(sink) >= chunk_rows:
                total += len(sink)
                yield _canonical(sink, str(path))
        del data
    if len(sink):
        yield _canonical(sink, str(path))
    elif total == 0:
        skipped = f" ({log.skipped_lines} bad input unit(s) skipped)" if log.skipped_lines else ""
        what = "OTLP/JSON requests with resourceSpans or resourceLogs" if encoding == "json" else (
            "an ExportTraceServiceRequest or ExportLogsServiceRequest body"
        )
        raise DataFormatError(f"{path}: no spans or log records found{skipped}; expected {what}")


def _drop_empty_metrics(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    empty = [c for c in names if c in frame.columns and frame[c].isna().all()]
    return frame.drop(columns=empty) if empty else frame


def read_otlp(
    path: str | os.PathLike,
    *,
    encoding: str = "auto",
    signal: str | None = None,
    skip_bad_lines: bool = False,
    metric_attributes: Iterable[str] = DEFAULT_METRIC_ATTRIBUTES,
) -> pd.DataFrame:
    """Read OTLP traces or logs (JSON or protobuf) into the canonical event table.

    Parameters
    ----------
    path
        An OTLP/JSON file (one request per line, as the Collector's file
        exporter writes, or one request body) or an OTLP protobuf file (one
        binary request body, or bodies each prefixed by its length).
    encoding
        ``"auto"`` (JSON when the content starts with ``{`` or ``[``),
        ``"json"`` or ``"proto"``.
    signal
        ``"traces"``, ``"logs"`` or None to detect it (protobuf only; JSON
        says it by its keys).
    skip_bad_lines
        Skip malformed lines and records whose fields have the wrong shape,
        count them in ``attrs["skipped_lines"]`` and say so in
        ``attrs["notices"]``, instead of raising.
    metric_attributes
        Numeric span or log attributes kept as float metric columns; columns
        that stay empty are dropped.

    Returns
    -------
    pandas.DataFrame
        The canonical events, with ``attrs`` ``source_format``
        (``"otlp-json"`` or ``"otlp-proto"``), ``default_entity``,
        ``notices`` and ``skipped_lines``.

    Raises
    ------
    DataFormatError
        A malformed JSON line (named by its line number), a field of the wrong
        shape (named by its path, such as
        ``line 3: resourceSpans[0].scopeSpans[1].spans[4].endTimeUnixNano``),
        or bytes that are not an OTLP protobuf body.
    """
    log = ReadLog(str(path), skip_bad_lines=skip_bad_lines)
    names = tuple(metric_attributes)
    chunks = iter_otlp(path, encoding=encoding, signal=signal, chunk_rows=sys.maxsize,
                       metric_attributes=names, log=log)
    frame = _drop_empty_metrics(next(iter(chunks)), names)
    return log.stamp(frame)


def events_from_otlp(
    body: bytes | str | dict,
    *,
    encoding: str = "proto",
    signal: str | None = None,
    where: str = "OTLP request body",
    skip_bad_lines: bool = False,
    metric_attributes: Iterable[str] = DEFAULT_METRIC_ATTRIBUTES,
) -> pd.DataFrame:
    """Decode one OTLP request body held in memory (an OTLP/HTTP receiver's input).

    Parameters
    ----------
    body
        Protobuf bytes (``encoding="proto"``), or JSON text, bytes or an
        already parsed dict (``encoding="json"``).
    encoding
        ``"proto"`` (``Content-Type: application/x-protobuf``) or ``"json"``
        (``application/json``).
    signal
        ``"traces"`` or ``"logs"`` (the receiver knows it from the URL path), or
        None to detect it.

    Returns
    -------
    pandas.DataFrame
        Canonical events; an empty request gives an empty table with the
        canonical columns.
    """
    _check(encoding, signal)
    log = ReadLog(where, skip_bad_lines=skip_bad_lines)
    names = tuple(metric_attributes)
    sink = EventColumns(names)
    if encoding == "json":
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataFormatError(f"{where}: not valid JSON ({exc})") from None
        walk_document(body, "body", sink, log)
        log.source_format = "otlp-json"
    else:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise DataFormatError(f"{where}: expected protobuf bytes, got {type(body).__name__}")
        if len(body):
            for place, kind, message in iter_messages(bytes(body), where, log, signal):
                walk_message(message, kind, place, sink, log)
        log.source_format = "otlp-proto"
    if len(sink) == 0:
        frame = sink.to_frame().drop(columns=list(names))
        return log.stamp(frame.astype({"timestamp": "datetime64[ns, UTC]"}))
    return log.stamp(_drop_empty_metrics(canonical(sink.to_frame(), where=where), names))
