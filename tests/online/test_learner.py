"""OnlineLearner, DelayedLabels and progressive validation: River conventions, exact values."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from errpredict.exceptions import ConfigError
from errpredict.features import Target
from errpredict.online import DelayedLabels, OnlineLearner, progressive_validation

MIN = 60_000_000_000
T0 = pd.Timestamp("2026-01-05T00:00:00Z")
T0_NS = T0.value


def _stream(n: int, seed: int = 0):
    """Seeded rows: risk rises with errors_5m; a NaN latency half of the time."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        errors = float(rng.poisson(2.0))
        y = bool(rng.random() < 1 / (1 + math.exp(-(errors - 3.0))))
        lat = float(rng.lognormal(3, 0.5)) if rng.random() < 0.5 else float("nan")
        rows.append(({"errors_5m": errors, "latency_mean_5m": lat,
                      "batch_risk": float(np.clip(errors / 8, 0, 1))}, y))
    return rows


@pytest.mark.parametrize("model", ["logreg", "hoeffding", "arf"])
def test_predicting_never_changes_state_nor_the_callers_dict(model):
    learner = OnlineLearner(model, stack_on_batch=True, n_models=3, seed=1)
    for x, y in _stream(300):
        learner.learn_one(x, y)
    before = pickle.dumps(learner)
    x, _ = _stream(1, seed=9)[0]
    x_copy = copy.deepcopy(x)
    p1 = learner.predict_proba_one(x)
    p2 = learner.predict_proba_one(x)
    assert pickle.dumps(learner) == before
    assert x.keys() == x_copy.keys() and all(
        (x[k] == x_copy[k]) or (math.isnan(x[k]) and math.isnan(x_copy[k])) for k in x)
    assert p1 == p2 and set(p1) == {False, True} and math.isclose(sum(p1.values()), 1.0)
    assert learner.predict_one(x) in (False, True)


def test_exact_probability_after_a_seeded_stream():
    learner = OnlineLearner(learning_rate=0.05)
    for x, y in _stream(500):
        learner.learn_one(x, y)
    assert learner.n_learned == 500
    p = learner.predict_proba_one({"errors_5m": 6.0, "batch_risk": 0.75})[True]
    assert round(p, 6) == 0.973959
    assert learner.predict_proba_one({"errors_5m": 0.0})[True] < 0.2


def test_stacking_learns_on_the_log_odds_of_the_batch_risk():
    stacked = OnlineLearner(stack_on_batch=True)
    plain = OnlineLearner()
    x = {"errors_5m": 1.0, "batch_risk": 0.99}
    assert stacked._features(x) == {"errors_5m": 1.0, "batch_logit": pytest.approx(4.59512, 1e-5)}
    assert plain._features(x) == x
    # a batch risk of exactly 0 or 1 stays finite
    assert stacked._features({"batch_risk": 1.0})["batch_logit"] == pytest.approx(9.21024, 1e-5)
    # after learning that the batch model is right, a confident batch risk wins
    for _ in range(200):
        stacked.learn_one({"errors_5m": 1.0, "batch_risk": 0.95}, True)
        stacked.learn_one({"errors_5m": 1.0, "batch_risk": 0.05}, False)
    hi = stacked.predict_proba_one({"errors_5m": 1.0, "batch_risk": 0.95})[True]
    lo = stacked.predict_proba_one({"errors_5m": 1.0, "batch_risk": 0.05})[True]
    assert (round(hi, 6), round(lo, 6)) == (0.786335, 0.214025)


def test_values_that_are_not_finite_numbers_are_missing_features():
    learner = OnlineLearner()
    x = {"a": float("nan"), "b": float("inf"), "c": None, "d": "text", "e": True, "f": 2,
         "g": np.float64(1.5)}
    assert learner._features(x) == {"e": 1.0, "f": 2.0, "g": 1.5}
    learner.learn_one(x, True)
    assert all(math.isfinite(w) for w in learner.estimator["LogisticRegression"].weights.values())


def test_before_any_label_the_risk_is_one_half():
    assert OnlineLearner().predict_proba_one({"errors_5m": 3.0}) == {False: 0.5, True: 0.5}


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "svm"}, "The 'model' parameter of OnlineLearner must be one of"),
    ({"learning_rate": 0.0}, "'learning_rate' parameter of OnlineLearner must be a float in"),
    ({"l2": -1.0}, "'l2' parameter of OnlineLearner must be a float in [0, inf)"),
    ({"n_models": 0}, "'n_models' parameter of OnlineLearner must be an int in [1, inf)"),
])
def test_bad_parameters_say_what_is_expected(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        OnlineLearner(**kwargs)


# -- delayed labels ---------------------------------------------------------------------------

def _events(times_s, errors, service="api"):
    return pd.DataFrame({
        "timestamp": pd.to_datetime([T0_NS + int(s * 1e9) for s in times_s], utc=True),
        "service": service, "is_error": errors})


def test_labels_mature_only_when_the_horizon_has_passed():
    dl = DelayedLabels(Target("3m", 2), "1m")
    dl.add_many([T0_NS, T0_NS + MIN], ["api", "api"], ["x0", "x1"])
    # errors at 0:30 (bucket 1), 2:10 and 2:50 (bucket 3), 3:30 (bucket 4)
    dl.observe(_events([30, 130, 170], [True, True, True]))
    assert dl.pop_matured() == []  # nothing after 3:00 seen yet: (0, 3m] may still grow
    dl.observe(_events([181], [False]))
    matured = dl.pop_matured()
    assert [(m.item, m.label) for m in matured] == [("x0", True)]  # 3 errors in (0, 3m]
    assert dl.pending == 1 and dl.errors("api", T0_NS + MIN) == 2
    dl.observe(_events([210, 241], [True, False]))
    assert [(m.item, m.label) for m in dl.pop_matured()] == [("x1", True)]  # 3 errors in (1, 4]
    assert dl.pop_matured() == [] and len(dl) == 0


def test_explicit_now_and_entities_are_independent():
    dl = DelayedLabels(Target("2m", 1), "1m")
    dl.observe(pd.concat([_events([50], [True], "db"), _events([70], [True], "api")]))
    dl.add("api", T0, "a")
    dl.add("db", T0, "d")
    dl.add("api", T0 + pd.Timedelta("1m"), "a1")
    assert dl.pop_matured(now=T0 + pd.Timedelta("119s")) == []
    got = dl.pop_matured(now=T0 + pd.Timedelta("2m"))
    assert sorted((m.entity, m.label) for m in got) == [("api", True), ("db", True)]
    assert [(m.item, m.label) for m in dl.pop_matured(now=T0 + pd.Timedelta("3m"))] == [
        ("a1", True)]  # 1:10 is in (1m, 3m]


def test_old_counts_are_dropped_as_the_stream_moves_on():
    dl = DelayedLabels(Target("10m", 1), "1m")
    for k in range(300):
        t = T0_NS + k * MIN
        dl.add("api", t, k)
        dl.observe_arrays(t + 30 * 10**9, np.array([t + 30 * 10**9]), np.array(["api"]))
        dl.pop_matured(now=t)
    assert len(dl._counts) < 4 * 10 + 64 + 10 + 2
    assert dl.label("api", T0_NS + 290 * MIN)


def test_a_target_is_required():
    with pytest.raises(ConfigError, match="must be a Target"):
        DelayedLabels("10m", "1m")


# -- progressive validation ---------------------------------------------------------------------

def _grid_rows(n_steps: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    times = pd.to_datetime(T0_NS + MIN * np.repeat(np.arange(n_steps), 2), utc=True)
    ents = np.tile(["api", "db"], n_steps)
    errors = rng.poisson(2.0, 2 * n_steps).astype(float)
    y = (errors + rng.normal(0, 1, 2 * n_steps) > 3).astype(float)
    y[-4:] = np.nan  # the end of the history has no label yet
    X = pd.DataFrame({"errors_5m": errors}, index=pd.MultiIndex.from_arrays([times, ents]))
    return X, y


def test_progressive_validation_scores_first_and_learns_at_maturity():
    X, y = _grid_rows(60)
    risk = progressive_validation(OnlineLearner(learning_rate=0.05), X, y, horizon="5m")
    t = X.index.get_level_values(0)
    # nothing can be learned before the first label matures at t0 + 5m
    assert (risk[t < T0 + pd.Timedelta("5m")] == 0.5).all()
    assert (risk[t == T0 + pd.Timedelta("5m")] != 0.5).all()
    # the same procedure written out: learn what matured, then score
    learner = OnlineLearner(learning_rate=0.05)
    expected, learned = [], 0
    rows = list(zip(t, X["errors_5m"], y, strict=True))
    for i, (ti, e, _) in enumerate(rows):
        while learned < i and rows[learned][0] + pd.Timedelta("5m") <= ti:
            if not np.isnan(rows[learned][2]):
                learner.learn_one({"errors_5m": rows[learned][1]}, bool(rows[learned][2]))
            learned += 1
        expected.append(learner.predict_proba_one({"errors_5m": e})[True])
    np.testing.assert_allclose(risk.to_numpy(), expected, rtol=0, atol=1e-12)


def test_progressive_validation_passes_the_batch_risk_to_a_stacked_learner():
    X, y = _grid_rows(40)
    batch = np.where(np.nan_to_num(y) > 0, 0.9, 0.1)
    learner = OnlineLearner(stack_on_batch=True, learning_rate=0.1)
    risk = progressive_validation(learner, X, y, horizon="2m", batch_risk=batch)
    assert learner.n_learned == int((~np.isnan(y)).sum())
    late = X.index.get_level_values(0) >= T0 + pd.Timedelta("20m")
    ok = late & ~np.isnan(y)
    assert risk[ok & (y == 1)].min() > risk[ok & (y == 0)].max()


def test_progressive_validation_needs_one_label_per_row():
    X, y = _grid_rows(5)
    with pytest.raises(ConfigError, match="X has 10 rows but y has 9"):
        progressive_validation(OnlineLearner(), X, y[:-1], horizon="5m")
