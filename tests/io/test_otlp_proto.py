"""OTLP protobuf: single bodies, length-prefixed files, truncated and garbage bytes."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from errpredict.exceptions import DataFormatError
from errpredict.io import events_from_otlp, read_events, read_otlp


def _body(service: str, n: int, errors: int) -> bytes:
    """An SDK-encoded request of ``n`` spans, the first ``errors`` of them ERROR."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for i in range(n):
        with tracer.start_as_current_span(f"op{i}") as span:
            if i < errors:
                span.set_status(Status(StatusCode.ERROR))
    return encode_spans(memory.get_finished_spans()).SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


BODIES = [_body("a", 3, 1), _body("b", 4, 2), _body("c", 2, 0)]


@pytest.mark.parametrize("prefix", [lambda b: len(b).to_bytes(4, "big"), lambda b: _varint(len(b))],
                         ids=["uint32-as-the-collector-writes", "varint-delimited"])
def test_length_prefixed_bodies(tmp_path, prefix):
    path = tmp_path / "spans.binpb"
    path.write_bytes(b"".join(prefix(b) + b for b in BODIES))
    ev = read_events(path)
    assert ev.attrs["source_format"] == "otlp-proto"
    assert len(ev) == 9 and int(ev["is_error"].sum()) == 3
    assert ev["service"].value_counts().sort_index().to_dict() == {"a": 3, "b": 4, "c": 2}


def test_truncated_body_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.pb"
    path.write_bytes(BODIES[1][: len(BODIES[1]) // 2])
    with pytest.raises(DataFormatError) as err:
        read_events(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not a valid OTLP protobuf body")
    assert "truncated" in message


def test_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(b"\x00\x01\x02\xffnot protobuf at all\xfe" * 8)
    with pytest.raises(DataFormatError, match=rf"^{path}: not a valid OTLP protobuf body"):
        read_otlp(path, encoding="proto")
    unnamed = tmp_path / "noise"
    unnamed.write_bytes(path.read_bytes())
    with pytest.raises(DataFormatError, match="neither Parquet nor an OTLP protobuf body"):
        read_events(unnamed)


def test_truncated_last_frame_raises_or_is_skipped(tmp_path):
    data = b"".join(len(b).to_bytes(4, "big") + b for b in BODIES)
    path = tmp_path / "cut.pb"
    path.write_bytes(data[:-5])
    with pytest.raises(DataFormatError, match=r"after frame 2: frame 3 at byte \d+ claims"):
        read_events(path)
    ev = read_events(path, skip_bad_lines=True)
    assert len(ev) == 7 and ev.attrs["skipped_lines"] == 1
    assert "(1 frame)" in ev.attrs["notices"][0] and "truncated" in ev.attrs["notices"][0]


def test_a_bad_field_names_its_path():
    request = ExportTraceServiceRequest.FromString(BODIES[0])
    request.resource_spans[0].scope_spans[0].spans[2].trace_id = b"\x01\x02\x03"
    with pytest.raises(DataFormatError) as err:
        events_from_otlp(request.SerializeToString(), where="POST /v1/traces")
    assert str(err.value).startswith(
        "POST /v1/traces: resourceSpans[0].scopeSpans[0].spans[2].traceId: "
        "expected 16 bytes, got 3")
    ev = events_from_otlp(request.SerializeToString(), skip_bad_lines=True)
    assert len(ev) == 2 and ev.attrs["skipped_lines"] == 1


def test_logs_are_told_from_traces_without_being_told():
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    scope.scope.name = "jobs"
    for i, severity in enumerate([9, 17, 21]):
        record = scope.log_records.add()
        record.time_unix_nano = 1_767_225_600_000_000_000 + i
        record.severity_number = severity
        record.body.string_value = f"m{i}"
    ev = events_from_otlp(request.SerializeToString())
    assert ev.attrs["source_format"] == "otlp-proto"
    assert ev["severity"].tolist() == [9, 17, 21]
    assert ev["is_error"].tolist() == [False, True, True]
    assert set(ev["service"]) == {"unknown_service"}


def test_an_empty_request_gives_an_empty_table():
    ev = events_from_otlp(b"")
    assert len(ev) == 0
    assert list(ev.columns)[:3] == ["timestamp", "service", "operation"]
    assert str(ev["timestamp"].dtype) == "datetime64[ns, UTC]"
