from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from errpredict._version import __version__
from errpredict.exceptions import ModelBundleError
from errpredict.models._details import balanced_rows
from errpredict.tracking import git_commit, log_evaluation_run, log_training_run, warm_up
from errpredict.tracking._jobs import check_bundle
from errpredict.tracking._record import flat_metrics
from errpredict.tracking._validation import (
    average_precision,
    sample_features,
    validation_view,
)

TRAIN_ARTIFACTS = {
    "metadata.json", "model_card.md", "feature_importance.csv", "lead_times.csv",
    "plots/pr_curve.png", "plots/calibration.png", "plots/lead_times.png",
    "plots/feature_importance.png", "model/MLmodel", "model/requirements.txt",
    "model/python_model.pkl", "model/artifacts/bundle/model.joblib",
    "model/artifacts/bundle/metadata.json",
}


def _files(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= _files(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def test_training_run_metrics_are_every_validation_figure_and_the_baseline(tracked,
                                                                           mlflow_client):
    run = mlflow_client.get_run(tracked.info.run_id)
    val = tracked.model.metadata["validation"]
    expected = flat_metrics(val)
    got = {k: v for k, v in run.data.metrics.items() if not k.startswith("training_")}
    assert got == expected
    assert got["pr_auc"] == val["pr_auc"]
    assert got["baseline_pr_auc"] == val["baseline"]["pr_auc"]
    assert got["episodes_detected"] == val["episodes_detected"]
    assert {k for k, v in val.items() if v is None}.isdisjoint(got)
    assert run.data.metrics["training_cells"] == tracked.model.metadata["training"]["cells"]
    assert run.info.status == "FINISHED"


def test_training_run_params_and_tags(tracked, mlflow_client):
    run = mlflow_client.get_run(tracked.info.run_id)
    p = run.data.params
    assert p["featurizer.step"] == "1m"
    assert p["featurizer.entity"] == "service"
    assert p["featurizer.windows"] == "1,5,15,60"
    assert p["target.horizon"] == "10m"
    assert p["target.min_errors"] == "5"
    assert p["model.model"] == "hgb"
    assert p["model.estimator"] == "HistGradientBoostingClassifier"
    assert p["features.count"] == str(len(tracked.model.featurizer.feature_names_out_))
    t = run.data.tags
    assert t["errpredict.version"] == __version__
    assert t["errpredict.kind"] == "train"
    assert t["errpredict.model_id"] == tracked.model.version
    assert t["errpredict.model_sha256"] == tracked.model.metadata["model_sha256"]
    assert t["mlflow.runName"] == f"hgb-{tracked.model.version}"
    assert t.get("mlflow.source.git.commit") == git_commit()
    assert "errpredict.notes" not in t


def test_training_run_records_the_dataset(tracked, mlflow_client):
    run = mlflow_client.get_run(tracked.info.run_id)
    (inp,) = run.inputs.dataset_inputs
    ds, data = inp.dataset, tracked.model.metadata["data"]
    assert ds.name == "history.parquet"
    assert ds.digest == tracked.model.metadata["fingerprint"][:16]
    assert json.loads(ds.source) == {"uri": str(tracked.path)}
    profile = json.loads(ds.profile)
    assert profile["num_rows"] == data["rows"] == len(tracked.events)
    assert (profile["errors"], profile["entities"]) == (data["errors"], 3)
    assert (profile["start"], profile["end"]) == (data["start"], data["end"])
    assert profile["fingerprint"] == tracked.model.metadata["fingerprint"]
    cols = {c["name"]: c["type"] for c in json.loads(ds.schema)["mlflow_colspec"]}
    assert (cols["timestamp"], cols["is_error"], cols["severity"]) == (
        "datetime", "boolean", "long")
    assert {t.key: t.value for t in inp.tags} == {"mlflow.data.context": "training"}


def test_training_run_artifacts(tracked, mlflow_client):
    run_id = tracked.info.run_id
    files = _files(mlflow_client, run_id)
    assert TRAIN_ARTIFACTS <= files
    assert any(f.startswith("model/code/errpredict/tracking/") for f in files)
    local = Path(mlflow_client.download_artifacts(run_id, "", str(tracked.root / "dl")))
    card = (local / "model_card.md").read_text()
    assert f"runs:/{run_id}/model" in card and "models:/svc-risk/1" in card
    assert "{{" not in card
    imp = pd.read_csv(local / "feature_importance.csv")
    names = [str(f) for f in tracked.model.featurizer.feature_names_out_]
    assert sorted(imp["feature"]) == sorted(names)
    assert imp["importance"].is_monotonic_decreasing
    assert json.loads((local / "metadata.json").read_text()) == json.loads(
        (tracked.bundle / "metadata.json").read_text())
    for png in ("pr_curve", "calibration", "lead_times", "feature_importance"):
        assert (local / "plots" / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_logged_lead_times_are_those_of_training(tracked, mlflow_client):
    local = mlflow_client.download_artifacts(tracked.info.run_id, "lead_times.csv",
                                             str(tracked.root / "dl-lead"))
    lead = pd.read_csv(local)
    model = lead.loc[lead["who"] == "model", "lead_time_s"].to_numpy()
    base = lead.loc[lead["who"] == "baseline", "lead_time_s"].to_numpy()
    val = tracked.model.metadata["validation"]
    assert len(model) == val["episodes_detected"]
    assert len(base) == val["baseline"]["episodes_detected"]
    assert float(np.median(model)) == pytest.approx(val["lead_time_median_s"], abs=1e-9)
    assert float(np.median(base)) == pytest.approx(val["baseline"]["lead_time_median_s"],
                                                   abs=1e-9)


def test_validation_rebuilt_from_events_matches_training_exactly(tracked):
    model, events = tracked.model, tracked.events
    view = validation_view(model, events)
    y_val, p_val = model.classifier.validation_scores_
    assert np.array_equal(view.y, y_val) and np.array_equal(view.risk, p_val)
    X, y, risk = sample_features(model, events, view, 400, seed=3)
    assert len(y) == 400 and y.sum() == 143  # half positives when there are that many
    # features rebuilt from the tail of the history are those of the whole history, up to
    # the rounding of the prefix sums (which start elsewhere)
    _, full = model.featurizer.transform_arrays(events)
    expected = full[view.rows[balanced_rows(view.y, 400, 3)]]
    np.testing.assert_allclose(X, expected, rtol=1e-9, atol=1e-9, equal_nan=True)
    same = model.classifier.predict_risk_array(X) == risk
    assert same.mean() >= 0.99
    other = events.iloc[: len(events) // 2]
    assert validation_view(model, other) is None


def test_a_fresh_model_keeps_what_the_rebuild_would_find(tracked):
    """train() keeps its validation figures with lead times and a sample of validation
    features in memory, equal to what validation_view rebuilds from the events."""
    model, events = tracked.model, tracked.events
    details = model.validation_details
    view = validation_view(model, events)
    assert details.scores["lead_times_s"] == view.scores["lead_times_s"]
    assert details.scores["baseline"]["lead_times_s"] == view.scores["baseline"]["lead_times_s"]
    assert {k: v for k, v in details.scores.items() if k not in ("lead_times_s", "baseline")} \
        == {k: v for k, v in model.metadata["validation"].items() if k != "baseline"}
    X, y, risk = details.sample(300, seed=1)
    assert len(y) == 300 and y.sum() == 143  # every positive of the validation part
    _, full = model.featurizer.transform_arrays(events)
    kept = view.rows[balanced_rows(view.y, len(details.y), 0)]
    np.testing.assert_array_equal(details.X, full[kept])
    np.testing.assert_array_equal(details.risk, model.classifier.predict_risk_array(details.X))


def test_average_precision_is_scikit_learns():
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(2, 200))
        y = rng.integers(0, 2, n)
        y[0] = 1
        p = np.round(rng.random(n), int(rng.integers(1, 4)))
        assert average_precision(y, p) == pytest.approx(average_precision_score(y, p),
                                                        abs=1e-12)


def test_evaluation_run(tracked, mlflow_client):
    figures = tracked.model.evaluate(tracked.events)
    info = log_evaluation_run(tracked.model, figures, events=tracked.events,
                              events_path=tracked.path, model_ref="models:/svc-risk@champion",
                              experiment="evaluations", uri=tracked.uri)
    run = mlflow_client.get_run(info.run_id)
    assert run.data.metrics == flat_metrics(figures)
    assert run.data.params["model.ref"] == "models:/svc-risk@champion"
    assert run.data.tags["errpredict.kind"] == "evaluate"
    (inp,) = run.inputs.dataset_inputs
    assert {t.key: t.value for t in inp.tags} == {"mlflow.data.context": "evaluation"}
    assert json.loads(inp.dataset.profile)["num_rows"] == len(tracked.events)
    assert inp.dataset.digest == tracked.model.metadata["fingerprint"][:16]
    assert _files(mlflow_client, info.run_id) == {"metrics.json"}
    exp = mlflow_client.get_experiment(info.experiment_id)
    assert exp.name == "evaluations"


def test_warm_worker_writes_the_same_run(tracked, mlflow_client):
    worker = warm_up("worker", uri=tracked.uri)
    assert worker is not None and worker.alive()
    info = log_training_run(tracked.model, bundle_dir=tracked.bundle, events=tracked.events,
                            events_path=tracked.path, register="svc-risk-worker",
                            experiment="worker", uri=tracked.uri)
    assert not worker.alive()
    assert info.timings["writer"] == "worker" and worker.method == "spawn"
    assert info.registered_version == "1" and info.registered_uri == "models:/svc-risk-worker/1"
    a = mlflow_client.get_run(tracked.info.run_id)
    b = mlflow_client.get_run(info.run_id)
    assert b.data.metrics == a.data.metrics and b.data.params == a.data.params
    assert _files(mlflow_client, info.run_id) == _files(mlflow_client, tracked.info.run_id)
    assert mlflow_client.get_experiment(b.info.experiment_id).name == "worker"


def test_run_without_events_says_what_it_left_out(tracked, mlflow_client):
    # a loaded model keeps no validation details, and the history is not read again from
    # its path: without events, two artifacts go
    from errpredict import load_model

    loaded = load_model(tracked.bundle)
    assert loaded.validation_details is None
    info = log_training_run(loaded, bundle_dir=tracked.bundle, events_path=tracked.path,
                            experiment="no-events", uri=tracked.uri)
    assert info.timings == {"writer": "in-process"}
    run = mlflow_client.get_run(info.run_id)
    assert run.data.tags["errpredict.notes"] == (
        "lead times and feature importances left out: no training events given")
    files = _files(mlflow_client, info.run_id)
    assert "plots/pr_curve.png" in files and "plots/lead_times.png" not in files
    assert info.registered_version is None


def test_bundle_must_hold_the_model_logged(tracked, tmp_path):
    with pytest.raises(ModelBundleError, match="not a model bundle"):
        check_bundle(tracked.model, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.joblib").write_bytes(b"x")
    (other / "metadata.json").write_text(json.dumps({"model_sha256": "0" * 64}))
    with pytest.raises(ModelBundleError, match="is not the model given"):
        log_training_run(tracked.model, bundle_dir=other, uri=tracked.uri)


FORKED = r"""
import sys
from errpredict.tracking import log_training_run, warm_up
assert "mlflow" not in sys.modules
uri, bundle, data = sys.argv[1:4]
worker = warm_up("forked", uri=uri)
assert worker.method == "fork"
from errpredict.io import read_events
from errpredict.models import RiskModel
model = RiskModel.load(bundle)
info = log_training_run(model, bundle_dir=bundle, events=read_events(data), events_path=data,
                        experiment="forked", uri=uri)
assert "mlflow" not in sys.modules, "the run was written in this process"
assert info.timings["writer"] == "worker"
print(info.run_id)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the worker forks on Linux")
def test_cli_flow_forks_a_worker_and_never_imports_mlflow(tracked, mlflow_client):
    out = subprocess.run([sys.executable, "-c", FORKED, tracked.uri, str(tracked.bundle),
                          str(tracked.path)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    run = mlflow_client.get_run(out.stdout.strip().splitlines()[-1])
    ref = mlflow_client.get_run(tracked.info.run_id)
    assert run.data.metrics == ref.data.metrics and run.data.params == ref.data.params
    assert _files(mlflow_client, run.info.run_id) == _files(mlflow_client, tracked.info.run_id)


ABANDONED = r"""
import sys, time
from pathlib import Path
from errpredict.tracking import warm_up
db = Path(sys.argv[1])
warm_up("abandoned", uri=f"sqlite:///{db}")
deadline = time.monotonic() + 120
while not db.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
sys.exit(3)  # training failed, say: the worker is in the middle of creating the database
"""


def test_a_command_that_fails_leaves_a_usable_database(tmp_path):
    db = tmp_path / "fresh.db"
    out = subprocess.run([sys.executable, "-c", ABANDONED, str(db)], capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 3, out.stderr[-2000:]
    from mlflow import MlflowClient

    # the worker finished the migrations and the experiment before it stopped
    names = {e.name for e in MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()}
    assert names == {"Default", "abandoned"}
