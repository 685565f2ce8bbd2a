"""Placing incidents on the service timelines: when, where, and how cascades spread.

Root incidents arrive as a Poisson process (``incident_rate`` per service per
day); each picks a mechanism by :data:`BASE_WEIGHTS` (with the drift swap), a
service it can happen on and a time, and is placed only where the service is
quiet, so incidents on one service never overlap. Cascades then walk up the
call graph from the failed backend. Near misses (precursors without errors)
are placed last. One Python step per incident, never per event.
"""

from __future__ import annotations

import numpy as np

from errpredict.datasets._gen_canvas import Canvas, paint_errors, paint_precursor
from errpredict.datasets._gen_mechanisms import (
    BASE_WEIGHTS,
    DRIFT_ADDED,
    DRIFT_REMOVED,
    NEAR_MISS_SHARE,
    SAMPLERS,
    Plan,
    cascade_caller,
)
from errpredict.datasets._gen_topology import Topology

__all__ = ["schedule", "mechanism_weights"]

_GUARD_BEFORE = 5  # quiet minutes kept before a precursor
_GUARD_AFTER = 10  # and after the last error
_TRIES = 8


def mechanism_weights(minutes: int, drift_min: int | None) -> dict[str, float]:
    """Share of root incidents per mechanism over the whole history."""
    weights = dict(BASE_WEIGHTS)
    if drift_min is not None:
        before = drift_min / minutes
        weights[DRIFT_ADDED] = weights[DRIFT_REMOVED] * (1.0 - before)
        weights[DRIFT_REMOVED] *= before
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def _eligible(topo: Topology, mechanism: str) -> list[int]:
    if mechanism == "dependency_cascade":
        return [s for s in range(topo.n) if topo.callers(s)]
    if mechanism == "overload":
        return [s for s in range(topo.n) if topo.tiers[s] <= 1]
    return list(range(topo.n))


def _period(mechanism: str, minutes: int, drift_min: int | None) -> tuple[int, int]:
    """Minutes a mechanism's whole plan (precursor to last error) must lie in."""
    if drift_min is None:
        return 0, minutes
    if mechanism == DRIFT_REMOVED:
        return 0, drift_min
    if mechanism == DRIFT_ADDED:
        return drift_min, minutes
    return 0, minutes


def _draw_start(rng, canvas: Canvas, plan: Plan, lo: int, hi: int, peak_cdf) -> int | None:
    first, last = lo + plan.pre, hi - (plan.dur if hi < canvas.minutes else 1)
    if last <= first:
        return None
    if peak_cdf is None:
        return int(rng.integers(first, last))
    cdf = peak_cdf[plan.service]
    u = rng.uniform(cdf[first - 1] if first > 0 else 0.0, cdf[last - 1])
    return int(min(np.searchsorted(cdf, u, side="right"), last - 1))


def _place(rng, canvas: Canvas, plan: Plan, period, peak_cdf) -> bool:
    end = plan.start if plan.near_miss else plan.stop
    for _ in range(_TRIES):
        start = _draw_start(rng, canvas, plan, *period, peak_cdf)
        if start is None:
            return False
        lo, hi = start - plan.pre - _GUARD_BEFORE, start + (end - plan.start) + _GUARD_AFTER
        if canvas.free(plan.service, lo, hi):
            plan.start = start
            canvas.reserve(plan.service, lo, hi)
            return True
    return False


def _spread(rng, topo: Topology, canvas: Canvas, plans: list[Plan], root: int) -> None:
    """Walk up the call graph from the failed backend ``plans[root]``."""
    queue = [(root, 0)]
    while queue:
        idx, depth = queue.pop(0)
        callee = plans[idx]
        for caller in topo.callers(callee.service):
            if rng.random() >= (0.75 if depth == 0 else 0.4):
                continue
            plan = cascade_caller(rng, topo, caller, callee.service)
            lag = int(rng.integers(2, 6))
            plan.start = callee.start + lag
            plan.dur = max(callee.dur - lag + int(rng.integers(1, 3)), 2)
            plan.pre = lag
            plan.root, plan.parent = callee.root, idx
            lo, hi = plan.first, plan.stop + _GUARD_AFTER
            if plan.start >= canvas.minutes or not canvas.free(caller, lo, hi):
                continue
            canvas.reserve(caller, lo, hi)
            plans.append(plan)
            queue.append((len(plans) - 1, depth + 1))


def schedule(
    rng: np.random.Generator,
    topo: Topology,
    canvas: Canvas,
    *,
    days: float,
    incident_rate: float,
    drift_min: int | None,
) -> list[Plan]:
    """Place every incident and near miss, paint them, and return the incident plans."""
    minutes = canvas.minutes
    weights = mechanism_weights(minutes, drift_min)
    names = list(weights)
    probs = np.array([weights[n] for n in names])
    # overload happens at traffic peaks: draw its time with density ~ traffic^6
    peak_cdf = np.cumsum(canvas.prof**6, axis=1)
    plans: list[Plan] = []
    n_roots = int(rng.poisson(incident_rate * topo.n * days))
    for _ in range(n_roots):
        mechanism = names[int(rng.choice(len(names), p=probs))]
        eligible = _eligible(topo, mechanism)
        if not eligible:
            continue
        if mechanism == "dependency_cascade":  # deeper services (backends) fail more often
            tiers = topo.tiers[eligible].astype(float)
            s = eligible[int(rng.choice(len(eligible), p=tiers / tiers.sum()))]
        else:
            s = eligible[int(rng.integers(len(eligible)))]
        plan = SAMPLERS[mechanism](rng, topo, s, False)
        plan.root = s
        period = _period(mechanism, minutes, drift_min)
        if not _place(rng, canvas, plan, period, peak_cdf if mechanism == "overload" else None):
            continue
        plans.append(plan)
        if mechanism == "dependency_cascade":
            _spread(rng, topo, canvas, plans, len(plans) - 1)
    for mechanism, share in NEAR_MISS_SHARE.items():
        count = int(rng.poisson(share * weights.get(mechanism, 0.0) * incident_rate
                                * topo.n * days))
        period = _period(mechanism, minutes, drift_min)
        for _ in range(count):
            s = int(rng.integers(topo.n))
            plan = SAMPLERS[mechanism](rng, topo, s, True)
            plan.near_miss = True
            if _place(rng, canvas, plan, period, None):
                paint_precursor(canvas, plan)
    for row, plan in enumerate(plans):
        paint_precursor(canvas, plan)
        paint_errors(canvas, plan, row)
    return plans
