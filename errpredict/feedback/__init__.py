"""Feedback: every prediction and every outcome, stored durably, with live metrics.

:class:`FeedbackProcessor` records each prediction a model makes (id, model
version, entity, decision time, features hash, risk) and each outcome that
follows: explicit reports (an alarm was right or wrong, a recovery action
worked or failed) and implicit labels computed from later events
(:meth:`FeedbackProcessor.label_matured`). The store is an embedded SQLite
database in WAL mode; recording is idempotent, so a stream replayed after a
crash loses no acknowledged outcome and counts nothing twice. Live metrics
(precision, recall, PR-AUC, Brier score, calibration) over a sliding window
of labelled predictions tell, per model version, whether the model is still
right.
"""

from __future__ import annotations

from errpredict.feedback._frames import OUTCOME_COLUMNS, PREDICTION_COLUMNS
from errpredict.feedback._metrics import live_figures
from errpredict.feedback._processor import FeedbackProcessor
from errpredict.feedback._store import SOURCES, default_outcome_id
from errpredict.feedback._values import hash_features

__all__ = [
    "OUTCOME_COLUMNS",
    "PREDICTION_COLUMNS",
    "SOURCES",
    "FeedbackProcessor",
    "default_outcome_id",
    "hash_features",
    "live_figures",
]
