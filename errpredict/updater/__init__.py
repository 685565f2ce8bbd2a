"""Model updates: challengers trained on recent data, a gate, promotion and hot swap.

:class:`ModelUpdater` trains a challenger with the batch trainer when a drift
is reported or on a schedule, compares it with the champion on the most
recent labelled period (which the challenger never saw) and promotes it only
when its PR-AUC is better by a margin and its calibration is no worse
(:class:`GateRule`); every decision is kept with its figures. Promotion goes
through a :class:`BundleDirectory` (``versions/<id>`` and an atomically
replaced ``champion``) or the MLflow registry's aliases
(:class:`RegistryPromoter`), and the serving :class:`Predictor` swaps to the
new model atomically: predictions in flight finish on the old model, none
mixes two models, and the old model's cached answers are dropped.
"""

from __future__ import annotations

from errpredict.updater._gate import GateRule, holdout_figures, judge
from errpredict.updater._predictor import Prediction, Predictor
from errpredict.updater._promotion import BundleDirectory, Promoter, RegistryPromoter
from errpredict.updater._updater import ModelUpdater, UpdateDecision, UpdaterConfig

__all__ = [
    "BundleDirectory",
    "GateRule",
    "ModelUpdater",
    "Prediction",
    "Predictor",
    "Promoter",
    "RegistryPromoter",
    "UpdateDecision",
    "UpdaterConfig",
    "holdout_figures",
    "judge",
]
