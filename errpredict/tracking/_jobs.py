"""What a run will record, computed from the model and the events (no MLflow here).

A training run is described in two parts: the first (settings, figures, tags,
dataset, validation scores, what the pyfunc signature needs, and the lead times
when the model kept them from training) is ready as soon as the bundle is saved;
the second (permutation importances of the validation part, the lead times of a
loaded model, and the model card) needs a few tenths of a second. A tracking
worker starts writing the first part while the second is computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from errpredict.exceptions import ModelBundleError
from errpredict.models import RiskModel
from errpredict.tracking._record import (
    dataset_record,
    event_colspec,
    flat_metrics,
    model_card,
    model_params,
    pyfunc_spec,
    run_tags,
)

__all__ = ["check_bundle", "training_job", "training_late", "evaluation_job"]


def check_bundle(model: RiskModel, bundle_dir) -> Path:
    """The bundle directory of ``model``, checked to hold that very model."""
    path = Path(bundle_dir)
    meta_path = path / "metadata.json"
    if not meta_path.is_file() or not (path / "model.joblib").is_file():
        raise ModelBundleError(f"{path}: not a model bundle (metadata.json and model.joblib "
                               "expected); save the model first with model.save(DIR)")
    saved = json.loads(meta_path.read_text()).get("model_sha256")
    if not saved or saved != model.metadata.get("model_sha256"):
        raise ModelBundleError(f"{path}: this bundle is not the model given (its SHA-256 "
                               f"{str(saved)[:12]} differs from the model's "
                               f"{str(model.metadata.get('model_sha256'))[:12]}); pass the "
                               "directory the model was saved to")
    return path.resolve()


def training_job(model: RiskModel, bundle: Path, tmp: Path, *, experiment: str,
                 register: str | None, run_name: str | None, source: str | None,
                 events: pd.DataFrame | None) -> dict:
    """First part of a training run: everything but what needs the events."""
    meta = model.metadata
    metrics = flat_metrics(meta.get("validation", {}))
    for k, v in meta.get("training", {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            metrics[f"training_{k}"] = float(v)
    y, p = model.classifier.validation_scores_
    curves = tmp / "validation_scores.npz"
    np.savez(curves, y=np.asarray(y), p=np.asarray(p, dtype=np.float64))
    base = meta.get("validation", {}).get("baseline", {})
    details = model.validation_details
    return {
        "kind": "train",
        "experiment": experiment,
        "run_name": run_name or f"{meta.get('model', 'model')}-{model.version}",
        "register": register,
        "bundle_dir": str(bundle),
        "tmp": str(tmp),
        "params": model_params(model),
        "metrics": metrics,
        "tags": run_tags(model, "train"),
        "dataset": dataset_record(meta.get("data", {}), source=source,
                                  fingerprint=str(meta.get("fingerprint", "")),
                                  colspec=event_colspec(events, model.entity)),
        "context": "training",
        "pyfunc": pyfunc_spec(model),
        "curves": str(curves),
        "threshold": model.threshold,
        "baseline": {"precision": base.get("precision"), "recall": base.get("recall")},
        "model_id": model.version,
        "model_sha256": str(meta.get("model_sha256", "")),
        # a model fresh from train() knows its lead times: the worker draws them early
        "lead_times": None if details is None else _lead_times(details.scores),
    }


def _lead_times(scores: dict) -> dict:
    return {"model": scores["lead_times_s"], "baseline": scores["baseline"]["lead_times_s"],
            "episodes": int(scores["episodes"])}


def training_late(model: RiskModel, events: pd.DataFrame | None, tmp: Path, *,
                  importance_rows: int, register: str | None) -> dict:
    """Second part: importances of the validation part (and its lead times, for a model
    that did not keep them from training), and the card."""
    from threadpoolctl import threadpool_limits

    from errpredict.tracking._validation import (
        importance_rows as budget_rows,
    )
    from errpredict.tracking._validation import (
        permutation_importance,
        sample_features,
        validation_view,
    )

    notes: list[str] = []
    lead, importances, csv = None, None, None
    details = model.validation_details  # a model trained in this process kept them
    view = validation_view(model, events) if details is None and events is not None else None
    if details is None and view is None:
        why = "no training events given" if events is None else \
            "the events given are not the training events"
        notes.append(f"lead times and feature importances left out: {why}")
    else:
        if details is None:  # else the first part carried them
            lead = _lead_times(view.scores)
        # one thread: many small scoring calls, where OpenMP's start-up would dominate
        with threadpool_limits(limits=1, user_api="openmp"):
            n = budget_rows(model, importance_rows)
            if details is not None:
                X, y, _ = details.sample(n)
            else:
                X, y, _ = sample_features(model, events, view, n)
            if len(np.unique(y)) == 2:
                importances = permutation_importance(model, X, y)
        if importances is None:
            notes.append("feature importances left out: one class only in the sample")
        else:
            csv = tmp / "feature_importance.csv"
            importances.to_csv(csv, index=False)
    return {"lead_times": lead, "importances_csv": None if csv is None else str(csv),
            "card": model_card(model, importances=importances, register=register),
            "notes": notes}


def evaluation_job(model: RiskModel, metrics: dict, tmp: Path, *, experiment: str,
                   events: pd.DataFrame | None, events_path: str | None,
                   model_ref: str | None, run_name: str | None) -> dict:
    """An evaluation run: the model's settings, every figure, the dataset, metrics.json."""
    params = model_params(model)
    if model_ref:
        params["model.ref"] = str(model_ref)
    summary, fp = {}, ""
    if events is not None:
        from errpredict.features._grid import ensure_canonical
        from errpredict.models._train import fingerprint

        events = ensure_canonical(events, what="evaluation events")
        ts = events["timestamp"]
        summary = {"rows": int(len(events)), "errors": int(events["is_error"].sum()),
                   "start": ts.iloc[0].isoformat(), "end": ts.iloc[-1].isoformat()}
        if model.entity in events:
            summary["entities"] = int(events[model.entity].nunique())
            fp = fingerprint(events, model.entity)
    path = tmp / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, default=str))
    return {
        "kind": "evaluate",
        "experiment": experiment,
        "run_name": run_name or f"evaluate-{model.version}",
        "params": params,
        "metrics": flat_metrics(metrics),
        "tags": run_tags(model, "evaluate"),
        "dataset": dataset_record(summary, source=events_path, fingerprint=fp,
                                  colspec=event_colspec(events, model.entity)),
        "context": "evaluation",
        "files": [str(path)],
    }
