"""A bounded LRU cache of predictions with a time to live, safe to share between threads."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError

__all__ = ["PredictionCache"]

_MISSING = object()


def _time_key(t: Any) -> int:
    """A decision time as integer nanoseconds since the epoch (UTC), the cache's key."""
    if isinstance(t, pd.Timestamp):
        return int(t.value)
    if isinstance(t, bool | np.bool_):
        raise ConfigError(f"PredictionCache: decision time {t!r} is a boolean; expected a time")
    if isinstance(t, int | np.integer):
        return int(t)
    if isinstance(t, str | dt.datetime | np.datetime64):
        ts = pd.Timestamp(t)
        if ts is not pd.NaT:
            return int(ts.value)
    raise ConfigError(
        f"PredictionCache: decision time {t!r} ({type(t).__name__}) is not a point in time; "
        "pass a pandas Timestamp, a datetime, an ISO-8601 string or epoch nanoseconds (int)"
    )


def _ttl_seconds(ttl_s: Any) -> float | None:
    if ttl_s is None:
        return None
    if isinstance(ttl_s, dt.timedelta):  # pandas.Timedelta too
        ttl_s = ttl_s.total_seconds()
    try:
        value = float(ttl_s)
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0:
        raise ConfigError(
            "The 'ttl_s' parameter of PredictionCache must be a float in (0, inf], a timedelta "
            f"or None (never expire). Got {ttl_s!r} instead."
        )
    return value


class PredictionCache:
    """Bounded LRU cache of risks keyed by (model version, entity, decision time), with a TTL.

    A prediction for the same model version, entity and decision time is the
    same number, so a service asked twice in a step can answer from memory.
    When full, the least recently used entry is evicted; an entry older than
    ``ttl_s`` (by ``clock``) is dropped when next looked up or evicted. Swap
    models with :meth:`invalidate`. Every method takes one lock, so the cache
    can be shared between threads; a hit costs a dict lookup, a clock read and
    a move to the end of the LRU order.

    Decision times are keyed as integer nanoseconds since the epoch (UTC):
    a ``pandas.Timestamp``, a ``datetime`` (naive = UTC), an ISO-8601 string
    and the equivalent ``int`` all hit the same entry. ``None`` is what
    :meth:`get` returns on a miss, so do not cache ``None``.

    Parameters
    ----------
    maxsize
        Most entries kept.
    ttl_s
        Seconds an entry lives (a ``timedelta`` is accepted; pass the grid
        step, ``step.total_seconds()``, to keep a risk for one step), or
        ``None`` to keep entries until they are evicted or invalidated.
    clock
        Monotonic clock in seconds; inject a fake one to test expiry without sleeping.

    Examples
    --------
    >>> now = [0.0]
    >>> cache = PredictionCache(maxsize=2, ttl_s=60, clock=lambda: now[0])
    >>> cache.put("v1", "api", "2026-01-05T10:00:00Z", 0.25)
    >>> cache.get("v1", "api", pd.Timestamp("2026-01-05 10:00", tz="UTC"))
    0.25
    >>> now[0] = 61.0
    >>> cache.get("v1", "api", "2026-01-05T10:00:00Z") is None
    True
    >>> cache.get_or_compute("v1", "db", 0, lambda: 0.5), cache.get("v1", "db", 0)
    (0.5, 0.5)
    >>> {k: cache.stats()[k] for k in ("hits", "misses", "expirations", "size")}
    {'hits': 2, 'misses': 2, 'expirations': 1, 'size': 1}
    """

    def __init__(
        self,
        maxsize: int = 100_000,
        ttl_s: float | dt.timedelta | None = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int | np.integer) or maxsize < 1:
            raise ConfigError(
                "The 'maxsize' parameter of PredictionCache must be an int in [1, inf). "
                f"Got {maxsize!r} instead."
            )
        if not callable(clock):
            raise ConfigError(
                "The 'clock' parameter of PredictionCache must be a callable returning "
                f"seconds. Got {clock!r} instead."
            )
        self.maxsize = int(maxsize)
        self.ttl_s = _ttl_seconds(ttl_s)
        self.clock = clock
        self._data: OrderedDict[tuple, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._evictions = self._expirations = 0
        self._invalidations = 0

    def _lookup(self, key: tuple) -> Any:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                if self.ttl_s is None or entry[1] > self.clock():
                    self._data.move_to_end(key)
                    self._hits += 1
                    return entry[0]
                del self._data[key]
                self._expirations += 1
            self._misses += 1
            return _MISSING

    def get(self, model_version: Hashable, entity: Hashable, t: Any) -> Any:
        """The cached value, or ``None`` on a miss (absent or expired); counts a hit or a miss."""
        value = self._lookup((model_version, entity, t if type(t) is int else _time_key(t)))
        return None if value is _MISSING else value

    def put(self, model_version: Hashable, entity: Hashable, t: Any, value: Any) -> None:
        """Store ``value``, replacing any entry for the key, and evict the LRU entry when full."""
        key = (model_version, entity, t if type(t) is int else _time_key(t))
        with self._lock:
            now = self.clock() if self.ttl_s is not None else 0.0
            expires = now + self.ttl_s if self.ttl_s is not None else math.inf
            data = self._data
            if key in data:
                data.move_to_end(key)
            data[key] = (value, expires)
            while len(data) > self.maxsize:
                _, (_, old_expires) = data.popitem(last=False)
                if self.ttl_s is not None and old_expires <= now:
                    self._expirations += 1
                else:
                    self._evictions += 1

    def get_or_compute(
        self, model_version: Hashable, entity: Hashable, t: Any, compute: Callable[[], Any]
    ) -> Any:
        """The cached value, or ``compute()`` stored and returned on a miss.

        ``compute`` runs outside the lock, so a slow model does not block
        other threads; two threads missing the same key at once may both
        compute it (the later ``put`` wins, both values are equal for a
        deterministic model).
        """
        t = t if type(t) is int else _time_key(t)
        value = self._lookup((model_version, entity, t))
        if value is _MISSING:
            value = compute()
            self.put(model_version, entity, t, value)
        return value

    def invalidate(self, model_version: Hashable | None = None) -> int:
        """Drop every entry (``None``) or those of one model version; return how many.

        Call it when the serving model is swapped, so that no answer from the
        old model outlives the swap. Keys carry the model version, so a new
        version never reads an old version's entry even if a request still in
        flight on the old model stores one after the swap; such an entry only
        takes room until it expires or is evicted.
        """
        with self._lock:
            if model_version is None:
                dropped = len(self._data)
                self._data.clear()
            else:
                keys = [k for k in self._data if k[0] == model_version]
                for k in keys:
                    del self._data[k]
                dropped = len(keys)
            self._invalidations += dropped
            return dropped

    def expire(self) -> int:
        """Drop every expired entry now (they are otherwise dropped lazily); return how many."""
        if self.ttl_s is None:
            return 0
        with self._lock:
            now = self.clock()
            keys = [k for k, (_, expires) in self._data.items() if expires <= now]
            for k in keys:
                del self._data[k]
            self._expirations += len(keys)
            return len(keys)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = self._evictions = self._expirations = 0
            self._invalidations = 0

    def stats(self) -> dict[str, Any]:
        """Counters since creation: ``hits``, ``misses``, ``evictions`` (LRU, for room),
        ``expirations`` (TTL), ``invalidations`` (entries dropped by :meth:`invalidate`),
        ``size`` (expired entries not yet dropped included), ``maxsize``, ``ttl_s`` and
        ``hit_rate`` (``None`` before any lookup)."""
        with self._lock:
            lookups = self._hits + self._misses
            return {
                "hits": self._hits,
                "misses": self._misses,
                "evictions": self._evictions,
                "expirations": self._expirations,
                "invalidations": self._invalidations,
                "size": len(self._data),
                "maxsize": self.maxsize,
                "ttl_s": self.ttl_s,
                "hit_rate": self._hits / lookups if lookups else None,
            }

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:
        return f"PredictionCache(maxsize={self.maxsize}, ttl_s={self.ttl_s})"
