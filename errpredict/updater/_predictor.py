"""Predictor: the serving model behind one reference, swapped atomically."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from errpredict.cache import PredictionCache
from errpredict.exceptions import ConfigError
from errpredict.models import RiskModel, load_model

__all__ = ["Prediction", "Predictor"]


@dataclass(frozen=True)
class Prediction:
    """Risks and the version of the one model that computed all of them."""

    version: str
    frame: pd.DataFrame  # entity, timestamp, risk


class Predictor:
    """Hold the serving model and swap it without stopping or mixing predictions.

    Every prediction reads the current ``(model, version)`` pair once, at its
    start, and uses that pair to the end: a prediction in flight when the
    model is swapped finishes on the old model and reports the old version,
    and no prediction ever combines numbers from two models. :meth:`swap`
    takes a model that is already fully loaded (:meth:`swap_from` loads a
    bundle first, then swaps), replaces the pair in one assignment under a
    lock, and drops the old model's answers from the cache. The cache is
    keyed by version, so an answer an in-flight prediction stores after the
    swap is filed under the old version and is never served for the new one.

    Parameters
    ----------
    model
        The model to serve first.
    cache
        Optional :class:`~errpredict.cache.PredictionCache` for
        :meth:`predict_rows` and :meth:`risk_one`.

    Examples
    --------
    >>> from errpredict.datasets import generate_history
    >>> from errpredict.models import train
    >>> ev = generate_history(days=0.5, services=3, seed=2).events
    >>> a = train(ev, min_errors=3, model="logreg")
    >>> b = train(ev, min_errors=3)
    >>> predictor = Predictor(a)
    >>> predictor.predict(ev).version == a.version
    True
    >>> predictor.swap(b) is a, predictor.version == b.version
    (True, True)
    """

    def __init__(self, model: RiskModel, *, cache: PredictionCache | None = None) -> None:
        self._check(model)
        self.cache = cache
        self._lock = threading.Lock()
        self._current: tuple[RiskModel, str] = (model, model.version)
        self.swaps = 0

    @staticmethod
    def _check(model: Any) -> None:
        if not isinstance(model, RiskModel):
            raise ConfigError(
                f"Predictor: expected a RiskModel (errpredict.models.train or load_model), got "
                f"{type(model).__name__}"
            )

    @property
    def model(self) -> RiskModel:
        """The model serving now."""
        return self._current[0]

    @property
    def version(self) -> str:
        """Version of the model serving now."""
        return self._current[1]

    def current(self) -> tuple[RiskModel, str]:
        """The ``(model, version)`` pair serving now, read at once."""
        return self._current

    def swap(self, model: RiskModel) -> RiskModel:
        """Serve ``model`` from now on; return the model it replaces.

        Predictions already running finish on the old model. The cache loses
        the old version's answers.
        """
        self._check(model)
        with self._lock:
            old, old_version = self._current
            self._current = (model, model.version)
            self.swaps += 1
        if self.cache is not None and old_version != model.version:
            self.cache.invalidate(old_version)
        return old

    def swap_from(self, path: str | os.PathLike) -> RiskModel:
        """Load a bundle (or ``models:/NAME@ALIAS``) completely, then :meth:`swap` to it."""
        return self.swap(load_model(path))

    # -- predictions ---------------------------------------------------------------------
    def predict(self, events: pd.DataFrame, at: Any = None) -> Prediction:
        """Risk per entity at every grid step of ``events`` (or at ``at``), and its version."""
        model, version = self._current
        return Prediction(version, model.predict_risk(events, at=at))

    def predict_rows(
        self, times_ns: np.ndarray, entities: Sequence[str], X: np.ndarray
    ) -> tuple[str, np.ndarray]:
        """Risk of feature rows (the streaming featurizer's output) and the model version.

        ``X`` holds ``len(times_ns) * len(entities)`` rows, time-major, in
        the column order of the serving model's featurizer. With a cache,
        rows already answered by this version come from it and the others
        are computed in one call and stored.
        """
        model, version = self._current
        cache = self.cache
        if cache is None:
            return version, model.classifier.predict_risk_array(X)
        keys = [(str(e), int(t)) for t in times_ns for e in entities]
        risk = np.empty(len(keys))
        missing = []
        for i, (e, t) in enumerate(keys):
            hit = cache.get(version, e, t)
            if hit is None:
                missing.append(i)
            else:
                risk[i] = hit
        if missing:
            rows = np.asarray(missing)
            fresh = model.classifier.predict_risk_array(X[rows])
            risk[rows] = fresh
            for i, value in zip(missing, fresh.tolist(), strict=True):
                cache.put(version, keys[i][0], keys[i][1], value)
        return version, risk

    def risk_one(self, entity: str, t: Any, x: np.ndarray | None = None) -> tuple[str, float]:
        """Risk of one entity at one decision time, from the cache or from its feature row.

        Returns ``(version, risk)``. On a cache miss, ``x`` (the row of
        features) is needed.
        """
        model, version = self._current
        if self.cache is not None:
            hit = self.cache.get(version, entity, t)
            if hit is not None:
                return version, hit
        if x is None:
            raise ConfigError(
                f"Predictor.risk_one({entity!r}, {t!r}): not in the cache for version "
                f"{version!r}; pass the feature row x to compute it"
            )
        value = float(model.classifier.predict_risk_array(np.asarray(x, dtype=np.float64)
                                                          .reshape(1, -1))[0])
        if self.cache is not None:
            self.cache.put(version, entity, t, value)
        return version, value

    def __repr__(self) -> str:
        return f"Predictor(version={self.version!r}, swaps={self.swaps})"
