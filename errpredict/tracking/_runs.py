"""Training and evaluation runs in MLflow, written in-process or by a warm tracking worker."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from errpredict import exceptions
from errpredict.exceptions import ConfigError
from errpredict.models import RiskModel
from errpredict.tracking._env import tracking_uri
from errpredict.tracking._jobs import check_bundle, evaluation_job, training_job, training_late
from errpredict.tracking._worker import WorkerError, take_worker

__all__ = ["RunInfo", "log_training_run", "log_evaluation_run"]


@dataclass(frozen=True)
class RunInfo:
    """Where a run went: its ids, the URI of its model and the registered version.

    ``seconds`` is how long logging took; ``timings`` says who wrote the run
    (``"worker"`` or ``"in-process"``) and, for a worker, how long this
    process waited for it to be ready (``worker_wait_s``).

    Examples
    --------
    >>> info = RunInfo("3f2a", "1", "sqlite:///mlflow.db", "runs:/3f2a/model", "svc-risk", "2")
    >>> info.registered_uri
    'models:/svc-risk/2'
    >>> info.to_dict()["registered_uri"]
    'models:/svc-risk/2'
    """

    run_id: str
    experiment_id: str
    tracking_uri: str
    model_uri: str | None = None
    registered_name: str | None = None
    registered_version: str | None = None
    seconds: float | None = None
    timings: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def registered_uri(self) -> str | None:
        """``models:/NAME/VERSION`` of the registered version, if any."""
        if self.registered_version is None:
            return None
        return f"models:/{self.registered_name}/{self.registered_version}"

    def to_dict(self) -> dict:
        """The fields (and ``registered_uri``) as a JSON-ready dict."""
        out = {f: getattr(self, f) for f in ("run_id", "experiment_id", "tracking_uri",
                                             "model_uri", "registered_name",
                                             "registered_version", "seconds")}
        out["registered_uri"] = self.registered_uri
        return out


def _reraise(exc: WorkerError, uri: str):
    cls = getattr(exceptions, exc.kind, None)
    if isinstance(cls, type) and issubclass(cls, exceptions.ErrpredictError):
        raise cls(str(exc)) from None
    raise ConfigError(f"MLflow tracking at {uri} failed ({exc.kind}: {exc}); fix the tracking "
                      "URI (MLFLOW_TRACKING_URI) or turn tracking off (--no-tracking)") from None


def _run(uri: str, job: dict, late=None) -> dict:
    """Write ``job`` with the warm worker when there is one, else in this process."""
    worker = take_worker(uri, job["experiment"])
    if worker is not None:
        try:
            sent = time.time()
            worker.send(job)
            if late is not None:
                part = late()
                computed = time.time()
                worker.send({"late": part})
            res = worker.result()
            w = res.pop("worker", {})
            res["timings"] = {"worker_wait_s": max(0.0, w.get("ready", sent) - sent),
                              "worker_idle_for_late_s": max(0.0, w.get("got_late", 0.0)
                                                            - w.get("waited_late", 0.0)),
                              "late_part_s": computed - sent if late is not None else 0.0,
                              "writer": "worker"}
            return res
        except WorkerError as exc:
            if exc.stage != "startup":
                _reraise(exc, uri)
            # the worker could not start (nothing was written): write the run here
    from errpredict.tracking._writer import write_evaluation, write_training

    res = write_training(uri, job, late) if job["kind"] == "train" else \
        write_evaluation(uri, job)
    res["timings"] = {"writer": "in-process"}
    return res


def log_training_run(
    model: RiskModel,
    *,
    bundle_dir: str | os.PathLike,
    experiment: str = "errpredict",
    register: str | None = None,
    events: pd.DataFrame | None = None,
    events_path: str | os.PathLike | None = None,
    run_name: str | None = None,
    importance_rows: int = 1000,
    uri: str | None = None,
) -> RunInfo:
    """Log a trained model as an MLflow run, and optionally register it.

    The run holds the featurizer, target and model settings (params), every
    validation figure and the persistence baseline's (``baseline_<name>``),
    a dataset record of the training history, tags (errpredict version, git
    commit, model id and digest), the PR curve, calibration curve, lead-time
    histogram and permutation importances (PNG and CSV), ``metadata.json``,
    ``model_card.md``, and the model as a pyfunc model (``model/``) that wraps
    the bundle directory. Call :func:`warm_up` before training to have a
    worker process import MLflow meanwhile.

    Parameters
    ----------
    model
        The trained model, already saved to ``bundle_dir``.
    bundle_dir
        The bundle directory written by ``model.save``.
    experiment
        MLflow experiment name (created when missing).
    register
        When given, a new version of this registered model is created.
    events
        The training events (for the dataset record). The lead times of the
        validation part and a sample of its features (for permutation
        importance) come from what a model fresh from :func:`~errpredict.train`
        keeps in memory; for a loaded model they are rebuilt from these events
        without refitting. Without either, those two artifacts are left out
        (the run's ``errpredict.notes`` tag says so).
    events_path
        The source named by the dataset record (default: the model's
        ``metadata["data"]["source"]``).
    run_name
        Default: ``<model kind>-<model id>``.
    importance_rows
        At most this many validation cells are sampled for permutation
        importance (fewer for large models, to keep it to a few tenths of a second).
    uri
        Tracking URI (default :func:`tracking_uri`).

    Returns
    -------
    RunInfo
    """
    t0 = time.perf_counter()
    bundle = check_bundle(model, bundle_dir)
    uri = uri or tracking_uri()
    source = str(events_path or model.metadata.get("data", {}).get("source") or "") or None
    with tempfile.TemporaryDirectory(prefix="errpredict-run-") as tmp:
        tmp = Path(tmp)
        job = training_job(model, bundle, tmp, experiment=experiment, register=register,
                           run_name=run_name, source=source, events=events)

        def late() -> dict:
            return training_late(model, events, tmp, importance_rows=importance_rows,
                                 register=register)

        res = _run(uri, job, late)
    return RunInfo(res["run_id"], res["experiment_id"], uri, res["model_uri"],
                   res["registered_name"], res["registered_version"],
                   round(time.perf_counter() - t0, 3), res["timings"])


def log_evaluation_run(
    model: RiskModel,
    metrics: dict,
    *,
    events_path: str | os.PathLike | None = None,
    events: pd.DataFrame | None = None,
    experiment: str = "errpredict",
    model_ref: str | None = None,
    run_name: str | None = None,
    uri: str | None = None,
) -> RunInfo:
    """Log an evaluation (``metrics = model.evaluate(events)``) as an MLflow run.

    Params describe the model (and ``model.ref``, the path or URI it was
    loaded from); metrics are every figure and the baseline's
    (``baseline_<name>``); the dataset record names ``events_path`` (with row
    count, time range and fingerprint when ``events`` are given);
    ``metrics.json`` holds the figures as they came.
    """
    t0 = time.perf_counter()
    uri = uri or tracking_uri()
    with tempfile.TemporaryDirectory(prefix="errpredict-eval-") as tmp:
        job = evaluation_job(model, metrics, Path(tmp), experiment=experiment, events=events,
                             events_path=str(events_path) if events_path else None,
                             model_ref=model_ref, run_name=run_name)
        res = _run(uri, job)
    return RunInfo(res["run_id"], res["experiment_id"], uri, None, None, None,
                   round(time.perf_counter() - t0, 3), res["timings"])
