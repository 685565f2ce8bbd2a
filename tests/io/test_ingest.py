"""ingest(): any format to Parquet, chunk by chunk, with an exact summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from errpredict.exceptions import ConfigError, SchemaError
from errpredict.io import ingest, read_events

ROOT = Path(__file__).resolve().parents[2]


def _csv(path: Path, order: list[int]) -> Path:
    rows = ["timestamp,service,host,is_error,error_type,cpu"]
    for i in order:
        err = i % 4 == 0
        rows.append(f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z,svc{i % 3},h{i % 5},"
                    f"{int(err)},{'TimeoutError' if err else ''},{i / 10}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_summary_and_parquet_output(tmp_path):
    src = _csv(tmp_path / "ev.csv", list(range(10, 20)) + list(range(0, 10)))
    summary = ingest(src, tmp_path / "out" / "events.parquet", chunk_rows=10)
    assert (summary.rows, summary.errors, summary.entity, summary.entities) == (20, 5, "service", 3)
    assert (summary.chunks, summary.time_ordered, summary.skipped_lines) == (2, False, 0)
    assert summary.start == pd.Timestamp("2026-01-01T00:00:00Z")
    assert summary.end == pd.Timestamp("2026-01-01T00:00:19Z")
    assert summary.error_types == {"TimeoutError": 5}
    assert summary.source_format == "csv" and summary.format_reason.startswith("CSV header")
    assert "(the input was not in time order)" in summary.to_text()
    meta = json.loads(pq.ParquetFile(summary.out).metadata.metadata[b"errpredict"])
    assert meta["rows"] == 20 and meta["time_ordered"] is False
    assert pq.ParquetFile(summary.out).metadata.num_row_groups == 2
    back = read_events(summary.out)
    pd.testing.assert_frame_equal(back, read_events(src), check_like=True)
    assert ingest(src, tmp_path / "by_host.parquet", entity="host").entities == 5


def test_a_failure_leaves_no_partial_file(tmp_path):
    src = _csv(tmp_path / "ev.csv", list(range(20)))
    text = src.read_text().replace("2026-01-01T00:00:15Z", "2026-01-01T00:00:99Z")
    src.write_text(text)
    out = tmp_path / "events.parquet"
    with pytest.raises(SchemaError, match=r"row 15 \(line 17\)"):
        ingest(src, out, chunk_rows=10)
    assert list(tmp_path.iterdir()) == [src]


def test_output_must_be_parquet(tmp_path):
    src = _csv(tmp_path / "ev.csv", [0, 1])
    with pytest.raises(ConfigError, match="out must be a .parquet file"):
        ingest(src, tmp_path / "events.csv")


def test_otlp_chunks_share_one_schema(tmp_path):
    lines = []
    for i in range(6):
        attrs = [{"key": "http.response.status_code", "value": {"intValue": 503}}] if i == 5 else []
        lines.append(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "name": f"op{i}", "endTimeUnixNano": str(1_767_225_600_000_000_000 + i),
            "status": {"code": 2 if i == 5 else 0}, "attributes": attrs}]}]}]}))
    src = tmp_path / "traces.jsonl"
    src.write_text("\n".join(lines) + "\n")
    summary = ingest(src, tmp_path / "t.parquet", chunk_rows=2)
    assert (summary.rows, summary.chunks, summary.errors) == (6, 3, 1)
    assert summary.error_types == {"HTTP 503": 1}
    table = pq.read_table(summary.out)
    assert table.column("http.response.status_code").null_count == 5


def test_bench_script_reports_rate_and_peak_memory(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_ingest.py"), "--events", "20000",
         "--chunk-rows", "5000", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    records = [json.loads(ln) for ln in out.strip().splitlines() if ln.startswith("{")]
    result, feat = records[0], records[1]["featurize"]
    assert result["rows"] == 20_000 and result["time_ordered"] is True
    assert result["events_per_s"] > 0 and 0 < result["peak_rss_mib"] < 2048
    assert feat["entities"] == result["entities"] and feat["rows_out"] > 0
    assert 0 < feat["peak_rss_mib"] < 2048
    assert (tmp_path / "events.csv").exists() and (tmp_path / "events.parquet").exists()
