"""Online learning: streaming features, River learners, delayed labels, drift and replay.

:class:`StreamingFeaturizer` emits at each grid step the feature vector that
the batch featurizer computes for that step, from the same kernel.
:class:`OnlineLearner` is a River classifier (River's ``learn_one`` and
``predict_proba_one`` on feature dicts), alone or stacked on the batch
model's risk. :class:`DelayedLabels` holds each prediction until its horizon
has passed and its label is known, and :func:`progressive_validation` scores
a learner prequentially with that delay. :class:`DriftMonitor` runs River's
ADWIN (or DDM) on the models' errors and records every drift with its
evidence; :class:`NewErrorTypes` reports an error type never seen before
that arrives at incident volume. :func:`replay` streams a history through the whole loop (features,
batch and online predictions, delayed labels, feedback, drift, the updater
and hot swaps) and scores it day by day against the frozen batch model.
"""

from __future__ import annotations

from errpredict.online._delayed import DelayedLabels, Matured, progressive_validation
from errpredict.online._drift import DETECTORS, DriftEvent, DriftMonitor, log_loss
from errpredict.online._learner import BATCH_LOGIT, BATCH_RISK, ONLINE_MODELS, OnlineLearner
from errpredict.online._novelty import NewErrorTypes
from errpredict.online._replay import replay
from errpredict.online._replay_config import ReplayConfig
from errpredict.online._replay_result import ReplayProgress, ReplayResult, Swap
from errpredict.online._streaming import StreamingFeaturizer

__all__ = [
    "BATCH_LOGIT",
    "BATCH_RISK",
    "DETECTORS",
    "ONLINE_MODELS",
    "DelayedLabels",
    "DriftEvent",
    "DriftMonitor",
    "Matured",
    "NewErrorTypes",
    "OnlineLearner",
    "ReplayConfig",
    "ReplayProgress",
    "ReplayResult",
    "StreamingFeaturizer",
    "Swap",
    "log_loss",
    "progressive_validation",
    "replay",
]
