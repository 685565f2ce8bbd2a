"""Backblaze hard-drive data: daily SMART snapshots as canonical events.

Backblaze publishes one CSV per day (``date, serial_number, model,
capacity_bytes, failure, smart_N_normalized, smart_N_raw ...``), zipped per
quarter. In the original data ``failure = 1`` marks a drive's last day only,
the day it failed. Some published slices relabel the last (up to) N days of
each failed drive with ``failure = 1``; the loader detects this and keeps
only the last day as the failure. Source: Backblaze Hard Drive Data,
https://www.backblaze.com/cloud-storage/resources/hard-drive-test-data
(cite Backblaze; do not sell the data).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from errpredict.exceptions import DataFormatError, SchemaError
from errpredict.io._canon import canonical
from errpredict.io._files import check_file
from errpredict.io._readlog import ReadLog

__all__ = ["read_backblaze", "load_backblaze", "looks_like_backblaze", "FAILURE_TYPE"]

#: ``error_type`` of a drive's failure day.
FAILURE_TYPE = "drive_failure"
_REQUIRED = ("date", "serial_number", "model", "failure")


def looks_like_backblaze(columns: Iterable[str]) -> bool:
    """Whether a CSV header is Backblaze's: serial_number, failure and smart_* columns."""
    names = {str(c).strip() for c in columns}
    return {"serial_number", "failure"} <= names and any(n.startswith("smart_") for n in names)


def _read_one(path: Path, models: set[str] | None) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise SchemaError(
            f"{path}: missing Backblaze column {missing[0]!r}; expected date, serial_number, "
            "model, failure and smart_* columns (or pass another --format)"
        )
    keep = [c for c in header if c in _REQUIRED or c.startswith("smart_")]
    dtypes = {"date": "str", "serial_number": "str", "model": "str"}
    try:
        frame = pd.read_csv(path, usecols=keep, dtype=dtypes, engine="pyarrow")
    except Exception:  # the pyarrow engine does not say where; the C engine does
        try:
            frame = pd.read_csv(path, usecols=keep, dtype=dtypes, engine="c", low_memory=False)
        except (pd.errors.ParserError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[-1]
            raise DataFormatError(f"{path}: not a readable Backblaze CSV file: {detail}") from None
    if models is not None:
        frame = frame[frame["model"].isin(models)]
    return frame


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise DataFormatError(
                f"{path}: no .csv files in this folder; expected Backblaze daily files such as "
                "2019-12-31.csv (unzip the quarterly archive first)"
            )
        return files
    check_file(path)
    return [path]


def _smart(frame: pd.DataFrame, where: str, log: ReadLog) -> dict[str, np.ndarray]:
    out, empty = {}, []
    for name in [c for c in frame.columns if c.startswith("smart_")]:
        values = pd.to_numeric(frame[name], errors="coerce")
        bad = values.isna() & frame[name].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(f"{where}: column {name!r} row {i}: {frame[name].iloc[i]!r} is not "
                              "a number; expected a SMART value")
        if values.isna().all():
            empty.append(name)
            continue
        out[name] = values.to_numpy(dtype="float64")
    if empty:
        log.note(f"{where}: dropped {len(empty)} SMART column(s) that are empty throughout "
                 f"({', '.join(empty[:6])}{' ...' if len(empty) > 6 else ''})")
    return out


def _failure_days(frame: pd.DataFrame, where: str, log: ReadLog) -> np.ndarray:
    failure = pd.to_numeric(frame["failure"], errors="coerce")
    bad = ~failure.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(f"{where}: column 'failure' row {i}: {frame['failure'].iloc[i]!r}; "
                          "expected 0 or 1")
    marked = failure.to_numpy() == 1
    per_drive = pd.Series(marked).groupby(frame["serial_number"].to_numpy()).sum()
    per_drive = per_drive[per_drive > 0]
    if not (per_drive > 1).any():
        return marked
    # relabelled: keep each failed drive's last failure=1 day (rows are sorted by drive, date)
    serial = frame["serial_number"].to_numpy()
    last = np.zeros(len(frame), dtype=bool)
    idx = np.flatnonzero(marked)
    ends = np.r_[serial[idx][1:] != serial[idx][:-1], True]
    last[idx[ends]] = True
    spread = ", ".join(
        f"{n} drive{'s' if n != 1 else ''} with {k}"
        for k, n in per_drive.value_counts().sort_index(ascending=False).items()
    )
    log.note(
        f"{where}: failure=1 marks up to {int(per_drive.max())} days per failed drive "
        f"({int(marked.sum())} rows over {len(per_drive)} drives: {spread}), while Backblaze's "
        f"original data marks only the day a drive failed; each failed drive's last failure=1 "
        f"day is taken as its failure ({int(last.sum())} failures) and the other "
        f"{int(marked.sum() - last.sum())} failure=1 days are kept as ordinary snapshots"
    )
    return last


def read_backblaze(
    path: str | os.PathLike, *, models: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read Backblaze daily SMART snapshots into the canonical event table.

    One row per drive-day: ``timestamp`` = the date at 00:00 UTC, ``host`` =
    ``serial_number`` (the drive, the default entity), ``service`` = the
    model, every ``smart_*`` column a float metric signal (columns empty
    throughout are dropped); a drive's failure day is the error event
    (``is_error``, ``error_type="drive_failure"``). ``failure`` and the other
    columns (``capacity_bytes``, ``datacenter`` ...) are not kept: the label
    must not be a feature.

    When a drive has more than one ``failure = 1`` row (a relabelled slice),
    its last such day is taken as the failure, the other days become ordinary
    snapshots, and ``attrs["notices"]`` says so with the counts.

    Parameters
    ----------
    path
        A CSV file, or a folder of Backblaze daily CSV files.
    models
        Keep only these drive models (saves memory on the full fleet).

    Returns
    -------
    pandas.DataFrame
        Canonical events with ``attrs["default_entity"] == "host"``; use a
        one-day step and a horizon in days.
    """
    return load_backblaze(path, models=models, log=ReadLog(str(path)))


def load_backblaze(
    path: str | os.PathLike, *, models: Iterable[str] | None, log: ReadLog
) -> pd.DataFrame:
    """:func:`read_backblaze` reporting into a given :class:`ReadLog`."""
    path = Path(path)
    log.source_format = "backblaze"
    wanted = None if models is None else set(models)
    frames = [_read_one(f, wanted) for f in _files(path)]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    if frame.empty:
        raise SchemaError(f"{path}: no drive-days" + (f" of models {sorted(wanted)}" if wanted
                                                      else ""))
    frame = frame.sort_values(["serial_number", "date"], kind="stable").reset_index(drop=True)
    is_error = _failure_days(frame, str(path), log)
    dates = pd.to_datetime(frame["date"], format="%Y-%m-%d", utc=True, errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise SchemaError(f"{path}: column 'date' (drive {frame['serial_number'].iloc[i]}): "
                          f"cannot parse {frame['date'].iloc[i]!r}; expected YYYY-MM-DD")
    events = pd.DataFrame(
        {
            "timestamp": dates,
            "service": frame["model"].str.strip(),
            "is_error": is_error,
            "error_type": pd.Series(np.where(is_error, FAILURE_TYPE, None), dtype="str"),
            "host": frame["serial_number"].str.strip(),
            **_smart(frame, str(path), log),
        }
    )
    return log.stamp(canonical(events, where=str(path)))
