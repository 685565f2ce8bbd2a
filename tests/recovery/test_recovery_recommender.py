"""The Recommender: what it recommends, its reasons, durable learning and restarts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.feedback import FeedbackProcessor
from errpredict.recovery import Recommendation, Recommender, context_from_events

ERROR_503 = {"service": "payments", "error_type": "HTTP 503"}


def _history(n_bursts: int = 40, seed: int = 0) -> pd.DataFrame:
    """payments fails for 1-5 s at a time (one failed call a second), then serves again."""
    rng = np.random.default_rng(seed)
    rows, t = [], 0.0
    for _ in range(n_bursts):
        c = int(rng.integers(1, 6))
        rows += [(t + k, True) for k in range(c)]
        rows += [(t + c + 0.5 * k, False) for k in range(10)]
        t += 1800.0
    ts, err = zip(*rows, strict=True)
    return pd.DataFrame({
        "timestamp": pd.to_datetime(np.array(ts) * 1e9, utc=True),
        "service": "payments",
        "is_error": err,
        "error_type": ["HTTP 503" if e else None for e in err],
    })


@pytest.fixture(scope="module")
def fitted() -> Recommender:
    return Recommender().fit(_history())


def test_a_503_with_a_recovery_history_is_retried_after_a_delay(fitted):
    r = fitted.recommend(ERROR_503, {"recent_errors": 11})
    assert isinstance(r, Recommendation)
    assert r.action == "retry"
    assert r.params == {"time_budget_s": 10.0, "delay_s": 3.0, "max_attempts": 3,
                        "schedule_s": [3.0, 3.0, 3.0], "delay_source": "history"}
    assert r.reason == ("payments returned HTTP 503 11 times in 5 min; 90% of such errors "
                        "cleared within 3 s; retry after 3 s, at most 3 times")
    assert (r.category, r.retryable, r.transient, r.confidence) == (
        "unavailable", True, True, 0.6)
    assert [a.action for a in r.alternatives] == [
        "retry_backoff", "open_circuit", "fail_over", "shed_load", "escalate", "fail_fast"]
    assert r.alternatives[2].why_not == "the caller has no fallback"
    assert r.alternatives[0].why_not == "lower expected reward (0.40 vs 0.60)"


def test_a_400_is_never_retried(fitted):
    r = fitted.recommend({"service": "payments", "error_type": "HTTP 400"},
                         {"recent_errors": 11, "dependency_risk": {"payments": 0.9},
                          "has_fallback": True})
    assert (r.action, r.category, r.retryable) == ("fail_fast", "client", False)
    assert r.reason == ("payments returned HTTP 400 11 times in 5 min and its predicted risk is "
                        "0.90; fail fast: a retry cannot fix the request")
    why = {a.action: a.why_not for a in r.alternatives}
    assert why["retry"] == "the rules never allow retry for client errors"
    assert why["fail_over"] == "the rules never allow fail_over for client errors"


def test_high_dependency_risk_opens_the_circuit_or_fails_over(fitted):
    r = fitted.recommend(ERROR_503, {"recent_errors": 11, "dependency_risk": {"payments": 0.9}})
    assert r.action == "open_circuit" and r.params["circuit_open_s"] == 5.0
    assert r.reason == ("payments returned HTTP 503 11 times in 5 min and its predicted risk is "
                        "0.90; open the circuit for 5 s and fail calls fast meanwhile")
    r = fitted.recommend(ERROR_503, {"dependency_risk": {"payments": 0.9}, "has_fallback": True})
    assert r.action == "fail_over"
    assert r.reason.endswith("fail over to the fallback")


def test_retry_after_wins(fitted):
    r = fitted.recommend({**ERROR_503, "error_type": "HTTP 429", "retry_after_s": 4})
    assert (r.action, r.params["delay_s"], r.params["max_attempts"]) == ("retry", 4.0, 2)
    assert "the server asked to retry after 4 s" in r.reason
    r = fitted.recommend({**ERROR_503, "error_type": "HTTP 429"}, {"retry_after_s": 60})
    assert r.action == "fail_fast"
    assert {a.action: a.why_not for a in r.alternatives}["retry"] == (
        "the Retry-After of 60 s exceeds the 10 s budget")


def test_observed_errors_make_the_count(fitted):
    rec = Recommender(fitted.classifier)
    t0 = pd.Timestamp("2026-01-05T12:00:00Z")
    for k in range(7):
        rec.observe({**ERROR_503, "timestamp": t0 + pd.Timedelta(seconds=10 * k)})
    r = rec.recommend({**ERROR_503, "timestamp": t0 + pd.Timedelta(seconds=61)})
    assert r.reason.startswith("payments returned HTTP 503 7 times in 5 min")
    assert r.context["burst"] == "few"


def test_learning_without_a_store_is_idempotent_and_checks_ids():
    rec = Recommender()
    r = rec.recommend(ERROR_503)
    outcome = {"recovered": True, "time_to_recovery_s": 0.4, "wasted_calls": 0}
    assert rec.learn(r.recommendation_id, outcome) is True
    before = rec.policy.to_dict()
    assert rec.learn(r.recommendation_id, outcome) is False
    assert rec.policy.to_dict() == before
    with pytest.raises(FeedbackError, match="unknown recommendation_id"):
        rec.learn("nope", outcome)
    with pytest.raises(FeedbackError, match="'recovered'"):
        rec.learn(rec.recommend(ERROR_503).recommendation_id, {"wasted_calls": 1})


def _session(rec: Recommender, rng: np.random.Generator, n: int) -> list[str]:
    types = ["HTTP 503", "TimeoutError", "HTTP 500", "HTTP 429"]
    ids = []
    for i in range(n):
        error = {"service": "payments", "error_type": types[i % len(types)],
                 "timestamp": pd.Timestamp("2026-01-05T00:00:00Z") + pd.Timedelta(seconds=i)}
        r = rec.recommend(error, {"recent_errors": int(rng.integers(1, 15)),
                                  "has_fallback": bool(i % 3 == 0)})
        rec.learn(r.recommendation_id, {"recovered": bool(rng.random() < 0.4),
                                        "time_to_recovery_s": float(rng.exponential(15.0)),
                                        "wasted_calls": int(rng.integers(0, 4))})
        ids.append(r.recommendation_id)
    return ids


def test_outcomes_survive_a_restart_and_the_policy_resumes(tmp_path):
    path = tmp_path / "feedback.db"
    store = FeedbackProcessor(path)
    rec = Recommender(Recommender().fit(_history()).classifier, feedback=store)
    ids = _session(rec, np.random.default_rng(0), 60)
    state = rec.policy.to_dict()
    probe = {"service": "payments", "error_type": "TimeoutError", "timestamp": 0}
    context = {"recent_errors": 12, "has_fallback": True}
    before = rec.recommend(probe, context, recommendation_id="probe-1")
    store.close()

    store = FeedbackProcessor(path)
    again = Recommender(rec.classifier, feedback=store)
    assert again.n_replayed == 60
    assert again.policy.to_dict() == state
    summary = again.summary()
    assert (summary["outcomes_learned"], summary["services"], summary["errors"]) == (60, 1, 121)
    after = again.recommend(probe, context, recommendation_id="probe-2")
    assert (after.action, after.params, after.confidence, after.reason) == (
        before.action, before.params, before.confidence, before.reason)
    # learning again on a stored outcome counts nothing twice, even after the restart
    assert again.learn(ids[0], {"recovered": True}) is False
    assert again.policy.to_dict() == state
    stored = store.get_prediction(ids[0])
    assert stored["kind"] == "recommendation" and stored["payload"]["action"] in (
        "retry", "retry_backoff", "fail_over", "fail_fast", "open_circuit", "shed_load")
    # and it keeps learning from where it was
    _session(again, np.random.default_rng(1), 5)
    assert again.policy.to_dict() != state
    with pytest.raises(FeedbackError, match="unknown prediction_id"):
        again.learn("nope", {"recovered": True})
    store.close()


def test_json_state_round_trip():
    rec = Recommender(seed=3).fit(_history())
    _session(rec, np.random.default_rng(2), 40)
    state = json.loads(json.dumps(rec.to_dict()))
    again = Recommender.from_dict(state)
    for error, context in [(ERROR_503, {"recent_errors": 11}),
                           ({"service": "payments", "error_type": "TimeoutError"},
                            {"recent_errors": 3, "has_fallback": True}),
                           ({"service": "payments", "error_type": "HTTP 500"}, None)]:
        a = rec.recommend(error, context, recommendation_id="a")
        b = again.recommend(error, context, recommendation_id="a")
        assert a.to_dict() == b.to_dict()
    with pytest.raises(ConfigError, match="state_version"):
        Recommender.from_dict({"state_version": 99})


@pytest.mark.parametrize(("context", "message"), [
    ({"risk": 1.5}, "risk"),
    ({"dependency_risk": 0.3}, "dependency_risk"),
    ({"time_budget_s": -1}, "time_budget_s"),
    ({"recent_errors": 2.5}, "recent_errors"),
    ({"retry": True}, "unknown key 'retry'"),
    ({"now": "yesterday"}, "cannot parse"),
])
def test_context_is_validated(context, message):
    with pytest.raises(ConfigError, match=message):
        Recommender().recommend(ERROR_503, context)


def test_context_from_recent_events_and_predicted_risk(fitted):
    _ts = pd.to_datetime([0, 100, 200, 250, 290, 295], unit="s", utc=True)
    events = pd.DataFrame({
        "timestamp": _ts,
        "service": ["payments", "payments", "payments", "db-proxy", "payments", "payments"],
        "is_error": [True, True, True, True, False, True],
    })
    risk = pd.DataFrame({"entity": ["payments", "db-proxy", "db-proxy"],
                         "timestamp": _ts[[0, 0, 5]], "risk": [0.2, 0.5, 0.92]})
    ctx = context_from_events(events, "payments", risk=risk,
                              dependencies=[("payments", "db-proxy"), ("checkout", "payments")])
    assert ctx == {"recent_errors": 4, "now": _ts[5], "recent_window_s": 300.0, "risk": 0.2,
                   "dependency_risk": {"db-proxy": 0.92}}
    r = fitted.recommend(ERROR_503, ctx)
    assert r.action == "open_circuit" and r.context["risk"] == "high"
    ctx = context_from_events(events, "payments", at=_ts[2], window_s=150)
    assert ctx["recent_errors"] == 2
