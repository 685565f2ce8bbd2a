"""The outcome model and the replay of a generated history with learned and fixed policies."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from errpredict.datasets._generator import generate_history
from errpredict.datasets._outcomes import CLIENT_ERROR_TYPES, OutcomeModel, failed_calls
from errpredict.exceptions import ConfigError, SchemaError
from errpredict.recovery import evaluate_recovery

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def _ts(seconds):
    return [T0 + pd.Timedelta(seconds=s) for s in seconds]


def _world():
    """One overload (429, Retry-After 5 s) on api, one bad deploy on db, a blip, a 400."""
    events = pd.DataFrame({
        "timestamp": _ts([0, 100, 101, 102, 103, 200, 201, 202, 250, 300]),
        "service": ["api", "api", "api", "api", "api", "db", "db", "db", "db", "api"],
        "is_error": [True, True, False, True, False, True, True, False, True, False],
        "error_type": ["HTTP 503", "HTTP 429", None, "HTTP 429", None, "HTTP 500", "HTTP 500",
                       None, "HTTP 400", None],
        "message": [None, "rate limit exceeded; retry after 5 s", None, "retry after 5 s", None,
                    None, None, None, None, None],
        "duration_ms": [3.0, 3.0, 40.0, 3.0, 40.0, 80.0, 80.0, 10.0, 3.0, 40.0],
    })
    incidents = pd.DataFrame({
        "incident_id": [1, 2], "service": ["api", "db"], "mechanism": ["overload", "bad_deploy"],
        "start": _ts([100, 200]), "end": _ts([103, 201]), "retry_after_s": [5.0, float("nan")],
    })
    return events, incidents


def test_failed_calls_situations():
    events, incidents = _world()
    calls = failed_calls(events, incidents)
    assert calls["situation"].tolist() == ["blip", "backoff", "backoff", "human", "human",
                                           "client"]
    assert calls["retry_after_s"].fillna(-1).tolist() == [-1, 5.0, 5.0, -1, -1, -1]
    # the backoff call succeeds from the Retry-After on, the incident's end caps it
    assert (calls["ok_from_ns"].iloc[1] - calls["t_ns"].iloc[1]) / 1e9 == 3.0
    assert (calls["ok_from_ns"].iloc[2] - calls["t_ns"].iloc[2]) / 1e9 == 1.0
    assert {"HTTP 400", "HTTP 404", "ValidationError", "NOT_FOUND"} <= CLIENT_ERROR_TYPES
    with pytest.raises(SchemaError, match="'mechanism'"):
        failed_calls(events, incidents.drop(columns="mechanism"))


def test_outcomes_of_each_action_exact():
    events, incidents = _world()
    calls = failed_calls(events, incidents).to_dict("records")
    m = OutcomeModel.from_events(events, time_budget_s=10.0)
    blip, overload, _, deploy, _, bad = calls
    assert m.retry(blip, [0.1]) == (True, 0.14, 0, 0.14, 0, False)
    assert m.retry(overload, [0.1, 0.2, 0.4, 0.8, 1.6])[:3] == (True, 3.152, 4)
    assert m.retry(overload, [3.0])[:3] == (True, 3.04, 0)
    assert m.retry(deploy, [0.1, 0.2])[:3] == (False, 1.0, 2)  # the deploy ends at 201 s
    assert m.retry(deploy, [0.1, 0.2, 0.4, 0.8])[:3] == (True, 1.75, 3)
    assert m.retry(bad, [0.1, 0.2, 0.4, 0.8, 1.6]) == (False, 3.115, 5, 3.115, 0, False)
    assert m.give_up(bad)[:2] == (False, 0.0)
    assert m.give_up(overload, unavailable_until_ns=overload["t_ns"] + 30 * 10**9)[:2] == (
        False, 30.0)
    assert m.fail_over(overload)[:3] == (True, 0.05, 0)
    assert m.fail_over(deploy)[:3] == (False, 1.0, 1)  # neither retry nor fail-over helps
    with pytest.raises(ConfigError, match="time_budget_s"):
        OutcomeModel(time_budget_s=0)


@pytest.fixture(scope="module")
def history():
    return generate_history(days=2, services=8, seed=0)


@pytest.fixture(scope="module")
def replay(history):
    return evaluate_recovery(history.events, history.incidents, warmup="12h", seed=0)


def _figures(result):
    keys = ("mean_time_to_recovery_s", "wasted_calls", "failed_requests", "n")
    return {name: tuple(v[k] for k in keys) for name, v in result.items()}


def test_evaluate_recovery_figures(replay):
    assert list(replay) == ["learned", "fixed_backoff", "never_retry", "always_circuit"]
    assert _figures(replay) == {
        "learned": (502.292, 2754, 5507, 6292),
        "fixed_backoff": (541.975, 27405, 6011, 6292),
        "never_retry": (542.549, 0, 6292, 6292),
        "always_circuit": (546.466, 0, 13672, 6292),
    }
    json.dumps(replay)


def test_learned_beats_todays_practice_after_the_warmup(replay):
    learned, fixed = replay["learned"], replay["fixed_backoff"]
    best_failed = min(v["failed_requests"] for k, v in replay.items() if k != "learned")
    assert learned["wasted_calls"] < fixed["wasted_calls"]
    assert learned["mean_time_to_recovery_s"] <= fixed["mean_time_to_recovery_s"]
    assert learned["failed_requests"] <= best_failed
    # where the wasted calls go: no retry of a bad request, none against a Retry-After
    assert learned["by_situation"]["client"]["wasted_calls"] == 0
    assert fixed["by_situation"]["client"]["wasted_calls"] == 5 * 634
    assert learned["by_situation"]["backoff"]["recovered"] == 541
    assert fixed["by_situation"]["backoff"]["recovered"] == 5


def test_learning_adds_to_the_rules_alone(history, replay):
    rules = evaluate_recovery(history.events, history.incidents, warmup="12h", seed=0,
                              learn=False)["learned"]
    assert (rules["wasted_calls"], rules["failed_requests"]) == (3486, 5510)
    assert replay["learned"]["wasted_calls"] < rules["wasted_calls"]
    assert replay["learned"]["failed_requests"] <= rules["failed_requests"]


def test_with_a_fallback_the_learned_policy_fails_over(history):
    result = evaluate_recovery(history.events, history.incidents, warmup="12h", seed=0,
                               fallback=True)
    learned = result["learned"]
    assert (learned["wasted_calls"], learned["failed_requests"]) == (543, 2396)
    assert learned["failed_requests"] < result["always_circuit"]["failed_requests"]
    assert learned["actions"]["fail_over"] > learned["actions"].get("retry", 0)


def test_bad_arguments(history):
    with pytest.raises(ConfigError, match="neither a share"):
        evaluate_recovery(history.events, history.incidents, warmup="soon")
    with pytest.raises(ConfigError, match="shorter than the history"):
        evaluate_recovery(history.events, history.incidents, warmup="3D")
    with pytest.raises(ConfigError, match=r"in \[0, 1\)"):
        evaluate_recovery(history.events, history.incidents, warmup=1.5)
    with pytest.raises(ConfigError, match="fallback"):
        evaluate_recovery(history.events, history.incidents, fallback="payments")
