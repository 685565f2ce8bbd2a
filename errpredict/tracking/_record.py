"""What a run records about a model: flat params, metrics, tags, the dataset, the model card."""

from __future__ import annotations

import getpass
import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from errpredict._version import __version__
from errpredict.tracking._env import git_commit

if TYPE_CHECKING:  # the tracking worker writes runs without loading the models
    from errpredict.models import RiskModel

__all__ = ["pyfunc_spec", "model_params", "flat_metrics", "run_tags", "event_colspec",
           "dataset_record", "model_card", "RUN_ID", "VERSION"]

_MAX_PARAM = 6000  # MLflow's limit on a param value


def _text(v) -> str:
    if isinstance(v, list | tuple):
        return ",".join(_text(x) for x in v)
    return "None" if v is None else str(v)[:_MAX_PARAM]


def _scalar_params(params: dict, prefix: str) -> dict[str, str]:
    out = {}
    for k, v in sorted(params.items()):
        if v is None or isinstance(v, bool | int | float | str | np.integer | np.floating):
            out[f"{prefix}.{k}"] = _text(v)
        elif isinstance(v, list | tuple) and all(isinstance(x, int | float | str) for x in v):
            out[f"{prefix}.{k}"] = _text(v)
    return out


def pyfunc_spec(model: RiskModel) -> dict:
    """What the pyfunc signature needs of a model: entity, metric columns, feature names."""
    fz = model.featurizer
    return {"entity": model.entity, "model_id": model.version,
            "metrics": [str(m) for m in fz.spec_.metrics],
            "features": [str(f) for f in fz.feature_names_out_]}


def model_params(model: RiskModel) -> dict[str, str]:
    """Featurizer, target, classifier and estimator settings as flat ``group.name`` params."""
    params = _scalar_params(model.featurizer.get_params(), "featurizer")
    params.update(_scalar_params(asdict(model.target), "target"))
    params.update(_scalar_params(model.classifier.get_params(), "model"))
    est = getattr(model.classifier, "estimator_", None)
    if est is not None:
        last = est.steps[-1][1] if hasattr(est, "steps") else est
        params["model.estimator"] = type(last).__name__
        params.update(_scalar_params(last.get_params(deep=False), "estimator"))
    params["features.count"] = str(len(model.featurizer.feature_names_out_))
    return params


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return None
    v = float(v)
    return None if math.isinf(v) else v


def flat_metrics(figures: dict, prefix: str = "") -> dict[str, float]:
    """Every numeric figure, and ``baseline_<name>`` for the baseline's; None is skipped."""
    out = {}
    for k, v in figures.items():
        if k == "baseline" and isinstance(v, dict):
            out.update(flat_metrics(v, prefix=f"{prefix}baseline_"))
            continue
        num = _number(v)
        if num is not None:
            out[f"{prefix}{k}"] = num
    return out


def run_tags(model: RiskModel, kind: str) -> dict[str, str]:
    """Package version, git commit of the working directory, the model's id and digest."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    tags = {
        "errpredict.version": __version__,
        "errpredict.kind": kind,
        "errpredict.model_id": model.version,
        "errpredict.entity": model.entity,
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": f"errpredict {kind}",
        "mlflow.user": user,
    }
    sha = model.metadata.get("model_sha256")
    if sha:
        tags["errpredict.model_sha256"] = str(sha)
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["errpredict.git_commit"] = commit
    return tags


_MLFLOW_TYPES = {"b": "boolean", "i": "long", "u": "long", "f": "double", "M": "datetime"}


def event_colspec(events: pd.DataFrame | None, entity: str) -> list[dict]:
    """MLflow column specs of an event table (the columns every history needs without it)."""
    if events is None:
        return [{"type": "datetime", "name": "timestamp", "required": True},
                {"type": "string", "name": entity, "required": True},
                {"type": "boolean", "name": "is_error", "required": True}]
    cols = []
    for name, dtype in events.dtypes.items():
        kind = getattr(dtype, "kind", "O")
        cols.append({"type": _MLFLOW_TYPES.get(kind, "string"), "name": str(name),
                     "required": name in ("timestamp", entity)})
    return cols


def dataset_record(summary: dict, *, source: str | None, fingerprint: str,
                   colspec: list[dict]) -> dict:
    """Fields of the MLflow dataset record of an event history: its source path, row and
    error counts, entities, time range and fingerprint (the history is not copied)."""
    name = (source or "events").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "events"
    profile = {"num_rows": summary.get("rows"), "errors": summary.get("errors"),
               "entities": summary.get("entities"), "start": summary.get("start"),
               "end": summary.get("end"), "fingerprint": fingerprint or None}
    return {"name": name, "digest": (fingerprint or "no-fingerprint")[:16],
            "source_type": "local", "source": json.dumps({"uri": source or "in-memory"}),
            "schema": json.dumps({"mlflow_colspec": colspec}),
            "profile": json.dumps(profile, default=str)}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


_CARD_METRICS = ("pr_auc", "onset_pr_auc", "roc_auc", "precision", "recall", "f1",
                 "recall_at_p90", "lead_time_median_s", "alarms_per_entity_day",
                 "episodes_detected", "episodes")


#: Placeholders in a model card, filled in once the run and the version exist.
RUN_ID, VERSION = "{{run_id}}", "{{version}}"


def model_card(model: RiskModel, *, importances: pd.DataFrame | None = None,
               register: str | None = None) -> str:
    """A short Markdown model card: what it predicts, on what data, how well, caveats.

    The "Use" section names the run's model with the placeholders
    :data:`RUN_ID` and :data:`VERSION`, replaced when the run is written.
    """
    meta = model.metadata
    data, val, tgt = meta.get("data", {}), meta.get("validation", {}), model.target
    base = val.get("baseline", {})
    filt = []
    if tgt.error_types:
        filt.append(f"error types {', '.join(tgt.error_types)}")
    if tgt.min_severity is not None:
        filt.append(f"severity >= {tgt.min_severity}")
    lines = [
        f"# errpredict risk model `{model.version}`",
        "",
        f"Predicts, for every **{model.entity}** every **{model.featurizer.step}**, the "
        f"probability of at least **{tgt.min_errors}** errors"
        f"{' (' + '; '.join(filt) + ')' if filt else ''} in the next **{tgt.horizon}**. "
        f"Alarm threshold: **{model.threshold:.4f}**.",
        "",
        "## Data",
        "",
        f"- source: `{data.get('source') or 'in-memory events'}`",
        f"- {data.get('rows', 0):,} events, {data.get('errors', 0):,} errors, "
        f"{data.get('entities', 0)} entities",
        f"- from {data.get('start')} to {data.get('end')}",
        f"- fingerprint `{str(meta.get('fingerprint', ''))[:16]}`",
        "",
        "## Model",
        "",
        f"- classifier: `{meta.get('model')}`, calibrated on the most recent "
        f"{model.classifier.validation_fraction:.0%} of the training period",
        f"- features: {len(model.featurizer.feature_names_out_)} from windows "
        f"{_fmt(list(model.featurizer.windows))} (steps) looking back only",
        f"- trained in {meta.get('training', {}).get('seconds')} s on "
        f"{meta.get('training', {}).get('cells', 0):,} decision points",
        "",
        "## Validation (last part of the training period, in time order)",
        "",
        "| metric | model | persistence baseline |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {_fmt(val.get(k))} | {_fmt(base.get(k))} |" for k in _CARD_METRICS]
    if importances is not None and len(importances):
        lines += ["", "## Most important features (permutation, drop in PR-AUC)", ""]
        lines += [f"{i + 1}. `{r.feature}` ({r.importance:+.4f})"
                  for i, r in enumerate(importances.head(8).itertuples())]
    lines += [
        "",
        "## Caveats",
        "",
        "- The threshold and the calibration were fitted on the same validation part that "
        "the figures above come from: expect slightly lower figures on new data; check with "
        "`errpredict evaluate` on a later history.",
        "- Lead time is measured from the first alarm during an episode to its first error; "
        "negative values mean the alarm came after the first error.",
        "- The bundle is pickled code: load it only from a registry you trust.",
    ]
    lines += ["", "## Use", "", "```python", "from errpredict.models import load_model",
              f'model = load_model("runs:/{RUN_ID}/model")']
    if register:
        lines += [f'model = load_model("models:/{register}/{VERSION}")', "```", "",
                  f"Promote it with `errpredict models promote {register} {VERSION} --alias "
                  f"champion`, then load `models:/{register}@champion`."]
    else:
        lines += ["```"]
    lines += ["", "Serve it with `mlflow models serve -m runs:/" + RUN_ID +
              "/model --env-manager local`."]
    return "\n".join(lines) + "\n"
