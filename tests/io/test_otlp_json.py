"""OTLP/JSON traps by hand: snake_case, string int64, enum names, unknown fields, AnyValues."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from errpredict.exceptions import DataFormatError
from errpredict.io import read_events, read_otlp

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
TRACE = "5B8EFFF798038103D269B633813FC60C"
SPAN = "EEE19B7EC3C1B174"


def _span(name, end, *, code=None, attrs=(), events=(), **extra):
    span = {"traceId": TRACE, "spanId": SPAN, "name": name,
            "startTimeUnixNano": str(end - 2_000_000), "endTimeUnixNano": str(end),
            "attributes": list(attrs), "events": list(events), **extra}
    if code is not None:
        span["status"] = {"code": code}
    return span


def _kv(key, **value):
    return {"key": key, "value": value}


def _traces(*spans, resource=None, scope_spans=None):
    resource = resource or [_kv("service.name", stringValue="api")]
    return {"resourceSpans": [{"resource": {"attributes": resource},
                               "scopeSpans": scope_spans or [{"scope": {"name": "s"},
                                                              "spans": list(spans)}]}]}


TRAPS = [
    # snake_case keys, 64-bit ints as numbers, enum by name, unknown fields everywhere
    {"resource_spans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "cart"}},
                                    {"key": "k8s.pod.name", "value": {"string_value": "cart-0"}}],
                     "dropped_attributes_count": 0, "future_field": {"x": 1}},
        "scope_spans": [{"scope": {"name": "cart.lib", "version": "1"},
                         "spans": [{"trace_id": TRACE.lower(), "span_id": SPAN, "name": "add",
                                    "kind": "SPAN_KIND_SERVER",
                                    "start_time_unix_nano": T0,
                                    "end_time_unix_nano": T0 + 5_000_000,
                                    "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                                    "attributes": [{"key": "http.status_code",
                                                    "value": {"int_value": "502"}}],
                                    "links": [{"traceId": TRACE, "spanId": SPAN}],
                                    "somethingNew": [1, 2, 3]}]}],
        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"}]},
    # lowerCamelCase, int64 as strings, every AnyValue kind, short enum name, old-style key
    _traces(
        _span("kv", T0 + 10_000_000, code="ERROR", attrs=[
            _kv("rpc.grpc.status_code", intValue="4"),
            _kv("ratio", doubleValue="NaN"),
            _kv("tags", arrayValue={"values": [{"stringValue": "a"}, {"intValue": "2"}]}),
            _kv("ctx", kvlistValue={"values": [_kv("k", boolValue=True)]}),
            _kv("blob", bytesValue="AAEC"),
            _kv("empty"),
        ]),
        _span("ok", T0 + 20_000_000, code=1, attrs=[_kv("http.response.status_code",
                                                        intValue=200)]),
        _span("typed", T0 + 30_000_000, code=2, attrs=[_kv("error.type", stringValue="timeout")]),
        resource=[_kv("service.name", stringValue="api"), _kv("host.name", stringValue="h1")],
    ),
    # logs: enum names, text severity, observed time, kvlist body, exception.type at INFO
    {"resourceLogs": [{"resource": {"attributes": [_kv("service.name", stringValue="worker")]},
                       "scopeLogs": [{"scope": {"name": "jobs"}, "logRecords": [
                           {"timeUnixNano": str(T0 + 40_000_000),
                            "severityNumber": "SEVERITY_NUMBER_WARN", "body": {"stringValue": "w"},
                            "traceId": TRACE},
                           {"timeUnixNano": "0", "observedTimeUnixNano": str(T0 + 50_000_000),
                            "severityText": "Error", "body": {"kvlistValue": {"values": [
                                _kv("order", intValue="7")]}}},
                           {"timeUnixNano": T0 + 60_000_000, "severityNumber": 9,
                            "body": {"stringValue": "handled"},
                            "attributes": [_kv("exception.type", stringValue="KeyError")]},
                       ]}]}]},
]


def test_traps_read_exactly(tmp_path):
    path = tmp_path / "traps.jsonl"
    path.write_text("\n".join(json.dumps(doc) for doc in TRAPS) + "\n\n")
    ev = read_events(path)
    assert ev.attrs["source_format"] == "otlp-json"
    assert ev["operation"].tolist() == ["add", "kv", "ok", "typed", "jobs", "jobs", "jobs"]
    assert ev["service"].tolist() == ["cart", "api", "api", "api", "worker", "worker", "worker"]
    assert ev["host"].tolist()[:3] == ["cart-0", "h1", "h1"]
    assert ev["is_error"].tolist() == [True, True, False, True, False, True, True]
    assert ev["error_type"].fillna("").tolist() == [
        "HTTP 502", "DEADLINE_EXCEEDED", "", "timeout", "", "", "KeyError"]
    assert ev["severity"].tolist() == [0, 0, 0, 0, 13, 17, 9]
    assert ev["message"].tolist()[0] == "boom"
    assert json.loads(ev["message"].iloc[5]) == {"order": 7}
    assert ev["trace_id"].iloc[0] == TRACE.lower() and ev["trace_id"].iloc[4] == TRACE.lower()
    assert ev["timestamp"].iloc[5] == pd.Timestamp(T0 + 50_000_000, unit="ns", tz="UTC")
    assert ev["duration_ms"].tolist()[:4] == [2.0 + 3.0, 2.0, 2.0, 2.0]
    status = ev["http.response.status_code"].tolist()
    assert status[0] == 502.0 and math.isnan(status[1]) and status[2] == 200.0
    assert ev["rpc.grpc.status_code"].iloc[1] == 4.0
    assert list(ev.columns[-2:]) == ["http.response.status_code", "rpc.grpc.status_code"]


def _write(tmp_path, lines):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line)
                              for line in lines) + "\n")
    return path


def _bad_shape_doc():
    good = [_span(f"s{i}", T0 + i * 1000) for i in range(5)]
    bad = [dict(s) for s in good]
    bad[4]["endTimeUnixNano"] = "abc"
    return _traces(scope_spans=[{"spans": good}, {"spans": bad}])


def test_wrong_shape_names_the_field(tmp_path):
    path = _write(tmp_path, [_traces(_span("a", T0)), _traces(_span("b", T0)), _bad_shape_doc()])
    with pytest.raises(DataFormatError) as err:
        read_events(path)
    assert str(err.value).startswith(
        f"{path}: line 3: resourceSpans[0].scopeSpans[1].spans[4].endTimeUnixNano: "
        "expected an integer, got 'abc'")
    assert "--skip-bad-lines" in str(err.value)


def test_malformed_line_names_file_and_line(tmp_path):
    path = _write(tmp_path, [_traces(_span("a", T0)), '{"resourceSpans": [', ""])
    with pytest.raises(DataFormatError, match=rf"^{path}: line 2: not valid JSON"):
        read_events(path)


@pytest.mark.parametrize("doc, field, expected", [
    (_traces(_span("a", T0, traceId="xyz")), "spans[0].traceId", "expected 32 hex digits"),
    (_traces(_span("a", T0, code="BROKEN")), "spans[0].status.code", "unknown name 'BROKEN'"),
    (_traces(_span("a", T0, code=7)), "spans[0].status.code", "expected an integer in [0, 2]"),
    (_traces(_span("a", T0, attrs=[{"key": "x", "value": "plain"}])),
     "spans[0].attributes[0].value", "expected an AnyValue object"),
    (_traces(_span("a", 0, startTimeUnixNano="0")), "spans[0].endTimeUnixNano", "missing (0)"),
    ({"resourceSpans": {"oops": 1}}, "resourceSpans", "expected a list, got an object"),
    ({"resourceSpans": [{"scopeSpans": [{"spans": "x"}]}]}, "resourceSpans[0].scopeSpans[0].spans",
     "expected a list, got a string"),
])
def test_each_shape_error_names_its_path(tmp_path, doc, field, expected):
    path = _write(tmp_path, [doc])
    with pytest.raises(DataFormatError) as err:
        read_otlp(path)
    assert "line 1: " in str(err.value) and field in str(err.value)
    assert expected in str(err.value)


def test_skip_bad_lines_counts_what_it_skipped(tmp_path):
    lines = [_traces(_span("a", T0)), "{not json", _bad_shape_doc(), "[1, 2]",
             _traces(_span("z", T0 + 10))]
    path = _write(tmp_path, lines)
    ev = read_events(path, skip_bad_lines=True)
    assert len(ev) == 1 + 9 + 1  # the bad span of line 3 goes, its 9 neighbours stay
    assert ev.attrs["skipped_lines"] == 3
    (notice,) = ev.attrs["notices"]
    assert "skipped 3 bad input unit(s) (2 lines, 1 span)" in notice
    assert f"first: {path}: line 2: not valid JSON" in notice


def test_pretty_printed_body_with_a_syntax_error_names_the_line(tmp_path):
    text = json.dumps(_traces(_span("a", T0)), indent=2).replace('"name": "a",', '"name": "a"')
    path = tmp_path / "body.json"
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if '"name": "a"' in t) + 1
    with pytest.raises(DataFormatError, match=rf"{path}: line {line}: not valid JSON"):
        read_otlp(path)


def test_a_json_list_of_bodies(tmp_path):
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps([_traces(_span("a", T0)), _traces(_span("b", T0 + 1))], indent=1))
    assert read_otlp(path)["operation"].tolist() == ["a", "b"]


def test_no_records_is_a_clear_error(tmp_path):
    path = _write(tmp_path, [{}, {"resourceSpans": []}])
    with pytest.raises(DataFormatError, match="no spans or log records found"):
        read_otlp(path, encoding="json")


def test_json_lines_whose_first_line_is_cut(tmp_path):
    path = _write(tmp_path, ['{"resourceSpans": [', _traces(_span("a", T0)),
                             _traces(_span("b", T0 + 1))])
    with pytest.raises(DataFormatError, match=rf"^{path}: line 1: not valid JSON .* column 20"):
        read_otlp(path)
    ev = read_otlp(path, skip_bad_lines=True)
    assert ev["operation"].tolist() == ["a", "b"] and ev.attrs["skipped_lines"] == 1
