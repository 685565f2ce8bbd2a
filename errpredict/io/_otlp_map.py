"""How a span or a log record becomes one canonical event.

Both OTLP encodings (JSON and protobuf) are walked into the same calls of
:class:`EventColumns`, so that the mapping below is written once.

Spans: an event at the span's end time; ``service`` from the resource's
``service.name``; ``operation`` = span name; ``is_error`` = status ERROR;
on error spans ``error_type`` = the last ``exception`` event's
``exception.type``, else ``HTTP <code>`` when the HTTP status code is >= 500,
else the gRPC status name when ``rpc.grpc.status_code`` is not 0, else
``HTTP <code>`` for a 4xx code, else the ``error.type`` attribute.

Log records: an event at ``time_unix_nano`` (``observed_time_unix_nano`` when
0), ``severity`` = ``severity_number`` (the text mapped when the number is 0),
``is_error`` when severity >= 17 or the record carries ``exception.type``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from errpredict.io._otlp_values import SEVERITY_NUMBERS, ShapeError
from errpredict.io._schema import ERROR_SEVERITY, SEVERITY_NAMES

__all__ = ["DEFAULT_METRIC_ATTRIBUTES", "GRPC_STATUS_NAMES", "EventColumns", "Resource"]

#: Numeric span and log-record attributes kept as metric columns (same names).
#: ``http.status_code`` (the older name) fills ``http.response.status_code``.
DEFAULT_METRIC_ATTRIBUTES = (
    "http.response.status_code",
    "rpc.grpc.status_code",
    "http.request.resend_count",
    "http.request.body.size",
    "http.response.body.size",
    "messaging.batch.message_count",
)
_ALIASES = {"http.status_code": "http.response.status_code"}

GRPC_STATUS_NAMES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
_STATUS_ERROR = 2
_MAX_NANOS = 2**63 - 1
_UNKNOWN_SERVICE = "unknown_service"
_TEXT_SEVERITY = {**SEVERITY_NAMES, **SEVERITY_NUMBERS}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


class Resource:
    """The parts of a resource every event under it shares."""

    __slots__ = ("service", "host")

    def __init__(self, attrs: Mapping[str, object]) -> None:
        service = attrs.get("service.name")
        self.service = service if isinstance(service, str) and service else _UNKNOWN_SERVICE
        host = attrs.get("host.name") or attrs.get("k8s.pod.name")
        self.host = host if isinstance(host, str) and host else None


class EventColumns:
    """Column-wise accumulator of events decoded from OTLP.

    Parameters
    ----------
    metric_attributes
        Attribute names kept as float metric columns; every one is always a
        column (NaN where absent), so that chunks of one file share a schema.
    """

    _NAMES = (
        "ts", "service", "operation", "is_error", "error_type", "severity",
        "duration_ms", "host", "message", "trace_id",
    )  # fmt: skip

    def __init__(self, metric_attributes: Iterable[str] = DEFAULT_METRIC_ATTRIBUTES) -> None:
        self.metric_attributes = tuple(dict.fromkeys(metric_attributes))
        self._targets = {k: k for k in self.metric_attributes}
        for alias, target in _ALIASES.items():
            if target in self._targets:
                self._targets.setdefault(alias, target)
        self.clear()

    def clear(self) -> None:
        for name in self._NAMES:
            setattr(self, name, [])
        # sparse: most events carry few of the metric attributes
        self.metrics: dict[str, dict[int, float]] = {k: {} for k in self.metric_attributes}

    def __len__(self) -> int:
        return len(self.ts)

    def _metrics(self, attrs: Mapping[str, object]) -> None:
        row = len(self.ts)
        for key, value in attrs.items():
            target = self._targets.get(key)
            if target is None:
                continue
            number = _number(value)
            if number is not None and (key == target or row not in self.metrics[target]):
                self.metrics[target][row] = number

    def add_span(
        self,
        resource: Resource,
        name: str,
        start: int,
        end: int,
        status_code: int,
        status_message: str,
        attrs: Mapping[str, object],
        exception: Mapping[str, object] | None,
        trace_id: str | None,
    ) -> None:
        """Add one span; ``exception`` holds the last ``exception`` event's attributes."""
        when = end or start
        if when == 0:
            raise ShapeError("endTimeUnixNano", "missing (0); every span needs an end time")
        if when > _MAX_NANOS or start > _MAX_NANOS:
            raise ShapeError("endTimeUnixNano", f"{when} is not nanoseconds since the epoch")
        is_error = status_code == _STATUS_ERROR
        error_type = _span_error_type(attrs, exception) if is_error else None
        message = status_message or (
            _text(exception.get("exception.message")) if exception else None
        )
        self._metrics(attrs)  # before the row is appended: it uses the row number
        self.ts.append(when)
        self.service.append(resource.service)
        self.operation.append(name or None)
        self.is_error.append(is_error)
        self.error_type.append(error_type)
        self.severity.append(0)
        self.duration_ms.append((end - start) / 1e6 if start and end >= start else np.nan)
        self.host.append(resource.host)
        self.message.append(message or None)
        self.trace_id.append(trace_id)

    def add_log(
        self,
        resource: Resource,
        scope_name: str,
        time: int,
        observed_time: int,
        severity_number: int,
        severity_text: str,
        body: object,
        attrs: Mapping[str, object],
        trace_id: str | None,
    ) -> None:
        """Add one log record."""
        when = time or observed_time
        if when == 0:
            raise ShapeError(
                "timeUnixNano", "missing (0), and so is observedTimeUnixNano; expected nanoseconds"
            )
        if when > _MAX_NANOS:
            raise ShapeError("timeUnixNano", f"{when} is not nanoseconds since the epoch")
        severity = severity_number or _TEXT_SEVERITY.get(severity_text.strip().upper(), 0)
        exc_type = _text(attrs.get("exception.type"))
        message = _text(body) or _text(attrs.get("exception.message"))
        operation = scope_name or _text(
            attrs.get("code.function.name") or attrs.get("code.function")
        )
        host = resource.host or _text(attrs.get("host.name") or attrs.get("k8s.pod.name"))
        self._metrics(attrs)  # before the row is appended: it uses the row number
        self.ts.append(when)
        self.service.append(resource.service)
        self.operation.append(operation)
        self.is_error.append(severity >= ERROR_SEVERITY or exc_type is not None)
        self.error_type.append(exc_type)
        self.severity.append(severity)
        self.duration_ms.append(np.nan)
        self.host.append(host)
        self.message.append(message)
        self.trace_id.append(trace_id)

    def to_frame(self) -> pd.DataFrame:
        """The events so far as a raw frame for :func:`~errpredict.io.to_canonical`."""
        ts = pd.to_datetime(np.asarray(self.ts, dtype="int64"), unit="ns", utc=True)
        data: dict[str, object] = {
            "timestamp": ts,
            "service": pd.Series(self.service, dtype="str"),
            "operation": pd.Series(self.operation, dtype="str"),
            "is_error": np.asarray(self.is_error, dtype=bool),
            "error_type": pd.Series(self.error_type, dtype="str"),
            "severity": np.asarray(self.severity, dtype="int8"),
            "duration_ms": np.asarray(self.duration_ms, dtype="float64"),
            "host": pd.Series(self.host, dtype="str"),
            "message": pd.Series(self.message, dtype="str"),
            "trace_id": pd.Series(self.trace_id, dtype="str"),
        }
        for key, values in self.metrics.items():
            column = np.full(len(self.ts), np.nan)
            if values:
                column[np.fromiter(values.keys(), dtype="int64", count=len(values))] = np.fromiter(
                    values.values(), dtype="float64", count=len(values))
            data[key] = column
        return pd.DataFrame(data)


def _span_error_type(
    attrs: Mapping[str, object], exception: Mapping[str, object] | None
) -> str | None:
    if exception:
        exc_type = _text(exception.get("exception.type"))
        if exc_type:
            return exc_type
    http = _number(attrs.get("http.response.status_code", attrs.get("http.status_code")))
    if http is not None and http >= 500:
        return f"HTTP {int(http)}"
    grpc = _number(attrs.get("rpc.grpc.status_code"))
    if grpc:
        return GRPC_STATUS_NAMES.get(int(grpc), f"gRPC {int(grpc)}")
    if http is not None and http >= 400:
        return f"HTTP {int(http)}"
    return _text(attrs.get("error.type"))
