"""Writing a described run into MLflow: the run, its record, plots, pyfunc model, version.

Runs in the process that logs, or in the tracking worker; it takes the plain
descriptions of :mod:`errpredict.tracking._jobs` and never the events.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.tracking._env import BUNDLE_ARTIFACT, MODEL_ARTIFACT, import_mlflow
from errpredict.tracking._record import RUN_ID, VERSION
from errpredict.tracking._store import client, experiment_id

__all__ = ["write_training", "write_evaluation"]


def _log_record(c, run_id: str, job: dict) -> None:
    """Metrics (all in the first call) and params by batches of 100; the dataset."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param

    now = int(time.time() * 1000)
    m = [Metric(k, float(v), now, 0) for k, v in job["metrics"].items()]
    p = [Param(k, str(v)) for k, v in job["params"].items()]
    for i in range(0, max(len(p), 1), 100):
        c.log_batch(run_id, metrics=m if i == 0 else [], params=p[i:i + 100])
    ds = Dataset(**job["dataset"])
    c.log_inputs(run_id, datasets=[DatasetInput(ds, tags=[
        InputTag("mlflow.data.context", job["context"])])])


def _start(uri: str, job: dict):
    c = client(uri)
    eid = experiment_id(uri, job["experiment"])
    # tags at creation: the run's user comes from mlflow.user there
    tags = {**job["tags"], "mlflow.runName": job["run_name"]}
    run = c.create_run(eid, run_name=job["run_name"], tags=tags)
    return c, eid, run


def _register(c, name: str, source: str, run_id: str, job: dict) -> str:
    mlflow = import_mlflow()
    try:
        c.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        try:
            c.create_registered_model(
                name, description="errpredict risk model (pyfunc wrapping the bundle)")
        except mlflow.exceptions.MlflowException as exc:
            if "already exists" not in str(exc).lower():
                raise ConfigError(f"--register {name!r}: the registry refused the name "
                                  f"({exc.message}); use letters, digits, '-', '_' or '.'"
                                  ) from None
    mv = c.create_model_version(name, source, run_id=run_id, tags={
        "errpredict.model_id": job["model_id"], "errpredict.model_sha256": job["model_sha256"]},
        await_creation_for=0)
    return str(mv.version)


def _plots_early(job: dict, arts: Path) -> None:
    from errpredict.tracking import _plots as P

    (arts / "plots").mkdir(parents=True, exist_ok=True)
    with np.load(job["curves"]) as z:
        y, p = z["y"], z["p"]
    P.pr_curve_png(y, p, job["threshold"], job["baseline"], arts / "plots" / "pr_curve.png")
    P.calibration_png(y, p, arts / "plots" / "calibration.png")
    if job.get("lead_times") is not None:  # known at training time: drawn now, not late
        _lead_times(job["lead_times"], arts)


def _lead_times(lead: dict, arts: Path) -> None:
    from errpredict.tracking import _plots as P

    P.lead_times_png(lead["model"], lead["baseline"], lead["episodes"],
                     arts / "plots" / "lead_times.png")
    pd.DataFrame({"who": ["model"] * len(lead["model"]) + ["baseline"] * len(
        lead["baseline"]), "lead_time_s": list(lead["model"]) + list(lead["baseline"])}
    ).to_csv(arts / "lead_times.csv", index=False)


def _plots_late(late: dict, arts: Path) -> None:
    from errpredict.tracking import _plots as P

    if late.get("lead_times") is not None:
        _lead_times(late["lead_times"], arts)
    if late.get("importances_csv"):
        imp = pd.read_csv(late["importances_csv"])
        shutil.copyfile(late["importances_csv"], arts / "feature_importance.csv")
        P.importance_png(imp, arts / "plots" / "feature_importance.png")


def _pyfunc(job: dict, tmp: Path) -> Path:
    from errpredict.tracking._pyfunc import save_pyfunc

    staged = tmp / BUNDLE_ARTIFACT
    shutil.copytree(job["bundle_dir"], staged, ignore=shutil.ignore_patterns("*.tmp"))
    return save_pyfunc(job["pyfunc"], staged, tmp / MODEL_ARTIFACT)


def write_training(uri: str, job: dict, get_late: Callable[[], dict]) -> dict:
    """Create and fill a training run from its two parts; ``get_late`` gives the second."""
    c, eid, run = _start(uri, job)
    run_id = run.info.run_id
    try:
        _log_record(c, run_id, job)
        tmp = Path(job["tmp"])
        arts = tmp / "artifacts"
        arts.mkdir(exist_ok=True)
        shutil.copyfile(Path(job["bundle_dir"]) / "metadata.json", arts / "metadata.json")
        _plots_early(job, arts)
        model_dir = _pyfunc(job, tmp / "pyfunc")
        late = get_late()
        _plots_late(late, arts)
        if late.get("notes"):
            c.set_tag(run_id, "errpredict.notes", "; ".join(late["notes"]))
        c.log_artifacts(run_id, str(arts))
        c.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT)
        version = None
        if job.get("register"):
            version = _register(c, job["register"],
                                f"{run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT}",
                                run_id, job)
        card = tmp / "model_card.md"
        card.write_text(late["card"].replace(RUN_ID, run_id).replace(VERSION, str(version)))
        c.log_artifact(run_id, str(card))
    except BaseException:
        c.set_terminated(run_id, "FAILED")
        raise
    c.set_terminated(run_id, "FINISHED")
    return {"run_id": run_id, "experiment_id": eid,
            "model_uri": f"runs:/{run_id}/{MODEL_ARTIFACT}",
            "registered_name": job.get("register"), "registered_version": version}


def write_evaluation(uri: str, job: dict) -> dict:
    """Create and fill an evaluation run."""
    c, eid, run = _start(uri, job)
    run_id = run.info.run_id
    try:
        _log_record(c, run_id, job)
        for f in job.get("files", []):
            c.log_artifact(run_id, f)
    except BaseException:
        c.set_terminated(run_id, "FAILED")
        raise
    c.set_terminated(run_id, "FINISHED")
    return {"run_id": run_id, "experiment_id": eid, "model_uri": None,
            "registered_name": None, "registered_version": None}


def dumps(obj) -> str:
    """One JSON line (NaN allowed, as Python's json reads it back)."""
    return json.dumps(obj, default=str)
