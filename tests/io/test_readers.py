"""CSV, JSON Lines and Parquet: whole and in chunks, bad lines, reader metadata."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from errpredict.exceptions import DataFormatError, SchemaError
from errpredict.io import iter_events, read_events, write_events


def _events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 86_400, n)), unit="s")
    return pd.DataFrame({
        "timestamp": ts,
        "service": rng.choice(["api", "db", "cache"], n),
        "is_error": rng.random(n) < 0.2,
        "error_type": None,
        "duration_ms": rng.random(n).round(3),
        "cpu": rng.random(n).round(3),
    })


def test_csv_read_whole_has_reader_metadata(tmp_path):
    path = write_events(_events(50), tmp_path / "ev.csv")
    ev = read_events(path)
    assert ev.attrs == {"source_format": "csv", "default_entity": "service", "notices": [],
                        "skipped_lines": 0, "format_reason": ev.attrs["format_reason"]}
    assert len(ev) == 50 and ev["cpu"].dtype == "float64"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_chunks_match_the_whole_read(tmp_path, suffix):
    path = write_events(_events(1000, seed=1), tmp_path / f"ev{suffix}")
    whole = read_events(path)
    chunks = iter_events(path, chunk_rows=300)
    parts = list(chunks)
    assert [len(p) for p in parts] == [300, 300, 300, 100]
    assert all(p.attrs["source_format"] == chunks.source_format for p in parts)
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_like=False)


def test_each_chunk_is_sorted_even_when_the_file_is_not(tmp_path):
    frame = _events(10).iloc[::-1]
    path = tmp_path / "ev.csv"
    frame.assign(timestamp=frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        path, index=False)
    parts = list(iter_events(path, chunk_rows=4))
    assert [len(p) for p in parts] == [4, 4, 2]
    assert all(p["timestamp"].is_monotonic_increasing for p in parts)
    assert parts[0]["timestamp"].iloc[0] > parts[1]["timestamp"].iloc[-1]


def test_csv_bad_lines_raise_with_the_line_or_are_counted(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("timestamp,service,is_error\n"
                    "2026-01-01T00:00:00Z,api,0\n"
                    "2026-01-01T00:00:01Z,api,0,surplus\n"
                    "2026-01-01T00:00:02Z,db,1\n"
                    "2026-01-01T00:00:03Z,db,1,x,y\n")
    with pytest.raises(DataFormatError, match=r"Expected 3 fields in line 3, saw 4"):
        read_events(path)
    ev = read_events(path, skip_bad_lines=True)
    assert len(ev) == 2 and ev.attrs["skipped_lines"] == 2
    assert ev.attrs["notices"] == [
        f"{path}: skipped 2 bad input unit(s) (2 lines); first: {path}: line 3: expected 3 "
        "fields, saw 4"]
    chunks = iter_events(path, chunk_rows=1, skip_bad_lines=True)
    assert sum(len(c) for c in chunks) == 2 and chunks.skipped_lines == 2


def test_schema_errors_name_the_csv_line(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("timestamp,service\n2026-01-01T00:00:00Z,api\n2026-13-01T00:00:00Z,db\n")
    with pytest.raises(SchemaError, match=r"row 1 \(line 3\): cannot parse '2026-13-01T00:00:00Z'"):
        read_events(path)
    with pytest.raises(SchemaError, match=r"row 1 \(line 3\)"):
        list(iter_events(path, chunk_rows=1))


def test_jsonl_bad_lines_and_keys_that_appear_late(tmp_path):
    rows = [{"timestamp": 1_767_225_600 + i, "service": "api"} for i in range(5)]
    rows[4]["queue_depth"] = 7
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, "{broken")
    path = tmp_path / "ev.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"^{path}: line 3: not valid JSON"):
        read_events(path)
    parts = list(iter_events(path, chunk_rows=2, skip_bad_lines=True))
    assert [list(p.columns) for p in parts] == [list(parts[0].columns)] * 3
    assert "queue_depth" in parts[0].columns
    assert pd.concat(parts)["queue_depth"].tolist()[-1] == 7.0


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        read_events(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="the file is empty"):
        read_events(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("timestamp,service\n")
    with pytest.raises(SchemaError, match="no events"):
        read_events(tmp_path / "header.csv")
