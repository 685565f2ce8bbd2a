"""LogHub BGL: BlueGene/L RAS logs with alert labels, as canonical events.

Each line of ``BGL.log`` (and of the 2,000-line sample ``BGL_2k.log``) is::

    LABEL EPOCH DATE NODE TIME NODE TYPE COMPONENT LEVEL CONTENT...

``LABEL`` is ``-`` for a normal line, else the alert category (``KERNDTLB``,
``APPSEV`` ...). Source: the LogHub collection, https://github.com/logpai/loghub
(Zhu et al., ISSRE 2023; Oliner and Stearley, DSN 2007).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from errpredict.io._canon import canonical
from errpredict.io._files import check_file, open_text
from errpredict.io._readlog import ReadLog
from errpredict.io._schema import SEVERITY_NAMES

__all__ = ["read_bgl", "iter_bgl", "looks_like_bgl", "BGL_LEVELS"]

#: BGL levels mapped to OpenTelemetry SeverityNumbers; other levels map by
#: their usual name (``DEBUG`` ...) or to 0, and the text stays in ``level``.
BGL_LEVELS = {
    "INFO": 9,
    "WARNING": 13,
    "SEVERE": 17,
    "ERROR": 17,
    "FAILURE": 21,
    "FATAL": 21,
}
_LEVELS = {**SEVERITY_NAMES, **BGL_LEVELS}
_LINE = re.compile(
    r"\S+ \d{9,11} \d{4}\.\d{2}\.\d{2} \S+ "  # label epoch date node
    r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+ \S+ \S+ \S+ \S+"  # time node type comp level
)
_SHAPE = "LABEL EPOCH DATE NODE TIME NODE TYPE COMPONENT LEVEL CONTENT"


def looks_like_bgl(lines: Iterable[str]) -> bool:
    """Whether most of the given (first) lines are BGL log lines."""
    lines = [line for line in lines if line.strip()]
    hits = sum(bool(_LINE.match(line)) for line in lines)
    return bool(lines) and hits * 2 > len(lines)


class _Batch:
    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.label: list[str | None] = []
        self.node: list[str] = []
        self.component: list[str] = []
        self.level: list[str] = []
        self.content: list[str | None] = []

    def __len__(self) -> int:
        return len(self.epoch)

    def add(self, parts: list[str]) -> None:
        self.epoch.append(int(parts[1]))
        self.label.append(None if parts[0] == "-" else parts[0])
        self.node.append(parts[3])
        self.component.append(parts[7])
        self.level.append(parts[8])
        self.content.append(parts[9].rstrip("\r\n") if len(parts) > 9 else None)

    def to_events(self, where: str) -> pd.DataFrame:
        label = pd.Series(self.label, dtype="str")
        level = pd.Series(self.level, dtype="str")
        frame = pd.DataFrame(
            {
                "timestamp": pd.to_datetime(np.asarray(self.epoch, dtype="int64"), unit="s",
                                            utc=True),
                "service": pd.Series(self.component, dtype="str"),
                "is_error": label.notna().to_numpy(),
                "error_type": label,
                "severity": level.str.upper().map(_LEVELS).fillna(0).astype("int8"),
                "host": pd.Series(self.node, dtype="str"),
                "message": pd.Series(self.content, dtype="str"),
                "level": level,
            }
        )
        return canonical(frame, where=where)


def iter_bgl(
    path: str | os.PathLike, *, chunk_rows: int = 1_000_000, log: ReadLog | None = None
) -> Iterator[pd.DataFrame]:
    """Yield canonical, time-sorted chunks of about ``chunk_rows`` BGL events.

    See :func:`read_bgl` for the mapping.
    """
    path = Path(path)
    check_file(path)
    log = log if log is not None else ReadLog(str(path))
    log.source_format = "bgl"
    batch, total = _Batch(), 0
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split(None, 9)
            if not parts:
                continue
            if len(parts) < 9 or not parts[1].isdigit():
                shown = line.rstrip("\r\n")
                shown = shown if len(shown) <= 80 else shown[:77] + "..."
                log.bad("line", f"{path}: line {lineno}: not a BGL log line; expected "
                                f"'{_SHAPE}', got {shown!r}")
                continue
            batch.add(parts)
            if len(batch) >= chunk_rows:
                total += len(batch)
                yield batch.to_events(str(path))
                batch = _Batch()
    if len(batch) or total == 0:
        yield batch.to_events(str(path))


def read_bgl(path: str | os.PathLike, *, skip_bad_lines: bool = False) -> pd.DataFrame:
    """Read a LogHub BGL log into the canonical event table.

    Mapping: ``timestamp`` = the epoch seconds (2nd token); ``host`` = the
    node (4th token; ``NULL`` and ``UNKNOWN_LOCATION`` are kept as written),
    the default entity; ``service`` = the component (``KERNEL``, ``APP``,
    ``MMCS``, ``DISCOVERY``, ``HARDWARE``); ``level`` kept as written and
    mapped to ``severity`` (INFO 9, WARNING 13, SEVERE and ERROR 17, FAILURE
    and FATAL 21); ``message`` = the content. ``is_error`` follows the label
    only: a line is an error when its first token is an alert category, which
    becomes ``error_type``; many ``FATAL`` lines are not alerts and stay
    ``is_error=False``.

    Parameters
    ----------
    path
        ``BGL.log`` or a sample of it (plain or gzip).
    skip_bad_lines
        Skip lines that do not have the BGL shape and count them in
        ``attrs["skipped_lines"]``, instead of raising.

    Returns
    -------
    pandas.DataFrame
        Canonical events with ``attrs["default_entity"] == "host"``.

    Raises
    ------
    DataFormatError
        A line without the BGL shape, named by file and line number.
    """
    log = ReadLog(str(path), skip_bad_lines=skip_bad_lines)
    frame = next(iter_bgl(path, chunk_rows=sys.maxsize, log=log))
    return log.stamp(frame)
