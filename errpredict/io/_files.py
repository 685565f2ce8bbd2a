"""Opening input files: existence checks and transparent gzip."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

from errpredict.exceptions import DataFormatError

__all__ = ["check_file", "is_gzip", "open_binary", "open_text", "head_bytes"]

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
