"""Delayed labels: a prediction for (entity, t) learns its label only at t + horizon."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.features import Target, to_ns
from errpredict.features._grid import ensure_canonical
from errpredict.features._time import grid_bucket

__all__ = ["DelayedLabels", "Matured", "progressive_validation"]


def _ns(t: Any, name: str) -> int:
    if isinstance(t, int | np.integer) and not isinstance(t, bool):
        return int(t)
    try:
        ts = pd.Timestamp(t)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ConfigError(f"argument {name!r}: {t!r} is not a point in time; pass a timestamp, "
                          "an ISO-8601 string or epoch nanoseconds")
    return int((ts.tz_localize("UTC") if ts.tzinfo is None else ts).value)


@dataclass(frozen=True)
class Matured:
    """A prediction whose label is now known."""

    entity: str
    t_ns: int
    item: Any
    label: bool


class DelayedLabels:
    """Predictions waiting for their label, and the error counts that will give it.

    The label of (entity ``e``, decision time ``t``) is the training target:
    at least ``min_errors`` matching errors of ``e`` in ``(t, t + horizon]``.
    It is known once every event up to ``t + horizon`` has been seen, not
    before. :meth:`observe` counts the matching errors of each stream chunk
    per entity and grid step; :meth:`add` queues a prediction with whatever
    it needs to be learned later (its features, its risk);
    :meth:`pop_matured` returns the predictions whose label is now known,
    oldest first, with that label. Counts no pending prediction can need are
    dropped as the stream moves on.

    Parameters
    ----------
    target
        What the label means (horizon, ``min_errors``, filters).
    step
        The grid step of the decision times.
    entity
        Event column naming the entities.

    Examples
    --------
    >>> import pandas as pd
    >>> from errpredict.features import Target
    >>> dl = DelayedLabels(Target("2m", 2), "1m")
    >>> ev = pd.DataFrame({"timestamp": pd.to_datetime(
    ...     ["2026-01-05 00:00:30", "2026-01-05 00:00:40", "2026-01-05 00:01:10",
    ...      "2026-01-05 00:03:01"], utc=True), "service": "api",
    ...     "is_error": [False, True, True, False]})
    >>> dl.add("api", "2026-01-05 00:00", item={"errors_1m": 0.0})
    >>> dl.add("api", "2026-01-05 00:01", item={"errors_1m": 1.0})
    >>> dl.observe(ev.iloc[:3]); dl.pop_matured()  # 00:02 not yet passed
    []
    >>> dl.observe(ev.iloc[3:]); [(m.t_ns % 3600_000_000_000 // 60_000_000_000, m.label)
    ...                           for m in dl.pop_matured()]
    [(0, True), (1, False)]
    """

    def __init__(self, target: Target, step: Any, *, entity: str = "service") -> None:
        if not isinstance(target, Target):
            raise ConfigError(
                f"The 'target' parameter of DelayedLabels must be a Target. Got {target!r} "
                "instead; use model.target or errpredict.features.Target('10m', 5)."
            )
        self.target = target
        self.entity = entity
        self.step_ns = step if isinstance(step, int) else to_ns(step, name="step")
        self.horizon_steps = target.horizon_steps(self.step_ns)
        self.horizon_ns = self.horizon_steps * self.step_ns
        self.latest_ns: int | None = None
        self._heap: list[tuple[int, int, str, Any]] = []
        self._seq = count()
        self._counts: dict[int, dict[str, int]] = {}  # bucket -> entity -> matching errors
        self._low: int | None = None  # smallest bucket that may still be in _counts

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def pending(self) -> int:
        """Predictions still waiting for their label."""
        return len(self._heap)

    def observe(self, events: pd.DataFrame) -> None:
        """Count the matching errors of a chunk of the stream (in time order)."""
        if len(events) == 0:
            return
        events = ensure_canonical(events, what="DelayedLabels events")
        ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        keep = self.target.matching(events)
        ent = events[self.entity].to_numpy(dtype=object)[keep]
        self.observe_arrays(int(ts.max()), ts[keep], ent)

    def observe_arrays(self, latest_ns: int, error_ns: np.ndarray, error_entity: np.ndarray
                       ) -> None:
        """:meth:`observe` from arrays: the latest event time of the chunk, and the time
        and entity of each of its matching errors."""
        self.latest_ns = latest_ns if self.latest_ns is None else max(self.latest_ns, latest_ns)
        if len(error_ns) == 0:
            return
        buckets = grid_bucket(np.asarray(error_ns, dtype=np.int64), self.step_ns)
        counts = self._counts
        for bucket, name in zip(buckets.tolist(), error_entity.tolist(), strict=True):
            cell = counts.get(bucket)
            if cell is None:
                cell = counts[bucket] = {}
            name = str(name)
            cell[name] = cell.get(name, 0) + 1
        low = int(buckets.min())
        if self._low is None or low < self._low:
            self._low = low

    def errors(self, entity: str, t: Any) -> int:
        """Matching errors of ``entity`` counted so far in ``(t, t + horizon]``."""
        b0 = -(-_ns(t, "t") // self.step_ns)
        get = self._counts.get
        return sum(get(b, {}).get(entity, 0) for b in range(b0 + 1, b0 + 1 + self.horizon_steps))

    def label(self, entity: str, t: Any) -> bool:
        """The label of ``(entity, t)`` from the errors counted so far (final once matured)."""
        return self.errors(entity, t) >= self.target.min_errors

    def add(self, entity: str, t: Any, item: Any = None) -> None:
        """Queue the prediction for ``(entity, t)`` with ``item`` to be learned at maturity."""
        heapq.heappush(self._heap, (_ns(t, "t"), next(self._seq), str(entity), item))

    def add_many(self, t_ns: Iterable[int], entities: Iterable[str], items: Iterable[Any]
                 ) -> None:
        """Queue many predictions (the rows of closed steps, in time order)."""
        for t, e, item in zip(t_ns, entities, items, strict=True):
            heapq.heappush(self._heap, (int(t), next(self._seq), str(e), item))

    def pop_matured(self, now: Any = None) -> list[Matured]:
        """Predictions whose label is known, oldest first, each with its label.

        ``(e, t)`` is matured when ``t + horizon <= now``, ``now`` being a time up
        to which every event has been observed. By default ``now`` is just
        before the latest observed event (events at that very instant may
        still come).
        """
        if now is None:
            if self.latest_ns is None:
                return []
            limit = self.latest_ns - 1
        else:
            limit = _ns(now, "now")
        out = []
        heap = self._heap
        while heap and heap[0][0] + self.horizon_ns <= limit:
            t, _, e, item = heapq.heappop(heap)
            out.append(Matured(e, t, item, self.label(e, t)))
        self._prune(heap[0][0] if heap else limit - self.horizon_ns)
        return out

    def _prune(self, oldest_t: int) -> None:
        """Drop the counts of buckets no pending or future prediction can need."""
        if self._low is None:
            return
        cutoff = -(-oldest_t // self.step_ns)  # buckets <= the oldest decision time
        if cutoff - self._low > 4 * self.horizon_steps + 64:
            for b in range(self._low, cutoff + 1):
                self._counts.pop(b, None)
            self._low = cutoff + 1


def progressive_validation(
    learner: Any,
    X: pd.DataFrame,
    y: Iterable[float],
    *,
    horizon: Any,
    batch_risk: Iterable[float] | None = None,
) -> pd.Series:
    """Prequential risk with delayed labels: score every row first, learn it at maturity.

    Rows are visited in time order. Before the rows of decision time ``t``
    are scored, the learner learns every earlier row whose label was known by
    then (``t' + horizon <= t``); no row is ever scored by a learner that saw
    its own label or a label from its future.

    Parameters
    ----------
    learner
        A River classifier (:class:`OnlineLearner`), updated in place.
    X
        Feature rows indexed by ``(timestamp, entity)``, as the featurizers emit.
    y
        Label per row (1, 0, or NaN for a row never labelled).
    horizon
        Delay of the labels (the target's horizon).
    batch_risk
        The batch model's risk per row, passed as ``x["batch_risk"]`` to a
        stacked learner.

    Returns
    -------
    pandas.Series
        The learner's risk per row, indexed like ``X``.
    """
    h = to_ns(horizon, name="horizon")
    y = np.asarray(list(y), dtype=np.float64)
    if len(y) != len(X):
        raise ConfigError(f"progressive_validation: X has {len(X)} rows but y has {len(y)}; "
                          "give one label per row")
    times = X.index.get_level_values(0)
    t_ns = times.as_unit("ns").asi8 if isinstance(times, pd.DatetimeIndex) else np.asarray(times)
    order = np.argsort(t_ns, kind="stable")
    names = [str(c) for c in X.columns]
    values = X.to_numpy(dtype=np.float64)
    br = None if batch_risk is None else np.asarray(list(batch_risk), dtype=np.float64)
    risk = np.empty(len(X))
    queue: list[tuple[int, dict, bool]] = []
    head = 0
    for i in order:
        t = int(t_ns[i])
        while head < len(queue) and queue[head][0] + h <= t:
            _, x_old, label = queue[head]
            learner.learn_one(x_old, label)
            head += 1
        x = dict(zip(names, values[i].tolist(), strict=True))
        if br is not None:
            x["batch_risk"] = float(br[i])
        risk[i] = learner.predict_proba_one(x)[True]
        if not np.isnan(y[i]):
            queue.append((t, x, bool(y[i])))
    return pd.Series(risk, index=X.index, name="risk")
