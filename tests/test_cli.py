"""The command-line contract that scripts rely on, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EP = [sys.executable, "-m", "errpredict.cli"]
KEYS = ["pr_auc", "onset_pr_auc", "roc_auc", "precision", "recall", "f1", "threshold",
        "lead_time_median_s", "alarms_per_entity_day"]


def run(*args, ok=True):
    p = subprocess.run([*EP, *map(str, args)], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    if ok:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    run("generate", "--out", d / "h.csv", "--days", 2, "--services", 4, "--seed", 5)
    ev = pd.read_csv(d / "h.csv")
    cut = sorted(ev["timestamp"])[len(ev) // 2]
    ev[ev["timestamp"] < cut].to_csv(d / "train.csv", index=False)
    ev[ev["timestamp"] >= cut].to_csv(d / "test.csv", index=False)
    return d


def test_generate_writes_events_and_incidents(work):
    assert (work / "h.incidents.csv").exists()
    inc = pd.read_csv(work / "h.incidents.csv")
    assert {"incident_id", "service", "mechanism", "start", "end"} <= set(inc.columns)


def test_train_evaluate_predict(work):
    p = run("train", "--data", work / "train.csv", "--out", work / "m", "--step", "1m",
            "--horizon", "10m", "--min-errors", 5, "--json", "--no-tracking")
    res = json.loads(p.stdout)
    assert res["model"] == str(work / "m") and 0 < res["threshold"] < 1
    p = run("evaluate", "--model", work / "m", "--data", work / "test.csv", "--json",
            "--no-tracking")
    ev = json.loads(p.stdout)
    assert all(k in ev for k in KEYS) and all(k in ev["baseline"] for k in KEYS)
    assert ev["pr_auc"] > ev["baseline"]["pr_auc"]
    run("predict", "--model", work / "m", "--data", work / "test.csv", "--out",
        work / "s.csv")
    s = pd.read_csv(work / "s.csv")
    assert list(s.columns) == ["entity", "timestamp", "risk"]
    t = pd.to_datetime(s["timestamp"], utc=True, format="ISO8601")
    assert (t == t.dt.floor("min")).all() and s["risk"].between(0, 1).all()
    test = pd.read_csv(work / "test.csv")
    assert set(s["entity"]) == set(test["service"])
    p = run("predict", "--model", work / "m", "--data", work / "test.csv", "--at",
            test["timestamp"].iloc[100], "--json")
    at = json.loads(p.stdout)
    assert set(at["risk"]) == set(test["service"])


BAD = {
    "missing.csv": (None, "no such file"),
    "empty.csv": ("", "empty"),
    "nocol.csv": ("timestamp,host\n2026-01-05T00:00:00Z,a\n", "missing required column 'service'"),
    "badts.csv": ("timestamp,service\n2026-01-05T00:00:00Z,a\n2026-13-01,b\n",
                  "row 1 (line 3): cannot parse '2026-13-01'"),
    "events.xlsx": ("x", "cannot tell the format"),
    "header.csv": ("timestamp,service\n", "no events"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, name):
    content, needle = BAD[name]
    if content is not None:
        (tmp_path / name).write_text(content)
    p = run("train", "--data", tmp_path / name, "--out", tmp_path / "m", ok=False)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], p.stderr


def test_bad_option_and_bad_model(tmp_path, work):
    p = run("train", "--data", work / "train.csv", "--out", tmp_path / "m", "--step", "soon",
            ok=False)
    assert p.returncode == 2 and "'step' parameter" in p.stderr
    p = run("evaluate", "--model", tmp_path / "nothing", "--data", work / "test.csv", ok=False)
    assert p.returncode == 2 and "no such model bundle" in p.stderr
    assert Path(work / "train.csv").exists()


def test_recommend_and_evaluate_recovery(work):
    model = work / "m"
    if not model.exists():
        run("train", "--data", work / "train.csv", "--out", model, "--no-tracking")
    assert (model / "recovery.json").exists()
    r = json.loads(run("recommend", "--model", model, "--service", "payments",
                       "--error-type", "HTTP 503", "--http-status", 503, "--risk", 0.05,
                       "--json").stdout)
    assert r["action"] in ("retry", "retry_backoff") and r["params"]["delay_s"] > 0
    assert "payments returned HTTP 503" in r["reason"]
    r = json.loads(run("recommend", "--model", model, "--service", "payments",
                       "--error-type", "HTTP 400", "--http-status", 400, "--json").stdout)
    assert r["action"] == "fail_fast" and not r["retryable"]
    r = json.loads(run("recommend", "--model", model, "--service", "checkout",
                       "--error-type", "HTTP 503", "--http-status", 503,
                       "--dependency-risk", "payments=0.95", "--risk", 0.9, "--json").stdout)
    assert r["action"] in ("open_circuit", "fail_over") and r["reason"]
    p = run("evaluate-recovery", "--data", work / "h.csv", "--json")
    res = json.loads(p.stdout)
    for policy in ("learned", "fixed_backoff", "never_retry", "always_circuit"):
        assert {"mean_time_to_recovery_s", "wasted_calls", "failed_requests"} <= set(res[policy])
    assert res["learned"]["wasted_calls"] < res["fixed_backoff"]["wasted_calls"]


def test_replay_json_and_scores(work, tmp_path):
    model = work / "m"
    if not model.exists():
        run("train", "--data", work / "train.csv", "--out", model, "--no-tracking")
    p = run("replay", "--model", model, "--data", work / "test.csv", "--json", "--out",
            tmp_path / "loop.csv", "--feedback", tmp_path / "fb.sqlite", "--no-updater")
    res = json.loads(p.stdout)
    assert {"drift_events", "swaps", "pr_auc_after_drift", "frozen_pr_auc_after_drift"} <= set(
        res)
    assert isinstance(res["drift_events"], list) and isinstance(res["swaps"], list)
    s = pd.read_csv(tmp_path / "loop.csv")
    assert list(s.columns) == ["entity", "timestamp", "risk"] and s["risk"].between(0, 1).all()
    assert set(s["entity"]) == set(pd.read_csv(work / "test.csv")["service"])
