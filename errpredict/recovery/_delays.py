"""Retry delays from the time-to-recovery distribution of each (entity, error type)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from errpredict.exceptions import ConfigError
from errpredict.recovery._history import RecoveryStats

__all__ = ["DelayConfig", "RetryPlan", "plan_retry"]


@dataclass(frozen=True)
class DelayConfig:
    """How retry delays are derived from history.

    Parameters
    ----------
    quantile
        The first delay of a plain retry is this quantile of the time to
        recovery: at 0.9, 90% of such errors had cleared when the retry goes.
    base_quantile
        The base of the exponential backoff is this quantile.
    min_delay_s, max_delay_s
        Bounds on any single delay.
    default_delay_s
        The base used without history: today's common 100 ms.
    max_attempts
        Attempts never exceed this, whatever the budget.
    time_budget_s
        The caller's budget when the context gives none.
    circuit_min_s, circuit_max_s
        Bounds on how long a circuit stays open.
    min_history
        Errors of a key needed before its own statistics are used; below it the
        error type's statistics across entities are used, then the default.
    """

    quantile: float = 0.9
    base_quantile: float = 0.5
    min_delay_s: float = 0.05
    max_delay_s: float = 60.0
    default_delay_s: float = 0.1
    max_attempts: int = 5
    time_budget_s: float = 10.0
    circuit_min_s: float = 5.0
    circuit_max_s: float = 300.0
    min_history: int = 5

    def __post_init__(self) -> None:
        for name in ("quantile", "base_quantile"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigError(
                    f"The {name!r} parameter of DelayConfig must be in (0, 1). "
                    f"Got {value!r} instead."
                )
        positive = ("min_delay_s", "max_delay_s", "default_delay_s", "time_budget_s",
                    "circuit_min_s", "circuit_max_s")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise ConfigError(
                    f"The {name!r} parameter of DelayConfig must be a number > 0. "
                    f"Got {value!r} instead."
                )
        if self.min_delay_s > self.max_delay_s or self.circuit_min_s > self.circuit_max_s:
            raise ConfigError("DelayConfig: a minimum is above its maximum; swap them")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigError(
                "The 'max_attempts' parameter of DelayConfig must be an int in [1, inf). "
                f"Got {self.max_attempts!r} instead."
            )


@dataclass(frozen=True)
class RetryPlan:
    """Delays for one failed call.

    Attributes
    ----------
    delay_s
        The first delay of a plain retry (Retry-After when given, else the
        configured quantile of the time to recovery).
    attempts
        Plain retries at ``delay_s`` intervals that fit the budget.
    base_s
        The backoff base.
    backoff_s
        The jittered backoff delays that fit the budget (one per attempt).
    circuit_open_s
        How long to keep a circuit open.
    cleared_share
        Share of such errors in history cleared within ``delay_s`` (None without history).
    budget_share
        Share cleared within the caller's budget (None without history).
    source
        ``"retry_after"``, ``"history"``, ``"error_type"`` (same error on other
        entities) or ``"default"``.
    n_history
        Errors the statistics come from.
    """

    delay_s: float
    attempts: int
    base_s: float
    backoff_s: tuple[float, ...]
    circuit_open_s: float
    cleared_share: float | None
    budget_share: float | None
    source: str
    n_history: int
    time_budget_s: float

    def to_dict(self) -> dict:
        return {
            "delay_s": self.delay_s,
            "attempts": self.attempts,
            "base_s": self.base_s,
            "backoff_s": list(self.backoff_s),
            "circuit_open_s": self.circuit_open_s,
            "cleared_share": self.cleared_share,
            "budget_share": self.budget_share,
            "source": self.source,
            "n_history": self.n_history,
            "time_budget_s": self.time_budget_s,
        }


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def plan_retry(
    stats: Mapping[tuple[str, ...], RecoveryStats],
    type_stats: Mapping[tuple[str, ...], RecoveryStats],
    service: str,
    error_type: str,
    *,
    level: str = "any",
    config: DelayConfig = DelayConfig(),
    time_budget_s: float | None = None,
    retry_after_s: float | None = None,
    seed: int = 0,
) -> RetryPlan:
    """Plan the delays of a retry from history, a Retry-After and the caller's budget.

    Parameters
    ----------
    stats, type_stats
        Recovery statistics per (service, error type, situation) and per
        (error type, situation), as fitted by :class:`ErrorClassifier`.
    service, error_type
        The failed call.
    level
        Its situation (``single``, ``few``, ``burst``, or ``any`` when unknown).
        Statistics are looked up for the service in this situation, then for
        the error type in this situation across services, then the same for
        ``any`` situation; a key needs ``config.min_history`` recovered errors.
    config
        Quantiles and bounds.
    time_budget_s
        How long the caller can wait in total (``config.time_budget_s`` when None).
    retry_after_s
        A Retry-After from the error or the context; it wins over history.
    seed
        Seeds the full jitter of the backoff.

    Examples
    --------
    >>> from errpredict.recovery._history import RecoveryStats, QUANTILE_GRID
    >>> q = tuple(4.0 * level for level in QUANTILE_GRID)
    >>> st = {("payments", "HTTP 503", "any"): RecoveryStats(40, 40, q)}
    >>> p = plan_retry(st, {}, "payments", "HTTP 503", time_budget_s=10)
    >>> p.delay_s, p.attempts, p.source
    (3.6, 2, 'history')
    >>> plan_retry(st, {}, "payments", "HTTP 503", retry_after_s=30, time_budget_s=10).attempts
    0
    """
    budget = float(config.time_budget_s if time_budget_s is None else time_budget_s)
    if not budget > 0:
        raise ConfigError(f"time_budget_s must be > 0 seconds, got {time_budget_s!r}")
    st, source = None, "default"
    levels = (level, "any") if level != "any" else ("any",)
    for lvl in levels:
        for table, key, name in ((stats, (service, error_type, lvl), "history"),
                                 (type_stats, (error_type, lvl), "error_type")):
            found = table.get(key)
            if st is None and found is not None and found.n_recovered >= config.min_history:
                st, source = found, name
    if st is not None:
        delay = _clip(st.quantile(config.quantile), config.min_delay_s, config.max_delay_s)
        base = _clip(st.quantile(config.base_quantile), config.min_delay_s, config.max_delay_s)
        circuit = _clip(st.quantile(config.quantile), config.circuit_min_s, config.circuit_max_s)
        # a delay longer than the budget becomes one attempt at the end of the budget
        delay, base = min(delay, budget), min(base, budget)
    else:
        delay = base = min(config.default_delay_s, budget)
        circuit = config.circuit_min_s
    if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s >= 0:
        delay = max(float(retry_after_s), config.min_delay_s)
        base = max(base, delay)
        circuit = _clip(max(circuit, delay), config.circuit_min_s, max(config.circuit_max_s, delay))
        source = "retry_after"
    attempts = min(config.max_attempts, int(budget // delay + 1e-9))
    rng = random.Random(seed)
    backoff: list[float] = []
    spent = 0.0
    for k in range(config.max_attempts):
        cap = min(base * 2.0**k, config.max_delay_s)
        if spent + cap > budget + 1e-9:
            break  # worst case of the next jittered delay would overrun the budget
        d = rng.uniform(0.0, cap)
        if source == "retry_after" and k == 0:
            d = delay
        backoff.append(round(max(d, config.min_delay_s), 4))
        spent += cap
    cleared = budget_share = None
    if st is not None:
        cleared = round(st.share_within(delay), 4)
        budget_share = round(st.share_within(budget), 4)
    return RetryPlan(
        delay_s=round(delay, 4),
        attempts=attempts,
        base_s=round(base, 4),
        backoff_s=tuple(backoff),
        circuit_open_s=round(circuit, 3),
        cleared_share=cleared,
        budget_share=budget_share,
        source=source,
        n_history=st.n if st is not None else 0,
        time_budget_s=budget,
    )
