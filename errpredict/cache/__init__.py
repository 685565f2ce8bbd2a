"""Prediction cache: answer a repeated question from memory until the model or the step changes.

:class:`PredictionCache` is a bounded least-recently-used cache with a time to
live, keyed by model version, entity and decision time. A risk for the same
model, entity and step does not change, so a service asked twice answers the
second time in microseconds; the time to live (one grid step, typically)
bounds how long an answer is kept, and :meth:`PredictionCache.invalidate`
drops the old model's answers when a new model is swapped in. It is safe to
share between threads and counts hits, misses, evictions and expirations.
"""

from __future__ import annotations

from errpredict.cache._lru import PredictionCache

__all__ = ["PredictionCache"]
