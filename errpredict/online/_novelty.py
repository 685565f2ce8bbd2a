"""New error types: a failure mode the serving model never saw, arriving at incident volume."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.features import to_ns
from errpredict.online._drift import DriftEvent

__all__ = ["NewErrorTypes"]


class NewErrorTypes:
    """Report an error type the serving model never saw once it comes at incident volume.

    A new failure mode (a release that breaks in a new way, a disk that
    fills for the first time) usually shows as an error type nobody has seen
    before. Loss-based detectors notice it only after several such incidents
    have been missed; this watch notices the first one: when at least
    ``min_errors`` errors of one unknown type fall within ``window``, it
    emits a :class:`DriftEvent` (detector ``"novelty"``, stream
    ``"new_error_types"``) whose ``mean_after`` is that count and
    ``n_before`` the number of errors of known types seen so far. Each type
    is reported once; :meth:`learn` marks types as known (those a newly
    promoted model was trained on).

    Parameters
    ----------
    window
        Span in which the errors of a new type are counted (the target's horizon).
    min_errors
        Errors of a new type within ``window`` that make a drift (the target's ``min_errors``).
    on_event
        Called with each :class:`DriftEvent`.

    Examples
    --------
    >>> watch = NewErrorTypes(window="10m", min_errors=3)
    >>> watch.learn(["TimeoutError"])
    >>> minute = 60_000_000_000
    >>> watch.update([0, minute, 2 * minute], ["TimeoutError", "OSError", "OSError"])
    []
    >>> [(e.index, e.mean_after) for e in watch.update([3 * minute], ["OSError"])]
    [(3, 3.0)]
    """

    def __init__(self, *, window: Any = "10m", min_errors: int = 5,
                 on_event: Callable[[DriftEvent], None] | None = None) -> None:
        if isinstance(min_errors, bool) or not isinstance(min_errors, int | np.integer) \
                or min_errors < 1:
            raise ConfigError("The 'min_errors' parameter of NewErrorTypes must be an int in "
                              f"[1, inf). Got {min_errors!r} instead.")
        self.window_ns = to_ns(window, name="window")
        self.min_errors = int(min_errors)
        self.on_event = on_event
        self.known: set[str] = set()
        self.reported: set[str] = set()
        self.seen = 0  # errors seen (the index of events)
        self.known_errors = 0
        self._recent: dict[str, deque[int]] = {}

    def learn(self, types: Iterable[Any]) -> None:
        """Mark error types as known to the serving model (missing types are ignored)."""
        for t in types:
            if isinstance(t, str):
                self.known.add(t)
                self._recent.pop(t, None)

    def update(self, times_ns: Iterable[int], types: Iterable[Any]) -> list[DriftEvent]:
        """Feed error events (time order): their times (epoch ns) and types; new drifts."""
        events = []
        for t, kind in zip(times_ns, types, strict=True):
            self.seen += 1
            if not isinstance(kind, str) or kind in self.known:
                self.known_errors += 1
                continue
            if kind in self.reported:
                continue
            q = self._recent.setdefault(kind, deque())
            q.append(int(t))
            while q[0] <= t - self.window_ns:
                q.popleft()
            if len(q) >= self.min_errors:
                self.reported.add(kind)
                del self._recent[kind]
                event = DriftEvent(pd.Timestamp(int(t), unit="ns", tz="UTC"), "novelty",
                                   "new_error_types", self.seen - 1, 0.0, float(self.min_errors),
                                   self.known_errors, self.min_errors, detail=kind)
                events.append(event)
                if self.on_event is not None:
                    self.on_event(event)
        return events
