"""OTLP protobuf: binary request bodies decoded with ``opentelemetry-proto``.

A file holds one request body, as ``opentelemetry-exporter-otlp-proto-http``
POSTs it, or several bodies each preceded by its length: a 4-byte big-endian
count (the OpenTelemetry Collector's file exporter with ``format: proto``) or
a protobuf varint (``writeDelimitedTo``). Traces and logs are told apart by
decoding: a request of the other signal either fails to parse or leaves
fields the schema does not know.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from itertools import islice

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from errpredict.exceptions import DataFormatError
from errpredict.io._otlp_map import EventColumns, Resource
from errpredict.io._otlp_values import ShapeError
from errpredict.io._readlog import ReadLog

__all__ = ["split_frames", "decode_frame", "detect_signal", "walk_message", "NotProtobuf"]

REQUESTS = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest}
_FIRST_TAG = 0x0A  # field 1 (resource_spans / resource_logs), length-delimited


class NotProtobuf(Exception):
    """The bytes are not an OTLP protobuf request (``detail`` says why)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value, shift = 0, 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    return None


def _tile(data: bytes, prefix: str) -> tuple[list[tuple[int, int]], str | None]:
    """Frames ``(start, end)`` of a length-prefixed stream, and why it stopped early."""
    frames: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data):
        if prefix == "uint32":
            if pos + 4 > len(data):
                return frames, f"{len(data) - pos} stray byte(s) at byte {pos}"
            size, body = int.from_bytes(data[pos : pos + 4], "big"), pos + 4
        else:
            got = _varint(data, pos)
            if got is None:
                return frames, f"a broken length prefix at byte {pos}"
            size, body = got
        if body + size > len(data):
            return frames, (
                f"frame {len(frames) + 1} at byte {pos} claims {size} bytes but only "
                f"{len(data) - body} remain (the file is truncated)"
            )
        if size and data[body] != _FIRST_TAG:
            return [], "a frame that does not start like an OTLP request"
        frames.append((body, body + size))
        pos = body + size
    return frames, None


def split_frames(
    data: bytes,
) -> tuple[list[bytes], str, str | None, tuple[str, Message] | None]:
    """Split a file's bytes into request bodies.

    Returns
    -------
    frames, framing, problem, decoded
        ``framing`` is ``"single"``, ``"uint32"`` or ``"varint"``; ``problem``
        says why the last part could not be framed (a truncated file), or None;
        ``decoded`` is ``(signal, request)`` of a single body, else None.

    Raises
    ------
    NotProtobuf
        Neither one body nor a length-prefixed sequence of bodies.
    """
    if not data:
        raise NotProtobuf("the body is empty")
    single_error = None
    if data[0] == _FIRST_TAG:
        try:
            return [data], "single", None, _detect(data)
        except NotProtobuf as exc:
            single_error = exc.detail
    for prefix in ("uint32", "varint"):
        frames, problem = _tile(data, prefix)
        if frames and any(end > start for start, end in frames):
            return [data[s:e] for s, e in frames], prefix, problem, None
    raise NotProtobuf(single_error or "it is neither one request body nor length-prefixed bodies")


def _unknown(msg: Message) -> int:
    return len(UnknownFieldSet(msg))


def _score(request: Message, signal: str) -> int:
    """Fields the schema did not know in the first few records (fewer is likelier)."""
    blocks = request.resource_spans if signal == "traces" else request.resource_logs
    unknown = _unknown(request)
    for block in islice(blocks, 3):
        unknown += _unknown(block) + _unknown(block.resource)
        scopes = block.scope_spans if signal == "traces" else block.scope_logs
        for scope in islice(scopes, 3):
            unknown += _unknown(scope)
            records = scope.spans if signal == "traces" else scope.log_records
            for record in islice(records, 8):
                unknown += _unknown(record)
                if signal == "traces" and (len(record.trace_id) != 16 or not record.name):
                    unknown += 1
    return unknown


def decode_frame(data: bytes, signal: str) -> Message:
    """Parse one body as the request of ``signal`` ("traces" or "logs")."""
    try:
        return REQUESTS[signal].FromString(data)
    except DecodeError as exc:
        raise NotProtobuf(str(exc)) from None


def _detect(data: bytes) -> tuple[str, Message]:
    decoded, scores, errors = {}, {}, []
    for signal in REQUESTS:
        try:
            decoded[signal] = decode_frame(data, signal)
        except NotProtobuf as exc:
            errors.append(exc.detail)
            continue
        scores[signal] = _score(decoded[signal], signal)
    if not scores:
        raise NotProtobuf(errors[0])
    best = min(scores, key=lambda s: (scores[s], s != "traces"))
    return best, decoded[best]


def detect_signal(data: bytes) -> str:
    """Whether a body is a traces or a logs request."""
    return _detect(data)[0]


def _value(v: Message) -> object:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _attrs(v.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    return getattr(v, kind)


def _attrs(items) -> dict[str, object]:
    return {kv.key: _value(kv.value) for kv in items}


def _id(raw: bytes, key: str, nbytes: int) -> str | None:
    if not raw:
        return None
    if len(raw) != nbytes:
        raise ShapeError(key, f"expected {nbytes} bytes, got {len(raw)}")
    return raw.hex() if raw.strip(b"\x00") else None


def _spans(msg: Message, place: str, sink: EventColumns, log: ReadLog) -> None:
    for i, rs in enumerate(msg.resource_spans):
        resource = Resource(_attrs(rs.resource.attributes))
        for j, ss in enumerate(rs.scope_spans):
            for k, sp in enumerate(ss.spans):
                try:
                    trace_id = _id(sp.trace_id, "traceId", 16)
                    exception = None
                    for ev in sp.events:
                        if ev.name == "exception":
                            exception = _attrs(ev.attributes)
                    sink.add_span(
                        resource, sp.name, sp.start_time_unix_nano, sp.end_time_unix_nano,
                        sp.status.code, sp.status.message, _attrs(sp.attributes), exception,
                        trace_id,
                    )  # fmt: skip
                except ShapeError as exc:
                    field = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                    log.bad("span", f"{place}: {exc.within(field)}")


def _logs(msg: Message, place: str, sink: EventColumns, log: ReadLog) -> None:
    for i, rl in enumerate(msg.resource_logs):
        resource = Resource(_attrs(rl.resource.attributes))
        for j, sl in enumerate(rl.scope_logs):
            scope = sl.scope.name
            for k, lr in enumerate(sl.log_records):
                try:
                    trace_id = _id(lr.trace_id, "traceId", 16)
                    body = _value(lr.body) if lr.HasField("body") else None
                    sink.add_log(
                        resource, scope, lr.time_unix_nano, lr.observed_time_unix_nano,
                        int(lr.severity_number), lr.severity_text, body, _attrs(lr.attributes),
                        trace_id,
                    )  # fmt: skip
                except ShapeError as exc:
                    field = f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"
                    log.bad("log record", f"{place}: {exc.within(field)}")


def walk_message(msg: Message, signal: str, place: str, sink: EventColumns, log: ReadLog) -> None:
    """Add the spans or log records of a decoded request to ``sink``."""
    (_spans if signal == "traces" else _logs)(msg, place, sink, log)


def iter_messages(data: bytes, where: str, log: ReadLog,
                  signal: str | None = None) -> Iterator[tuple[str, str, Message]]:
    """Yield ``(place, signal, request)`` for each body in ``data``."""
    try:
        frames, framing, problem, found = split_frames(data)
    except NotProtobuf as exc:
        raise _invalid(where, str(exc)) from None
    if found is not None and signal in (None, found[0]):
        yield where, found[0], found[1]
        return
    if signal is None:
        first = next((f for f in frames if f), b"")
        try:
            signal = detect_signal(first) if first else "traces"
        except NotProtobuf as exc:
            raise _invalid(where, str(exc)) from None
    for n, frame in enumerate(frames, start=1):
        place = where if framing == "single" else f"{where}: frame {n}"
        try:
            yield place, signal, decode_frame(frame, signal)
        except NotProtobuf as exc:
            log.bad("frame", f"{place}: not a valid OTLP protobuf {signal} request ({exc})")
    if problem:
        log.bad("frame", f"{where}: after frame {len(frames)}: {problem}")


def _invalid(where: str, detail: str) -> DataFormatError:
    return DataFormatError(
        f"{where}: not a valid OTLP protobuf body (an ExportTraceServiceRequest or "
        f"ExportLogsServiceRequest, alone or length-prefixed): {detail}; the file may be "
        "truncated or in another format (pass --format otlp-json for OTLP/JSON)"
    )
