"""One failed call as the recovery code sees it, parsed from a dict or an event row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from errpredict.exceptions import ConfigError

__all__ = ["GRPC_CODES", "ErrorEvent"]

#: gRPC status codes by number, for errors that carry the number only.
GRPC_CODES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
_HTTP = re.compile(r"^\s*(?:HTTP|status|http\.status_code)?[\s:=/]*([1-5]\d\d)\s*$", re.I)
_GRPC = re.compile(r"^\s*(?:grpc|StatusCode)?[\s:.=/]*([A-Z_]{2,}|\d{1,2})\s*$", re.I)


@dataclass(frozen=True)
class ErrorEvent:
    """One failed call, as the recommender sees it.

    Parameters
    ----------
    service
        The service that failed (the entity).
    error_type
        Exception type, ``"HTTP 503"``, a gRPC code name or an alert category.
    http_status, grpc_code
        Parsed from ``error_type`` when not given.
    message, operation, severity
        As in the canonical event table (``severity`` is the OTel SeverityNumber).
    timestamp
        When the call failed (seconds since the epoch, or anything pandas parses).
    retry_after_s
        A Retry-After header or attribute, in seconds.
    attributes
        Any other attributes; ``retry_after_s`` is read from ``retry-after`` or
        ``retry_after`` there when not given.
    """

    service: str
    error_type: str | None = None
    http_status: int | None = None
    grpc_code: str | None = None
    message: str | None = None
    operation: str | None = None
    severity: int = 0
    timestamp: Any = None
    retry_after_s: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.service, str) or not self.service.strip():
            raise ConfigError(
                f"ErrorEvent: 'service' must be a non-empty string, got {self.service!r}; "
                "name the service whose call failed"
            )
        etype = self.error_type if isinstance(self.error_type, str) else None
        if self.http_status is None and etype and (m := _HTTP.match(etype)):
            object.__setattr__(self, "http_status", int(m.group(1)))
        if self.http_status is not None:
            object.__setattr__(self, "http_status", int(self.http_status))
        grpc = self.grpc_code
        if grpc is None and etype and self.http_status is None and (m := _GRPC.match(etype)):
            grpc = m.group(1)
        if grpc is not None:
            grpc = str(grpc).strip().upper()
            if grpc.startswith("STATUSCODE."):
                grpc = grpc[len("STATUSCODE.") :]
            if grpc.isdigit() and int(grpc) < len(GRPC_CODES):
                grpc = GRPC_CODES[int(grpc)]
            object.__setattr__(self, "grpc_code", grpc if grpc in GRPC_CODES else None)
        if self.retry_after_s is None:
            for key in ("retry_after_s", "retry-after", "retry_after", "Retry-After"):
                if self.attributes.get(key) is not None:
                    object.__setattr__(self, "retry_after_s", float(self.attributes[key]))
                    break
        if self.error_type is None:
            if self.http_status is not None:
                object.__setattr__(self, "error_type", f"HTTP {self.http_status}")
            elif self.grpc_code is not None:
                object.__setattr__(self, "error_type", self.grpc_code)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorEvent:
        """Build from a mapping; unknown keys go to ``attributes``."""
        if isinstance(data, ErrorEvent):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"error: expected an ErrorEvent or a dict with 'service' and 'error_type', "
                f"got {type(data).__name__}"
            )
        if "service" not in data:
            raise ConfigError(
                f"error: missing 'service' in {sorted(data)}; say which service's call failed"
            )
        names = _EVENT_FIELDS
        known = {k: v for k, v in data.items() if k in names and k != "attributes"}
        extra = dict(data.get("attributes") or {})
        extra.update({k: v for k, v in data.items() if k not in names})
        for key in ("http_status", "retry_after_s", "severity"):
            if known.get(key) is not None and _is_nan(known[key]):
                known[key] = None
        if known.get("severity") is None:
            known.pop("severity", None)
        return cls(**known, attributes=extra)


_EVENT_FIELDS = frozenset(f.name for f in fields(ErrorEvent))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value
