"""Online learning: streaming features, River learners, delayed labels and drift.

:class:`StreamingFeaturizer` emits at each grid step the feature vector that
the batch featurizer computes for that step, from the same kernel.
"""

from __future__ import annotations

from errpredict.online._streaming import StreamingFeaturizer

__all__ = ["StreamingFeaturizer"]
