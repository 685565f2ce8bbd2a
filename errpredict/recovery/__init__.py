"""Recovery: what to do when a call fails, learned from history and from outcomes.

:class:`ErrorClassifier` turns an error (HTTP status, gRPC code, exception
type, message) into a category, whether it is retryable and transient, and
its severity, from a rules table users can extend; fitted on an event
history it also learns how fast each service recovers from each error type
and reports where history contradicts the rules. :func:`plan_retry` derives
retry delays from that time-to-recovery distribution (a quantile for the
first delay, exponential backoff with full jitter, as many attempts as fit
the caller's budget; a Retry-After wins). :class:`Recommender` chooses among
``retry``, ``retry_backoff``, ``open_circuit``, ``fail_over``,
``shed_load``, ``escalate`` and ``fail_fast`` with a contextual bandit
(River's UCB per context) that starts from the rules' default, never
explores an action the rules forbid, weighs the predicted risk, and learns
from outcomes stored durably through the feedback store.
:func:`evaluate_recovery` replays a generated history's failed calls with
the learned policy and with today's fixed policies.
"""

from __future__ import annotations

from errpredict.recovery._classifier import Classification, ErrorClassifier
from errpredict.recovery._context import CallContext, context_from_events
from errpredict.recovery._delays import DelayConfig, RetryPlan, plan_retry
from errpredict.recovery._evaluate import FIXED_BACKOFF_S, evaluate_recovery
from errpredict.recovery._event import ErrorEvent
from errpredict.recovery._history import RecoveryStats, recovery_times
from errpredict.recovery._policy import ActionPolicy, PolicyConfig, RewardConfig, rules_default
from errpredict.recovery._recommendation import Alternative, Recommendation
from errpredict.recovery._recommender import Recommender
from errpredict.recovery._rules import (
    ACTIONS,
    CATEGORIES,
    CATEGORY_ACTIONS,
    DEFAULT_RULES,
    ErrorRule,
    load_rules,
)

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "CATEGORY_ACTIONS",
    "DEFAULT_RULES",
    "ActionPolicy",
    "Alternative",
    "CallContext",
    "Classification",
    "DelayConfig",
    "FIXED_BACKOFF_S",
    "ErrorClassifier",
    "ErrorEvent",
    "ErrorRule",
    "PolicyConfig",
    "Recommendation",
    "Recommender",
    "RecoveryStats",
    "RetryPlan",
    "RewardConfig",
    "context_from_events",
    "evaluate_recovery",
    "load_rules",
    "plan_retry",
    "recovery_times",
    "rules_default",
]
