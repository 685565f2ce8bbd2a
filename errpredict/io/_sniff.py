"""Telling the format of an events file by its name and its first bytes."""

from __future__ import annotations

import os
from pathlib import Path

from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io._files import check_file, head_bytes, open_binary

__all__ = ["FORMATS", "detect_format", "resolve_format"]

#: Every value ``format`` accepts.
FORMATS = ("auto", "csv", "parquet", "jsonl", "otlp-json", "otlp-proto", "bgl", "backblaze")

_PROTO_SUFFIXES = {".pb", ".bin", ".protobuf", ".otlp", ".binpb"}
_OTLP_KEYS = (b'"resourceSpans"', b'"resource_spans"', b'"resourceLogs"', b'"resource_logs"')
_COMPRESSED = (".gz", ".gzip")


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the end of the sample
            return head[: exc.start].decode("utf-8")
        return None


def _first_lines(text: str, n: int = 10) -> list[str]:
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line may be cut by the end of the sample
    return [line for line in lines if line.strip()][:n]


def _csv_header(line: str) -> list[str]:
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return [c.strip().strip('"') for c in line.split(sep)]


def detect_format(path: str | os.PathLike) -> tuple[str, str]:
    """Pick the format of an events file by its extension and content.

    Returns
    -------
    format, reason
        One of :data:`FORMATS` (not ``"auto"``) and the words that say why.

    Raises
    ------
    DataFormatError
        The content fits none of the formats.
    """
    from errpredict.datasets._backblaze import looks_like_backblaze
    from errpredict.datasets._loghub import looks_like_bgl

    path = Path(path)
    if path.is_dir():
        first = next(iter(sorted(path.glob("*.csv"))), None)
        if first is not None and looks_like_backblaze(_csv_header(_first_lines(
                head_bytes(first, 65536).decode("utf-8", "replace"), 1)[0])):
            return "backblaze", "a folder of CSV files with Backblaze headers"
    check_file(path)
    suffix = _suffix(path)
    head = head_bytes(path)
    if head[:4] == b"PAR1":
        return "parquet", "Parquet magic bytes"
    text = _text(head)
    if suffix in _PROTO_SUFFIXES and (text is None or text.lstrip()[:1] not in ("{", "[")):
        return "otlp-proto", f"extension {suffix}"
    if text is None:
        from errpredict.io._otlp_proto import NotProtobuf, split_frames

        with open_binary(path) as fh:
            data = fh.read()
        try:
            split_frames(data)
        except NotProtobuf as exc:
            raise DataFormatError(
                f"{path}: binary content that is neither Parquet nor an OTLP protobuf body "
                f"({exc.detail}); name the format with --format ({', '.join(FORMATS[1:])})"
            ) from None
        return "otlp-proto", "binary content that decodes as an OTLP protobuf request"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        key = next((k for k in _OTLP_KEYS if k in head), None)
        if key is not None:
            return "otlp-json", f"JSON with {key.decode().strip(chr(34))}"
        return "jsonl", "JSON lines without OTLP keys"
    lines = _first_lines(text)
    if looks_like_bgl(lines):
        return "bgl", "lines shaped like LogHub BGL (label, epoch, date, node, time ...)"
    if lines and ("," in lines[0] or "\t" in lines[0]):
        header = _csv_header(lines[0])
        if looks_like_backblaze(header):
            return "backblaze", "CSV header with serial_number, failure and smart_* columns"
        return "csv", f"CSV header ({', '.join(header[:4])}{' ...' if len(header) > 4 else ''})"
    raise DataFormatError(
        f"{path}: cannot tell the format of this file (extension {suffix or 'none'!r}); name it "
        f"with --format, one of {', '.join(FORMATS[1:])}"
    )


def resolve_format(path: str | os.PathLike, format: str) -> tuple[str, str]:
    """Check ``format`` and resolve ``"auto"``: returns ``(format, reason)``."""
    if format not in FORMATS:
        raise ConfigError(
            f"format must be one of {', '.join(FORMATS)}; got {format!r}"
        )
    if format == "auto":
        return detect_format(path)
    return format, "given"
