"""ModelUpdater: when it retrains, the gate, and every decision recorded with its figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from errpredict.cache import PredictionCache
from errpredict.datasets import generate_history
from errpredict.exceptions import ConfigError
from errpredict.models import train
from errpredict.updater import (
    BundleDirectory,
    GateRule,
    ModelUpdater,
    Predictor,
    UpdaterConfig,
    holdout_figures,
    judge,
)

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
H = pd.Timedelta("1h")


@pytest.fixture(scope="module")
def history():
    """Two days of 3 services, and a champion that learned nothing useful: trained on the
    first day with its error flags shuffled in time."""
    ev = generate_history(days=2, services=3, seed=9).events
    first = ev[ev["timestamp"] < T0 + pd.Timedelta(days=1)].copy()
    first["is_error"] = np.random.default_rng(0).permutation(first["is_error"].to_numpy())
    with threadpool_limits(limits=1):
        champion = train(first, model="logreg")
    return ev, champion


def _config(**kw) -> UpdaterConfig:
    base = dict(window="1d", holdout="6h", every="12h", follow_up=("2h", "5h"),
                min_interval="1h", min_history="6h")
    base.update(kw)
    return UpdaterConfig(**base)


# -- the gate ---------------------------------------------------------------------------------

FIG = {"n": 1000, "positives": 50, "pr_auc": 0.40, "brier": 0.050, "ece": 0.020}


@pytest.mark.parametrize("challenger, promote, why", [
    ({"pr_auc": 0.45, "brier": 0.048}, True, "PR-AUC 0.4500 vs champion 0.4000 (gain +0.0500"),
    ({"pr_auc": 0.41, "brier": 0.030}, False, "gain +0.0100 below the margin 0.02"),
    ({"pr_auc": 0.50, "brier": 0.060}, False, "brier 0.0600 is worse than the champion's 0.0500"),
    ({"pr_auc": 0.43, "brier": 0.054}, True, "brier 0.0540 vs 0.0500 (within 0.005)"),
    ({"pr_auc": None, "brier": 0.05}, False, "PR-AUC undefined on the held-out period"),
])
def test_gate_needs_a_margin_and_no_worse_calibration(challenger, promote, why):
    got, text = judge(FIG, {**FIG, **challenger}, GateRule())
    assert got is promote and why in text


def test_gate_on_ece_and_on_too_few_positives():
    rule = GateRule(calibration="ece", tolerance=0.0)
    assert judge(FIG, {**FIG, "pr_auc": 0.5, "ece": 0.021}, rule)[0] is False
    assert judge(FIG, {**FIG, "pr_auc": 0.5, "ece": 0.020}, rule)[0] is True
    few = {**FIG, "positives": 3}
    assert judge(few, {**few, "pr_auc": 0.9}, GateRule())[1] == (
        "held-out period has 3 positive cells, fewer than min_positives=10")


@pytest.mark.parametrize("kwargs, message", [
    ({"calibration": "auc"}, "'calibration' parameter of GateRule must be 'brier' or 'ece'"),
    ({"margin": float("nan")}, "'margin' parameter of GateRule must be a float"),
    ({"min_positives": 0}, "'min_positives' parameter of GateRule must be an int"),
])
def test_gate_rule_checks_its_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GateRule(**kwargs)


def test_updater_config_checks_durations():
    with pytest.raises(ConfigError, match="The 'every' parameter must be a duration"):
        UpdaterConfig(every="often")
    with pytest.raises(ConfigError, match="'gate' parameter of UpdaterConfig must be a GateRule"):
        UpdaterConfig(gate={"margin": 0.1})


# -- when a retrain is due --------------------------------------------------------------------

def test_schedule_drift_follow_ups_and_spacing(history):
    _, champion = history
    up = ModelUpdater(champion, config=_config())
    up.observe(T0)
    assert up.due(T0 + 5 * H) is None  # less than min_history
    up.notify_drift("a drift")
    assert up.due(T0 + 6 * H) == "drift"
    up._last, up._drift = (T0 + 6 * H).value, None  # as if update() ran at 6h for the drift
    up._pending_follow = [(T0 + 8 * H).value, (T0 + 11 * H).value]
    assert up.due(T0 + 6.5 * H) is None  # min_interval
    assert up.due(T0 + 7.9 * H) is None
    assert up.due(T0 + 8 * H) == "after-drift"
    assert up.due(T0 + 18 * H) == "after-drift"  # follow-ups come before the schedule
    up._pending_follow = []
    assert up.due(T0 + 17.9 * H) is None and up.due(T0 + 18 * H) == "schedule"
    off = ModelUpdater(champion, config=_config(every=None, on_drift=False))
    off.observe(T0)
    off.notify_drift("ignored")
    assert off.due(T0 + 30 * H) is None


def test_a_better_challenger_is_promoted_published_and_swapped_in(history, tmp_path):
    ev, champion = history
    cache = PredictionCache(ttl_s=None)
    predictor = Predictor(champion, cache=cache)
    cache.put(champion.version, "checkout", 0, 0.5)
    bundles = BundleDirectory(tmp_path / "models")
    seen = []
    up = ModelUpdater(predictor, config=_config(), promoter=bundles, on_decision=seen.append)
    up.observe(T0)
    now = T0 + pd.Timedelta(days=2) - pd.Timedelta("1min")
    with threadpool_limits(limits=1):
        d = up.update(ev, now=now, reason="drift")
    assert d.promoted and seen == [d] == up.decisions
    assert d.time == now and d.reason == "drift" and d.champion_version == champion.version
    assert d.holdout_end == now - pd.Timedelta("10m")
    assert d.holdout_start == d.holdout_end - pd.Timedelta("6h") == d.train_end
    assert d.train_start == d.train_end - pd.Timedelta(days=1)
    assert d.challenger["pr_auc"] >= d.champion["pr_auc"] + 0.02
    assert d.challenger["brier"] <= d.champion["brier"] + 0.005
    assert d.champion["n"] == d.challenger["n"] == 3 * 361  # 3 services, 6h of steps, both ends
    assert d.train_cells > 0 and d.train_positives > 0 and d.seconds > 0
    # published as versions/<id>, the champion points there, the decision is on disk
    assert d.published_as == d.challenger_version == predictor.version != champion.version
    assert bundles.champion_version() == d.challenger_version
    assert (tmp_path / "models" / "versions" / d.challenger_version / "model.joblib").exists()
    logged = bundles.decisions()
    assert len(logged) == 1 and logged[0]["promoted"] is True
    assert logged[0]["challenger"]["pr_auc"] == d.challenger["pr_auc"]
    assert json.loads(json.dumps(d.to_dict()))["time"] == now.isoformat()
    assert len(cache) == 0  # the old champion's answers went with it
    assert up.due(now + pd.Timedelta("30min")) is None  # min_interval
    assert up._pending_follow == [(now + 2 * H).value, (now + 5 * H).value]


def test_a_challenger_below_the_margin_is_recorded_not_promoted(history, tmp_path):
    ev, champion = history
    bundles = BundleDirectory(tmp_path / "models")
    up = ModelUpdater(champion, config=_config(gate=GateRule(margin=1.0)), promoter=bundles)
    with threadpool_limits(limits=1):
        d = up.update(ev, reason="schedule")
    assert not d.promoted and "below the margin 1" in d.why
    assert up.predictor.model is champion and bundles.champion_version() is None
    assert not any((tmp_path / "models" / "versions").iterdir())
    assert [x["why"] for x in bundles.decisions()] == [d.why]


def test_without_data_for_a_challenger_the_decision_says_why(history):
    ev, champion = history
    up = ModelUpdater(champion, config=_config())
    quiet = ev[~ev["is_error"]].iloc[:20_000]
    d = up.update(quiet, reason="manual")
    assert not d.promoted and d.challenger_version is None
    assert d.why.startswith("no challenger: training data has no positive decision times")
    with pytest.raises(ConfigError, match="argument 'reason'"):
        up.update(ev, reason="whim")


def test_holdout_figures_cover_only_labelled_cells_in_the_period(history):
    ev, champion = history
    end = ev["timestamp"].iloc[-1]
    start = (end - pd.Timedelta("2h")).floor("min")
    figs = holdout_figures(champion, ev[ev["timestamp"] > start - pd.Timedelta("6h")],
                           start.value, end.value)
    # steps from start to the last one whose horizon (10 min) is inside the events
    last = end.ceil("min") - pd.Timedelta("10min")
    assert figs["n"] == 3 * ((last - start) // pd.Timedelta("1min") + 1)
    assert set(figs) == {"n", "positives", "alarms", "precision", "recall", "f1", "pr_auc",
                         "brier", "ece"}
