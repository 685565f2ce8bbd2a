"""Implicit labels: count the errors that followed each prediction.

The label of a prediction for entity ``e`` at decision time ``t`` is 1 when
at least ``min_errors`` errors of ``e`` fall in ``(t, t + horizon]``, the
same target the models are trained on. Counting is exact and vectorised:
error times are sorted per entity and every window count is the difference
of two ``searchsorted`` positions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import pandas as pd

from errpredict.exceptions import SchemaError
from errpredict.feedback._store import INSERT_OUTCOME, SET_LABEL, Store, default_outcome_id
from errpredict.feedback._values import ns_column

__all__ = ["error_times", "errors_in_horizon", "store_matured_labels"]

_MATURED = (
    "SELECT id, entity, ts_ns FROM predictions p WHERE kind = 'risk' AND label IS NULL "
    "AND ts_ns <= ? AND NOT EXISTS (SELECT 1 FROM outcomes o "
    "WHERE o.prediction_id = p.id AND o.source = 'implicit')"
)


def error_times(
    events: pd.DataFrame,
    *,
    entity: str,
    error_types: Sequence[str] | None = None,
    min_severity: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Entities and times (int ns) of the error events, plus the latest event time.

    Parameters
    ----------
    events
        The canonical event table (``timestamp``, the ``entity`` column and
        ``is_error``; ``error_type``/``severity`` when filtering on them).
    entity
        Column that names the entity the predictions were made for.
    error_types, min_severity
        Optional filters of the target: only errors of these types, or of at
        least this OpenTelemetry SeverityNumber, count.
    """
    where = "label_matured events"
    if not isinstance(events, pd.DataFrame):
        raise SchemaError(f"{where}: expected a pandas DataFrame, got {type(events).__name__}")
    needed = ["timestamp", entity, "is_error"]
    if error_types is not None:
        needed.append("error_type")
    if min_severity is not None:
        needed.append("severity")
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing column {missing[0]!r}; the columns are "
            f"{sorted(map(str, events.columns))[:12]}; pass the canonical event table "
            "(errpredict.io.to_canonical) and the entity column the predictions were made for"
        )
    if len(events) == 0:
        return np.array([], dtype=object), np.array([], dtype="int64"), None
    if not pd.api.types.is_bool_dtype(events["is_error"]):
        raise SchemaError(
            f"{where}: column 'is_error' has dtype {events['is_error'].dtype}; expected booleans; "
            "pass the events through errpredict.io.to_canonical first"
        )
    ts = ns_column(events["timestamp"], where=where)
    mask = events["is_error"].to_numpy(dtype=bool, na_value=False)
    if error_types is not None:
        mask = mask & events["error_type"].isin(list(error_types)).to_numpy()
    if min_severity is not None:
        mask = mask & (events["severity"].to_numpy(dtype="int64", na_value=0) >= int(min_severity))
    ent = events[entity].to_numpy(dtype=object)
    mask = mask & ~pd.isna(ent)
    return ent[mask].astype(str), ts[mask], int(ts.max())


def errors_in_horizon(
    pred_entity: np.ndarray,
    pred_ns: np.ndarray,
    err_entity: np.ndarray,
    err_ns: np.ndarray,
    horizon_ns: int,
) -> np.ndarray:
    """For each prediction, how many errors of its entity fall in ``(t, t + horizon]``.

    Examples
    --------
    >>> import numpy as np
    >>> errors_in_horizon(np.array(["a", "a", "b"]), np.array([0, 10, 0]),
    ...                   np.array(["a", "a", "a", "b"]), np.array([5, 10, 11, 0]), 10)
    array([2, 1, 0])
    """
    counts = np.zeros(len(pred_ns), dtype="int64")
    if len(pred_ns) == 0 or len(err_ns) == 0:
        return counts
    codes, uniques = pd.factorize(np.concatenate([pred_entity, err_entity]))
    n_pred = len(pred_ns)
    pred_codes, err_codes = codes[:n_pred], codes[n_pred:]
    order = np.lexsort((err_ns, err_codes))
    err_sorted, code_sorted = err_ns[order], err_codes[order]
    bounds = np.searchsorted(code_sorted, np.arange(len(uniques) + 1), side="left")
    pred_order = np.argsort(pred_codes, kind="stable")
    pred_bounds = np.searchsorted(pred_codes[pred_order], np.arange(len(uniques) + 1))
    for code in np.unique(pred_codes):
        lo, hi = bounds[code], bounds[code + 1]
        if lo == hi:
            continue
        idx = pred_order[pred_bounds[code] : pred_bounds[code + 1]]
        times = err_sorted[lo:hi]
        t = pred_ns[idx]
        counts[idx] = np.searchsorted(times, t + horizon_ns, side="right") - np.searchsorted(
            times, t, side="right"
        )
    return counts


def store_matured_labels(
    store: Store,
    *,
    err_entity: np.ndarray,
    err_ns: np.ndarray,
    now_ns: int,
    horizon_ns: int,
    min_errors: int,
) -> int:
    """Label every matured unlabelled risk prediction in one transaction; how many were."""
    with store.write() as cur:
        rows = cur.execute(_MATURED, (now_ns - horizon_ns,)).fetchall()
        if not rows:
            return 0
        ids, entities, times = zip(*rows, strict=True)
        t = np.fromiter(times, dtype="int64", count=len(times))
        counts = errors_in_horizon(
            np.array(entities, dtype=object), t, err_entity, err_ns, horizon_ns
        )
        labels = (counts >= min_errors).astype("int64").tolist()
        outcome_ids = [default_outcome_id(i, "implicit") for i in ids]
        before = cur.connection.total_changes
        cur.executemany(
            INSERT_OUTCOME,
            zip(
                outcome_ids,
                ids,
                repeat("implicit"),
                labels,
                repeat(None),
                (t + horizon_ns).tolist(),
                repeat(time.time_ns()),
                strict=False,
            ),
        )
        stored = cur.connection.total_changes - before
        cur.executemany(SET_LABEL["implicit"], zip(labels, ids, strict=True))
    return stored
