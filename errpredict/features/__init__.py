"""Features and labels from error histories.

:class:`ErrorHistoryFeaturizer` turns the canonical event table into one
feature row per (entity, decision time) on a regular grid, from windows that
look only backwards; :func:`make_labels` and :class:`Target` say whether the
next horizon holds enough errors. The kernel behind both (per-bucket state and
prefix sums) is shared with the streaming featurizer, so that the same events
give the same features on both paths.
"""

from __future__ import annotations

from errpredict.features._chunked import transform_chunks
from errpredict.features._featurizer import ErrorHistoryFeaturizer
from errpredict.features._grid import Grid, make_grid
from errpredict.features._labels import Target, make_labels
from errpredict.features._time import format_duration, to_ns

__all__ = ["ErrorHistoryFeaturizer", "Grid", "Target", "format_duration", "make_grid",
           "make_labels", "to_ns", "transform_chunks"]
