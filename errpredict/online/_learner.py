"""OnlineLearner: a River classifier on feature dicts, optionally stacked on the batch risk."""

from __future__ import annotations

import math
from typing import Any

from river import base, compose, forest, linear_model, optim, preprocessing, tree

from errpredict.exceptions import ConfigError

__all__ = ["OnlineLearner", "ONLINE_MODELS", "BATCH_RISK", "BATCH_LOGIT"]

#: Names accepted by the ``model`` parameter of :class:`OnlineLearner`.
ONLINE_MODELS = ("logreg", "arf", "hoeffding")
#: Key of the batch model's risk in a stacked feature dict.
BATCH_RISK = "batch_risk"
#: What a stacked learner sees in place of the batch risk: its log-odds.
BATCH_LOGIT = "batch_logit"
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


class OnlineLearner(base.Classifier):
    """A River classifier of error risk that learns one labelled feature row at a time.

    It follows River's conventions: features are a dict, :meth:`learn_one`
    updates the model and returns nothing, :meth:`predict_proba_one` returns
    ``{False: 1 - p, True: p}`` and never changes the model, and neither
    method modifies the caller's dict. Values that are not finite numbers
    (``NaN`` for a latency or a metric that was not seen in a window, ``None``)
    are left out, which River reads as a missing feature.

    Parameters
    ----------
    model
        ``"logreg"``: ``preprocessing.StandardScaler() | linear_model.LogisticRegression()``
        trained by SGD; ``"arf"``: ``forest.ARFClassifier``; ``"hoeffding"``:
        ``tree.HoeffdingAdaptiveTreeClassifier``. The trees are seeded with ``seed``.
    stack_on_batch
        Read the batch model's risk from ``x["batch_risk"]`` and learn on its
        log-odds (``batch_logit``, a better input for a linear model), so the
        online model learns how to correct the batch model when the world
        drifts away from the batch model's training data. Rows without the key
        are learned without it.
    learning_rate
        SGD step of the logistic regression.
    l2
        L2 penalty of the logistic regression.
    n_models
        Trees in the adaptive random forest.
    seed
        Seed of the stochastic models.

    Examples
    --------
    >>> learner = OnlineLearner(stack_on_batch=True)
    >>> x = {"errors_5m": 3.0, "latency_mean_5m": float("nan"), "batch_risk": 0.9}
    >>> learner.predict_proba_one(x)
    {False: 0.5, True: 0.5}
    >>> for _ in range(20):
    ...     learner.learn_one(x, True)
    ...     learner.learn_one({"errors_5m": 0.0, "batch_risk": 0.05}, False)
    >>> round(learner.predict_proba_one(x)[True], 3)
    0.585
    >>> sorted(x)  # the caller's dict is left as it was
    ['batch_risk', 'errors_5m', 'latency_mean_5m']
    """

    def __init__(
        self,
        model: str = "logreg",
        stack_on_batch: bool = False,
        learning_rate: float = 0.01,
        l2: float = 0.0,
        n_models: int = 10,
        seed: int = 0,
    ):
        if model not in ONLINE_MODELS:
            raise ConfigError(
                f"The 'model' parameter of OnlineLearner must be one of {ONLINE_MODELS}. "
                f"Got {model!r} instead."
            )
        if not isinstance(learning_rate, int | float) or not learning_rate > 0:
            raise ConfigError(
                "The 'learning_rate' parameter of OnlineLearner must be a float in (0, inf). "
                f"Got {learning_rate!r} instead."
            )
        if not isinstance(l2, int | float) or l2 < 0:
            raise ConfigError(
                f"The 'l2' parameter of OnlineLearner must be a float in [0, inf). Got {l2!r} "
                "instead."
            )
        if isinstance(n_models, bool) or not isinstance(n_models, int) or n_models < 1:
            raise ConfigError(
                "The 'n_models' parameter of OnlineLearner must be an int in [1, inf). "
                f"Got {n_models!r} instead."
            )
        self.model = model
        self.stack_on_batch = stack_on_batch
        self.learning_rate = learning_rate
        self.l2 = l2
        self.n_models = n_models
        self.seed = seed
        self.n_learned = 0
        self._estimator = self._make()

    def _make(self) -> base.Classifier:
        if self.model == "arf":
            return forest.ARFClassifier(n_models=self.n_models, seed=self.seed)
        if self.model == "hoeffding":
            return tree.HoeffdingAdaptiveTreeClassifier(seed=self.seed)
        return compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(self.learning_rate), l2=self.l2),
        )

    @property
    def estimator(self) -> base.Classifier:
        """The River model behind the learner (read it, do not train it directly)."""
        return self._estimator

    @property
    def _is_stochastic(self) -> bool:
        return self.model != "logreg"

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"stack_on_batch": True}

    def _features(self, x: dict) -> dict:
        """A new dict of the finite numeric features of ``x`` (the caller's dict is not kept)."""
        out = {}
        for k, v in x.items():
            if type(v) is not float:
                if isinstance(v, bool):
                    v = float(v)
                else:
                    try:
                        v = float(v)
                    except (TypeError, ValueError):
                        continue
            if v - v == 0.0:  # False for NaN and infinities
                out[k] = v
        if self.stack_on_batch and BATCH_RISK in out:
            out[BATCH_LOGIT] = _logit(out.pop(BATCH_RISK))
        return out

    def learn_one(self, x: dict, y: bool) -> None:
        """Update the model with one labelled feature row."""
        self._estimator.learn_one(self._features(x), bool(y))
        self.n_learned += 1

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[bool, float]:
        """``{False: 1 - p, True: p}``; 0.5 each before the first label."""
        proba = self._estimator.predict_proba_one(self._features(x))
        p = float(proba.get(True, 0.0))
        total = p + float(proba.get(False, 0.0))
        p = p / total if total > 0 else 0.5
        return {False: 1.0 - p, True: p}

    def predict_risk_one(self, x: dict) -> float:
        """The probability of the positive class alone."""
        return self.predict_proba_one(x)[True]
