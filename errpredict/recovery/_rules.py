"""Classification rules as data: the default table, its loader and the matcher.

A rule matches an error on its HTTP status, its gRPC code, a pattern on the
error type, or a pattern on the message, and says what the error is: its
category, whether retrying can help (``retryable``), whether it usually
passes by itself (``transient``), and its severity. Rules are checked in
order and the first match wins; rules a user adds come before the defaults.

The defaults follow the OpenTelemetry OTLP exporter conventions (HTTP 429,
502, 503, 504 and gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
ABORTED are retryable), common client practice (HTTP 408 is retryable; 4xx
and INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED are not),
and the usual exception names of Python and Java (timeouts and connection
failures are retryable; validation and key errors are not).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from errpredict.exceptions import ConfigError
from errpredict.recovery._event import ErrorEvent

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "CATEGORY_ACTIONS",
    "DEFAULT_RULES",
    "SEVERITIES",
    "CategoryActions",
    "ErrorRule",
    "load_rules",
]

CATEGORIES = (
    "timeout",
    "connection",
    "rate_limited",
    "unavailable",
    "resource_exhausted",
    "client",
    "auth",
    "internal",
    "data",
    "unknown",
)
SEVERITIES = ("low", "medium", "high", "critical")
ACTIONS = (
    "retry",
    "retry_backoff",
    "open_circuit",
    "fail_over",
    "shed_load",
    "escalate",
    "fail_fast",
)

@dataclass(frozen=True)
class ErrorRule:
    """One row of the rules table.

    A rule matches when every matcher it sets matches (unset matchers are
    ignored); a rule with no matcher is refused.

    Parameters
    ----------
    category
        One of :data:`CATEGORIES`.
    retryable
        Whether retrying the same call can succeed.
    transient
        Whether the condition usually passes by itself.
    severity
        One of :data:`SEVERITIES`.
    http_status
        Status codes, or classes written ``"4xx"``.
    grpc_code
        gRPC status code names.
    error_type
        A regular expression searched (case-insensitive) in the error type.
    message
        A regular expression searched (case-insensitive) in the message.
    name
        A label shown in reasons and reports.
    """

    category: str
    retryable: bool
    transient: bool
    severity: str = "medium"
    http_status: tuple[int | str, ...] = ()
    grpc_code: tuple[str, ...] = ()
    error_type: str | None = None
    message: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        label = self.name or "rule"
        if self.category not in CATEGORIES:
            raise ConfigError(
                f"{label}: category {self.category!r} is unknown; expected one of {CATEGORIES}"
            )
        if self.severity not in SEVERITIES:
            raise ConfigError(
                f"{label}: severity {self.severity!r} is unknown; expected one of {SEVERITIES}"
            )
        for flag in ("retryable", "transient"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(
                    f"{label}: {flag!r} must be true or false, got {getattr(self, flag)!r}"
                )
        http = self.http_status
        http = (http,) if isinstance(http, int | str) else tuple(http)
        object.__setattr__(self, "http_status", http)
        grpc = (self.grpc_code,) if isinstance(self.grpc_code, str) else tuple(self.grpc_code)
        object.__setattr__(self, "grpc_code", tuple(g.upper() for g in grpc))
        for pattern in (self.error_type, self.message):
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(
                        f"{label}: bad regular expression {pattern!r}: {exc}"
                    ) from None
        if not (http or grpc or self.error_type or self.message):
            raise ConfigError(
                f"{label}: a rule needs at least one of http_status, grpc_code, error_type "
                "or message to match on"
            )

    def matches(self, error: ErrorEvent) -> bool:
        """Whether this rule applies to ``error``."""
        if self.http_status and not _http_matches(self.http_status, error.http_status):
            return False
        if self.grpc_code and error.grpc_code not in self.grpc_code:
            return False
        if self.error_type is not None and not (
            error.error_type and re.search(self.error_type, error.error_type, re.I)
        ):
            return False
        if self.message is not None and not (
            error.message and re.search(self.message, error.message, re.I)
        ):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that :func:`load_rules` reads back."""
        out = asdict(self)
        out["http_status"] = list(self.http_status)
        out["grpc_code"] = list(self.grpc_code)
        return {k: v for k, v in out.items() if v not in (None, [], "")}


def _http_matches(wanted: tuple[int | str, ...], status: int | None) -> bool:
    if status is None:
        return False
    for w in wanted:
        if isinstance(w, str) and w.lower().endswith("xx"):
            if str(status)[0] == w[0]:
                return True
        elif int(w) == status:
            return True
    return False


def _r(category, retryable, transient, severity, name, **match) -> ErrorRule:
    return ErrorRule(category, retryable, transient, severity, name=name, **match)


_PY_JAVA_TIMEOUT = (
    r"timeout|timed ?out|SocketTimeoutException|ReadTimeout|ConnectTimeout|"
    r"TimeoutException|DeadlineExceeded"
)
_CONNECTION = (
    r"Connection(Error|Reset|Refused|Aborted)|ConnectException|BrokenPipe|"
    r"UnknownHost|NoRouteToHost|SSLError|ProtocolError|RemoteDisconnected|EOFError|"
    r"ClosedChannelException|SocketException"
)

#: The default rules table, checked in order after any rules a user adds.
DEFAULT_RULES: tuple[ErrorRule, ...] = (
    _r("timeout", True, True, "medium", "HTTP 408 request timeout", http_status=(408,)),
    _r("rate_limited", True, True, "medium", "HTTP 429 too many requests", http_status=(429,)),
    _r("unavailable", True, True, "high", "HTTP 502 bad gateway", http_status=(502,)),
    _r("unavailable", True, True, "high", "HTTP 503 service unavailable", http_status=(503,)),
    _r("timeout", True, True, "high", "HTTP 504 gateway timeout", http_status=(504,)),
    _r("auth", False, False, "medium", "HTTP 401 unauthorized", http_status=(401,)),
    _r("auth", False, False, "medium", "HTTP 403 forbidden", http_status=(403,)),
    _r("client", False, False, "low", "HTTP 404 not found", http_status=(404,)),
    _r("client", False, False, "low", "HTTP 409 conflict", http_status=(409,)),
    _r("client", False, False, "low", "HTTP 422 unprocessable", http_status=(422,)),
    _r("client", False, False, "low", "HTTP 400 bad request", http_status=(400,)),
    _r("client", False, False, "low", "HTTP 4xx client error", http_status=("4xx",)),
    _r("resource_exhausted", True, True, "high", "HTTP 507 insufficient storage",
       http_status=(507,)),
    _r("internal", False, False, "high", "HTTP 5xx server error", http_status=("5xx",)),
    _r("unavailable", True, True, "high", "gRPC UNAVAILABLE", grpc_code=("UNAVAILABLE",)),
    _r("timeout", True, True, "medium", "gRPC DEADLINE_EXCEEDED",
       grpc_code=("DEADLINE_EXCEEDED",)),
    _r("resource_exhausted", True, True, "high", "gRPC RESOURCE_EXHAUSTED",
       grpc_code=("RESOURCE_EXHAUSTED",)),
    _r("unavailable", True, True, "medium", "gRPC ABORTED (concurrency conflict)",
       grpc_code=("ABORTED",)),
    _r("client", False, False, "low", "gRPC INVALID_ARGUMENT etc.",
       grpc_code=("INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION",
                  "OUT_OF_RANGE", "UNIMPLEMENTED", "CANCELLED")),
    _r("auth", False, False, "medium", "gRPC PERMISSION_DENIED / UNAUTHENTICATED",
       grpc_code=("PERMISSION_DENIED", "UNAUTHENTICATED")),
    _r("data", False, False, "critical", "gRPC DATA_LOSS", grpc_code=("DATA_LOSS",)),
    _r("internal", False, False, "high", "gRPC INTERNAL / UNKNOWN",
       grpc_code=("INTERNAL", "UNKNOWN")),
    _r("resource_exhausted", False, False, "critical", "out of memory",
       error_type=r"OutOfMemory|MemoryError|\bOOM"),
    _r("rate_limited", True, True, "medium", "throttling exception",
       error_type=r"Throttl|RateLimit|TooManyRequests"),
    _r("timeout", True, True, "medium", "timeout exception", error_type=_PY_JAVA_TIMEOUT),
    _r("connection", True, True, "medium", "connection exception", error_type=_CONNECTION),
    _r("auth", False, False, "medium", "auth exception",
       error_type=r"PermissionError|AccessDenied|Unauthori[sz]ed|Authentication|Forbidden|"
       r"SecurityException|AccessControlException"),
    _r("client", False, False, "low", "validation or key error",
       error_type=r"Validation|KeyError|ValueError|IllegalArgument|NumberFormat|"
       r"NoSuchElement|NotFound"),
    _r("internal", False, False, "high", "programming error",
       error_type=r"TypeError|AttributeError|IndexError|NullPointer|ClassCast|IllegalState|"
       r"ArithmeticException|UnsupportedOperation|AssertionError"),
    _r("data", False, False, "high", "data error",
       error_type=r"Integrity|Corrupt|Checksum|Decode|Serializ|Unmarshal|Parse|DataLoss|"
       r"JSONDecodeError|UnicodeError"),
    _r("resource_exhausted", True, True, "high", "resource exhausted exception",
       error_type=r"ResourceExhausted|TooManyOpenFiles|Disk ?Full|NoSpace|PoolExhausted|"
       r"RejectedExecution"),
    _r("internal", False, False, "high", "runtime error", error_type=r"RuntimeError|Exception$"),
    _r("resource_exhausted", False, False, "critical", "disk full in message",
       message=r"no space left|disk (is )?full|quota exceeded"),
    _r("timeout", True, True, "medium", "timeout in message", message=r"timed? ?out|deadline"),
    _r("connection", True, True, "medium", "connection failure in message",
       message=r"connection (refused|reset|closed)|broken pipe|unreachable"),
)


def load_rules(source: Any) -> tuple[ErrorRule, ...]:
    """Read rules from a list of dicts, a ``{"rules": [...]}`` mapping, or a TOML/JSON file.

    Parameters
    ----------
    source
        ``ErrorRule`` objects, dicts with the :class:`ErrorRule` fields, a mapping
        with a ``rules`` list (a TOML ``[[rules]]`` table), or a path to such a
        ``.toml`` or ``.json`` file.

    Examples
    --------
    >>> rules = load_rules([{"error_type": "QuotaExceeded", "category": "rate_limited",
    ...                      "retryable": True, "transient": True}])
    >>> rules[0].category
    'rate_limited'
    """
    where = "rules"
    if isinstance(source, str | Path):
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such rules file; give a .toml or .json rules table")
        text = path.read_text(encoding="utf-8")
        try:
            source = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot parse the rules table: {exc}") from None
    if isinstance(source, Mapping):
        if "rules" not in source:
            raise ConfigError(f"{where}: expected a 'rules' list (TOML: [[rules]] tables)")
        source = source["rules"]
    if isinstance(source, ErrorRule):
        source = [source]
    if not isinstance(source, Iterable) or isinstance(source, str | bytes):
        raise ConfigError(f"{where}: expected a list of rules, got {type(source).__name__}")
    names = {f.name for f in fields(ErrorRule)}
    out = []
    for i, item in enumerate(source):
        if isinstance(item, ErrorRule):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: rule {i}: expected a table of fields, got {item!r}")
        unknown = sorted(set(item) - names)
        if unknown:
            raise ConfigError(
                f"{where}: rule {i}: unknown field {unknown[0]!r}; expected some of {sorted(names)}"
            )
        missing = [k for k in ("category", "retryable", "transient") if k not in item]
        if missing:
            raise ConfigError(f"{where}: rule {i}: missing field {missing[0]!r}")
        item = dict(item)
        item.setdefault("name", f"{where} rule {i}")
        out.append(ErrorRule(**item))
    return tuple(out)


@dataclass(frozen=True)
class CategoryActions:
    """What the rules allow and prefer for a category.

    Parameters
    ----------
    default_retryable, default_other
        The action of today's practice for an error the rules call retryable,
        and for one they do not.
    forbidden
        Actions never recommended nor explored for the category.
    """

    default_retryable: str
    default_other: str
    forbidden: frozenset[str] = frozenset()


_NO_RETRY = frozenset({"retry", "retry_backoff"})
_CALLER_FAULT = _NO_RETRY | {"open_circuit", "fail_over", "shed_load"}

#: Per category: the rules' default action and the actions never explored.
CATEGORY_ACTIONS: dict[str, CategoryActions] = {
    "timeout": CategoryActions("retry_backoff", "fail_fast"),
    "connection": CategoryActions("retry_backoff", "fail_fast"),
    "rate_limited": CategoryActions("retry_backoff", "fail_fast"),
    "unavailable": CategoryActions("retry_backoff", "fail_fast"),
    "resource_exhausted": CategoryActions("retry_backoff", "fail_fast"),
    "client": CategoryActions("fail_fast", "fail_fast", _CALLER_FAULT),
    "auth": CategoryActions("fail_fast", "fail_fast", _CALLER_FAULT),
    "internal": CategoryActions("retry_backoff", "fail_fast"),
    "data": CategoryActions("escalate", "escalate", _CALLER_FAULT),
    "unknown": CategoryActions("retry_backoff", "retry_backoff"),
}
