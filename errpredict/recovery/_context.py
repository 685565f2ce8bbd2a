"""The caller's context of a failed call, validated, and the bandit's features from it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.recovery._classifier import Classification
from errpredict.recovery._delays import RetryPlan
from errpredict.recovery._event import ErrorEvent
from errpredict.recovery._policy import PolicyConfig

__all__ = ["CallContext", "context_from_events", "features"]

_KEYS = ("risk", "dependency_risk", "has_fallback", "time_budget_s", "now", "retry_after_s",
         "recent_errors", "recent_window_s")


def _prob(value: Any, name: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        p = math.nan
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"context {name!r}: got {value!r}; expected a predicted risk in [0, 1]")
    return p


@dataclass(frozen=True)
class CallContext:
    """What the caller knows when its call failed (all optional).

    Parameters
    ----------
    risk
        Predicted risk of the failing service over the model's horizon.
    dependency_risk
        Predicted risk per service the caller depends on.
    has_fallback
        Whether the caller can serve the call another way (a replica, a cache,
        a degraded answer); without it ``fail_over`` is never recommended.
    time_budget_s
        How long the caller can wait in total.
    now
        When the call failed (defaults to the error's timestamp).
    retry_after_s
        A Retry-After the caller received; it wins over history.
    recent_errors
        Errors of this service the caller saw in the last ``recent_window_s``,
        this one included.
    """

    risk: float | None = None
    dependency_risk: Mapping[str, float] | None = None
    has_fallback: bool = False
    time_budget_s: float | None = None
    now: pd.Timestamp | None = None
    retry_after_s: float | None = None
    recent_errors: int | None = None
    recent_window_s: float = 300.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CallContext:
        """Validate a context dict; unknown keys are refused with the list of known ones."""
        if data is None:
            return cls()
        if isinstance(data, CallContext):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(f"context: expected a dict, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(f"context: unknown key {unknown[0]!r}; expected some of {_KEYS}")
        risk = None if data.get("risk") is None else _prob(data["risk"], "risk")
        deps = data.get("dependency_risk")
        if deps is not None:
            if not isinstance(deps, Mapping):
                raise ConfigError(
                    f"context 'dependency_risk': got {deps!r}; expected a dict service -> risk"
                )
            deps = {str(k): _prob(v, f"dependency_risk[{k!r}]") for k, v in deps.items()}
        budget = data.get("time_budget_s")
        if budget is not None and not (isinstance(budget, int | float) and budget > 0):
            raise ConfigError(f"context 'time_budget_s': got {budget!r}; expected seconds > 0")
        ra = data.get("retry_after_s")
        if ra is not None and not (isinstance(ra, int | float) and ra >= 0):
            raise ConfigError(f"context 'retry_after_s': got {ra!r}; expected seconds >= 0")
        recent = data.get("recent_errors")
        if recent is not None and not (isinstance(recent, int) and recent >= 0):
            raise ConfigError(f"context 'recent_errors': got {recent!r}; expected an int >= 0")
        now = data.get("now")
        if now is not None:
            now = _timestamp(now, "context 'now'")
        return cls(
            risk=risk,
            dependency_risk=deps,
            has_fallback=bool(data.get("has_fallback", False)),
            time_budget_s=None if budget is None else float(budget),
            now=now,
            retry_after_s=None if ra is None else float(ra),
            recent_errors=recent,
            recent_window_s=float(data.get("recent_window_s", 300.0)),
        )

    def effective_risk(self, service: str) -> float | None:
        """The highest predicted risk among the failing service and the named dependencies."""
        values = [] if self.risk is None else [self.risk]
        if self.dependency_risk:
            values.append(max(self.dependency_risk.values()))
        return max(values) if values else None


def _timestamp(value: Any, where: str) -> pd.Timestamp:
    try:
        if isinstance(value, int | float):
            return pd.Timestamp(value, unit="s", tz="UTC")
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: cannot parse {value!r}; expected ISO-8601 or epoch seconds"
        ) from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def error_time(event: ErrorEvent, ctx: CallContext) -> pd.Timestamp | None:
    """When the call failed: the context's ``now``, else the error's timestamp."""
    if ctx.now is not None:
        return ctx.now
    if event.timestamp is None:
        return None
    return _timestamp(event.timestamp, "error 'timestamp'")


def _level(value: float | None, low: float, high: float, names=("low", "medium", "high")) -> str:
    if value is None:
        return "unknown"
    return names[0] if value < low else names[2] if value >= high else names[1]


def _period(ts: pd.Timestamp | None) -> str:
    if ts is None:
        return "unknown"
    return ("night", "morning", "afternoon", "evening")[ts.hour // 6]


def features(
    event: ErrorEvent,
    c: Classification,
    plan: RetryPlan,
    ctx: CallContext,
    config: PolicyConfig,
    *,
    retry_after_s: float | None,
    level: str,
) -> dict[str, Any]:
    """The bandit's context ``x`` (a dict of small values, River style)."""
    share = plan.budget_share
    history = "none" if share is None else _level(share, 0.3, 0.8, ("slow", "mixed", "fast"))
    return {
        "category": c.category,
        "retryable": c.retryable,
        "transient": c.transient,
        "severity": c.severity,
        "fallback": ctx.has_fallback,
        "history": history,
        "burst": "unknown" if level == "any" else level,
        "risk": _level(ctx.effective_risk(event.service), config.risk_low, config.risk_high),
        "retry_after": retry_after_s is not None,
        "can_retry": plan.attempts > 0 or bool(plan.backoff_s),
        "error_type": str(event.error_type or "unknown"),
        "entity": event.service,
        "period": _period(error_time(event, ctx)),
    }


def context_from_events(
    events: pd.DataFrame,
    service: str,
    *,
    at: Any = None,
    window_s: float = 300.0,
    risk: pd.DataFrame | None = None,
    dependencies: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A recommendation context from recent events and, optionally, predicted risk.

    Parameters
    ----------
    events
        Recent canonical events.
    service
        The service whose call failed.
    at
        The decision time (default: the last event).
    window_s
        ``recent_errors`` counts the service's errors in ``(at - window_s, at]``.
    risk
        ``predict_risk`` output (``entity``, ``timestamp``, ``risk``); the latest
        row at or before ``at`` per entity gives ``risk`` for ``service`` and
        ``dependency_risk`` for the services it calls.
    dependencies
        ``(caller, callee)`` pairs; the callees of ``service`` are its dependencies.

    Examples
    --------
    >>> ev = pd.DataFrame({"timestamp": pd.to_datetime([0, 100, 200], unit="s", utc=True),
    ...                    "service": "payments", "is_error": [True, True, False]})
    >>> context_from_events(ev, "payments")["recent_errors"]
    2
    """
    for col in ("timestamp", "service", "is_error"):
        if col not in events.columns:
            raise ConfigError(f"context_from_events: events lack column {col!r}")
    now = events["timestamp"].max() if at is None else _timestamp(at, "at")
    ts = events["timestamp"]
    mine = (events["service"] == service) & events["is_error"].astype(bool)
    recent = mine & (ts > now - pd.Timedelta(seconds=window_s)) & (ts <= now)
    out: dict[str, Any] = {"recent_errors": int(recent.sum()), "now": now,
                           "recent_window_s": float(window_s)}
    if risk is not None and len(risk):
        latest = risk.loc[risk["timestamp"] <= now].sort_values("timestamp")
        latest = latest.groupby("entity", sort=False)["risk"].last()
        if service in latest.index:
            out["risk"] = float(latest[service])
        callees = [b for a, b in (dependencies or []) if a == service]
        deps = {c: float(latest[c]) for c in callees if c in latest.index}
        if deps:
            out["dependency_risk"] = deps
    return out
