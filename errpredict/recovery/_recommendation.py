"""The recommendation returned to a caller: action, parameters, reason, alternatives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from errpredict.recovery._classifier import Classification
from errpredict.recovery._delays import RetryPlan
from errpredict.recovery._rules import CATEGORY_ACTIONS

__all__ = ["Alternative", "Recommendation", "action_params", "reason_text", "why_not"]


@dataclass(frozen=True)
class Alternative:
    """An action considered and not chosen.

    ``score`` is the policy's estimated reward (None when the action was not allowed).
    """

    action: str
    score: float | None
    outcomes: int
    why_not: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "score": self.score, "outcomes": self.outcomes,
                "why_not": self.why_not}


@dataclass(frozen=True)
class Recommendation:
    """What to do about one failed call.

    Attributes
    ----------
    recommendation_id
        Pass it to :meth:`Recommender.learn` with the outcome.
    action
        One of ``retry``, ``retry_backoff``, ``open_circuit``, ``fail_over``,
        ``shed_load``, ``escalate``, ``fail_fast``.
    params
        The action's parameters (``delay_s``, ``max_attempts``,
        ``schedule_s``, ``circuit_open_s`` ...) and the ``time_budget_s``.
    confidence
        The policy's estimated reward (0-1) of the action in this context,
        its prior from the rules included.
    reason
        One sentence for a human.
    alternatives
        The other actions, with their score and why they were not chosen.
    category, retryable, transient, severity
        The classification of the error.
    context
        The context features the policy used.
    """

    recommendation_id: str
    action: str
    params: dict[str, Any]
    confidence: float
    reason: str
    alternatives: tuple[Alternative, ...]
    category: str
    retryable: bool
    transient: bool
    severity: str
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what ``recommend --json`` prints)."""
        return {
            "recommendation_id": self.recommendation_id,
            "action": self.action,
            "params": self.params,
            "confidence": self.confidence,
            "reason": self.reason,
            "category": self.category,
            "retryable": self.retryable,
            "transient": self.transient,
            "severity": self.severity,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "context": self.context,
        }


def action_params(action: str, plan: RetryPlan) -> dict[str, Any]:
    """The parameters of ``action`` from the retry plan."""
    out: dict[str, Any] = {"time_budget_s": plan.time_budget_s}
    if action == "retry":
        out.update(delay_s=plan.delay_s, max_attempts=plan.attempts,
                   schedule_s=[plan.delay_s] * plan.attempts)
    elif action == "retry_backoff":
        out.update(delay_s=plan.backoff_s[0], base_s=plan.base_s,
                   max_attempts=len(plan.backoff_s), schedule_s=list(plan.backoff_s),
                   jitter="full")
    elif action in ("open_circuit", "shed_load"):
        out["circuit_open_s"] = plan.circuit_open_s
        if action == "shed_load":
            out["shed_fraction"] = 0.5
    elif action == "fail_over":
        out["fallback"] = True
    out["delay_source"] = plan.source
    return out


def why_not(action: str, x: dict[str, Any], plan: RetryPlan, allowed: list[str]) -> str | None:
    """Why the rules do not allow ``action`` here (None when they do)."""
    if action in allowed:
        return None
    if action in CATEGORY_ACTIONS[x["category"]].forbidden:
        return f"the rules never allow {action} for {x['category']} errors"
    if action == "fail_over":
        return "the caller has no fallback"
    if action in ("retry", "retry_backoff"):
        if x.get("retry_after"):
            return (f"the Retry-After of {plan.delay_s:g} s exceeds the "
                    f"{plan.time_budget_s:g} s budget")
        return f"no retry fits the {plan.time_budget_s:g} s budget"
    if action == "escalate":
        return "transient errors are not escalated to a human"
    return "not allowed here"


def _seconds(s: float) -> str:
    if s < 1:
        return f"{s:.2g} s"
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s".replace(".0 s", " s")


def reason_text(
    service: str,
    error_type: str,
    c: Classification,
    plan: RetryPlan,
    action: str,
    params: dict[str, Any],
    *,
    recent: int | None,
    window_s: float,
    risk: float | None,
    learned: tuple[int, float] | None,
) -> str:
    """One sentence: what happened, what history says, what to do."""
    parts = []
    if recent is not None and recent > 1:
        parts.append(f"{service} returned {error_type} {recent} times in {window_s / 60:g} min")
    else:
        parts.append(f"{service} returned {error_type} ({c.category.replace('_', ' ')}"
                     f"{', retryable' if c.retryable else ', not retryable'})")
    if risk is not None:
        parts[-1] += f" and its predicted risk is {risk:.2f}"
    if plan.source == "retry_after":
        parts.append(f"the server asked to retry after {_seconds(plan.delay_s)}")
    elif plan.cleared_share is not None and action in ("retry", "retry_backoff"):
        parts.append(f"{plan.cleared_share:.0%} of such errors cleared within "
                     f"{_seconds(plan.delay_s)}")
    elif plan.budget_share is not None and plan.budget_share < 0.5:
        parts.append(f"only {plan.budget_share:.0%} of such errors cleared within the "
                     f"{plan.time_budget_s:g} s budget")
    if learned is not None and learned[0] > 0:
        parts.append(f"{learned[0]} past outcomes of this action here scored {learned[1]:.2f}")
    if action == "retry":
        parts.append(f"retry after {_seconds(params['delay_s'])}, at most "
                     f"{params['max_attempts']} time{'s' if params['max_attempts'] > 1 else ''}")
    elif action == "retry_backoff":
        n = params["max_attempts"]
        parts.append(f"retry with exponential backoff (base {_seconds(params['base_s'])}, full "
                     f"jitter), first after {_seconds(params['delay_s'])}, at most {n} "
                     f"time{'s' if n > 1 else ''}")
    elif action == "open_circuit":
        parts.append(f"open the circuit for {_seconds(params['circuit_open_s'])} and fail "
                     "calls fast meanwhile")
    elif action == "fail_over":
        parts.append("fail over to the fallback")
    elif action == "shed_load":
        parts.append(f"shed half the load for {_seconds(params['circuit_open_s'])}")
    elif action == "escalate":
        parts.append("escalate to a human: retrying will not fix it")
    elif c.category in ("client", "auth"):
        parts.append("fail fast: a retry cannot fix the request")
    else:
        parts.append("fail fast")
    return "; ".join(parts)

