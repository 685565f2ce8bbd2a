"""The errpredict bundle as an MLflow pyfunc model: signature, requirements and packaging.

The pyfunc model carries the bundle directory as an artifact and the
errpredict package as code, so that ``mlflow models serve -m <uri>
--env-manager local`` serves it; its ``predict`` takes canonical events (or a
feature frame) and returns ``entity, timestamp, risk``.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import logging
import os
import re
import sys
import warnings
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

from errpredict.exceptions import SchemaError
from errpredict.tracking._env import BUNDLE_ARTIFACT

__all__ = ["RiskPythonModel", "pyfunc_signature", "pip_requirements", "save_pyfunc", "prime",
           "BUNDLE_ARTIFACT"]

_STRING = ("service", "operation", "error_type", "host", "message", "trace_id")


class _Quiet(logging.Filter):
    """Drops MLflow's notice that a Python object is pickled: the class is pickled by
    reference (its code ships in the model's ``code`` directory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "causes it to be serialized using CloudPickle" not in record.getMessage()


logging.getLogger("mlflow.pyfunc").addFilter(_Quiet())


class RiskPythonModel(mlflow.pyfunc.PythonModel):
    """An errpredict bundle behind the MLflow pyfunc interface.

    ``predict`` takes canonical events (at least ``timestamp``, ``service``
    and the entity column; ``is_error``, ``error_type``, ``severity``,
    ``duration_ms`` and the metric columns the model knows when present) and
    returns the risk of every entity at every grid step of the events, as
    :meth:`RiskModel.predict_risk` does. A frame holding every feature column
    of the model (``featurizer.feature_names_out_``) is scored row by row
    instead; its ``timestamp``/``entity`` index levels or columns are passed
    through.
    """

    def load_context(self, context) -> None:
        from errpredict.models import RiskModel

        self.model_ = RiskModel.load(context.artifacts[BUNDLE_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        model = self.model_
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        names = [str(f) for f in model.featurizer.feature_names_out_]
        if names and all(n in model_input.columns for n in names):
            return _score_features(model, model_input, names)
        missing = [c for c in ("timestamp", model.entity) if c not in model_input.columns]
        if missing:
            raise SchemaError(
                f"pyfunc model input: columns {missing} are missing; expected canonical events "
                f"(timestamp, {model.entity}, is_error, ...) or a feature frame with the "
                f"model's {len(names)} feature columns. Got columns "
                f"{list(model_input.columns)[:12]}"
            )
        return model.predict_risk(_events(model, model_input))


def _events(model, frame: pd.DataFrame) -> pd.DataFrame:
    """Events as they come from JSON or pandas, with numeric columns made numeric."""
    frame = frame.copy()
    numeric = ["duration_ms", *model.featurizer.spec_.metrics]
    for col in numeric:
        if col in frame and frame[col].dtype == object:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    if "severity" in frame and frame["severity"].dtype == object:
        frame["severity"] = pd.to_numeric(frame["severity"], errors="coerce").fillna(0)
    if "is_error" in frame and frame["is_error"].dtype == object:
        frame["is_error"] = frame["is_error"].astype("boolean").fillna(False).astype(bool)
    return frame


def _score_features(model, frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    X = frame[names].to_numpy(dtype=np.float64, na_value=np.nan)
    risk = model.classifier.predict_risk_array(X)

    def key(*cols):
        for c in cols:
            if c in frame.columns:
                return frame[c].to_numpy()
            if c in (frame.index.names or []):
                return frame.index.get_level_values(c).to_numpy()
        return np.full(len(frame), None, dtype=object)

    ts = pd.to_datetime(pd.Series(key("timestamp")), utc=True, errors="coerce")
    return pd.DataFrame({"entity": pd.Series(key("entity", model.entity)).astype(str).to_numpy(),
                         "timestamp": ts.to_numpy(), "risk": risk})


def pyfunc_signature(spec: dict) -> ModelSignature:
    """Input: event columns and feature columns, all optional (``predict`` checks which
    set came); output: ``entity``, ``timestamp``, ``risk``. ``spec`` is
    :func:`~errpredict.tracking._record.pyfunc_spec` of the model."""
    cols = [ColSpec(AnyType(), "timestamp", required=False)]
    strings = list(_STRING) + [c for c in (spec["entity"], "entity") if c not in _STRING]
    cols += [ColSpec("string", c, required=False) for c in strings]
    cols += [ColSpec("boolean", "is_error", required=False),
             ColSpec("long", "severity", required=False),
             ColSpec("double", "duration_ms", required=False)]
    taken = {c.name for c in cols}
    for name in dict.fromkeys([*spec["metrics"], *spec["features"]]):
        if name not in taken:
            cols.append(ColSpec("double", name, required=False))
    out = Schema([ColSpec("string", "entity"), ColSpec("datetime", "timestamp"),
                  ColSpec("double", "risk")])
    return ModelSignature(inputs=Schema(cols), outputs=out)


@functools.cache
def pip_requirements() -> tuple[str, ...]:
    """errpredict's own requirements, pinned to the installed versions (no inference)."""
    reqs: dict[str, str] = {}
    try:
        declared = md.requires("errpredict") or []
    except md.PackageNotFoundError:  # running from a source tree that is not installed
        declared = ["numpy", "pandas", "pyarrow", "scikit-learn", "joblib", "mlflow"]
    for line in declared:
        if ";" in line and "extra" in line.split(";", 1)[1]:
            continue
        name = re.split(r"[\s\[<>=!~;(]", line.strip(), maxsplit=1)[0]
        try:
            reqs[name.lower()] = f"{name}=={md.version(name)}"
        except md.PackageNotFoundError:
            reqs[name.lower()] = line.split(";", 1)[0].strip()
    for name in ("cloudpickle", "scipy"):
        try:
            reqs.setdefault(name, f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            pass
    return tuple(sorted(reqs.values(), key=str.lower))


def package_dir() -> Path:
    """The directory of the errpredict package imported here (shipped as the model's code)."""
    import errpredict

    return Path(errpredict.__file__).resolve().parent


def save_pyfunc(spec: dict, bundle_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write the pyfunc model directory ``path`` around the bundle ``bundle_dir``."""
    with warnings.catch_warnings():
        # a signature without an input example, on purpose: saving one runs the model
        warnings.filterwarnings("ignore", message=".*An input example was not provided",
                                category=UserWarning)
        mlflow.pyfunc.save_model(
            path=str(path),
            python_model=RiskPythonModel(),
            artifacts={BUNDLE_ARTIFACT: str(Path(bundle_dir).resolve())},
            code_paths=[str(package_dir())],
            signature=pyfunc_signature(spec),
            pip_requirements=list(pip_requirements()),
            metadata={"errpredict_model_id": spec["model_id"],
                      "python": ".".join(map(str, sys.version_info[:3]))},
        )
    return Path(path)


def prime() -> None:
    """Save a throw-away pyfunc model once: the first save loads a good deal of MLflow."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="errpredict-prime-") as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "metadata.json").write_text("{}")
        save_pyfunc({"entity": "service", "model_id": "prime", "metrics": [],
                     "features": ["x"]}, bundle, Path(tmp) / "model")
