"""Columns left unread (skip_columns), and zoned ISO-8601 timestamps in CSV files."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from errpredict.datasets import generate_history
from errpredict.exceptions import ConfigError, DataFormatError, SchemaError
from errpredict.io import iter_events, read_events, write_events
from errpredict.io._tabular import _read_csv_fast

SKIP = ["message", "trace_id", "host"]
SUFFIXES = [".csv", ".parquet", ".jsonl"]
EP = [sys.executable, "-m", "errpredict.cli"]
MISSING = "missing value; every event needs a time (ISO-8601 or epoch s/ms/us/ns)"


@pytest.fixture(scope="module")
def history():
    return generate_history(days=0.1, services=3, seed=4).events


@pytest.fixture(scope="module")
def files(history, tmp_path_factory):
    d = tmp_path_factory.mktemp("skip")
    return {s: write_events(history, d / f"ev{s}") for s in SUFFIXES}


def test_history_has_the_skipped_columns(history):
    assert len(history) == 2350
    assert set(SKIP) <= set(history.columns)
    for c in SKIP:
        assert history[c].notna().any(), c


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_skipped_columns_are_dropped(files, history, suffix):
    path = files[suffix]
    whole = read_events(path)
    part = read_events(path, skip_columns=SKIP)
    assert not set(SKIP) & set(part.columns)
    assert list(part.columns) == [c for c in whole.columns if c not in SKIP]
    pd.testing.assert_frame_equal(part, whole.drop(columns=SKIP))
    # the file round-trips the generated events exactly
    pd.testing.assert_frame_equal(whole, history)
    assert part.attrs["source_format"] == suffix.lstrip(".")
    assert part.attrs["skipped_lines"] == 0


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_skip_columns_accepts_any_iterable(files, suffix):
    path = files[suffix]
    expected = read_events(path).drop(columns=SKIP)
    for skip in (tuple(SKIP), set(SKIP), frozenset(SKIP), iter(SKIP), (c for c in SKIP)):
        pd.testing.assert_frame_equal(read_events(path, skip_columns=skip), expected)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_unknown_skipped_columns_are_ignored(files, suffix):
    path = files[suffix]
    pd.testing.assert_frame_equal(read_events(path, skip_columns=["no_such_column"]),
                                  read_events(path))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_required_columns_are_read_anyway(files, history, suffix):
    path = files[suffix]
    whole = read_events(path)
    kept = read_events(path, skip_columns=["timestamp", "service"])
    pd.testing.assert_frame_equal(kept, whole)
    assert kept["timestamp"].equals(history["timestamp"])
    assert kept["service"].tolist() == history["service"].tolist()
    mixed = read_events(path, skip_columns=["timestamp", "service", "message"])
    pd.testing.assert_frame_equal(mixed, whole.drop(columns=["message"]))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_chunks_with_skipped_columns_match_the_whole_read(files, suffix):
    path = files[suffix]
    parts = list(iter_events(path, chunk_rows=700, skip_columns=SKIP))
    assert [len(p) for p in parts] == [700, 700, 700, 250]
    assert all(not set(SKIP) & set(p.columns) for p in parts)
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, read_events(path, skip_columns=SKIP))


def test_csv_arrow_path_reads_only_the_kept_columns(files):
    """The whole-file CSV read goes through Arrow (not its C-engine fallback)."""
    raw = _read_csv_fast(files[".csv"], frozenset(SKIP))
    assert raw is not None
    assert not set(SKIP) & set(raw.columns)
    assert len(raw) == 2350 and "timestamp" in raw and "service" in raw


def test_csv_c_engine_path_drops_skipped_columns(files):
    path = files[".csv"]
    fast = read_events(path, skip_columns=SKIP)
    slow_whole = read_events(path, skip_bad_lines=True)
    slow = read_events(path, skip_bad_lines=True, skip_columns=SKIP)
    assert not set(SKIP) & set(slow.columns)
    pd.testing.assert_frame_equal(slow, slow_whole.drop(columns=SKIP))
    pd.testing.assert_frame_equal(slow, fast)
    assert slow.attrs["skipped_lines"] == 0


def _surplus_csv(tmp_path):
    path = tmp_path / "surplus.csv"
    path.write_text("timestamp,service,is_error,message\n"
                    "1767571200000,api,0,hello\n"
                    "1767571201000,db,1,boom,surplus\n"
                    "1767571202000,api,0,bye\n")
    return path


@pytest.mark.parametrize("skip", [[], ["message"], ["message", "host"]])
def test_surplus_field_still_raises_with_skip_columns(tmp_path, skip):
    path = _surplus_csv(tmp_path)
    with pytest.raises(DataFormatError, match=r"Expected 4 fields in line 3, saw 5") as err:
        read_events(path, skip_columns=skip)
    assert str(err.value).startswith(f"{path}: not a readable CSV file")
    assert "skip_bad_lines=True" in str(err.value)


def test_surplus_field_skipped_and_counted_with_skip_columns(tmp_path):
    path = _surplus_csv(tmp_path)
    ev = read_events(path, skip_bad_lines=True, skip_columns=["message"])
    assert list(ev.columns) == ["timestamp", "service", "is_error", "severity"]
    assert ev["timestamp"].tolist() == [pd.Timestamp("2026-01-05T00:00:00Z"),
                                        pd.Timestamp("2026-01-05T00:00:02Z")]
    assert ev["service"].tolist() == ["api", "api"]
    assert ev.attrs["skipped_lines"] == 1
    assert ev.attrs["notices"] == [
        f"{path}: skipped 1 bad input unit(s) (1 line); first: {path}: line 3: expected 4 "
        "fields, saw 5"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_bare_string_is_refused(files, suffix):
    with pytest.raises(ConfigError, match="skip_columns must be a list of column names; "
                                          "got 'message'"):
        read_events(files[suffix], skip_columns="message")
    with pytest.raises(ConfigError, match="skip_columns must be a list"):
        iter_events(files[suffix], skip_columns="message")


# -- zoned ISO-8601 timestamps -------------------------------------------------------------

OFFSETS_MIN = [0, 120, -300, 330, 0, -90]


def _zoned(ts: pd.Timestamp, offset_min: int) -> str:
    local = (ts + pd.Timedelta(minutes=offset_min)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if offset_min == 0:
        return local + "Z"
    sign = "+" if offset_min > 0 else "-"
    h, m = divmod(abs(offset_min), 60)
    return f"{local}{sign}{h:02d}:{m:02d}"


@pytest.fixture(scope="module")
def zoned_pair(history, tmp_path_factory):
    """The same events twice: zoned ISO-8601 timestamps, and epoch milliseconds."""
    d = tmp_path_factory.mktemp("zoned")
    frame = history.head(600).drop(columns=SKIP).copy()
    ts = frame.pop("timestamp")
    ns = ts.to_numpy(dtype="datetime64[ns]").view("int64")
    assert (ns % 1_000_000 == 0).all()  # the generator stamps whole milliseconds
    zoned = [_zoned(t, OFFSETS_MIN[i % len(OFFSETS_MIN)]) for i, t in enumerate(ts)]
    frame.insert(0, "timestamp", zoned)
    frame.to_csv(d / "zoned.csv", index=False)
    frame.assign(timestamp=ns // 1_000_000).to_csv(d / "epoch.csv", index=False)
    return d / "zoned.csv", d / "epoch.csv", ts.reset_index(drop=True)


def test_zoned_fixture_text(zoned_pair):
    zoned, _, ts = zoned_pair
    lines = zoned.read_text().splitlines()
    assert ts.iloc[0] == pd.Timestamp("2026-01-05T00:00:00.437Z")
    assert lines[1].startswith("2026-01-05T00:00:00.437Z,")
    assert lines[2].split(",")[0].endswith("+02:00")
    assert lines[3].split(",")[0].endswith("-05:00")
    assert lines[4].split(",")[0].endswith("+05:30")


def test_zoned_timestamps_equal_epoch_milliseconds(zoned_pair):
    zoned, epoch, ts = zoned_pair
    raw = _read_csv_fast(zoned, frozenset())
    assert raw is not None  # Arrow parsed the zoned column itself
    assert str(raw["timestamp"].dtype) == "datetime64[ns, UTC]"
    a, b = read_events(zoned), read_events(epoch)
    assert str(a["timestamp"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(a, b)
    assert a["timestamp"].equals(ts)
    # the C-engine path (skip_bad_lines) parses them the same way
    pd.testing.assert_frame_equal(read_events(zoned, skip_bad_lines=True), b)
    pd.testing.assert_frame_equal(read_events(zoned, skip_columns=["operation"]),
                                  b.drop(columns=["operation"]))


def test_handwritten_zoned_csv(tmp_path):
    zoned = tmp_path / "zoned.csv"
    epoch = tmp_path / "epoch.csv"
    zoned.write_text("timestamp,service,is_error\n"
                     "2026-01-05T00:00:00.283Z,api,0\n"
                     "2026-01-05T02:00:01.500+02:00,db,1\n"
                     "2026-01-05T01:59:59+02:00,api,1\n"
                     "2026-01-05T00:00:02.000Z,db,0\n")
    epoch.write_text("timestamp,service,is_error\n"
                     "1767571200283,api,0\n"
                     "1767571201500,db,1\n"
                     "1767571199000,api,1\n"
                     "1767571202000,db,0\n")
    a, b = read_events(zoned), read_events(epoch)
    pd.testing.assert_frame_equal(a, b)
    assert a["timestamp"].tolist() == [
        pd.Timestamp("2026-01-04T23:59:59Z"), pd.Timestamp("2026-01-05T00:00:00.283Z"),
        pd.Timestamp("2026-01-05T00:00:01.5Z"), pd.Timestamp("2026-01-05T00:00:02Z")]
    assert a["service"].tolist() == ["api", "api", "db", "db"]
    assert a["is_error"].tolist() == [True, False, True, False]


def _empty_cell_csv(path):
    path.write_text("timestamp,service,is_error,message\n"
                    "2026-01-05T00:00:00.283Z,api,0,a\n"
                    "2026-01-05T02:00:01+02:00,db,1,b\n"
                    ",api,1,c\n"
                    "2026-01-05T00:00:03Z,db,0,d\n")
    return path


@pytest.mark.parametrize("options", [{}, {"skip_columns": ["message"]},
                                     {"skip_bad_lines": True}])
def test_empty_zoned_timestamp_names_the_line(tmp_path, options):
    path = _empty_cell_csv(tmp_path / "ev.csv")
    with pytest.raises(SchemaError) as err:
        read_events(path, **options)
    assert str(err.value) == f"{path}: column 'timestamp' row 2 (line 4): {MISSING}"


def test_empty_first_zoned_timestamp_names_the_line(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("timestamp,service\n,api\n2026-01-05T00:00:01Z,db\n")
    with pytest.raises(SchemaError, match=r"column 'timestamp' row 0 \(line 2\): missing value"):
        read_events(path)


def test_cli_train_on_an_empty_zoned_timestamp_exits_2(tmp_path):
    path = _empty_cell_csv(tmp_path / "ev.csv")
    p = subprocess.run([*EP, "train", "--data", str(path), "--out", str(tmp_path / "m")],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert f"{path}: column 'timestamp' row 2 (line 4): missing value" in lines[0]
    assert not (tmp_path / "m").exists()
