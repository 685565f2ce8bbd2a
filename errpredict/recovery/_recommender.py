"""Recommender: classify a failed call, plan its delays, choose the action, learn from outcomes."""

from __future__ import annotations

import uuid
import zlib
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

import pandas as pd

from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.recovery._classifier import ErrorClassifier
from errpredict.recovery._context import CallContext, error_time, features
from errpredict.recovery._delays import DelayConfig, plan_retry
from errpredict.recovery._event import ErrorEvent
from errpredict.recovery._policy import (
    ActionPolicy,
    PolicyConfig,
    RewardConfig,
    allowed_actions,
)
from errpredict.recovery._recommendation import (
    Alternative,
    Recommendation,
    action_params,
    reason_text,
    why_not,
)
from errpredict.recovery._rules import ACTIONS, DEFAULT_RULES

__all__ = ["Recommender"]

STATE_VERSION = 1
_PENDING_MAX = 100_000


class Recommender:
    """Recommend a recovery action for a failed call, and learn from what happened.

    The error is classified by the rules table (:class:`ErrorClassifier`),
    the retry delays come from the time-to-recovery history of the same
    service and error type, and the action from a contextual bandit
    (:class:`ActionPolicy`) that starts at the rules' default and learns from
    outcomes. With a :class:`~errpredict.feedback.FeedbackProcessor`, every
    recommendation and outcome is stored durably, and a new Recommender on
    the same store replays the stored outcomes, so the policy resumes where
    it was.

    Parameters
    ----------
    classifier
        The error classifier; fitted by :meth:`fit` (a fresh one by default).
    delays, policy, reward
        Configuration of the delays, the bandit and the reward.
    feedback
        A feedback store; recommendations are recorded as predictions of kind
        ``"recommendation"`` and outcomes as their outcomes.
    model_version
        The version recorded with each recommendation.
    seed
        Seeds the jitter of backoff schedules (with the error's identity, so a
        recommendation is reproducible).

    Examples
    --------
    >>> rec = Recommender()
    >>> r = rec.recommend({"service": "payments", "error_type": "HTTP 400"})
    >>> r.action, r.retryable
    ('fail_fast', False)
    >>> r = rec.recommend({"service": "payments", "error_type": "HTTP 503"},
    ...                   {"dependency_risk": {"payments": 0.9}, "has_fallback": True})
    >>> r.action
    'fail_over'
    >>> rec.learn(r.recommendation_id, {"recovered": True, "time_to_recovery_s": 0.2,
    ...                                 "wasted_calls": 0})
    True
    """

    def __init__(
        self,
        classifier: ErrorClassifier | None = None,
        *,
        delays: DelayConfig | None = None,
        policy: PolicyConfig | None = None,
        reward: RewardConfig | None = None,
        feedback: Any = None,
        model_version: str = "recovery",
        seed: int = 0,
    ):
        self.classifier = classifier if classifier is not None else ErrorClassifier()
        self.delays = delays or DelayConfig()
        self.policy = ActionPolicy(policy or PolicyConfig(), reward or RewardConfig())
        self.feedback = feedback
        self.model_version = model_version
        self.seed = seed
        self._pending: OrderedDict[str, tuple[dict, str]] = OrderedDict()
        self._learned: set[str] = set()
        self._recent: dict[str, deque] = {}
        self.n_replayed = 0
        if feedback is not None:
            self.n_replayed = self._replay()

    # -- history -------------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame, y: None = None) -> Recommender:
        """Learn recovery statistics (time to recovery per service and error type) from history."""
        self.classifier.fit(events)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self.classifier, "stats_")

    def observe(self, error: ErrorEvent | Mapping[str, Any]) -> None:
        """Count an error of a service (for "returned X n times in 5 min" without a count)."""
        event = ErrorEvent.from_dict(error)
        if event.timestamp is None:
            raise ConfigError("observe: the error needs a 'timestamp'")
        ts = error_time(event, CallContext()).value
        self._recent.setdefault(event.service, deque(maxlen=10_000)).append(ts)

    def _recent_count(self, service: str, now: pd.Timestamp | None, window_s: float) -> int | None:
        seen = self._recent.get(service)
        if not seen or now is None:
            return None
        lo, hi = now.value - int(window_s * 1e9), now.value
        return sum(1 for t in seen if lo < t <= hi)

    # -- recommend -----------------------------------------------------------------------------
    def recommend(
        self,
        error: ErrorEvent | Mapping[str, Any],
        context: Mapping[str, Any] | CallContext | None = None,
        *,
        recommendation_id: str | None = None,
    ) -> Recommendation:
        """Recommend what to do about one failed call.

        Parameters
        ----------
        error
            The failed call: an :class:`ErrorEvent` or a dict with ``service``
            and ``error_type`` (and optionally ``http_status``, ``grpc_code``,
            ``message``, ``operation``, ``timestamp``, ``retry_after_s``).
        context
            What the caller knows: ``risk``, ``dependency_risk`` (service ->
            risk), ``has_fallback``, ``time_budget_s``, ``now``,
            ``retry_after_s``, ``recent_errors`` (see :class:`CallContext`).
        recommendation_id
            An id of the caller's choosing (a random one by default).
        """
        event = ErrorEvent.from_dict(error)
        ctx = CallContext.from_dict(context)
        c = self.classifier.classify(event)
        etype = str(event.error_type or "unknown")
        retry_after = ctx.retry_after_s if ctx.retry_after_s is not None else event.retry_after_s
        now = error_time(event, ctx)
        jitter_seed = zlib.crc32(f"{self.seed}|{event.service}|{etype}|{now}".encode())
        recent = ctx.recent_errors
        if recent is None:
            recent = self._recent_count(event.service, now, ctx.recent_window_s)
        level = self.classifier.level(recent)
        stats = getattr(self.classifier, "stats_", {})
        type_stats = getattr(self.classifier, "type_stats_", {})
        plan = plan_retry(stats, type_stats, event.service, etype, level=level,
                          config=self.delays, time_budget_s=ctx.time_budget_s,
                          retry_after_s=retry_after, seed=jitter_seed)
        x = features(event, c, plan, ctx, self.policy.config, retry_after_s=retry_after,
                     level=level)
        allowed = allowed_actions(x, can_retry=plan.attempts > 0, can_backoff=bool(plan.backoff_s))
        action = self.policy.predict_one(x, allowed)
        scores = self.policy.scores(x)
        params = action_params(action, plan)
        best = scores[action][0]
        alternatives = []
        for a in ACTIONS:
            if a == action:
                continue
            refused = why_not(a, x, plan, allowed)
            score, n = scores[a]
            if refused is None:
                refused = (f"lower expected reward ({score:.2f} vs {best:.2f})" if score <= best
                           else f"expected reward {score:.2f}, but {action} is less tried here")
            alternatives.append(Alternative(a, None if a not in allowed else round(score, 4),
                                            n, refused))
        risk = ctx.effective_risk(event.service)
        reason = reason_text(event.service, etype, c, plan, action, params, recent=recent,
                             window_s=ctx.recent_window_s, risk=risk,
                             learned=(scores[action][1], best))
        rid = recommendation_id or uuid.uuid4().hex
        x_stored = {k: v for k, v in x.items()}
        out = Recommendation(
            recommendation_id=rid,
            action=action,
            params=params,
            confidence=round(float(best), 4),
            reason=reason,
            alternatives=tuple(alternatives),
            category=c.category,
            retryable=c.retryable,
            transient=c.transient,
            severity=c.severity,
            context=x_stored,
        )
        self._remember(out, event, now, risk)
        return out

    def _remember(self, rec: Recommendation, event: ErrorEvent, now, risk) -> None:
        if self.feedback is not None:
            self.feedback.record_prediction(
                entity=event.service,
                timestamp=now if now is not None else pd.Timestamp.now(tz="UTC"),
                risk=risk,
                model_version=self.model_version,
                kind="recommendation",
                prediction_id=rec.recommendation_id,
                payload={"x": rec.context, "action": rec.action, "params": rec.params,
                         "error_type": str(event.error_type)},
            )
            return
        self._pending[rec.recommendation_id] = (rec.context, rec.action)
        while len(self._pending) > _PENDING_MAX:
            self._pending.popitem(last=False)

    # -- learn ---------------------------------------------------------------------------------
    def learn(self, recommendation_id: str, outcome: Mapping[str, Any]) -> bool:
        """Learn from what the recommended action achieved.

        Parameters
        ----------
        recommendation_id
            From :meth:`recommend`.
        outcome
            ``recovered`` (bool), ``time_to_recovery_s`` (seconds until the
            call, or the caller, worked again) and ``wasted_calls`` (retries
            that failed).

        Returns
        -------
        bool
            True when learned, False when this recommendation's outcome was
            already known (learning is idempotent).
        """
        reward = self.policy.reward.reward(outcome)  # validates before anything is stored
        if self.feedback is not None:
            clean = {k: (v.item() if hasattr(v, "item") else v) for k, v in outcome.items()}
            new = self.feedback.record_outcome(recommendation_id, outcome=clean,
                                               label=bool(outcome["recovered"]))
            if not new:
                return False
            payload = self.feedback.get_prediction(recommendation_id).get("payload") or {}
            if "x" not in payload or "action" not in payload:
                raise FeedbackError(
                    f"learn: prediction {recommendation_id!r} is not a recommendation "
                    "(no context/action in its payload)"
                )
            self.policy.learn_reward(payload["x"], payload["action"], reward)
            return True
        if recommendation_id in self._learned:
            return False
        if recommendation_id not in self._pending:
            raise FeedbackError(
                f"learn: unknown recommendation_id {recommendation_id!r}; pass the id of a "
                "recommendation this Recommender made (or give it a feedback store)"
            )
        x, action = self._pending.pop(recommendation_id)
        self.policy.learn_reward(x, action, reward)
        self._learned.add(recommendation_id)
        return True

    def _replay(self) -> int:
        frame = self.feedback.outcomes(kind="recommendation")
        if frame.empty:
            return 0
        frame = frame.loc[frame["source"] == "explicit"].drop_duplicates("prediction_id")
        preds = self.feedback.predictions_by_id(frame["prediction_id"].tolist())
        payloads = dict(zip(preds["prediction_id"], preds["payload"], strict=True))
        n = 0
        for pid, outcome in zip(frame["prediction_id"], frame["outcome"], strict=True):
            payload = payloads.get(pid) or {}
            if outcome is None or "x" not in payload:
                continue
            self.policy.learn_reward(payload["x"], payload["action"],
                                     self.policy.reward.reward(outcome))
            n += 1
        return n

    # -- state ---------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What ``models show`` prints: history covered, disagreements, what the policy learned.

        Examples
        --------
        >>> Recommender().summary()["outcomes_learned"]
        0
        """
        out: dict[str, Any] = {"fitted": self.is_fitted, "model_version": self.model_version}
        if self.is_fitted:
            table = self.classifier.recovery_
            out.update(
                services=int(table["service"].nunique()),
                error_types=int(table["error_type"].nunique()),
                errors=int(table["n"].sum()),
                disagreements=self.classifier.disagreements_["finding"].tolist(),
            )
        out["contexts"] = self.policy.n_buckets
        counts = self.policy.outcome_counts()
        out["outcomes_learned"] = sum(sum(v.values()) for v in counts.values())
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: configuration, recovery statistics and the policy.

        Safe to store in a model bundle (no pickle); :meth:`from_dict` reads it.
        """
        cfg = {k: getattr(self.delays, k) for k in self.delays.__dataclass_fields__}
        return {
            "state_version": STATE_VERSION,
            "model_version": self.model_version,
            "seed": self.seed,
            "delays": cfg,
            "classifier": self.classifier.to_dict() if self.is_fitted else None,
            "extra_rules": [r.to_dict() for r in self.classifier.rules
                            if r not in DEFAULT_RULES],
            "policy": self.policy.to_dict(),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, feedback: Any = None) -> Recommender:
        """Rebuild from :meth:`to_dict`.

        With ``feedback``, the policy is rebuilt from the store's outcomes (the
        store is the record) and the saved policy is not used.
        """
        if not isinstance(state, Mapping) or state.get("state_version") != STATE_VERSION:
            got = state.get("state_version") if isinstance(state, Mapping) else type(state)
            raise ConfigError(
                f"Recommender state: expected state_version {STATE_VERSION}, got {got!r}; "
                "it was saved by another version of errpredict: fit the recommender again"
            )
        if state.get("classifier") is not None:
            clf = ErrorClassifier.from_dict(state["classifier"])
        else:
            clf = ErrorClassifier(extra_rules=state.get("extra_rules") or None)
        saved = ActionPolicy.from_dict(state["policy"])
        rec = cls(clf, delays=DelayConfig(**state["delays"]), policy=saved.config,
                  reward=saved.reward, feedback=feedback, model_version=state["model_version"],
                  seed=int(state["seed"]))
        if feedback is None:
            rec.policy = saved
        return rec
