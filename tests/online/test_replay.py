"""replay(): the whole loop on a history with drift, parity with batch scoring, feedback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from errpredict.datasets import generate_history
from errpredict.datasets._drift_noise import drifted_history
from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.feedback import FeedbackProcessor
from errpredict.io import write_events
from errpredict.models import train
from errpredict.online import ReplayConfig, replay
from errpredict.updater import UpdaterConfig

DAY_NS = 86_400 * 10**9


SMALL_UPDATER = UpdaterConfig(window="2d", holdout="4h", every="12h", follow_up=("6h",),
                              min_interval="2h", min_history="6h")


@pytest.fixture(scope="module")
def drifted():
    """2.5 days of four services, drifting hard at day 1.25; a model of the first 1.25 days."""
    ev = drifted_history(2.5, 4, seed=23, drift_day=1.25, background=6, warnings_per_min=1.0,
                         bursts_per_hour=6.0)
    drift_at = ev["timestamp"].iloc[0].floor("D") + pd.Timedelta(hours=30)
    with threadpool_limits(limits=1):
        model = train(ev[ev["timestamp"] < drift_at])
    return ev, model, drift_at


@pytest.fixture(scope="module")
def looped(drifted):
    ev, model, drift_at = drifted
    notes = []
    with threadpool_limits(limits=1):
        result = replay(model, ev, drift_at=drift_at, micro_batch="5 steps",
                        config=ReplayConfig(updater=SMALL_UPDATER),
                        progress=lambda p: notes.append(p) if p.note else None)
    return result, notes


def test_the_loop_detects_the_drift_promotes_and_beats_the_frozen_model(looped, drifted):
    result, _ = looped
    _, _, drift_at = drifted
    s = result.summary
    assert s["after_drift_basis"] == "drift_at" and s["after_drift_from"] == drift_at.isoformat()
    assert 0 <= s["detection_delay_s"] < 86_400
    first = next(e for e in result.drift_events if e.time >= drift_at)
    assert first.time - drift_at == pd.Timedelta(seconds=s["detection_delay_s"])
    after = [w for w in result.swaps if w.time >= drift_at]
    assert after and after[0].from_version != after[0].to_version
    assert s["pr_auc_after_drift"] > s["frozen_pr_auc_after_drift"] + 0.05
    promoted = [d for d in result.decisions if d.promoted]
    assert [d.challenger_version for d in promoted] == [w.to_version for w in result.swaps]
    assert all(d.challenger["pr_auc"] >= d.champion["pr_auc"] + 0.02 for d in promoted)


def test_scores_are_in_the_format_of_predict_for_every_entity_and_step(looped, drifted):
    result, _ = looped
    ev, model, _ = drifted
    batch = model.predict_risk(ev)
    assert list(result.scores.columns) == ["entity", "timestamp", "risk"]
    pd.testing.assert_frame_equal(result.scores[["entity", "timestamp"]],
                                  batch[["entity", "timestamp"]])
    assert result.scores["risk"].between(0, 1).all()
    assert result.summary["steps"] * 4 == len(batch) and result.summary["late_events"] == 0


def test_daily_metrics_and_the_json_report(looped):
    result, notes = looped
    assert list(result.daily["day"]) == ["2026-01-05", "2026-01-06", "2026-01-07"]
    # every cell is labelled but those of the last horizon (10 steps of 4 services)
    assert result.daily["n"].sum() == len(result.scores) - 10 * 4
    doc = json.loads(result.to_json())
    assert {"drift_events", "swaps", "pr_auc_after_drift", "frozen_pr_auc_after_drift",
            "daily", "summary", "decisions"} <= set(doc)
    assert all("time" in e for e in doc["drift_events"])
    assert all({"time", "from_version", "to_version"} <= set(w) for w in doc["swaps"])
    assert doc["pr_auc_after_drift"] == result.summary["pr_auc_after_drift"]
    kinds = {p.note for p in notes}
    assert {"drift", "decision", "swap"} <= kinds


def test_without_online_learner_and_updater_the_loop_is_the_batch_model():
    ev = generate_history(days=0.5, services=3, seed=4).events
    with threadpool_limits(limits=1):
        model = train(ev, model="logreg")
        expected = model.predict_risk(ev)
        for micro_batch in ("1 step", "7 steps", "15m"):
            got = replay(model, ev, online=False, updater=False, micro_batch=micro_batch)
            pd.testing.assert_frame_equal(got.scores[["entity", "timestamp"]],
                                          expected[["entity", "timestamp"]])
            np.testing.assert_allclose(got.scores["risk"], expected["risk"], rtol=0, atol=1e-12)
            assert got.summary["pr_auc"] == pytest.approx(got.summary["frozen_pr_auc"], abs=1e-9)
    with pytest.raises(ConfigError, match="'micro_batch' parameter of replay"):
        replay(model, ev, micro_batch="90s")


def test_feedback_records_every_prediction_and_labels_it_at_maturity(tmp_path):
    ev = generate_history(days=0.25, services=3, seed=4).events
    with threadpool_limits(limits=1):
        model = train(ev, model="logreg", min_errors=2)
        result = replay(model, ev, updater=False, feedback_path=tmp_path / "fb.sqlite",
                        config=ReplayConfig(feedback_every="20m"))
    cells = len(result.scores)
    labelled = int(result.daily["n"].sum())
    with FeedbackProcessor(tmp_path / "fb.sqlite") as fp:
        counts = fp.counts()
        loop = fp.live_metrics("loop", window=100_000)
        pred = fp.predictions(model_version="loop")
    assert counts["predictions"] == 2 * cells and counts["labelled"] == 2 * labelled
    assert counts["implicit"] == 2 * labelled and counts["explicit"] == 0
    assert loop["n"] == labelled
    np.testing.assert_allclose(pred["risk"].to_numpy(), result.scores["risk"].to_numpy())
    assert result.summary["feedback_acknowledged"] == 2 * cells
    # a store holding another history's unlabelled predictions is refused
    with FeedbackProcessor(tmp_path / "other.sqlite") as fp:
        fp.record_prediction(entity="api", timestamp="2020-01-01T00:00:00Z", risk=0.5,
                             model_version="x")
    with pytest.raises(FeedbackError, match="holds 1 unlabelled predictions from before"):
        replay(model, ev, feedback_path=tmp_path / "other.sqlite")


# -- kill -9 in the middle of a replay, then restart it ------------------------------------

RUN = textwrap.dedent(
    """
    import sys
    from threadpoolctl import threadpool_limits
    from errpredict.online import ReplayConfig, replay
    from errpredict.updater import UpdaterConfig

    bundle, data, store = sys.argv[1:4]
    cfg = ReplayConfig(feedback_every="10m", updater=UpdaterConfig(
        window="12h", holdout="2h", every="3h", min_history="3h", follow_up=()))

    def progress(p):
        if p.note == "feedback":
            print(f"ACK {p.acknowledged} {p.now.isoformat()}", flush=True)

    with threadpool_limits(limits=1):
        result = replay(bundle, data, feedback_path=store, progress=progress, config=cfg)
    print("DONE", result.summary["feedback_acknowledged"], flush=True)
    """
)


def _spawn(script, *args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _store(path):
    with FeedbackProcessor(path) as fp:
        pred = fp.predictions()
        out = fp.outcomes()
        counts = fp.counts()
    labels = dict(zip(pred["prediction_id"], pred["label"].astype("object"), strict=True))
    return counts, labels, out


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGKILL")
def test_a_replay_killed_and_restarted_loses_and_doubles_nothing(tmp_path):
    ev = generate_history(days=0.75, services=3, seed=8).events
    with threadpool_limits(limits=1):
        model = train(ev[ev["timestamp"] < ev["timestamp"].iloc[0] + pd.Timedelta("6h")],
                      model="logreg", min_errors=3)
    bundle = model.save(tmp_path / "bundle")
    data = tmp_path / "history.parquet"
    write_events(ev, data)
    script = tmp_path / "run.py"
    script.write_text(RUN)

    reference = _spawn(script, bundle, data, tmp_path / "reference.sqlite")
    killed = _spawn(script, bundle, data, tmp_path / "feedback.sqlite")
    acked = []
    while len(acked) < 12:
        line = killed.stdout.readline()
        assert line, f"the replay ended early: {killed.stderr.read()}"
        if line.startswith("ACK"):
            acked.append(line.split())
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    counts, _, _ = _store(tmp_path / "feedback.sqlite")
    assert counts["predictions"] >= int(acked[-1][1]) > 0  # every acknowledged one is there

    restarted = _spawn(script, bundle, data, tmp_path / "feedback.sqlite")
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    ref_out, ref_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_err
    assert out.splitlines()[-1] == ref_out.splitlines()[-1]  # the same acknowledged total

    counts, labels, outcomes = _store(tmp_path / "feedback.sqlite")
    ref_counts, ref_labels, _ = _store(tmp_path / "reference.sqlite")
    assert counts == ref_counts  # nothing lost, nothing counted twice
    assert labels == ref_labels
    assert outcomes["outcome_id"].is_unique
    assert counts["implicit"] == counts["labelled"] > 0


def test_replay_reads_a_bundle_and_a_file(tmp_path):
    ev = generate_history(days=0.2, services=2, seed=3).events
    with threadpool_limits(limits=1):
        model = train(ev, model="logreg", min_errors=2)
    model.save(tmp_path / "m")
    write_events(ev, tmp_path / "h.csv")
    started = time.perf_counter()
    result = replay(tmp_path / "m", tmp_path / "h.csv", updater=False, drift_at=0.1)
    assert time.perf_counter() - started < 60
    assert result.summary["after_drift_from"] == (
        ev["timestamp"].iloc[0].floor("D") + pd.Timedelta(days=0.1)).isoformat()
    assert len(result.scores) == len(model.predict_risk(ev))
