"""format="auto": each format is recognised by extension and content, and says why."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io import detect_format, read_events

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
CSV = "timestamp,service,is_error\n2026-01-01T00:00:00Z,api,1\n2026-01-01T00:01:00Z,db,0\n"
OTLP_LINE = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
    {"name": "a", "traceId": "", "spanId": "", "endTimeUnixNano": "1767225600000000000"}]}]}]})


def _proto() -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.end_time_unix_nano = "a", 1_767_225_600_000_000_000
    span.trace_id = bytes(range(1, 17))
    return request.SerializeToString()


def _make(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize("name, content, expected, reason", [
    ("ev.csv", CSV, "csv", "CSV header (timestamp, service, is_error)"),
    ("ev.txt", CSV, "csv", "CSV header"),
    ("ev.tsv", CSV.replace(",", "\t"), "csv", "CSV header"),
    ("ev.jsonl", '{"timestamp": 1767225600, "service": "api"}\n', "jsonl", "JSON lines"),
    ("ev.json", OTLP_LINE + "\n", "otlp-json", "JSON with resourceSpans"),
    ("export", OTLP_LINE + "\n", "otlp-json", "JSON with resourceSpans"),
    ("logs.json", json.dumps({"resource_logs": [{"scope_logs": [{"log_records": [
        {"time_unix_nano": 1767225600000000000}]}]}]}, indent=1), "otlp-json",
     "JSON with resource_logs"),
    ("spans.pb", _proto(), "otlp-proto", "extension .pb"),
    ("spans.data", _proto(), "otlp-proto", "binary content that decodes"),
    ("drives.csv", "date,serial_number,model,failure,smart_5_raw\n2019-01-01,S1,M,0,1\n",
     "backblaze", "serial_number, failure and smart_*"),
])
def test_each_format_is_detected(tmp_path, name, content, expected, reason):
    path = _make(tmp_path, name, content)
    fmt, why = detect_format(path)
    assert fmt == expected and reason in why
    ev = read_events(path)
    assert ev.attrs["source_format"] == expected and ev.attrs["format_reason"] == why


def test_parquet_by_magic_bytes_and_gzip_by_content(tmp_path):
    frame = read_events(_make(tmp_path, "ev.csv", CSV))
    frame.to_parquet(tmp_path / "events.bin")
    assert detect_format(tmp_path / "events.bin") == ("parquet", "Parquet magic bytes")
    (tmp_path / "ev.jsonl.gz").write_bytes(gzip.compress((OTLP_LINE + "\n").encode()))
    assert detect_format(tmp_path / "ev.jsonl.gz")[0] == "otlp-json"
    assert len(read_events(tmp_path / "ev.jsonl.gz")) == 1


def test_real_datasets_are_detected(tmp_path):
    if not DATASETS.is_dir():
        pytest.skip(f"the shared datasets folder is absent ({DATASETS})")
    assert detect_format(DATASETS / "loghub" / "BGL_2k.log")[0] == "bgl"
    backblaze = DATASETS / "backblaze" / "toshiba_mq01abf050_last_10_days_raw.csv"
    assert detect_format(backblaze)[0] == "backblaze"
    folder = tmp_path / "data_Q4_2019"
    folder.mkdir()
    shutil.copy(backblaze, folder / "2019-12-31.csv")
    assert detect_format(folder) == ("backblaze", "a folder of CSV files with Backblaze headers")
    for other in ("HDFS_2k.log", "Thunderbird_2k.log"):  # no labels to read: not guessed
        with pytest.raises(DataFormatError, match="cannot tell the format"):
            detect_format(DATASETS / "loghub" / other)


def test_unknown_content_and_unknown_format_name(tmp_path):
    path = _make(tmp_path, "notes.txt", "just some words\nno commas here\n")
    with pytest.raises(DataFormatError, match=r"cannot tell the format .* name it with --format"):
        read_events(path)
    with pytest.raises(ConfigError, match="format must be one of auto, csv, parquet"):
        read_events(path, format="xml")


def test_a_given_format_wins(tmp_path):
    path = _make(tmp_path, "ev.json", '{"timestamp": 1767225600, "service": "api"}\n')
    ev = read_events(path, format="jsonl")
    assert ev.attrs["source_format"] == "jsonl" and ev.attrs["format_reason"] == "given"
    assert ev["timestamp"].tolist() == [pd.Timestamp("2026-01-01", tz="UTC")]
