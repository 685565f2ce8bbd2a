"""Risk models: training, calibration, thresholds, bundles, evaluation and baselines.

:func:`train` fits an :class:`ErrorHistoryFeaturizer` and a
:class:`RiskClassifier` (HistGradientBoosting by default, logistic
regression as an option) with time-ordered validation, calibrated
probabilities and an alarm threshold; the result is a :class:`RiskModel`,
saved as a bundle directory and read back with :func:`load_model`. Bundles
are pickled code: load only those you trust.
"""

from __future__ import annotations

from errpredict.models._bundle import RiskModel, load_model
from errpredict.models._classifier import MODEL_CHOICES, RiskClassifier
from errpredict.models._metrics import METRIC_KEYS, persistence_risk, score_risk
from errpredict.models._threshold import choose_threshold, recall_at_precision
from errpredict.models._train import train

__all__ = ["METRIC_KEYS", "MODEL_CHOICES", "RiskClassifier", "RiskModel", "choose_threshold",
           "load_model", "persistence_risk", "recall_at_precision", "score_risk", "train"]
