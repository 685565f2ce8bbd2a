"""History statistics: recovery times, per-key summaries, disagreements, exact delays."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from errpredict.datasets._generator import generate_history
from errpredict.exceptions import ConfigError, NotFittedError
from errpredict.recovery import DelayConfig, ErrorClassifier, plan_retry, recovery_times


def _runs(gaps, *, service="payments", error_type="HTTP 503", start=0.0):
    """Pairs of errors `gap` seconds apart, each pair followed by a success 0.5 s later."""
    rows, t = [], start
    for gap in gaps:
        rows += [(t, True), (t + gap, True), (t + gap + 0.5, False)]
        t += 600.0  # far apart: each pair starts as a single error
    ts, err = zip(*rows, strict=True)
    return pd.DataFrame({
        "timestamp": pd.to_datetime(np.array(ts) * 1e9, utc=True),
        "service": service,
        "is_error": err,
        "error_type": [error_type if e else None for e in err],
    })


@pytest.fixture(scope="module")
def history():
    return generate_history(days=2, services=8, seed=0)


def test_recovery_times_exact():
    rt = recovery_times(_runs([1.0, 3.0]))
    assert rt["recovery_s"].tolist() == [1.5, 0.5, 3.5, 0.5]
    assert rt["cleared_s"].tolist() == [1.0, 0.0, 3.0, 0.0]
    assert rt["recent"].tolist() == [1, 2, 1, 2]


def test_stats_per_situation_exact():
    gaps = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    clf = ErrorClassifier().fit(_runs(gaps))
    single = clf.stats_[("payments", "HTTP 503", "single")]
    few = clf.stats_[("payments", "HTTP 503", "few")]
    anyone = clf.stats_[("payments", "HTTP 503", "any")]
    assert (single.n, single.n_recovered, few.n, anyone.n) == (10, 10, 10, 20)
    assert single.quantile(0.9) == pytest.approx(np.quantile(gaps, 0.9))
    assert few.quantile(0.5) == 0.0
    # the empirical share is 15/20; the summary keeps 15 quantiles and interpolates
    assert anyone.share_within(5.0) == pytest.approx(14 / 19)
    row = clf.recovery_.iloc[0]
    assert (row["n"], row["quick_share"], row["category"], bool(row["retryable"])) == (
        20, 0.7368, "unavailable", True)


def test_exact_delays_from_handmade_history():
    clf = ErrorClassifier().fit(_runs([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]))
    p = plan_retry(clf.stats_, clf.type_stats_, "payments", "HTTP 503", level="single", seed=0)
    assert (p.delay_s, p.attempts, p.base_s, p.source) == (9.1, 1, 5.5, "history")
    assert p.backoff_s == (4.6443,)
    assert p.cleared_share == 0.9
    # after a second error the same service cleared at once: retry right away
    p = plan_retry(clf.stats_, clf.type_stats_, "payments", "HTTP 503", level="few", seed=0)
    assert (p.delay_s, p.attempts, p.base_s) == (0.05, 5, 0.05)
    # a longer budget, a shorter quantile
    cfg = DelayConfig(quantile=0.5, time_budget_s=30.0)
    p = plan_retry(clf.stats_, clf.type_stats_, "payments", "HTTP 503", level="single",
                   config=cfg, seed=0)
    assert (p.delay_s, p.attempts, len(p.backoff_s)) == (5.5, 5, 2)


def test_retry_after_wins_and_the_budget_caps():
    clf = ErrorClassifier().fit(_runs([1.0, 2.0, 3.0, 4.0, 5.0]))
    p = plan_retry(clf.stats_, clf.type_stats_, "payments", "HTTP 503", retry_after_s=4.0)
    assert (p.delay_s, p.attempts, p.backoff_s[0], p.source) == (4.0, 2, 4.0, "retry_after")
    p = plan_retry(clf.stats_, clf.type_stats_, "payments", "HTTP 503", retry_after_s=30.0)
    assert (p.attempts, p.backoff_s, p.circuit_open_s) == (0, (), 30.0)
    p = plan_retry({}, {}, "payments", "HTTP 503")  # no history: today's 100 ms
    assert (p.delay_s, p.attempts, p.base_s, p.source) == (0.1, 5, 0.1, "default")
    with pytest.raises(ConfigError, match="time_budget_s"):
        plan_retry({}, {}, "payments", "HTTP 503", time_budget_s=0)


def test_exact_delays_on_generated_history(history):
    clf = ErrorClassifier().fit(history.events)
    p = plan_retry(clf.stats_, clf.type_stats_, "api-gateway", "HTTP 429", level="burst", seed=0)
    assert (p.delay_s, p.attempts, p.base_s, p.source, p.n_history) == (
        1.5404, 5, 0.05, "history", 70)
    assert p.backoff_s == (0.05, 0.0758, 0.0841, 0.1036, 0.409)
    p = plan_retry(clf.stats_, clf.type_stats_, "cache", "ConnectionError", level="burst", seed=0)
    assert (p.delay_s, p.attempts, p.circuit_open_s, p.budget_share) == (10.0, 1, 300.0, 0.1649)


def test_disagreements_on_generated_history(history):
    clf = ErrorClassifier().fit(history.events)
    d = clf.disagreements_
    assert d[["service", "error_type"]].values.tolist() == [
        ["cache", "ConnectionError"], ["db-proxy", "ConnectionError"],
        ["inventory", "ConnectionError"], ["search", "ConnectionError"]]
    assert d["finding"].iloc[0] == (
        "rules say ConnectionError is retryable, but cache rarely recovers quickly: "
        "12% of 370 errors cleared within 5 s")
    # a client error is never reported, however fast the service serves others
    assert not d["error_type"].isin(["HTTP 400", "HTTP 404"]).any()


def test_unfitted_classifier_classifies_from_rules_and_cannot_be_saved():
    clf = ErrorClassifier()
    assert clf.classify({"service": "a", "error_type": "HTTP 503"}).history is None
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.to_dict()


def test_state_round_trip_is_json(history):
    clf = ErrorClassifier(quick_s=3.0, extra_rules=[
        {"error_type": "TypeError", "category": "internal", "retryable": True,
         "transient": True}]).fit(history.events)
    state = json.loads(json.dumps(clf.to_dict()))
    again = ErrorClassifier.from_dict(state)
    assert again.stats_ == clf.stats_ and again.type_stats_ == clf.type_stats_
    pd.testing.assert_frame_equal(again.recovery_, clf.recovery_)
    assert again.classify({"service": "a", "error_type": "TypeError"}).retryable is True
    assert clone(clf).get_params() == clf.get_params()


@pytest.mark.parametrize(("param", "value", "message"), [
    ("quick_s", 0, "'quick_s'"), ("min_support", 0, "'min_support'"),
    ("estimate", "mean", "'estimate'"), ("burst_few", 0, "burst_few"),
])
def test_fit_validates_parameters(param, value, message):
    with pytest.raises(ConfigError, match=message):
        ErrorClassifier(**{param: value}).fit(_runs([1.0]))
