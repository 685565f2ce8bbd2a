"""Backblaze SMART snapshots: exact counts, relabelling detected, failure day = last day."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from errpredict.datasets._backblaze import read_backblaze
from errpredict.exceptions import SchemaError
from errpredict.io import iter_events, read_events

FILE = (Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "backblaze"
        / "toshiba_mq01abf050_last_10_days_raw.csv")


@pytest.fixture(scope="module")
def drives() -> pd.DataFrame:
    if not FILE.exists():
        pytest.skip(f"the shared datasets folder is absent ({FILE.parent.parent})")
    return read_backblaze(FILE)


def test_exact_counts_and_columns(drives):
    assert len(drives) == 5335
    assert drives["host"].nunique() == 534
    assert int(drives["is_error"].sum()) == 79
    assert drives.loc[drives["is_error"], "host"].nunique() == 79
    assert drives["error_type"].value_counts().to_dict() == {"drive_failure": 79}
    assert set(drives["service"]) == {"TOSHIBA MQ01ABF050"}
    smart = [c for c in drives.columns if c.startswith("smart_")]
    assert len(smart) == 14 and all(drives[c].dtype == "float64" for c in smart)
    assert "failure" not in drives.columns and "capacity_bytes" not in drives.columns
    assert drives.attrs["default_entity"] == "host"
    assert drives["timestamp"].min() == pd.Timestamp("2019-01-01", tz="UTC")


def test_relabelling_is_detected_and_the_last_day_kept(drives):
    (notice,) = drives.attrs["notices"]
    assert "776 rows over 79 drives: 77 drives with 10, 1 drive with 5, 1 drive with 1" in notice
    assert "(79 failures)" in notice and "other 697 failure=1 days" in notice
    raw = pd.read_csv(FILE)
    last_marked = raw[raw["failure"] == 1].groupby("serial_number")["date"].max()
    failures = drives[drives["is_error"]].set_index("host")["timestamp"].dt.strftime("%Y-%m-%d")
    assert failures.sort_index().to_dict() == last_marked.sort_index().to_dict()
    final_day = drives.groupby("host")["timestamp"].max()
    on_final_day = drives[drives["is_error"]].apply(
        lambda r: r["timestamp"] == final_day[r["host"]], axis=1)
    assert int(on_final_day.sum()) == 78  # one drive has a failure=0 row after its failure


def _daily(folder: Path, date: str, rows: list[tuple]) -> None:
    lines = ["date,serial_number,model,capacity_bytes,failure,smart_5_raw,smart_9_raw,smart_7_raw"]
    lines += [f"{date},{s},{m},500,{f},{v},{v * 2}," for s, m, f, v in rows]
    (folder / f"{date}.csv").write_text("\n".join(lines) + "\n")


def test_original_labels_and_a_folder_of_daily_files(tmp_path):
    _daily(tmp_path, "2024-01-01", [("A", "M1", 0, 1), ("B", "M1", 0, 2), ("C", "M2", 0, 3)])
    _daily(tmp_path, "2024-01-02", [("A", "M1", 0, 1), ("B", "M1", 1, 9), ("C", "M2", 0, 3)])
    _daily(tmp_path, "2024-01-03", [("A", "M1", 0, 1), ("C", "M2", 1, 8)])
    ev = read_events(tmp_path)
    assert ev.attrs["source_format"] == "backblaze" and len(ev) == 8
    assert ev.loc[ev["is_error"], "host"].tolist() == ["B", "C"]
    assert ev.attrs["notices"] == [
        f"{tmp_path}: dropped 1 SMART column(s) that are empty throughout (smart_7_raw)"]
    assert list(ev.columns[-2:]) == ["smart_5_raw", "smart_9_raw"]
    only_m1 = read_backblaze(tmp_path, models=["M1"])
    assert sorted(only_m1["host"].unique()) == ["A", "B"] and len(only_m1) == 5
    chunks = list(iter_events(tmp_path, "backblaze", chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 2]


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "drives.csv"
    path.write_text("date,serial_number,failure,smart_5_raw\n2024-01-01,A,0,1\n")
    with pytest.raises(SchemaError, match="missing Backblaze column 'model'"):
        read_backblaze(path)


def test_bad_date_is_named(tmp_path):
    path = tmp_path / "drives.csv"
    path.write_text("date,serial_number,model,failure,smart_5_raw\n"
                    "2024-01-01,A,M,0,1\n2024-02-30,B,M,0,1\n")
    with pytest.raises(SchemaError, match=r"column 'date' \(drive B\): cannot parse '2024-02-30'"):
        read_backblaze(path)
