"""OTLP/JSON: request documents walked into :class:`EventColumns`.

A file holds one ``ExportTraceServiceRequest`` or ``ExportLogsServiceRequest``
per line (the OpenTelemetry Collector's file exporter), or one request body
(possibly pretty-printed, or a JSON list of bodies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from errpredict.exceptions import DataFormatError
from errpredict.io._files import json_lines, open_text
from errpredict.io._otlp_map import EventColumns, Resource
from errpredict.io._otlp_values import (
    SEVERITY_NUMBERS,
    STATUS_CODES,
    ShapeError,
    any_value,
    as_dict,
    as_enum,
    as_id,
    as_list,
    as_nanos,
    as_str,
    attributes,
    get,
    get_either,
)
from errpredict.io._readlog import ReadLog

__all__ = ["iter_documents", "walk_document", "BASE64_ID_NOTICE"]

BASE64_ID_NOTICE = (
    "{where}: trace ids were base64-encoded (the protobuf JSON mapping) instead of hex as "
    "OTLP/JSON requires; they were decoded as base64 and are stored as hex"
)


def _field(obj: dict, key: str, parent: str) -> tuple[object, str]:
    value, name = get(obj, key)
    return value, f"{parent}.{name}" if parent else name


def _resource(rs: dict) -> Resource:
    res, rkey = _field(rs, "resource", "")
    attrs, akey = _field(as_dict(res, rkey), "attributes", rkey)
    return Resource(attributes(attrs, akey))


def _trace_id(obj: dict, log: ReadLog) -> str | None:
    value, key = get(obj, "traceId")
    trace_id, was_base64 = as_id(value, key, 16)
    if was_base64:
        log.note(BASE64_ID_NOTICE.format(where=log.where))
    return trace_id


def _span(sp: object, resource: Resource, scope: str, sink: EventColumns, log: ReadLog) -> None:
    sp = as_dict(sp, "")
    trace_id = _trace_id(sp, log)
    as_id(*get(sp, "spanId"), 8)
    name = as_str(*get(sp, "name"))
    start = as_nanos(*get(sp, "startTimeUnixNano"))
    end = as_nanos(*get(sp, "endTimeUnixNano"))
    status, skey = _field(sp, "status", "")
    status = as_dict(status, skey)
    code = as_enum(*_field(status, "code", skey), STATUS_CODES, 2)
    message = as_str(*_field(status, "message", skey))
    attrs = attributes(*get(sp, "attributes"))
    exception = None
    events, ekey = get(sp, "events")
    for i, ev in enumerate(as_list(events, ekey)):
        ev = as_dict(ev, f"{ekey}[{i}]")
        if ev.get("name") == "exception":
            exception = attributes(*_field(ev, "attributes", f"{ekey}[{i}]"))
    sink.add_span(resource, name, start, end, code, message, attrs, exception, trace_id)


def _log_record(lr: object, resource: Resource, scope: str, sink: EventColumns,
                log: ReadLog) -> None:
    lr = as_dict(lr, "")
    trace_id = _trace_id(lr, log)
    time = as_nanos(*get(lr, "timeUnixNano"))
    observed = as_nanos(*get(lr, "observedTimeUnixNano"))
    severity = as_enum(*get(lr, "severityNumber"), SEVERITY_NUMBERS, 24)
    text = as_str(*get(lr, "severityText"))
    body = any_value(*get(lr, "body"))
    attrs = attributes(*get(lr, "attributes"))
    sink.add_log(resource, scope, time, observed, severity, text, body, attrs, trace_id)


# (top-level key, scope-list keys, record key, record walker, unit name)
_SIGNALS = (
    ("resourceSpans", ("scopeSpans", "instrumentationLibrarySpans"), "spans", _span, "span"),
    ("resourceLogs", ("scopeLogs", "instrumentationLibraryLogs"), "logRecords", _log_record,
     "log record"),
)


def walk_document(doc: object, where: str, sink: EventColumns, log: ReadLog) -> None:
    """Add the spans and log records of one request document to ``sink``.

    A bad record is reported with its field path and skipped or raised
    (:meth:`ReadLog.bad`); a bad resource or scope block likewise as a unit.
    """
    place = f"{log.where}: {where}"
    if not isinstance(doc, dict):
        log.bad("line", f"{place}: expected a JSON object with resourceSpans or resourceLogs, "
                        f"got {type(doc).__name__}")
        return
    for top, scope_keys, record_key, walker, unit in _SIGNALS:
        blocks, bkey = get(doc, top)
        try:
            blocks = as_list(blocks, bkey)
        except ShapeError as exc:
            log.bad("line", f"{place}: {exc}")
            continue
        for i, rs in enumerate(blocks):
            rpath = f"{bkey}[{i}]"
            try:
                rs = as_dict(rs, "")
                resource = _resource(rs)
                scopes, skey = get_either(rs, *scope_keys)
                scopes = as_list(scopes, skey)
            except ShapeError as exc:
                log.bad("resource", f"{place}: {exc.within(rpath)}")
                continue
            for j, ss in enumerate(scopes):
                spath = f"{rpath}.{skey}[{j}]"
                try:
                    ss = as_dict(ss, "")
                    scope, ckey = get_either(ss, "scope", "instrumentationLibrary")
                    scope_name = as_str(*_field(as_dict(scope, ckey), "name", ckey))
                    records, key = get(ss, record_key)
                    records = as_list(records, key)
                except ShapeError as exc:
                    log.bad("scope", f"{place}: {exc.within(spath)}")
                    continue
                for k, record in enumerate(records):
                    try:
                        walker(record, resource, scope_name, sink, log)
                    except ShapeError as exc:
                        log.bad(unit, f"{place}: {exc.within(f'{spath}.{key}[{k}]')}")


def _multiline_start(line: str, exc: json.JSONDecodeError) -> bool:
    """Whether ``line`` fails only because the document goes on past it."""
    return exc.pos >= len(line.rstrip())


def iter_documents(path: Path, log: ReadLog) -> Iterator[tuple[str, object]]:
    """Yield ``(where, document)``: one per JSON line, or the one body of the file.

    A malformed line is reported with its number (skipped when ``log`` skips).
    """
    whole = False
    with open_text(path) as fh:
        seen_first = False
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                if not seen_first and _multiline_start(line, exc):
                    whole = True
                    break
                log.bad("line", f"{path}: line {lineno}: not valid JSON ({exc.msg} at column "
                                f"{exc.colno}); expected one OTLP/JSON request per line")
                seen_first = True
                continue
            seen_first = True
            yield f"line {lineno}", doc
    if not whole:
        return
    with open_text(path) as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            if _later_lines_parse(path):  # JSON lines whose first line is cut short
                yield from _lines_after_first(path, log)
                return
            raise DataFormatError(
                f"{path}: line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "expected an OTLP/JSON request body, or one request per line"
            ) from None
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield f"body[{i}]", item
    else:
        yield "body", doc


def _later_lines_parse(path: Path, probe: int = 3) -> bool:
    """Whether the first non-blank lines after the first each parse as JSON on their own."""
    seen = 0
    with open_text(path) as fh:
        lines = (line for line in fh if line.strip())
        next(lines, None)
        for line in lines:
            try:
                json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError:
                return False
            seen += 1
            if seen == probe:
                break
    return seen > 0


def _lines_after_first(path: Path, log: ReadLog) -> Iterator[tuple[str, object]]:
    """Line mode for a JSON Lines file whose first non-blank line is malformed."""
    for lineno, doc in json_lines(path, log, "one OTLP/JSON request per line"):
        yield f"line {lineno}", doc
