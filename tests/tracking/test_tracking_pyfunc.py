from __future__ import annotations

import importlib.metadata as md
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import yaml

from errpredict.exceptions import SchemaError
from errpredict.models import RiskModel

MLFLOW_CLI = Path(sys.executable).with_name("mlflow")


def _model_dir(tracked) -> Path:
    from mlflow import MlflowClient

    run = MlflowClient(tracking_uri=tracked.uri).get_run(tracked.info.run_id)
    return Path(run.info.artifact_uri.removeprefix("file://")) / "model"


def _recent(tracked, hours: int = 3) -> pd.DataFrame:
    ev = tracked.events
    return ev[ev["timestamp"] >= ev["timestamp"].iloc[-1] - pd.Timedelta(hours=hours)]


def test_pyfunc_scores_events_and_feature_frames_as_the_bundle(tracked):
    model = mlflow.pyfunc.load_model(str(_model_dir(tracked)))
    bundle = RiskModel.load(tracked.bundle)
    events = _recent(tracked)
    want = bundle.predict_risk(events)
    got = model.predict(events)
    assert list(got.columns) == ["entity", "timestamp", "risk"]
    assert np.array_equal(got["risk"].to_numpy(), want["risk"].to_numpy())
    assert got["entity"].tolist() == want["entity"].tolist()
    features = bundle.featurizer.transform(events)
    by_features = model.predict(features)
    assert np.array_equal(by_features["risk"].to_numpy(), want["risk"].to_numpy())
    assert by_features["entity"].tolist() == want["entity"].tolist()
    with pytest.raises(SchemaError, match=r"columns \['timestamp'\] are missing"):
        model.predict(events[["service", "is_error"]])


def test_pyfunc_signature_requirements_and_code(tracked):
    mdir = _model_dir(tracked)
    spec = yaml.safe_load((mdir / "MLmodel").read_text())
    inputs = {c["name"]: c for c in json.loads(spec["signature"]["inputs"])}
    outputs = [c["name"] for c in json.loads(spec["signature"]["outputs"])]
    assert outputs == ["entity", "timestamp", "risk"]
    assert inputs["timestamp"]["type"] == "any" and inputs["service"]["type"] == "string"
    assert inputs["is_error"]["type"] == "boolean" and inputs["severity"]["type"] == "long"
    names = [str(f) for f in tracked.model.featurizer.feature_names_out_]
    assert all(inputs[n]["type"] == "double" for n in names)
    assert not any(c["required"] for c in inputs.values())
    pyfunc = spec["flavors"]["python_function"]
    assert pyfunc["artifacts"]["bundle"]["path"] == "artifacts/bundle"
    assert pyfunc["code"] == "code"
    assert (mdir / "code" / "errpredict" / "models" / "_bundle.py").is_file()
    reqs = (mdir / "requirements.txt").read_text().split()
    for pkg in ("scikit-learn", "pandas", "numpy", "mlflow", "joblib", "cloudpickle"):
        assert f"{pkg}=={md.version(pkg)}" in reqs
    assert spec["metadata"]["errpredict_model_id"] == tracked.model.version


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.skipif(not MLFLOW_CLI.exists(), reason="no mlflow command in this environment")
def test_mlflow_models_serve_answers_with_the_bundles_risk(tracked, tmp_path):
    port = _free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracked.uri, MLFLOW_DISABLE_TELEMETRY="true",
               DO_NOT_TRACK="true", PATH=f"{MLFLOW_CLI.parent}{os.pathsep}"
               f"{os.environ.get('PATH', '')}")
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read back on failure
    proc = subprocess.Popen(
        [str(MLFLOW_CLI), "models", "serve", "-m", tracked.info.model_uri,
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"mlflow models serve did not come up:\n{log.read()[-3000:]}")
            time.sleep(0.5)
        events = _recent(tracked, hours=2)
        frame = events.copy()
        frame["timestamp"] = frame["timestamp"].map(lambda t: t.isoformat())
        rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
        out = _post(f"{base}/invocations",
                    {"dataframe_split": {"columns": list(frame.columns), "data": rows}})
        got = pd.DataFrame(out["predictions"])
        want = RiskModel.load(tracked.bundle).predict_risk(events)
        assert len(got) == len(want) > 0
        assert np.array_equal(got["risk"].to_numpy(dtype=float), want["risk"].to_numpy())
        assert got["entity"].tolist() == want["entity"].tolist()
        assert (pd.to_datetime(got["timestamp"], utc=True) == want["timestamp"]).all()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the uvicorn it started
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
