"""Featurizing histories larger than memory allows, chunk by chunk.

Two passes over the chunks: the first finds the grid (entities and time
range), the second adds each chunk's events to the per-bucket state with the
same :func:`~errpredict.features._kernel.bucketize` as the in-memory path.
Memory is bounded by one chunk plus the grid's state, not by the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from errpredict.exceptions import SchemaError
from errpredict.features import _kernel as K
from errpredict.features._featurizer import ErrorHistoryFeaturizer
from errpredict.features._grid import ensure_canonical
from errpredict.features._time import grid_bucket

__all__ = ["transform_chunks"]


def transform_chunks(
    featurizer: ErrorHistoryFeaturizer,
    chunks: Callable[[], Iterable[pd.DataFrame]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of a history given as chunks: ``(times_ns, entities, X)``.

    ``chunks`` is called twice and must give the same canonical chunks each
    time (e.g. ``lambda: iter_events(path)``); they need not be in time order
    with one another. The result equals ``featurizer.transform_arrays`` on the
    whole history (``X`` is ``(T * E, F)``, time-major, entities sorted).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"timestamp": pd.to_datetime(
    ...     ["2026-01-05 00:00:10", "2026-01-05 00:01:10", "2026-01-05 00:02:30"], utc=True),
    ...     "service": ["a", "b", "a"], "is_error": [True, False, True]})
    >>> fz = ErrorHistoryFeaturizer(windows=(1, 3)).fit(ev)
    >>> t, ents, X = transform_chunks(fz, lambda: [ev.iloc[:2], ev.iloc[2:]])
    >>> bool((X == fz.transform_arrays(ev)[1]).all()), list(ents)
    (True, ['a', 'b'])
    """
    check_is_fitted(featurizer, "spec_")
    spec, entity = featurizer.spec_, featurizer.entity
    lo, hi, names = None, None, set()
    for chunk in chunks():
        chunk = ensure_canonical(chunk, what="chunk")
        if entity not in chunk:
            raise SchemaError(f"The entity column {entity!r} is not in a chunk of the events.")
        ts = chunk["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        lo = ts.min() if lo is None else min(lo, ts.min())
        hi = ts.max() if hi is None else max(hi, ts.max())
        names.update(chunk[entity].astype(str).unique().tolist())
    if lo is None:
        raise SchemaError("no events: every chunk was empty")
    entities = np.asarray(sorted(names), dtype=object)
    index = pd.Index(entities)
    first = int(grid_bucket(np.array([lo]), spec.step_ns)[0])
    n_b = int(grid_bucket(np.array([hi]), spec.step_ns)[0]) - first + 1
    bk = K.empty_buckets(spec, len(entities), n_b)
    for chunk in chunks():
        chunk = ensure_canonical(chunk, what="chunk")
        ts = chunk["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        codes = index.get_indexer(chunk[entity].astype(str))
        ev = K.event_arrays(chunk, spec, entity, codes, grid_bucket(ts, spec.step_ns) - first)
        K.bucketize(ev, spec, len(entities), n_b, into=bk)
    times = (first + np.arange(n_b, dtype=np.int64)) * spec.step_ns
    return times, entities, featurizer._features_from_buckets(bk, entities, times)
