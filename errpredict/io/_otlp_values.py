"""Values of OTLP/JSON, decoded by hand as the OTLP/JSON encoding requires.

The protobuf JSON parser is not used on purpose: OTLP/JSON writes trace and
span ids as hex where the protobuf mapping expects base64, and parsing them
with it silently gives wrong ids. Keys are accepted in lowerCamelCase and in
snake_case, 64-bit integers as numbers or strings, enums as integers or names;
unknown keys are ignored, as the OTLP specification asks.
"""

from __future__ import annotations

import base64
import binascii
import math
import re

from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

__all__ = [
    "get_either",
    "ShapeError",
    "get",
    "as_list",
    "as_dict",
    "as_str",
    "as_int",
    "as_nanos",
    "as_id",
    "as_enum",
    "any_value",
    "attributes",
    "STATUS_CODES",
    "SEVERITY_NUMBERS",
]

_MAX_NANOS = 2**63 - 1
_HEX = re.compile(r"[0-9a-fA-F]*")


class ShapeError(Exception):
    """A value of an OTLP document does not have the expected shape.

    ``field`` is the path from the enclosing record outwards; callers prepend
    their part with :meth:`within` as the error travels up.
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(field, detail)
        self.field = field
        self.detail = detail

    def within(self, prefix: str) -> ShapeError:
        self.field = f"{prefix}.{self.field}" if self.field else prefix
        return self

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), name)


_SNAKE: dict[str, str] = {}


def get(obj: dict, key: str) -> tuple[object, str]:
    """``obj[key]`` under its lowerCamelCase or snake_case name; ``(None, key)`` if absent."""
    value = obj.get(key)
    if value is not None:
        return value, key
    snake = _SNAKE.get(key)
    if snake is None:
        snake = _SNAKE[key] = _snake(key)
    value = obj.get(snake)
    return value, (snake if value is not None else key)


def get_either(obj: dict, key: str, older: str) -> tuple[object, str]:
    """:func:`get` of ``key``, else of its older name ``older`` (``scopeSpans`` before
    ``instrumentationLibrarySpans``); ``(None, older)`` when neither is there."""
    value, name = get(obj, key)
    return (value, name) if value is not None else get(obj, older)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), _show(value)
    )


def as_list(value: object, key: str) -> list:
    """A JSON list (missing means empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError(key, f"expected a list, got {_kind(value)}")
    return value


def as_dict(value: object, key: str) -> dict:
    """A JSON object (missing means empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShapeError(key, f"expected an object, got {_kind(value)}")
    return value


def as_str(value: object, key: str) -> str:
    """A JSON string (missing means empty)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ShapeError(key, f"expected a string, got {_kind(value)}")
    return value


def as_int(value: object, key: str) -> int:
    """An integer given as a JSON number or a decimal string (64-bit values often are)."""
    if value is None:
        return 0
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text and (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
            return int(text)
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    raise ShapeError(key, f"expected an integer, got {_show(value)}")


def as_nanos(value: object, key: str) -> int:
    """Nanoseconds since the Unix epoch (0 when missing)."""
    n = as_int(value, key)
    if n < 0 or n > _MAX_NANOS:
        raise ShapeError(key, f"expected nanoseconds since the epoch, got {_show(value)}")
    return n


def as_id(value: object, key: str, nbytes: int) -> tuple[str | None, bool]:
    """A trace or span id as lowercase hex; ``(None, False)`` when empty or all zero.

    The second item is True when the id came base64-encoded (the protobuf JSON
    mapping) rather than hex (the OTLP/JSON encoding); the length tells them apart.
    """
    if value is None or value == "":
        return None, False
    if not isinstance(value, str):
        raise ShapeError(key, f"expected a hex string, got {_kind(value)}")
    base64_form = False
    if len(value) == 2 * nbytes and _HEX.fullmatch(value):
        text = value.lower()
    elif len(value) == 4 * math.ceil(nbytes / 3):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != nbytes:
            raise ShapeError(key, f"expected {2 * nbytes} hex digits, got {_show(value)}")
        text, base64_form = raw.hex(), True
    else:
        raise ShapeError(
            key, f"expected {2 * nbytes} hex digits (OTLP/JSON ids are hex), got {_show(value)}"
        )
    if text.strip("0") == "":
        return None, base64_form
    return text, base64_form


def _enum_names(pairs: dict[str, int], prefix: str) -> dict[str, int]:
    names = {}
    for name, number in pairs.items():
        names[name] = number
        names[name.removeprefix(prefix)] = number
    return names


#: Span status codes by name: ``STATUS_CODE_ERROR`` and the short ``ERROR``.
STATUS_CODES = _enum_names(dict(trace_pb2.Status.StatusCode.items()), "STATUS_CODE_")
#: Log severity numbers by name: ``SEVERITY_NUMBER_WARN`` and the short ``WARN``.
SEVERITY_NUMBERS = _enum_names(dict(logs_pb2.SeverityNumber.items()), "SEVERITY_NUMBER_")


def as_enum(value: object, key: str, names: dict[str, int], top: int) -> int:
    """An enum given as an integer (OTLP/JSON) or by its name (accepted too)."""
    if value is None:
        return 0
    if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
        number = names.get(value.strip().upper())
        if number is None:
            some = ", ".join(list(names)[-4::2])
            raise ShapeError(
                key,
                f"unknown name {_show(value)}; expected an integer 0-{top} or a name ({some} ...)",
            )
        return number
    number = as_int(value, key)
    if not 0 <= number <= top:
        raise ShapeError(key, f"expected an integer in [0, {top}], got {_show(value)}")
    return number


def as_float(value: object, key: str) -> float:
    """A double given as a JSON number or a string ("NaN", "Infinity" and decimals)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ShapeError(key, f"expected a number, got {_show(value)}")


def any_value(obj: object, key: str) -> object:
    """Unwrap an AnyValue (``{"stringValue": "x"}`` ...) into a Python value.

    Arrays become lists, key-value lists dicts, bytes (base64 in JSON) stay a
    base64 string; an empty AnyValue is None.
    """
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise ShapeError(key, f'expected an AnyValue object such as {{"stringValue": ...}}, got '
                              f"{_kind(obj)}")
    for name, value in obj.items():
        if value is None:
            continue
        if name in ("stringValue", "string_value"):
            return as_str(value, f"{key}.{name}")
        if name in ("intValue", "int_value"):
            return as_int(value, f"{key}.{name}")
        if name in ("doubleValue", "double_value"):
            return as_float(value, f"{key}.{name}")
        if name in ("boolValue", "bool_value"):
            if not isinstance(value, bool):
                raise ShapeError(f"{key}.{name}", f"expected true or false, got {_show(value)}")
            return value
        if name in ("arrayValue", "array_value"):
            inner, ikey = get(as_dict(value, f"{key}.{name}"), "values")
            items = as_list(inner, f"{key}.{name}.{ikey}")
            return [any_value(v, f"{key}.{name}.{ikey}[{i}]") for i, v in enumerate(items)]
        if name in ("kvlistValue", "kvlist_value"):
            inner, ikey = get(as_dict(value, f"{key}.{name}"), "values")
            return attributes(inner, f"{key}.{name}.{ikey}")
        if name in ("bytesValue", "bytes_value"):
            return as_str(value, f"{key}.{name}")
    return None


def attributes(items: object, key: str) -> dict[str, object]:
    """A list of ``{"key": ..., "value": AnyValue}`` as a dict (the last of a repeated key wins)."""
    out: dict[str, object] = {}
    for i, kv in enumerate(as_list(items, key)):
        if not isinstance(kv, dict):
            raise ShapeError(f"{key}[{i}]", f"expected a key-value object, got {_kind(kv)}")
        name = kv.get("key")
        if not isinstance(name, str):
            raise ShapeError(f"{key}[{i}].key", f"expected a string, got {_kind(name)}")
        out[name] = any_value(kv.get("value"), f"{key}[{i}].value")
    return out
