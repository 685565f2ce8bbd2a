"""The model bundle: featurizer, calibrated classifier, threshold and metadata on disk.

A bundle is a directory holding ``model.joblib`` and ``metadata.json``; the
metadata carries the SHA-256 of ``model.joblib``, checked before loading.
Loading a bundle runs pickled code: load only bundles you trust, as with any
pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from errpredict._version import __version__
from errpredict.exceptions import ModelBundleError
from errpredict.features import ErrorHistoryFeaturizer, Target
from errpredict.features._grid import ensure_canonical
from errpredict.models._classifier import RiskClassifier
from errpredict.models._details import ValidationDetails
from errpredict.models._evaluate import grid_truth, score_with_baseline

__all__ = ["RiskModel", "load_model", "BUNDLE_FORMAT", "package_versions"]

BUNDLE_FORMAT = 1
MODEL_FILE, META_FILE, RECOVERY_FILE = "model.joblib", "metadata.json", "recovery.json"


def package_versions() -> dict[str, str]:
    import river
    import sklearn

    return {"errpredict": __version__, "python": platform.python_version(),
            "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "river": river.__version__, "joblib": joblib.__version__}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class RiskModel:
    """A trained risk model: features, calibrated classifier, alarm threshold, target.

    Use :func:`errpredict.train` to make one and :func:`load_model` to read one.
    ``predict_risk(events)`` scores every entity at every grid step of the
    events; ``evaluate(events)`` gives the figures beside the persistence
    baseline.
    """

    def __init__(self, featurizer: ErrorHistoryFeaturizer, classifier: RiskClassifier,
                 target: Target, metadata: dict | None = None, extras: dict | None = None):
        self.featurizer = featurizer
        self.classifier = classifier
        self.target = target
        self.metadata = dict(metadata or {})
        self.extras = dict(extras or {})
        #: set by :func:`~errpredict.train` (figures with lead times, and a sample of
        #: validation features); in memory only, None for a loaded bundle
        self.validation_details: ValidationDetails | None = None

    @property
    def threshold(self) -> float:
        return float(self.classifier.threshold_)

    @property
    def entity(self) -> str:
        return self.featurizer.entity

    def recommender(self, feedback=None):
        """The :class:`~errpredict.recovery.Recommender` fitted with this model's history.

        ``feedback`` (a :class:`~errpredict.feedback.FeedbackProcessor`) makes the
        policy learn durably from outcomes, and resume from those already stored.
        """
        from errpredict.recovery import Recommender

        state = self.extras.get("recovery")
        if state is None:
            raise ModelBundleError(
                "this model holds no recovery statistics; retrain it with "
                "errpredict train (recovery statistics are fitted for --entity service)"
            )
        return Recommender.from_dict(state["state"], feedback=feedback)

    @property
    def version(self) -> str:
        """Short id of this model (from the bundle's digest, or the training fingerprint)."""
        return str(self.metadata.get("model_id") or self.metadata.get("fingerprint", "")[:12])

    def score_grid(self, events: pd.DataFrame):
        """``(grid, risk)`` for every cell of the grid of ``events``, time-major."""
        events = ensure_canonical(events, what="events")
        grid, X = self.featurizer.transform_arrays(events)
        return grid, self.classifier.predict_risk_array(X)

    def predict_risk(self, events: pd.DataFrame, at=None) -> pd.DataFrame:
        """Risk per entity at every grid step of ``events`` (or at one time ``at``).

        Returns a DataFrame ``entity, timestamp, risk``: ``timestamp`` is the
        decision time ``t`` on the grid, and the risk uses events up to ``t``
        only. With ``at``, the decision time is the grid step at or before it.
        """
        events = ensure_canonical(events, what="events")
        if at is not None:
            at = pd.Timestamp(at)
            at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
            step = self.featurizer.spec_.step_ns
            cut = pd.Timestamp((at.value // step) * step, unit="ns", tz="UTC")
            events = events[events["timestamp"] <= cut]
            if events.empty:
                return pd.DataFrame({"entity": pd.Series([], dtype="str"),
                                     "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                                     "risk": pd.Series([], dtype="float64")})
        grid, risk = self.score_grid(events)
        n_e = len(grid.entities)
        out = pd.DataFrame({
            "entity": np.tile(grid.entities, grid.n_buckets).astype(str),
            "timestamp": pd.to_datetime(np.repeat(grid.times_ns, n_e), unit="ns", utc=True),
            "risk": risk,
        })
        if at is not None:
            out = out[out["timestamp"] == cut].reset_index(drop=True)
        return out

    def evaluate(self, events: pd.DataFrame) -> dict:
        """Every evaluation figure of this model on ``events``, and ``baseline``'s."""
        events = ensure_canonical(events, what="events")
        grid, risk = self.score_grid(events)
        truth = grid_truth(events, grid, self.target)
        return score_with_baseline(truth, risk, self.threshold, self.target, grid.step_ns)

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the bundle directory (``model.joblib`` + ``metadata.json``)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model_path = path / MODEL_FILE
        tmp = path / (MODEL_FILE + ".tmp")
        joblib.dump({"featurizer": self.featurizer, "classifier": self.classifier,
                     "target": self.target, "extras": self.extras}, tmp, compress=3)
        digest = _sha256(tmp)
        os.replace(tmp, model_path)
        meta = dict(self.metadata)
        meta.update({
            "bundle_format": BUNDLE_FORMAT,
            "model_sha256": digest,
            "model_id": digest[:12],
            "threshold": self.threshold,
            "entity": self.entity,
            "step": self.featurizer.step,
            "target": asdict(self.target),
            "feature_names": [str(f) for f in self.featurizer.feature_names_out_],
        })
        meta.setdefault("versions", package_versions())
        if "recovery" in self.extras:  # readable beside the pickle, and JSON only
            (path / RECOVERY_FILE).write_text(json.dumps(self.extras["recovery"]["state"]))
        tmp_meta = path / (META_FILE + ".tmp")
        tmp_meta.write_text(json.dumps(meta, indent=2, default=str))
        os.replace(tmp_meta, path / META_FILE)
        self.metadata = meta
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> RiskModel:
        """Read a bundle directory, checking its digest and format first.

        A link (``champion -> versions/<id>``) is resolved once, so that metadata
        and model come from the same version while the link is switched.
        """
        path = Path(path)
        if path.exists():
            path = path.resolve()
        if not path.exists():
            raise ModelBundleError(f"{path}: no such model bundle; train one with "
                                   "`errpredict train --out DIR` or check --model")
        if not path.is_dir():
            raise ModelBundleError(f"{path}: a model bundle is a directory holding "
                                   f"{MODEL_FILE} and {META_FILE}")
        meta_path, model_path = path / META_FILE, path / MODEL_FILE
        for p in (meta_path, model_path):
            if not p.exists():
                raise ModelBundleError(f"{path}: incomplete model bundle, {p.name} is missing; "
                                       "retrain or copy the whole directory")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelBundleError(f"{meta_path}: corrupt metadata ({exc})") from None
        fmt = meta.get("bundle_format")
        if fmt != BUNDLE_FORMAT:
            raise ModelBundleError(
                f"{path}: bundle format {fmt!r} is not supported by errpredict {__version__} "
                f"(expects {BUNDLE_FORMAT}); retrain the model with this version"
            )
        digest = _sha256(model_path)
        if digest != meta.get("model_sha256"):
            raise ModelBundleError(
                f"{model_path}: SHA-256 {digest[:12]}... does not match metadata.json "
                f"({str(meta.get('model_sha256'))[:12]}...); the bundle is corrupt or was "
                "modified: retrain or restore it"
            )
        try:
            blob = joblib.load(model_path)
        except Exception as exc:  # unpickling can fail in many ways across versions
            saved = meta.get("versions", {})
            raise ModelBundleError(
                f"{model_path}: cannot be loaded ({type(exc).__name__}: {exc}); it was saved "
                f"with scikit-learn {saved.get('scikit-learn')} and errpredict "
                f"{saved.get('errpredict')}: retrain with the installed versions"
            ) from None
        return cls(blob["featurizer"], blob["classifier"], blob["target"], meta,
                   blob.get("extras"))


def load_model(path: str | os.PathLike) -> RiskModel:
    """Load a model bundle directory, or ``models:/NAME@ALIAS`` from the MLflow registry.

    A bundle is pickled code: load only bundles you trust.
    """
    text = str(path)
    if text.startswith("models:/") or text.startswith("runs:/"):
        from errpredict.tracking import load_registered_model

        return load_registered_model(text)
    return RiskModel.load(path)
