"""The action policy: rules' defaults first, never a forbidden action, risk shifts, learning."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.recovery import (
    ACTIONS,
    CATEGORY_ACTIONS,
    ActionPolicy,
    PolicyConfig,
    Recommender,
    RewardConfig,
    rules_default,
)
from errpredict.recovery._policy import DISRUPTIVE, allowed_actions

ERROR_TYPES = ["HTTP 503", "HTTP 429", "HTTP 400", "HTTP 401", "HTTP 404", "HTTP 500",
               "TimeoutError", "ConnectionError", "OutOfMemoryError", "DATA_LOSS",
               "ValidationError", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "Weird"]
FAIL = {"recovered": False, "time_to_recovery_s": 300.0, "wasted_calls": 5}
GIVE_UP = {"recovered": False, "time_to_recovery_s": 300.0, "wasted_calls": 0}


def _x(**kw):
    x = {"category": "unavailable", "retryable": True, "transient": True, "fallback": False,
         "history": "mixed", "burst": "burst", "risk": "unknown", "retry_after": False,
         "can_retry": True}
    x.update(kw)
    return x


def test_reward_exact():
    r = RewardConfig()
    assert r.reward({"recovered": True, "time_to_recovery_s": 0.0, "wasted_calls": 0}) == 1.0
    assert r.reward(FAIL) == 0.0
    assert r.reward(GIVE_UP) == pytest.approx(0.15)
    assert r.reward({**GIVE_UP, "rejected_requests": 1}) == pytest.approx(0.05)
    assert r.reward({**GIVE_UP, "escalated": True}) == pytest.approx(0.10)
    assert r.reward({"recovered": True, "time_to_recovery_s": 30.0, "wasted_calls": 1}) == (
        pytest.approx(0.6 + 0.125 + 0.12))
    with pytest.raises(FeedbackError, match="'recovered'"):
        r.reward({"time_to_recovery_s": 1.0})
    with pytest.raises(ConfigError, match="sum to 1"):
        RewardConfig(recovered_weight=0.9)


@pytest.mark.parametrize(("x", "expected"), [
    (_x(), "retry_backoff"),
    (_x(risk="low"), "retry"),
    (_x(history="fast"), "retry"),
    (_x(retry_after=True), "retry"),
    (_x(risk="high"), "open_circuit"),
    (_x(risk="high", fallback=True), "fail_over"),
    (_x(can_retry=False), "fail_fast"),
    (_x(category="internal", retryable=False, transient=False), "fail_fast"),
    (_x(category="client", retryable=False, transient=False, risk="high"), "fail_fast"),
    (_x(category="data", retryable=False, transient=False), "escalate"),
])
def test_rules_default_is_the_first_choice(x, expected):
    assert rules_default(x) == expected
    arms = allowed_actions(x, can_retry=x["can_retry"], can_backoff=x["can_retry"])
    assert ActionPolicy().predict_one(x, arms) == expected


def test_allowed_actions():
    assert allowed_actions(_x(category="client", retryable=False, transient=False),
                           can_retry=True, can_backoff=True) == ["escalate", "fail_fast"]
    assert allowed_actions(_x(), can_retry=True, can_backoff=True) == [
        "retry", "retry_backoff", "open_circuit", "shed_load", "fail_fast"]
    assert allowed_actions(_x(fallback=True), can_retry=False, can_backoff=False) == [
        "open_circuit", "fail_over", "shed_load", "fail_fast"]


def test_never_a_forbidden_action_over_many_seeded_rounds():
    rng = np.random.default_rng(0)
    rec = Recommender(seed=0)
    seen = set()
    for _ in range(3000):
        error = {"service": f"svc-{rng.integers(3)}", "error_type": str(rng.choice(ERROR_TYPES))}
        if rng.random() < 0.3:
            error["retry_after_s"] = float(rng.choice([1.0, 5.0, 30.0]))
        context = {"has_fallback": bool(rng.random() < 0.5),
                   "recent_errors": int(rng.integers(1, 20)),
                   "time_budget_s": float(rng.choice([0.5, 10.0, 60.0]))}
        if rng.random() < 0.7:
            context["risk"] = float(rng.random())
        r = rec.recommend(error, context)
        seen.add(r.action)
        forbidden = CATEGORY_ACTIONS[r.category].forbidden
        assert r.action not in forbidden, (error, context, r.action)
        assert r.action != "fail_over" or context["has_fallback"]
        assert r.action != "escalate" or not r.transient
        if r.action in ("retry", "retry_backoff"):
            assert sum(r.params["schedule_s"]) <= context["time_budget_s"] * r.params[
                "max_attempts"]
            assert r.params["schedule_s"][0] <= context["time_budget_s"]
            assert error.get("retry_after_s", 0.0) <= context["time_budget_s"]
        if r.category in ("client", "auth"):
            assert r.action in ("fail_fast", "escalate")
        outcome = {"recovered": bool(rng.random() < 0.3),
                   "time_to_recovery_s": float(rng.exponential(20.0)),
                   "wasted_calls": int(rng.integers(0, 4))}
        rec.learn(r.recommendation_id, outcome)
    assert {"retry", "retry_backoff", "fail_over", "fail_fast", "open_circuit"} <= seen


def test_disruptive_actions_are_not_explored_unless_the_rules_pick_them():
    policy = ActionPolicy()
    x = _x(category="internal", retryable=False, transient=False)
    arms = allowed_actions(x, can_retry=True, can_backoff=True)
    chosen = []
    for _ in range(200):
        a = policy.predict_one(x, arms)
        chosen.append(a)
        policy.learn_one(x, a, GIVE_UP if a == "fail_fast" else FAIL)
    assert not set(chosen) & DISRUPTIVE
    loose = ActionPolicy(PolicyConfig(explore_disruptive=True))
    tried = set()
    for _ in range(200):
        a = loose.predict_one(x, arms)
        tried.add(a)
        loose.learn_one(x, a, GIVE_UP if a == "fail_fast" else FAIL)
    assert tried & DISRUPTIVE


def test_learns_away_from_a_bad_default_exactly():
    policy = ActionPolicy()
    x = _x()
    arms = allowed_actions(x, can_retry=True, can_backoff=True)
    chosen = []
    for _ in range(60):
        a = policy.predict_one(x, arms)
        chosen.append(a)
        policy.learn_one(x, a, GIVE_UP if a == "fail_fast" else FAIL)
    # today's practice first; after three failed backoffs, the bandit tries the others
    assert chosen[:5] == ["retry_backoff"] * 3 + ["retry", "fail_fast"]
    assert Counter(chosen) == {"fail_fast": 38, "retry_backoff": 14, "retry": 8}
    assert Counter(chosen[-20:])["fail_fast"] == 16
    scores = policy.scores(x)
    assert scores["fail_fast"] == (pytest.approx((5 * 0.394 + 38 * 0.15) / 43), 38)


def test_risk_shifts_the_recommendation():
    rec = Recommender()
    error = {"service": "payments", "error_type": "HTTP 503"}
    low = rec.recommend(error, {"dependency_risk": {"payments": 0.1}})
    mid = rec.recommend(error, {"dependency_risk": {"payments": 0.5}})
    high = rec.recommend(error, {"dependency_risk": {"payments": 0.9}})
    high_fb = rec.recommend(error, {"dependency_risk": {"payments": 0.9}, "has_fallback": True})
    assert (low.action, mid.action, high.action, high_fb.action) == (
        "retry", "retry_backoff", "open_circuit", "fail_over")
    assert low.params["delay_s"] == 0.1 and low.params["max_attempts"] == 5
    assert high.params["circuit_open_s"] == 5.0
    assert "predicted risk is 0.90" in high.reason
    # the caller's own risk counts the same way
    assert rec.recommend(error, {"risk": 0.95}).action == "open_circuit"


def test_state_round_trip_gives_the_same_decisions():
    policy = ActionPolicy()
    rng = np.random.default_rng(1)
    xs = [_x(), _x(risk="low"), _x(category="internal", retryable=False, transient=False)]
    for _ in range(300):
        x = xs[int(rng.integers(len(xs)))]
        arms = allowed_actions(x, can_retry=True, can_backoff=True)
        a = policy.predict_one(x, arms)
        policy.learn_one(x, a, {"recovered": bool(rng.random() < 0.4),
                                "time_to_recovery_s": float(rng.exponential(10.0)),
                                "wasted_calls": int(rng.integers(0, 3))})
    again = ActionPolicy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again.to_dict() == policy.to_dict()
    for x in xs:
        arms = allowed_actions(x, can_retry=True, can_backoff=True)
        assert again.predict_one(x, arms) == policy.predict_one(x, arms)
        assert again.scores(x) == policy.scores(x)
    with pytest.raises(ConfigError, match="to_dict"):
        ActionPolicy.from_dict({"config": {}})


def test_predicting_does_not_change_the_state():
    policy = ActionPolicy()
    x = _x()
    policy.learn_one(x, "retry", FAIL)
    before = policy.to_dict()
    for _ in range(20):
        policy.predict_one(x, list(ACTIONS[:2]) + ["fail_fast"])
        policy.predict_one(_x(risk="high"), ["open_circuit", "fail_fast"])
    assert policy.to_dict() == before


def test_config_is_validated():
    with pytest.raises(ConfigError, match="context key 'hour'"):
        PolicyConfig(context_keys=("hour",))
    with pytest.raises(ConfigError, match="risk_low"):
        PolicyConfig(risk_low=0.8, risk_high=0.2)
    with pytest.raises(FeedbackError, match="unknown"):
        ActionPolicy().learn_one(_x(), "reboot", FAIL)
