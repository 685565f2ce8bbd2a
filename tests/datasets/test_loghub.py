"""LogHub BGL read with exact counts; malformed lines named by number."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from errpredict.datasets._loghub import iter_bgl, read_bgl
from errpredict.exceptions import DataFormatError
from errpredict.io import read_events

ROOT = Path(__file__).resolve().parents[2]
BGL = ROOT / ".." / "shared" / "datasets" / "loghub" / "BGL_2k.log"

ALERTS = {
    "KERNDTLB": 60, "KERNSTOR": 30, "APPSEV": 17, "KERNMNTF": 11, "KERNTERM": 7, "KERNREC": 5,
    "APPRES": 4, "APPREAD": 3, "APPTO": 2, "KERNRTSP": 2, "APPCHILD": 1, "APPOUT": 1,
}


@pytest.fixture(scope="module")
def bgl() -> pd.DataFrame:
    if not BGL.exists():
        pytest.skip(f"the shared datasets folder is absent ({BGL.parent.parent})")
    return read_bgl(BGL)


def test_bgl_2k_exact_counts(bgl):
    assert len(bgl) == 2000
    assert int(bgl["is_error"].sum()) == 143
    assert bgl["error_type"].value_counts().to_dict() == ALERTS
    assert bgl["service"].value_counts().to_dict() == {
        "KERNEL": 1820, "APP": 107, "MMCS": 35, "DISCOVERY": 35, "HARDWARE": 3}
    assert bgl["severity"].value_counts().to_dict() == {9: 1597, 21: 347, 17: 48, 13: 8}
    assert bgl["level"].value_counts().to_dict() == {
        "INFO": 1597, "FATAL": 347, "ERROR": 41, "WARNING": 8, "SEVERE": 7}
    assert bgl["host"].nunique() == 1778
    assert bgl.attrs["default_entity"] == "host" and bgl.attrs["source_format"] == "bgl"
    first = bgl.iloc[0]
    assert first["timestamp"] == pd.Timestamp("2005-06-03 22:42:50", tz="UTC")
    assert (first["host"], first["message"]) == (
        "R02-M1-N0-C:J12-U11", "instruction cache parity error corrected")
    # the label decides: FATAL lines that are not alerts are not errors
    assert int((bgl["severity"] >= 17).sum()) == 395


def test_chunks_and_read_events_agree(bgl):
    parts = list(iter_bgl(BGL, chunk_rows=700))
    assert [len(p) for p in parts] == [700, 700, 600]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), bgl, check_like=True)
    via_io = read_events(BGL, format="bgl")
    pd.testing.assert_frame_equal(via_io, bgl)


def test_malformed_line_is_named(tmp_path, bgl):
    lines = BGL.read_text().splitlines()[:5]
    lines.insert(2, "- not-a-time 2005.06.03 R02")
    path = tmp_path / "BGL_bad.log"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"^{path}: line 3: not a BGL log line"):
        read_bgl(path)
    events = read_bgl(path, skip_bad_lines=True)
    assert len(events) == 5 and events.attrs["skipped_lines"] == 1


def test_download_script_help():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "download_datasets.py"),
                          "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert "loghub" in out.stdout.lower() and "backblaze" in out.stdout.lower()
