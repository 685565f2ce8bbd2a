"""OTLP produced by the real OpenTelemetry SDK, read back with exact counts."""

from __future__ import annotations

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from errpredict.io import events_from_otlp, read_events, read_otlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXPECTED_TYPES = {
    "TimeoutError": 1,
    "HTTP 503": 1,
    "UNAVAILABLE": 1,
    "KeyError": 1,
    "ConnectionResetError": 1,
}


def _provider(resource: dict) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


@pytest.fixture(scope="module")
def spans():
    """Seven finished SDK spans of two services; five are errors of five types."""
    checkout, mem_a = _provider({"service.name": "checkout", "host.name": "web-1"})
    tracer = checkout.get_tracer("shop.checkout")
    with tracer.start_as_current_span("GET /pay") as span:
        span.set_attribute("http.response.status_code", 503)
        try:
            raise TimeoutError("db slow")
        except TimeoutError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "db slow"))
    with tracer.start_as_current_span("GET /cart") as span:
        span.set_attribute("http.response.status_code", 200)
    with tracer.start_as_current_span("GET /items") as span:
        span.set_attribute("http.response.status_code", 503)
        span.set_status(Status(StatusCode.ERROR))
    with tracer.start_as_current_span("inventory.Inventory/Get") as span:
        span.set_attribute("rpc.grpc.status_code", 14)
        span.set_status(Status(StatusCode.ERROR))
    with pytest.raises(KeyError):
        with tracer.start_as_current_span("charge"):  # the SDK records it and sets ERROR
            raise KeyError("card")
    payments, mem_b = _provider({"service.name": "payments", "k8s.pod.name": "payments-7f"})
    tracer = payments.get_tracer("payments")
    with tracer.start_as_current_span("POST /refund"):
        with tracer.start_as_current_span("db.query") as child:
            child.record_exception(ConnectionResetError("peer reset"))
            child.set_status(Status(StatusCode.ERROR))
    return list(mem_a.get_finished_spans()) + list(mem_b.get_finished_spans())


def _hex_ids(obj):
    """What the OTLP/JSON spec (and the Collector) write: ids as hex, not base64."""
    if isinstance(obj, dict):
        return {
            k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else
                _hex_ids(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_hex_ids(v) for v in obj]
    return obj


def _check_spans(events: pd.DataFrame, spans) -> None:
    assert len(events) == 7
    assert int(events["is_error"].sum()) == 5
    assert events["error_type"].value_counts().to_dict() == EXPECTED_TYPES
    assert set(events["trace_id"]) == {format(s.context.trace_id, "032x") for s in spans}
    by_name = events.set_index("operation")
    for s in spans:
        row = by_name.loc[s.name]
        assert row["timestamp"] == pd.Timestamp(s.end_time, unit="ns", tz="UTC")
        assert row["duration_ms"] == pytest.approx((s.end_time - s.start_time) / 1e6)
        assert row["trace_id"] == format(s.context.trace_id, "032x")
    assert by_name.loc["GET /pay", "message"] == "db slow"
    assert by_name.loc["db.query", "message"] == "peer reset"
    assert by_name.loc["db.query", "service"] == "payments"
    assert by_name.loc["db.query", "host"] == "payments-7f"
    assert by_name.loc["GET /cart", "host"] == "web-1"
    assert by_name.loc["GET /cart", "http.response.status_code"] == 200.0
    assert by_name.loc["inventory.Inventory/Get", "rpc.grpc.status_code"] == 14.0
    assert not by_name.loc["GET /cart", "is_error"]
    assert pd.isna(by_name.loc["POST /refund", "error_type"])
    assert events["timestamp"].is_monotonic_increasing


def test_protobuf_body_from_sdk_encoder(tmp_path, spans):
    path = tmp_path / "spans.pb"
    path.write_bytes(encode_spans(spans).SerializeToString())
    events = read_events(path)
    assert events.attrs["source_format"] == "otlp-proto"
    assert events.attrs["skipped_lines"] == 0
    _check_spans(events, spans)


@pytest.mark.parametrize("integer_enums", [True, False])
def test_json_lines_as_the_collector_writes(tmp_path, spans, integer_enums):
    request = MessageToDict(encode_spans(spans), use_integers_for_enums=integer_enums)
    lines = [
        json.dumps(_hex_ids({"resourceSpans": [block]})) for block in request["resourceSpans"]
    ]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events = read_events(path)
    assert len(lines) == 2
    assert events.attrs["source_format"] == "otlp-json"
    assert events.attrs["notices"] == []
    _check_spans(events, spans)
    proto = tmp_path / "spans.pb"
    proto.write_bytes(encode_spans(spans).SerializeToString())
    pd.testing.assert_frame_equal(events, read_events(proto))


def test_pretty_printed_body_and_base64_ids(tmp_path, spans):
    request = MessageToDict(encode_spans(spans))  # base64 ids: the protobuf JSON mapping
    path = tmp_path / "body.json"
    path.write_text(json.dumps(request, indent=2))
    events = read_otlp(path)
    _check_spans(events, spans)
    assert len(events.attrs["notices"]) == 1
    assert "base64" in events.attrs["notices"][0]


class _Receiver(BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(
            (self.path, self.headers.get("Content-Type"), self.headers.get("Content-Encoding"),
             self.rfile.read(length))
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.bodies
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_what_the_http_exporter_posts(tmp_path, spans, receiver, compression):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    url, bodies = receiver
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=5,
                                compression=Compression(compression))
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert len(bodies) == 1
    path_, content_type, encoding, body = bodies[0]
    assert (path_, content_type) == ("/v1/traces", "application/x-protobuf")
    assert encoding == (None if compression == "none" else "gzip")
    file = tmp_path / "posted.bin"
    file.write_bytes(body)
    events = read_events(file)  # gzip is recognised by its magic bytes
    _check_spans(events, spans)
    if compression == "none":
        _check_spans(events_from_otlp(body, signal="traces"), spans)


@pytest.fixture(scope="module")
def log_records(spans):
    """Five SDK log records from the stdlib logging bridge; one inside a span."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "billing",
                                                        "host.name": "worker-3"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger = logging.getLogger("billing.invoices")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    tracer_provider, _ = _provider({"service.name": "billing"})
    try:
        logger.info("invoice %s created", 17)
        logger.warning("slow ledger")
        logger.error("retry budget exhausted")
        with tracer_provider.get_tracer("t").start_as_current_span("charge") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            try:
                _ = 1 / 0
            except ZeroDivisionError:
                logger.exception("charge failed")
        logger.critical("ledger offline")
    finally:
        logger.removeHandler(handler)
    return memory.get_finished_logs(), trace_id


def _check_logs(events: pd.DataFrame, trace_id: str) -> None:
    assert len(events) == 5
    assert events["severity"].tolist() == [9, 13, 17, 17, 21]
    assert events["is_error"].tolist() == [False, False, True, True, True]
    assert events["error_type"].value_counts().to_dict() == {"ZeroDivisionError": 1}
    assert events["message"].tolist() == [
        "invoice 17 created", "slow ledger", "retry budget exhausted", "charge failed",
        "ledger offline",
    ]
    assert set(events["operation"]) == {"billing.invoices"}
    assert set(events["service"]) == {"billing"} and set(events["host"]) == {"worker-3"}
    assert events["trace_id"].dropna().tolist() == [trace_id]


def test_logs_protobuf_and_json(tmp_path, log_records):
    records, trace_id = log_records
    request = encode_logs(records)
    proto = tmp_path / "logs.pb"
    proto.write_bytes(request.SerializeToString())
    events = read_events(proto)
    assert events.attrs["source_format"] == "otlp-proto"
    _check_logs(events, trace_id)
    as_json = tmp_path / "logs.jsonl"
    as_json.write_text(json.dumps(_hex_ids(MessageToDict(request))) + "\n")
    from_json = read_events(as_json)
    assert from_json.attrs["source_format"] == "otlp-json"
    pd.testing.assert_frame_equal(events, from_json)


def test_logs_posted_by_the_http_exporter(tmp_path, log_records, receiver):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    records, trace_id = log_records
    url, bodies = receiver
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", timeout=5)
    exporter.export(records)
    exporter.shutdown()
    assert [b[0] for b in bodies] == ["/v1/logs"]
    _check_logs(events_from_otlp(bodies[0][3]), trace_id)  # traces or logs: detected
