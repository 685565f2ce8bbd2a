"""Incident mechanisms of the synthetic history: what they are and how each is sampled.

:data:`MECHANISMS` documents every mechanism (its precursor signal and the
recovery that ends it). Each mechanism's sampler draws a :class:`Plan`:
durations, strength, error types and messages, and the shape of its
precursor, which :mod:`errpredict.datasets._gen_canvas` then paints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from errpredict.datasets._gen_topology import Topology

__all__ = [
    "MechanismInfo",
    "MECHANISMS",
    "BASE_WEIGHTS",
    "DRIFT_REMOVED",
    "DRIFT_ADDED",
    "NEAR_MISS_SHARE",
    "RECOVERY_CLASSES",
    "ERROR_KIND",
    "Plan",
    "SAMPLERS",
    "cascade_caller",
]


@dataclass(frozen=True)
class MechanismInfo:
    """What a mechanism is, where its precursor shows and what ends it."""

    name: str
    has_precursor: bool
    signal: str
    recovery: str
    description: str


#: Recovery classes: what a client or an operator must do for the errors to stop.
RECOVERY_CLASSES = {
    "transient": "a retry after a short delay succeeds; the fault clears by itself",
    "backoff": "retrying succeeds only after the Retry-After delay; retrying sooner fails again",
    "circuit": "retries make it worse; open the circuit breaker (shed load, serve a fallback) "
    "until the service recovers",
    "failover": "retries on the same instance keep failing; fail over to another replica or "
    "restart the instance",
    "human": "neither retry nor fail-over helps; a person must act (roll back, clean up)",
}

MECHANISMS = {
    m.name: m
    for m in (
        MechanismInfo(
            "latency_ramp", True, "duration_ms",
            "circuit",
            "latency of the service climbs 4-10x over 10-30 min, then requests time out "
            "(TimeoutError, DEADLINE_EXCEEDED) for 5-25 min; queue_depth rises with it",
        ),
        MechanismInfo(
            "warning_burst", True, "WARN rows",
            "failover",
            "WARN rows ('connection pool 90% used', 'retrying ...') rise for 5-20 min, then the "
            "pool is exhausted (ConnectionError, RESOURCE_EXHAUSTED) for 5-20 min",
        ),
        MechanismInfo(
            "dependency_cascade", True, "errors of the callee",
            "circuit",
            "a backend fails suddenly (ConnectionError, root row: no precursor) for 5-30 min; "
            "2-5 min later each caller fails in turn (HTTP 503 'upstream X unavailable') and its "
            "latency rises; the callee's errors are the callers' precursor",
        ),
        MechanismInfo(
            "memory_leak", True, "mem_pct",
            "failover",
            "mem_pct climbs to 95-99% over 30-120 min, then OutOfMemoryError for 3-12 min until "
            "the pod restarts and memory drops back",
        ),
        MechanismInfo(
            "bad_deploy", False, "none",
            "human",
            "a release starts failing at once (HTTP 500, INTERNAL) for 8-40 min until it is "
            "rolled back; nothing announces it",
        ),
        MechanismInfo(
            "overload", True, "request rate, queue_depth, cpu_pct",
            "backoff",
            "at a traffic peak the request rate surges 1.8-3x over 10-20 min, then the service "
            "rate-limits (HTTP 429 with a Retry-After) for 5-20 min",
        ),
        MechanismInfo(
            "network_blip", False, "none",
            "transient",
            "a network fault resets connections (ConnectionResetError, HTTP 503, UNAVAILABLE) "
            "for 1-3 min and clears by itself",
        ),
        MechanismInfo(
            "disk_fill", True, "disk_pct",
            "human",
            "only after drift_at: disk_pct climbs to 99.5% over 20-60 min, then writes fail "
            "(OSError '[Errno 28] No space left on device') for 5-20 min until cleaned up",
        ),
    )
}

#: Share of root incidents per mechanism (disk_fill takes warning_burst's share after drift).
BASE_WEIGHTS = {
    "latency_ramp": 0.17,
    "warning_burst": 0.15,
    "dependency_cascade": 0.14,
    "memory_leak": 0.13,
    "bad_deploy": 0.13,
    "overload": 0.13,
    "network_blip": 0.15,
}
DRIFT_REMOVED = "warning_burst"
DRIFT_ADDED = "disk_fill"
#: Precursors that come to nothing (no errors, no incident row), per real incident.
NEAR_MISS_SHARE = {"latency_ramp": 0.25, "warning_burst": 0.25, "memory_leak": 0.25}

#: How an error's duration_ms looks: the timeout, a fast failure, or the usual latency.
ERROR_KIND = {
    "TimeoutError": "timeout",
    "HTTP 504": "timeout",
    "DEADLINE_EXCEEDED": "timeout",
    "HTTP 503": "fast",
    "HTTP 429": "fast",
    "UNAVAILABLE": "fast",
    "RESOURCE_EXHAUSTED": "fast",
    "ConnectionError": "fast",
    "ConnectionResetError": "fast",
    "HTTP 400": "fast",
    "HTTP 401": "fast",
    "HTTP 404": "fast",
    "ValidationError": "fast",
    "INVALID_ARGUMENT": "fast",
    "NOT_FOUND": "fast",
    "HTTP 500": "normal",
    "INTERNAL": "normal",
    "UNKNOWN": "normal",
    "TypeError": "normal",
    "OutOfMemoryError": "normal",
    "OSError": "normal",
}


@dataclass
class Plan:
    """One incident on one service (or a near miss), in minutes from the history start."""

    mechanism: str
    service: int
    pre: int  # precursor minutes before ``start`` (0: none)
    dur: int  # minutes of errors
    fail: float  # fraction of requests that fail
    level: float  # incident errors per minute at the traffic peak
    types: tuple[str, str]  # dominant, secondary error type
    messages: tuple[str, str]
    secondary: float  # share of the secondary type
    has_precursor: bool
    shape: dict[str, float] = field(default_factory=dict)
    start: int = 0  # first minute of errors
    root: int = -1
    parent: int = -1  # plan index of the callee whose errors precede this one
    near_miss: bool = False
    retry_after: float = float("nan")

    @property
    def stop(self) -> int:
        return self.start + self.dur

    @property
    def first(self) -> int:
        """First minute the plan touches (its precursor's start)."""
        return self.start - self.pre


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _i(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def _timeout(topo: Topology, s: int) -> tuple[str, str, str, str]:
    if topo.grpc[s]:
        return ("DEADLINE_EXCEEDED", "UNAVAILABLE", "deadline exceeded after 1000 ms",
                "upstream unavailable: no healthy backend")
    return ("TimeoutError", "HTTP 504", "request timed out after 5000 ms",
            "gateway timeout after 5000 ms")


def _latency_ramp(rng, topo, s, near_miss):
    dom, sec, m1, m2 = _timeout(topo, s)
    peak = _u(rng, 1.6, 2.5) if near_miss else _u(rng, 4.0, 10.0)
    return Plan("latency_ramp", s, _i(rng, 10, 30), _i(rng, 5, 25), _u(rng, 0.3, 0.9),
                _u(rng, 3.0, 12.0), (dom, sec), (m1, m2), 0.15, True, {"peak": peak})


def _warning_burst(rng, topo, s, near_miss):
    if topo.grpc[s]:
        types = ("RESOURCE_EXHAUSTED", "UNAVAILABLE")
        msgs = ("connection pool exhausted (64/64 in use)", "upstream unavailable: pool drained")
    else:
        types = ("ConnectionError", "HTTP 503")
        msgs = ("connection pool exhausted (50/50 in use)", "service unavailable")
    peak = _u(rng, 1.5, 3.0) if near_miss else _u(rng, 4.0, 12.0)
    return Plan("warning_burst", s, _i(rng, 5, 20), _i(rng, 5, 20), _u(rng, 0.3, 0.8),
                _u(rng, 3.0, 10.0), types, msgs, 0.2, True, {"peak": peak})


_ROOT_CAUSE = {
    "db-proxy": "connection refused by postgres-primary:5432",
    "cache": "connection refused by redis-0:6379",
}


def _cascade_root(rng, topo, s, near_miss):
    name = topo.names[s]
    sec = "UNAVAILABLE" if topo.grpc[s] else "HTTP 503"
    msg = _ROOT_CAUSE.get(name, f"connection refused by {name}-store:5432")
    return Plan("dependency_cascade", s, 0, _i(rng, 5, 30), _u(rng, 0.8, 1.0),
                _u(rng, 8.0, 20.0), ("ConnectionError", sec), (msg, "service unavailable"),
                0.2, False)


def cascade_caller(rng: np.random.Generator, topo: Topology, s: int, callee: int) -> Plan:
    """The row of a caller that fails because ``callee`` fails."""
    other = topo.names[callee]
    if topo.grpc[s]:
        types = ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    else:
        types = ("HTTP 503", "TimeoutError")
    msgs = (f"upstream {other} unavailable", f"call to {other} timed out")
    return Plan("dependency_cascade", s, 0, 0, _u(rng, 0.2, 0.6), _u(rng, 3.0, 10.0),
                types, msgs, 0.3, True, {"slow": _u(rng, 2.0, 4.0)})


def _memory_leak(rng, topo, s, near_miss):
    target = _u(rng, 72.0, 86.0) if near_miss else _u(rng, 95.0, 99.0)
    sec = "UNAVAILABLE" if topo.grpc[s] else "HTTP 503"
    return Plan("memory_leak", s, _i(rng, 30, 120), _i(rng, 3, 12), _u(rng, 0.4, 0.9),
                _u(rng, 4.0, 12.0), ("OutOfMemoryError", sec),
                ("container memory limit exceeded (OOMKilled)", "service unavailable"),
                0.1, True, {"target": target})


def _bad_deploy(rng, topo, s, near_miss):
    tag = f"v{_i(rng, 1, 4)}.{_i(rng, 0, 30)}.{_i(rng, 0, 9)}"
    if topo.grpc[s]:
        types = ("INTERNAL", "UNKNOWN")
    else:
        types = ("HTTP 500", "TypeError")
    msgs = (f"unhandled exception in handler (release {tag})",
            f"'NoneType' object is not subscriptable (release {tag})")
    return Plan("bad_deploy", s, 0, _i(rng, 8, 40), _u(rng, 0.2, 0.7), _u(rng, 3.0, 15.0),
                types, msgs, 0.15, False)


def _overload(rng, topo, s, near_miss):
    retry = float(rng.choice([1.0, 2.0, 5.0, 10.0, 30.0, 60.0], p=[.1, .15, .25, .25, .15, .1]))
    plan = Plan("overload", s, _i(rng, 10, 20), _i(rng, 5, 20), _u(rng, 0.15, 0.5),
                _u(rng, 4.0, 15.0), ("HTTP 429", "HTTP 503"),
                (f"rate limit exceeded; retry after {retry:g} s", "server overloaded"),
                0.1, True, {"peak": _u(rng, 1.8, 3.0)})
    plan.retry_after = retry
    return plan


def _network_blip(rng, topo, s, near_miss):
    if topo.grpc[s]:
        types = ("UNAVAILABLE", "ConnectionResetError")
    else:
        types = ("ConnectionResetError", "HTTP 503")
    return Plan("network_blip", s, 0, _i(rng, 1, 3), _u(rng, 0.6, 1.0), _u(rng, 10.0, 25.0),
                types, ("connection reset by peer", "service unavailable"), 0.3, False)


def _disk_fill(rng, topo, s, near_miss):
    sec = "INTERNAL" if topo.grpc[s] else "HTTP 500"
    return Plan("disk_fill", s, _i(rng, 20, 60), _i(rng, 5, 20), _u(rng, 0.3, 0.8),
                _u(rng, 3.0, 10.0), ("OSError", sec),
                ("[Errno 28] No space left on device", "failed to write request log"), 0.1, True)


Sampler = Callable[[np.random.Generator, Topology, int, bool], Plan]
SAMPLERS: dict[str, Sampler] = {
    "latency_ramp": _latency_ramp,
    "warning_burst": _warning_burst,
    "dependency_cascade": _cascade_root,
    "memory_leak": _memory_leak,
    "bad_deploy": _bad_deploy,
    "overload": _overload,
    "network_blip": _network_blip,
    "disk_fill": _disk_fill,
}
