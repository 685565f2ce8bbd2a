"""Drift detection on error streams: River's ADWIN or DDM, with the evidence recorded."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from river import drift

from errpredict.exceptions import ConfigError

__all__ = ["DriftEvent", "DriftMonitor", "DETECTORS", "log_loss"]

#: Names accepted by the ``detector`` parameter of :class:`DriftMonitor`.
DETECTORS = ("adwin", "ddm")
_EPS = 1e-3
_MAX_WINDOW = 100_000  # values kept per stream for the evidence of a drift


def log_loss(p: float, y: bool) -> float:
    """Log loss of one probability, with ``p`` clipped to ``[0.001, 0.999]`` (at most 6.91)."""
    p = min(max(float(p), _EPS), 1.0 - _EPS)
    return -math.log(p if y else 1.0 - p)


@dataclass(frozen=True)
class DriftEvent:
    """A detected drift: when, which detector, on which stream, and the evidence.

    ``index`` is the position (from 0) of the value that fired in its stream;
    ``mean_before``/``n_before`` describe the values the detector dropped (the
    old regime) and ``mean_after``/``n_after`` the values it kept (the new one).
    ``detail`` names what changed when a detector knows (a new error type).
    """

    time: pd.Timestamp | None
    detector: str
    stream: str
    index: int
    mean_before: float
    mean_after: float
    n_before: int
    n_after: int
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain types (the time as ISO-8601) for JSON."""
        out = asdict(self)
        out["time"] = None if self.time is None else self.time.isoformat()
        return out


def _time(t: Any) -> pd.Timestamp | None:
    if t is None:
        return None
    ts = pd.Timestamp(t, unit="ns") if isinstance(t, int) else pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _best_split(values: np.ndarray) -> tuple[float, float, int, int]:
    """Where a window changed most: the split maximising ``|m0 - m1| / sqrt(1/n0 + 1/n1)``."""
    n = len(values)
    if n < 2:
        mean = float(values.mean()) if n else math.nan
        return mean, mean, 0, n
    c = np.cumsum(values)
    k = np.arange(1, n)
    m0 = c[:-1] / k
    m1 = (c[-1] - c[:-1]) / (n - k)
    score = np.abs(m1 - m0) / np.sqrt(1.0 / k + 1.0 / (n - k))
    i = int(np.argmax(score))
    return float(m0[i]), float(m1[i]), int(k[i]), int(n - k[i])


class _Stream:
    """One detector, and the values it holds to tell what changed."""

    def __init__(self, monitor: DriftMonitor) -> None:
        self.monitor = monitor
        self.seen = 0
        self.reset()

    def reset(self) -> None:
        m = self.monitor
        if m.detector == "adwin":
            self.det = drift.ADWIN(delta=m.delta, clock=1, grace_period=m.grace_period,
                                   min_window_length=m.min_window_length)
        else:
            self.det = drift.binary.DDM(warm_start=m.grace_period)
        self.window: deque[float] = deque(maxlen=_MAX_WINDOW)
        self.warning_at: int | None = None  # DDM: where the warning zone began

    def update(self, value: float) -> tuple[float, float, int, int] | None:
        """Feed one value; the evidence ``(mean_before, mean_after, n_before, n_after)`` on drift.

        ADWIN: the values it held when it fired, split where they differ most;
        it then keeps only the newer part. DDM: the values since its reset,
        split where its warning zone began.
        """
        self.seen += 1
        det = self.det
        self.window.append(value)
        if isinstance(det, drift.ADWIN):
            det.update(value)
            if not det.drift_detected:
                return None
            held = np.fromiter(self.window, dtype=np.float64)
            keep = min(int(det.width), len(held))
            self.window = deque(held[len(held) - keep:].tolist(), maxlen=_MAX_WINDOW)
            return _best_split(held)
        det.update(bool(value))
        if det.warning_detected and self.warning_at is None:
            self.warning_at = len(self.window) - 1
        elif not det.warning_detected and not det.drift_detected:
            self.warning_at = None
        if not det.drift_detected:
            return None
        held = np.fromiter(self.window, dtype=np.float64)
        cut = self.warning_at if self.warning_at is not None else len(held) - 1
        self.window.clear()
        self.warning_at = None
        before, after = held[:cut], held[cut:]
        return (float(before.mean()) if len(before) else math.nan, float(after.mean()),
                len(before), len(after))


class DriftMonitor:
    """Watch streams of model errors with River drift detectors and record every drift.

    Each named stream (by default the batch model's error and the online
    learner's loss) has its own detector. ``"adwin"`` (:class:`river.drift.ADWIN`,
    checked at every value) takes any bounded value, such as a log loss or a
    Brier score; ``"ddm"`` (:class:`river.drift.binary.DDM`) takes 0/1
    errors (a wrong alarm or a missed incident). A drift becomes a
    :class:`DriftEvent` with its time and the evidence (the means of the
    values before and after the change, and their counts), is kept in
    :attr:`events` and is passed to ``on_drift``.

    Parameters
    ----------
    streams
        Names of the streams watched; :meth:`update` on another name is an error.
    detector
        ``"adwin"`` or ``"ddm"``.
    delta
        ADWIN's confidence: a smaller value fires later and less often.
    grace_period
        Values a detector sees before it may fire (DDM's warm start).
    min_window_length
        ADWIN's smallest sub-window.
    direction
        ``"up"``: only an increase of the error is a drift (a model that gets
        better needs no retraining; such changes are counted in
        :attr:`ignored_`); ``"both"``: any change.
    on_drift
        Called with each :class:`DriftEvent`.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(7)
    >>> monitor = DriftMonitor(streams=("batch_error",), delta=0.002)
    >>> stream = [rng.random() < 0.1 for _ in range(500)] + [rng.random() < 0.5 for _ in range(500)]
    >>> for i, error in enumerate(stream):
    ...     event = monitor.update("batch_error", float(error), time=i * 60_000_000_000)
    >>> first = monitor.events[0]
    >>> first.index, round(first.mean_before, 3), round(first.mean_after, 3)
    (544, 0.114, 0.568)
    """

    def __init__(
        self,
        streams: Iterable[str] = ("batch_error", "online_loss"),
        *,
        detector: str = "adwin",
        delta: float = 0.002,
        grace_period: int = 30,
        min_window_length: int = 10,
        direction: str = "up",
        on_drift: Callable[[DriftEvent], None] | None = None,
    ) -> None:
        if detector not in DETECTORS:
            raise ConfigError(
                f"The 'detector' parameter of DriftMonitor must be one of {DETECTORS}. "
                f"Got {detector!r} instead."
            )
        if not isinstance(delta, float | int) or not 0 < delta < 1:
            raise ConfigError(
                f"The 'delta' parameter of DriftMonitor must be a float in (0, 1). Got {delta!r} "
                "instead."
            )
        if direction not in ("up", "both"):
            raise ConfigError(
                "The 'direction' parameter of DriftMonitor must be 'up' or 'both'. "
                f"Got {direction!r} instead."
            )
        for name, v in (("grace_period", grace_period), ("min_window_length", min_window_length)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(
                    f"The {name!r} parameter of DriftMonitor must be an int in [1, inf). "
                    f"Got {v!r} instead."
                )
        self.detector = detector
        self.delta = float(delta)
        self.grace_period = grace_period
        self.min_window_length = min_window_length
        self.direction = direction
        self.on_drift = on_drift
        self.streams = tuple(streams)
        if not self.streams:
            raise ConfigError("The 'streams' parameter of DriftMonitor is empty; name a stream.")
        self._streams = {name: _Stream(self) for name in self.streams}
        self.events: list[DriftEvent] = []
        self.ignored_ = 0

    def _stream(self, name: str) -> _Stream:
        try:
            return self._streams[name]
        except KeyError:
            raise ConfigError(
                f"DriftMonitor: unknown stream {name!r}; the streams are {list(self.streams)}"
            ) from None

    def update(self, stream: str, value: float, time: Any = None) -> DriftEvent | None:
        """Feed one value of a stream; the :class:`DriftEvent` when it drifts, else ``None``.

        ``time`` (a timestamp or epoch nanoseconds) is when the value became
        known; it is the time of the event.
        """
        s = self._stream(stream)
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(
                f"DriftMonitor.update({stream!r}): value {value!r} is not a finite number; "
                "feed a loss or a 0/1 error"
            )
        evidence = s.update(value)
        if evidence is None:
            return None
        before, after, n_before, n_after = evidence
        if self.direction == "up" and not after > before:
            self.ignored_ += 1
            return None
        event = DriftEvent(_time(time), self.detector, stream, s.seen - 1, float(before),
                           float(after), n_before, n_after)
        self.events.append(event)
        if self.on_drift is not None:
            self.on_drift(event)
        return event

    def record(self, event: DriftEvent) -> None:
        """Keep a drift found by another detector (it goes to ``on_drift`` as well)."""
        self.events.append(event)
        if self.on_drift is not None:
            self.on_drift(event)

    def reset(self, stream: str | None = None) -> None:
        """Start a stream's detector afresh (all streams with ``None``), e.g. after a model swap.

        Positions (:attr:`DriftEvent.index`) keep counting from where they were.
        """
        for name in self.streams if stream is None else (stream,):
            self._stream(name).reset()

    def seen(self, stream: str) -> int:
        """How many values a stream has had."""
        return self._stream(stream).seen

    def __repr__(self) -> str:
        return (f"DriftMonitor(streams={self.streams}, detector={self.detector!r}, "
                f"delta={self.delta}, events={len(self.events)})")
