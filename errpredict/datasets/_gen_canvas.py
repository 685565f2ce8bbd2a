"""The canvas a synthetic history is drawn from, and how incidents are painted on it.

A :class:`Canvas` holds per-(service, minute) intensities (traffic surge,
latency multiplier, failing fraction, incident error rate, WARN rate) and
per-(service, 30 s) metric offsets. :func:`paint_precursor` paints what a
mechanism shows before its errors; :func:`paint_errors` paints the error
phase common to all of them. Events are drawn from the canvas afterwards,
so every precursor is a real change in the rows a model sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from errpredict.datasets._gen_mechanisms import Plan

__all__ = ["Canvas", "paint_precursor", "paint_errors"]


@dataclass
class Canvas:
    """Per-service timelines the events are drawn from (minutes, and 30 s for metrics)."""

    prof: np.ndarray  # (S, M) traffic shape, 1.0 = weekday peak
    mem_base: np.ndarray  # (S,)
    disk_base: np.ndarray  # (S,)
    surge: np.ndarray = field(init=False)
    lat: np.ndarray = field(init=False)
    fail: np.ndarray = field(init=False)
    err: np.ndarray = field(init=False)
    warn: np.ndarray = field(init=False)
    owner: np.ndarray = field(init=False)
    busy: np.ndarray = field(init=False)
    mem: np.ndarray = field(init=False)
    disk: np.ndarray = field(init=False)
    queue: np.ndarray = field(init=False)
    cpu: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = self.prof.shape
        self.surge = np.ones(shape)
        self.lat = np.ones(shape)
        self.fail = np.zeros(shape)
        self.err = np.zeros(shape)
        self.warn = np.zeros(shape)
        self.owner = np.full(shape, -1, dtype=np.int32)
        self.busy = np.zeros(shape, dtype=bool)
        half = (shape[0], 2 * shape[1])
        self.mem = np.zeros(half)
        self.disk = np.zeros(half)
        self.queue = np.zeros(half)
        self.cpu = np.zeros(half)

    @property
    def minutes(self) -> int:
        return self.prof.shape[1]

    def free(self, s: int, lo: int, hi: int) -> bool:
        return not self.busy[s, max(lo, 0) : max(hi, 0)].any()

    def reserve(self, s: int, lo: int, hi: int) -> None:
        self.busy[s, max(lo, 0) : max(hi, 0)] = True


def _rise(n: int, power: float) -> np.ndarray:
    return ((np.arange(n) + 1.0) / max(n, 1)) ** power


def _apply(arr: np.ndarray, s: int, a: int, values: np.ndarray, *, mul: bool = False) -> None:
    lo, hi = max(a, 0), min(a + len(values), arr.shape[1])
    if lo >= hi:
        return
    part = values[lo - a : hi - a]
    if mul:
        arr[s, lo:hi] *= part
    else:
        arr[s, lo:hi] += part


def paint_precursor(canvas: Canvas, plan: Plan) -> None:
    """Paint the precursor (and what goes with the errors) of ``plan`` on the canvas."""
    s, a, b = plan.service, plan.first, plan.start
    c = b if plan.near_miss else plan.stop
    m = plan.mechanism
    if m == "latency_ramp":
        peak = np.log(plan.shape["peak"])
        tail = np.array([0.6, 0.3, 0.1])
        mult = np.exp(peak * np.concatenate([_rise(plan.pre, 2.0), np.ones(c - b), tail]))
        _apply(canvas.lat, s, a, mult, mul=True)
        _apply(canvas.queue, s, 2 * a, np.repeat(2.0 * (mult - 1.0), 2))
    elif m == "warning_burst":
        peak = plan.shape["peak"]
        rate = np.concatenate([0.3 + (peak - 0.3) * _rise(plan.pre, 1.0),
                               np.full(c - b, 0.7 * peak)])
        _apply(canvas.warn, s, a, rate)
    elif m == "memory_leak":
        gap = plan.shape["target"] - canvas.mem_base[s]
        climb = gap * _rise(2 * plan.pre, 1.3)
        hold = gap + np.linspace(0.0, 1.0, 2 * (c - b))
        _apply(canvas.mem, s, 2 * a, np.concatenate([climb, hold]))
        _apply(canvas.cpu, s, 2 * a, 25.0 * np.concatenate([_rise(2 * plan.pre, 3.0),
                                                            np.ones(2 * (c - b))]))
    elif m == "overload":
        peak = plan.shape["peak"]
        up = np.concatenate([1.0 + (peak - 1.0) * _rise(plan.pre, 1.5), np.full(c - b, peak),
                             1.0 + (peak - 1.0) * np.linspace(0.8, 0.0, 5)])
        _apply(canvas.surge, s, a, up, mul=True)
        press = np.repeat((up - 1.0) / (peak - 1.0), 2)
        _apply(canvas.queue, s, 2 * a, 30.0 * press**1.5)
        _apply(canvas.cpu, s, 2 * a, 35.0 * press)
    elif m == "disk_fill":
        gap = 99.5 - canvas.disk_base[s]
        climb = gap * _rise(2 * plan.pre, 1.2)
        _apply(canvas.disk, s, 2 * a, np.concatenate([climb, np.full(2 * (c - b), gap)]))
    elif m == "dependency_cascade" and plan.parent >= 0:
        # calls into the failing callee hang first, then fail: latency rises from its start
        _apply(canvas.lat, s, plan.first, np.full(c - plan.first, plan.shape["slow"]), mul=True)


def paint_errors(canvas: Canvas, plan: Plan, row: int) -> None:
    """Paint the error phase of ``plan`` (owned by incident row ``row``)."""
    s = plan.service
    lo, hi = max(plan.start, 0), min(plan.stop, canvas.minutes)
    if lo >= hi:
        return
    canvas.err[s, lo:hi] = plan.level * (0.4 + 0.6 * canvas.prof[s, lo:hi])
    canvas.fail[s, lo:hi] = plan.fail
    canvas.owner[s, lo:hi] = row
