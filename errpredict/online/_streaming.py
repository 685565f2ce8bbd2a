"""StreamingFeaturizer: the batch features, one grid step at a time.

It keeps, per entity, the running prefix sums of every bucket channel and a
ring buffer of the last ``baseline + 1`` of them, and closes a step when an
event later than that step arrives. Each closed step goes through the same
kernel as the batch path (:func:`~errpredict.features._kernel.bucketize` for
the step's events, the same prefix arithmetic, and
:func:`~errpredict.features._kernel.assemble`), so the features equal those of
:meth:`ErrorHistoryFeaturizer.transform` on the same events.

Late events: an event older than the open step (its step already closed) is
counted in ``late_events_`` and added to the open step, so it is never lost;
its timing is off by its lateness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from errpredict.features import _kernel as K
from errpredict.features._featurizer import ErrorHistoryFeaturizer
from errpredict.features._grid import ensure_canonical
from errpredict.features._time import grid_bucket

__all__ = ["StreamingFeaturizer"]

_FIELDS = ("ts", "entity", "bucket", "is_error", "is_warning", "error_type", "latency_bin",
           "latency", "metrics")


class StreamingFeaturizer:
    """Emit, at each grid step, the feature vector the batch featurizer computes there.

    Parameters
    ----------
    featurizer
        A fitted :class:`~errpredict.features.ErrorHistoryFeaturizer` (its
        windows, vocabularies and bins are used as they are).
    entities
        Entities to emit from the first step on. Others are added when their
        first event arrives (the batch path, which sees the whole history,
        lists every entity from the first step).

    Examples
    --------
    >>> import pandas as pd
    >>> from errpredict.features import ErrorHistoryFeaturizer
    >>> ev = pd.DataFrame({"timestamp": pd.to_datetime(
    ...     ["2026-01-05 00:00:10", "2026-01-05 00:00:50", "2026-01-05 00:02:05"], utc=True),
    ...     "service": ["api", "api", "api"], "is_error": [True, False, True]})
    >>> fz = ErrorHistoryFeaturizer(windows=(1, 5)).fit(ev)
    >>> sf = StreamingFeaturizer(fz)
    >>> rows = pd.concat([sf.push(ev.iloc[:2]), sf.push(ev.iloc[2:]), sf.flush()])
    >>> rows["errors_5m"].tolist() == fz.transform(ev)["errors_5m"].tolist()
    True
    """

    def __init__(self, featurizer: ErrorHistoryFeaturizer, *, entities=None):
        check_is_fitted(featurizer, "spec_")
        self.featurizer = featurizer
        self.spec = featurizer.spec_
        self.columns = list(featurizer.feature_names_out_)
        self.late_events_ = 0
        self.events_seen_ = 0
        self.steps_ = 0
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._order = np.empty(0, dtype=np.int64)
        self._first: int | None = None  # absolute bucket of the first step
        self._open: int | None = None  # absolute bucket of the open step
        self._pending: list[K.EventArrays] = []
        self._k = 0  # closed steps since the first
        self._size = self.spec.baseline + 1
        self._prefix: dict[str, np.ndarray] = {}
        self._ring: dict[str, np.ndarray] = {}
        empty = K.empty_buckets(self.spec, 0, 1)
        for ch in K.PREFIX_CHANNELS:
            a = getattr(empty, ch)
            self._prefix[ch] = np.zeros((0,) + a.shape[2:], dtype=a.dtype)
            self._ring[ch] = np.zeros((self._size, 0) + a.shape[2:], dtype=a.dtype)
        self._last_error = np.full(0, K.NO_TIME, np.int64)
        self._last_warning = np.full(0, K.NO_TIME, np.int64)
        for name in sorted(map(str, entities or ())):
            self._add_entity(name)

    # -- entities ----------------------------------------------------------------------
    def _add_entity(self, name: str) -> int:
        code = len(self._names)
        self._names.append(name)
        self._index[name] = code
        for ch in K.PREFIX_CHANNELS:
            p = self._prefix[ch]
            self._prefix[ch] = np.concatenate([p, np.zeros((1,) + p.shape[1:], p.dtype)])
            r = self._ring[ch]
            self._ring[ch] = np.concatenate(
                [r, np.zeros((r.shape[0], 1) + r.shape[2:], r.dtype)], axis=1)
        self._last_error = np.append(self._last_error, K.NO_TIME)
        self._last_warning = np.append(self._last_warning, K.NO_TIME)
        self._order = np.argsort(np.asarray(self._names, dtype=object), kind="stable")
        return code

    @property
    def entities(self) -> list[str]:
        """Entities known so far, sorted as rows are emitted."""
        return [self._names[i] for i in self._order]

    @property
    def open_step(self) -> pd.Timestamp | None:
        """Decision time of the step still open (its events may still arrive)."""
        if self._open is None:
            return None
        return pd.Timestamp(self._open * self.spec.step_ns, unit="ns", tz="UTC")

    # -- pushing events ----------------------------------------------------------------
    def push_arrays(self, events: pd.DataFrame):
        """Add events (time-ordered); return ``(times_ns, entities, X)`` of the closed steps.

        ``X`` is ``(T * E, F)``, time-major, entities sorted within a step.
        """
        events = ensure_canonical(events, what="StreamingFeaturizer events")
        ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")
            events, ts = events.iloc[order], ts[order]
        col = events[self.featurizer.entity].astype(str).to_numpy(dtype=object)
        uniq, inverse = np.unique(col, return_inverse=True)
        for name in uniq:
            if name not in self._index:
                self._add_entity(name)
        codes = np.array([self._index[n] for n in uniq], dtype=np.int64)[inverse]
        absb = grid_bucket(ts, self.spec.step_ns)
        if self._open is None:
            self._first = self._open = int(absb[0])
        late = absb < self._open
        self.late_events_ += int(late.sum())
        absb = np.maximum(absb, self._open)
        self.events_seen_ += len(ts)
        ev = K.event_arrays(events, self.spec, self.featurizer.entity, codes,
                            np.zeros(len(ts), dtype=np.int64))
        out_t, out_x = [], []
        bounds = np.flatnonzero(np.diff(absb)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(absb)]])
        for s, e in zip(starts, ends, strict=True):
            b = int(absb[s])
            while self._open < b:  # the events of step b close every step before it
                t, x = self._close()
                out_t.append(t)
                out_x.append(x)
            self._pending.append(_slice(ev, s, e))
        return self._result(out_t, out_x)

    def push(self, events: pd.DataFrame) -> pd.DataFrame:
        """Add events; return the feature rows of every step they closed."""
        return self._frame(*self.push_arrays(events))

    def push_one(self, event: dict) -> pd.DataFrame:
        """Add one event (a dict of canonical fields)."""
        return self.push(pd.DataFrame([event]))

    def flush_arrays(self):
        if self._open is None:
            return self._result([], [])
        t, x = self._close()
        return self._result([t], [x])

    def flush(self) -> pd.DataFrame:
        """Close the open step (no more events will come for it) and return its rows."""
        return self._frame(*self.flush_arrays())

    # -- closing a step ----------------------------------------------------------------
    def _close(self):
        spec, n_e = self.spec, len(self._names)
        b = self._open
        if self._pending:
            ev = _concat(self._pending)
            bk = K.bucketize(ev, spec, n_e, 1)
            self._pending = []
        else:
            bk = None
        self._k += 1
        slot = self._k % self._size
        for ch in K.PREFIX_CHANNELS:
            if bk is not None:
                self._prefix[ch] = self._prefix[ch] + getattr(bk, ch)[:, 0]
            self._ring[ch][slot] = self._prefix[ch]
        if bk is not None:
            np.maximum(self._last_error, bk.last_error[:, 0], out=self._last_error)
            np.maximum(self._last_warning, bk.last_warning[:, 0], out=self._last_warning)
        sums = {}
        for ch in K.PREFIX_CHANNELS:
            p = self._prefix[ch]
            for w in spec.channel_windows(ch):
                lo = self._ring[ch][(self._k - w) % self._size] if self._k >= w else 0
                sums[ch, w] = (p - lo)[:, None]
        lookup = self._index
        peer_rows = np.array([lookup.get(p, -1) for p in spec.peers], dtype=np.int64)
        ctx = K.context({w: sums["counts", w] for w in spec.windows}, spec, peer_rows)
        t_ns = np.array([b * spec.step_ns], dtype=np.int64)
        x = K.assemble(sums, self._last_error[:, None], self._last_warning[:, None], t_ns,
                       spec, ctx)[0]
        self._open = b + 1
        self.steps_ += 1
        return t_ns[0], x[self._order]

    def _result(self, ts, xs):
        ents = np.asarray(self.entities, dtype=object)
        if not xs:
            return np.empty(0, np.int64), ents, np.empty((0, len(self.columns)))
        # new entities are added before any step of a push closes, so every row block
        # of one push has the same entities
        return np.asarray(ts, dtype=np.int64), ents, np.concatenate(xs, axis=0)

    def _frame(self, times, ents, X) -> pd.DataFrame:
        idx = pd.MultiIndex.from_product(
            [pd.to_datetime(times, unit="ns", utc=True), ents], names=["timestamp", "entity"])
        return pd.DataFrame(X, index=idx, columns=self.columns)


def _slice(ev: K.EventArrays, s: int, e: int) -> K.EventArrays:
    return K.EventArrays(*(getattr(ev, f)[s:e] for f in _FIELDS))


def _concat(parts: list[K.EventArrays]) -> K.EventArrays:
    if len(parts) == 1:
        return parts[0]
    return K.EventArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))
