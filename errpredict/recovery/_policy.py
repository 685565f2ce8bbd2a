"""The action policy: River's UCB bandit per context bucket, started from the rules.

Each context (error category, what history says about recovery, how many
errors just happened, the predicted risk, whether the caller has a fallback,
whether a Retry-After came) is a bucket with its own :class:`river.bandit.UCB`
policy over the actions the rules allow there. Every bucket starts with
pseudo-outcomes that favour the rules' default action (``prior_count`` of
them per action), so that the first recommendations are today's practice and
the policy moves away from it only when real outcomes say so. Actions the
rules forbid (retrying a client error, failing over without a fallback) are
never offered to the bandit, so they are never explored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.recovery._rules import ACTIONS, CATEGORY_ACTIONS

if TYPE_CHECKING:
    from river import bandit

__all__ = ["DISRUPTIVE", "ActionPolicy", "PolicyConfig", "RewardConfig", "rules_default"]

#: Actions with effects beyond the failed call: rejected requests, a paged person.
DISRUPTIVE = frozenset({"open_circuit", "shed_load", "escalate"})


@dataclass(frozen=True)
class RewardConfig:
    """How an outcome becomes a reward in [0, 1].

    ``reward = recovered_weight * recovered
    + time_weight * (1 - min(time_to_recovery_s / time_scale_s, 1))
    + waste_weight * (1 - min(wasted_calls / waste_scale, 1))
    - rejected_cost * rejected_requests - escalation_cost * escalated``, floored at 0.

    ``rejected_requests`` are requests that would have succeeded and that the
    action failed (an open circuit or shed load rejecting healthy calls);
    ``escalated`` is whether a person was paged, which has a cost of its own.
    """

    recovered_weight: float = 0.6
    time_weight: float = 0.25
    waste_weight: float = 0.15
    time_scale_s: float = 60.0
    waste_scale: float = 5.0
    rejected_cost: float = 0.1
    escalation_cost: float = 0.05

    def __post_init__(self) -> None:
        weights = (self.recovered_weight, self.time_weight, self.waste_weight)
        if min(weights) < 0 or not math.isclose(sum(weights), 1.0):
            raise ConfigError(
                f"RewardConfig: the weights must be >= 0 and sum to 1, got {weights}"
            )
        if self.time_scale_s <= 0 or self.waste_scale <= 0:
            raise ConfigError("RewardConfig: time_scale_s and waste_scale must be > 0")
        if self.rejected_cost < 0 or self.escalation_cost < 0:
            raise ConfigError("RewardConfig: rejected_cost and escalation_cost must be >= 0")

    def reward(self, outcome: Mapping[str, Any]) -> float:
        """The reward of one outcome (``recovered``, ``time_to_recovery_s``, ``wasted_calls``)."""
        if not isinstance(outcome, Mapping) or "recovered" not in outcome:
            raise FeedbackError(
                f"outcome: expected a dict with 'recovered' (bool), 'time_to_recovery_s' and "
                f"'wasted_calls', got {outcome!r}"
            )
        recovered = 1.0 if outcome["recovered"] else 0.0
        ttr = outcome.get("time_to_recovery_s")
        ttr = self.time_scale_s if ttr is None or not math.isfinite(float(ttr)) else float(ttr)
        wasted = float(outcome.get("wasted_calls") or 0.0)
        rejected = float(outcome.get("rejected_requests") or 0.0)
        if ttr < 0 or wasted < 0 or rejected < 0:
            raise FeedbackError(
                "outcome: time_to_recovery_s, wasted_calls and rejected_requests must be >= 0, "
                f"got {ttr}, {wasted}, {rejected}"
            )
        value = (
            self.recovered_weight * recovered
            + self.time_weight * (1.0 - min(ttr / self.time_scale_s, 1.0))
            + self.waste_weight * (1.0 - min(wasted / self.waste_scale, 1.0))
            - self.rejected_cost * rejected
            - self.escalation_cost * (1.0 if outcome.get("escalated") else 0.0)
        )
        return max(value, 0.0)


@dataclass(frozen=True)
class PolicyConfig:
    """The bandit's context and its start.

    Parameters
    ----------
    context_keys
        Context features that make up a bucket, besides the category, whether
        the rules call the error retryable, whether the caller has a fallback
        and whether a retry fits its budget (always part of it): any of
        ``history``, ``burst``, ``risk``, ``retry_after``, ``error_type``,
        ``entity``, ``period`` (time of day) and ``severity``. More keys learn
        finer distinctions, at the cost of more buckets to learn.
    prior_count
        Pseudo-outcomes per action when a bucket starts.
    prior_default, prior_other
        Their reward for the rules' default action and for the other allowed ones.
    explore_disruptive
        Whether the bandit may try the disruptive actions (``open_circuit``,
        ``shed_load``, ``escalate``: they reject other requests or page a
        person) on its own. By default it does not: they are chosen when the
        rules pick them (high predicted risk, a long Retry-After, a data
        error), then kept or dropped by their outcomes.
    delta
        UCB exploration strength (``river.bandit.UCB(delta=...)``).
    risk_low, risk_high
        Predicted risk below ``risk_low`` is low, at or above ``risk_high`` high.
    seed
        Seeds UCB's tie-breaking.
    """

    context_keys: tuple[str, ...] = ("history", "burst", "risk", "retry_after")
    prior_count: int = 5
    prior_default: float = 0.6
    prior_other: float = 0.4
    explore_disruptive: bool = False
    delta: float = 0.05
    risk_low: float = 0.3
    risk_high: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        allowed = {"history", "burst", "risk", "retry_after", "entity", "period", "severity",
                   "error_type"}
        bad = [k for k in self.context_keys if k not in allowed]
        if bad:
            raise ConfigError(
                f"PolicyConfig: context key {bad[0]!r} is unknown; expected some of "
                f"{sorted(allowed)}"
            )
        if not 0 <= self.risk_low <= self.risk_high <= 1:
            raise ConfigError(
                f"PolicyConfig: need 0 <= risk_low <= risk_high <= 1, got {self.risk_low}, "
                f"{self.risk_high}"
            )
        if not isinstance(self.prior_count, int) or self.prior_count < 1:
            raise ConfigError(
                f"The 'prior_count' parameter of PolicyConfig must be an int in [1, inf). "
                f"Got {self.prior_count!r} instead."
            )


def rules_default(x: Mapping[str, Any]) -> str:
    """Today's practice for a context: the action the rules pick before any outcome.

    High predicted risk points to the circuit (or the fallback); low risk, a
    Retry-After, or a history where such errors cleared within the budget
    point to a plain retry after the learned delay; otherwise the category's
    default (backoff for retryable errors, failing fast for the others).
    """
    ca = CATEGORY_ACTIONS[x["category"]]
    if "retry_backoff" in ca.forbidden:
        return ca.default_other
    if x.get("risk") == "high":
        return "fail_over" if x.get("fallback") else "open_circuit"
    if not x.get("retryable"):
        return ca.default_other
    if not x.get("can_retry", True):  # e.g. a Retry-After beyond the caller's budget
        return ca.default_other
    if x.get("retry_after") or x.get("risk") == "low" or x.get("history") == "fast":
        return "retry"
    return ca.default_retryable


def allowed_actions(x: Mapping[str, Any], *, can_retry: bool, can_backoff: bool) -> list[str]:
    """The actions the rules allow in context ``x``, in :data:`ACTIONS` order."""
    forbidden = set(CATEGORY_ACTIONS[x["category"]].forbidden)
    if not x.get("fallback"):
        forbidden.add("fail_over")
    if not can_retry:
        forbidden.add("retry")
    if not can_backoff:
        forbidden.add("retry_backoff")
    if x.get("transient"):
        forbidden.add("escalate")  # do not page people to learn about passing errors
    return [a for a in ACTIONS if a not in forbidden]


class ActionPolicy:
    """A contextual bandit over the recovery actions (River UCB per context bucket).

    Follows River's conventions: ``x`` is a dict of context features,
    :meth:`predict_one` never changes the state, :meth:`learn_one` does.

    Parameters
    ----------
    config
        The context and the start.
    reward
        How outcomes become rewards.

    Examples
    --------
    >>> policy = ActionPolicy()
    >>> x = {"category": "unavailable", "retryable": True, "transient": True,
    ...      "fallback": False, "history": "mixed", "burst": "few", "risk": "unknown",
    ...      "retry_after": False}
    >>> arms = allowed_actions(x, can_retry=True, can_backoff=True)
    >>> policy.predict_one(x, arms)
    'retry_backoff'
    >>> for _ in range(6):
    ...     r = policy.learn_one(x, "retry_backoff", {"recovered": False,
    ...                          "time_to_recovery_s": 60, "wasted_calls": 5})
    >>> policy.predict_one(x, arms) != "retry_backoff"
    True
    """

    def __init__(self, config: PolicyConfig | None = None, reward: RewardConfig | None = None):
        self.config = config or PolicyConfig()
        self.reward = reward or RewardConfig()
        self._buckets: dict[str, bandit.UCB] = {}
        self._stats: dict[str, dict[str, list[float]]] = {}  # bucket -> arm -> [count, mean]

    # -- context -------------------------------------------------------------------------------
    def bucket(self, x: Mapping[str, Any]) -> str:
        """The bucket key of context ``x``."""
        parts = [f"category={x['category']}", f"retryable={int(bool(x.get('retryable')))}",
                 f"fallback={int(bool(x.get('fallback')))}",
                 f"can_retry={int(bool(x.get('can_retry', True)))}"]
        parts += [f"{k}={x.get(k)}" for k in self.config.context_keys]
        return "|".join(parts)

    def _prior(self, x: Mapping[str, Any]) -> dict[str, float]:
        default = rules_default(x)
        c = self.config
        # a small, fixed step keeps the non-default actions in a strict order (no ties)
        return {
            a: c.prior_default if a == default else c.prior_other - 0.001 * i
            for i, a in enumerate(ACTIONS)
        }

    def _fresh(self, prior: Mapping[str, tuple[float, float]]) -> bandit.UCB:
        from river import bandit  # imported on first use: training needs only the statistics

        policy = bandit.UCB(delta=self.config.delta, seed=self.config.seed)
        for arm, (count, mean) in prior.items():
            for _ in range(int(count)):
                policy.update(arm, mean)
        return policy

    def _policy_for(self, key: str, x: Mapping[str, Any]) -> tuple[bandit.UCB, dict]:
        if key in self._buckets:
            return self._buckets[key], self._stats[key]
        prior = {a: (self.config.prior_count, r) for a, r in self._prior(x).items()}
        return self._fresh(prior), {a: [float(n), r] for a, (n, r) in prior.items()}

    # -- River API -----------------------------------------------------------------------------
    def predict_one(self, x: Mapping[str, Any], arms: list[str]) -> str:
        """The action to take among ``arms`` (the allowed ones) in context ``x``."""
        if not arms:
            raise ConfigError("ActionPolicy.predict_one: no allowed action; allow 'fail_fast'")
        policy, stats = self._policy_for(self.bucket(x), x)
        arms = self.explorable(x, arms, stats)
        # UCB would break an exact tie with its random generator; the priors differ per
        # action and rewards are continuous, so ties (and any change of state) do not occur
        return policy.pull(arms)

    def explorable(self, x: Mapping[str, Any], arms: list[str], stats=None) -> list[str]:
        """The arms offered to the bandit: without ``explore_disruptive``, a disruptive
        action only when it is the rules' default or already has outcomes here."""
        if self.config.explore_disruptive:
            return list(arms)
        if stats is None:
            _, stats = self._policy_for(self.bucket(x), x)
        default = rules_default(x)
        prior = self.config.prior_count
        keep = [a for a in arms
                if a not in DISRUPTIVE or a == default or stats[a][0] > prior]
        return keep or list(arms)

    def scores(self, x: Mapping[str, Any]) -> dict[str, tuple[float, int]]:
        """Per action: the estimated reward in context ``x`` and the real outcomes behind it."""
        key = self.bucket(x)
        _, stats = self._policy_for(key, x)
        prior = self.config.prior_count
        return {a: (stats[a][1], int(stats[a][0]) - prior) for a in ACTIONS}

    def learn_one(self, x: Mapping[str, Any], action: str, outcome: Mapping[str, Any]) -> float:
        """Learn from the outcome of ``action`` taken in context ``x``; returns the reward."""
        if action not in ACTIONS:
            raise FeedbackError(f"action {action!r} is unknown; expected one of {ACTIONS}")
        r = self.reward.reward(outcome)
        self.learn_reward(x, action, r)
        return r

    def learn_reward(self, x: Mapping[str, Any], action: str, reward: float) -> None:
        """Learn a reward already computed (replays use it)."""
        key = self.bucket(x)
        policy, stats = self._policy_for(key, x)
        self._buckets[key], self._stats[key] = policy, stats
        policy.update(action, reward)
        n, mean = stats[action]
        n += 1.0
        stats[action] = [n, mean + (1.0 / n) * (reward - mean)]  # as river.stats.Mean does

    @property
    def n_buckets(self) -> int:
        """Contexts that have outcomes."""
        return len(self._buckets)

    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """Real outcomes learned per bucket and action (the priors left out)."""
        prior = self.config.prior_count
        return {k: {a: int(n) - prior for a, (n, _) in v.items() if int(n) > prior}
                for k, v in self._stats.items()}

    # -- state ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: configuration and, per bucket and action, (count, mean reward)."""
        return {
            "config": {**asdict(self.config), "context_keys": list(self.config.context_keys)},
            "reward": asdict(self.reward),
            "buckets": {k: {a: list(v) for a, v in s.items()} for k, s in self._stats.items()},
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> ActionPolicy:
        """Rebuild the policy of :meth:`to_dict` (each bucket's UCB replays its counts)."""
        try:
            cfg = dict(state["config"])
            cfg["context_keys"] = tuple(cfg["context_keys"])
            policy = cls(PolicyConfig(**cfg), RewardConfig(**state["reward"]))
            for key, arms in state["buckets"].items():
                stats = {a: [float(n), float(m)] for a, (n, m) in arms.items()}
                policy._buckets[key] = policy._fresh({a: (n, m) for a, (n, m) in stats.items()})
                policy._stats[key] = stats
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"ActionPolicy state: cannot read {exc!r}; expected the output of to_dict()"
            ) from None
        return policy
