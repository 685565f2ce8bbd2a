"""Opening input files: existence checks and transparent gzip."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from errpredict.exceptions import DataFormatError

__all__ = ["check_file", "is_gzip", "open_binary", "open_text", "head_bytes", "json_lines"]

_GZIP_MAGIC = b"\x1f\x8b"


def check_file(path: Path) -> None:
    """Raise :class:`DataFormatError` unless ``path`` is a non-empty file."""
    if not path.exists():
        raise DataFormatError(f"{path}: no such file; check the path given to --data")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory; give the path of one events file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty; expected a header and events")


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """Open for reading bytes, decompressing gzip (by content, not by name)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def open_text(path: Path) -> IO[str]:
    """Open as UTF-8 text (undecodable bytes replaced), decompressing gzip."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline=None)


def head_bytes(path: Path, size: int = 65536) -> bytes:
    """The first ``size`` bytes of the (decompressed) content."""
    with open_binary(path) as fh:
        try:
            return fh.read(size)
        except (OSError, EOFError):  # a truncated gzip member
            return b""


def json_lines(path: Path, log, expected: str) -> Iterator[tuple[int, object]]:
    """``(line number, document)`` of every non-blank line of a JSON Lines file.

    A line that is not JSON is reported to ``log`` (a ``ReadLog``: it raises, or
    counts and skips) with the file, the line number, the parser's reason and
    ``expected`` (what a line should hold).
    """
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                log.bad("line", f"{path}: line {lineno}: not valid JSON ({exc.msg} at column "
                                f"{exc.colno}); expected {expected}")
                continue
            yield lineno, doc
