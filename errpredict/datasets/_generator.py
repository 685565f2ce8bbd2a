"""Synthetic error histories with known incidents, precursors and drift.

:func:`generate_history` simulates a small microservice system for a number
of days and returns its events in the canonical schema together with the
ground truth: which incidents happened, on which services, by which
mechanism, and whether anything announced them.

What is in the events
---------------------
- Services on a call graph (``api-gateway`` -> mid tier -> ``db-proxy`` and
  ``cache``), with diurnal and weekly traffic (peak ``rate`` requests per
  service per minute on weekday afternoons, 65% on weekends).
- Request rows (``is_error`` False): ``operation`` is the endpoint, ``host``
  a pod, ``duration_ms`` lognormal per endpoint; 30% carry a ``trace_id``
  (severity 0, a span), the others are access-log lines (severity 9).
- Noise that predicts nothing: client errors (``HTTP 400``, ``HTTP 404``,
  ``ValidationError``, ...; 0.4% of requests), isolated transient errors
  (one ``TimeoutError`` or ``HTTP 503`` that recovers at once, about one per
  service every 2.5 hours) and background WARN rows (severity 13).
- Metric snapshots every 30 s per service (``operation == "metrics"``) with
  ``cpu_pct``, ``mem_pct``, ``queue_depth`` and ``disk_pct``; these columns
  are NaN on every other row.
- Incidents: minutes of errors on a service (typically tens to hundreds of
  rows), by one of the mechanisms below. Some precursors come to nothing
  (near misses: a latency rise, a WARN burst or a memory climb with no
  errors after it), so precursors are evidence, not certainty.

Mechanisms and what ends them
-----------------------------
The ``mechanism`` column of the incidents table is one of these names. The
recovery class says what a client or an operator must do for the errors to
stop; a recovery simulator reads it with ``start``/``end`` (the errors stop
at ``end`` whatever is done, unless a recovery ends them sooner):

=================== ============ ===================================== =========
mechanism           precursor    signal of the precursor               recovery
=================== ============ ===================================== =========
latency_ramp        yes          duration_ms (and queue_depth) climb   circuit
warning_burst       yes          WARN rows rise (connection pool)      failover
dependency_cascade  callers only errors of the callee, caller latency  circuit
memory_leak         yes          mem_pct climbs to 95-99%              failover
bad_deploy          no           none                                  human
overload            yes          request rate, queue_depth, cpu_pct    backoff
network_blip        no           none (1-3 min)                        transient
disk_fill           yes          disk_pct climbs (only after drift_at) human
=================== ============ ===================================== =========

- transient: a retry after a short delay succeeds; the fault clears by itself.
- backoff: retrying succeeds only after ``retry_after_s`` (the Retry-After
  header of the ``HTTP 429``); retrying sooner fails again.
- circuit: retries add load and keep failing; open the circuit breaker on
  the callers (serve a fallback) until ``end``.
- failover: retries on the same instance keep failing; failing over to
  another replica (or restarting the pod) ends the errors for the client.
- human: neither retry nor fail-over helps (the bad release or the full disk
  is everywhere); only an operator's rollback or clean-up ends it.

In a ``dependency_cascade`` the root row (``service == root_service``) fails
suddenly (``has_precursor`` False); each caller row starts 2-5 minutes
after its callee, and its ``precursor_start`` is the callee's ``start``.

Drift: with ``drift_at`` (a day offset), ``warning_burst`` incidents stop
before that time and ``disk_fill`` incidents (a new error type, ``OSError``,
announced by a different signal, ``disk_pct``) appear after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.datasets._gen_events import Vocab, assemble, draw_events, make_canvas
from errpredict.datasets._gen_events import traffic_profile as _traffic_profile
from errpredict.datasets._gen_io import INCIDENT_COLUMNS, read_incidents, write_history
from errpredict.datasets._gen_mechanisms import (
    BASE_WEIGHTS,
    DRIFT_ADDED,
    DRIFT_REMOVED,
    MECHANISMS,
    RECOVERY_CLASSES,
    MechanismInfo,
    Plan,
)
from errpredict.datasets._gen_schedule import schedule
from errpredict.datasets._gen_topology import build_topology
from errpredict.exceptions import ConfigError
from errpredict.io import to_canonical

__all__ = [
    "GeneratorConfig",
    "GeneratedHistory",
    "generate_history",
    "write_history",
    "read_incidents",
    "positive_rate",
    "INCIDENT_COLUMNS",
    "MECHANISMS",
    "MechanismInfo",
    "RECOVERY_CLASSES",
]

_MAX_SERVICES = 99


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of a synthetic history (see :func:`generate_history`)."""

    days: float = 7.0
    services: int = 8
    seed: int = 0
    start: str = "2026-01-05T00:00:00Z"
    drift_at: float | None = None
    rate: float = 14.0
    incident_rate: float = 3.0

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"The {name!r} parameter of generate_history must be {expected}. "
                               f"Got {getattr(self, name)!r} instead.")

        if not _is_number(self.days) or not 1 / 1440 <= self.days <= 3650:
            raise bad("days", "a number of days from 1/1440 (one minute) to 3650")
        if not _is_int(self.services) or not 1 <= self.services <= _MAX_SERVICES:
            raise bad("services", f"an int in [1, {_MAX_SERVICES}]")
        if not _is_int(self.seed) or self.seed < 0:
            raise bad("seed", "an int >= 0")
        if not _is_number(self.rate) or not 0 < self.rate <= 10_000:
            raise bad("rate", "a number of requests per service per minute in (0, 10000]")
        if not _is_number(self.incident_rate) or not 0 <= self.incident_rate <= 100:
            raise bad("incident_rate", "a number of incidents per service per day in [0, 100]")
        if self.drift_at is not None and (
            not _is_number(self.drift_at) or not 0 < self.drift_at < self.days
        ):
            raise bad("drift_at", f"None or a day offset inside the history, in (0, {self.days})")
        try:
            ts = pd.Timestamp(self.start)
        except (ValueError, TypeError):
            raise bad("start", "an ISO-8601 time such as '2026-01-05T00:00:00Z'") from None
        if ts is pd.NaT:
            raise bad("start", "an ISO-8601 time such as '2026-01-05T00:00:00Z'")

    @property
    def start_time(self) -> pd.Timestamp:
        """``start`` as a UTC timestamp, floored to the millisecond."""
        ts = pd.Timestamp(self.start)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.floor("ms")

    @property
    def service_names(self) -> tuple[str, ...]:
        return build_topology(self.services).names

    @property
    def mechanisms_before(self) -> tuple[str, ...]:
        """Mechanisms that can start before ``drift_at`` (all the time without drift)."""
        return tuple(BASE_WEIGHTS)

    @property
    def mechanisms_after(self) -> tuple[str, ...]:
        """Mechanisms that can start after ``drift_at``."""
        if self.drift_at is None:
            return tuple(BASE_WEIGHTS)
        return tuple(m for m in BASE_WEIGHTS if m != DRIFT_REMOVED) + (DRIFT_ADDED,)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool) \
        and math.isfinite(float(x))


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


@dataclass(frozen=True)
class GeneratedHistory:
    """A synthetic history: canonical events, ground-truth incidents, call graph, parameters.

    Examples
    --------
    >>> h = generate_history(days=0.1, services=3, seed=1)
    >>> h.config.service_names
    ('api-gateway', 'checkout', 'payments')
    >>> h.dependencies
    [('api-gateway', 'checkout'), ('checkout', 'payments')]
    >>> list(h.incidents.columns[:4])
    ['incident_id', 'service', 'root_service', 'mechanism']
    """

    events: pd.DataFrame
    incidents: pd.DataFrame
    dependencies: list[tuple[str, str]]
    config: GeneratorConfig

    def positive_rate(self, horizon: str = "10min", min_errors: int = 5,
                      step: str = "1min") -> float:
        """Share of (service, decision time) points whose horizon holds ``min_errors`` errors."""
        return positive_rate(self.events, horizon=horizon, min_errors=min_errors, step=step,
                             start=self.config.start_time, days=self.config.days)

    def summary(self) -> str:
        """One line: events, errors, services, days, incidents and the positive rate."""
        ev, cfg = self.events, self.config
        rate = self.positive_rate()
        positive = ("positive rate n/a (shorter than the 10 min horizon)" if np.isnan(rate)
                    else f"{rate:.1%} positive service-minutes (>= 5 errors in the next 10 min)")
        return (f"{len(ev):,} events ({int(ev['is_error'].sum()):,} errors) from "
                f"{cfg.services} service{'s' if cfg.services != 1 else ''} over "
                f"{cfg.days:g} days, {self.incidents['incident_id'].nunique()} incidents "
                f"({len(self.incidents)} service rows), {positive}")


def positive_rate(
    events: pd.DataFrame,
    *,
    horizon: str = "10min",
    min_errors: int = 5,
    step: str = "1min",
    start: pd.Timestamp | None = None,
    days: float | None = None,
) -> float:
    """Share of (service, t) points with at least ``min_errors`` errors in ``(t, t + horizon]``.

    Decision times ``t`` run on the ``step`` grid from ``start`` (default: the
    first event, floored to ``step``) while ``t + horizon`` stays inside the
    history (``start + days``, default: the last event).
    """
    h, st = pd.Timedelta(horizon).value, pd.Timedelta(step).value
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    t0 = (ts[0] // st) * st if start is None else pd.Timestamp(start).value
    t_end = ts[-1] if days is None else t0 + int(round(days * 86_400e9))
    grid = t0 + st * np.arange(max((t_end - h - t0) // st + 1, 0), dtype=np.int64)
    if grid.size == 0:
        return float("nan")
    err = events["is_error"].to_numpy()
    services = events["service"].to_numpy(dtype=object)
    hits = 0
    names = pd.unique(services)
    for name in names:
        times = ts[err & (services == name)]
        n = np.searchsorted(times, grid + h, side="right") - np.searchsorted(times, grid, "right")
        hits += int((n >= min_errors).sum())
    return hits / (grid.size * len(names))


def generate_history(
    *,
    days: float = 7.0,
    services: int = 8,
    seed: int = 0,
    start: str = "2026-01-05T00:00:00Z",
    drift_at: float | None = None,
    rate: float = 14.0,
    incident_rate: float = 3.0,
) -> GeneratedHistory:
    """Simulate ``services`` services for ``days`` days and return events and ground truth.

    Parameters
    ----------
    days
        Length of the history in days (fractions allowed).
    services
        Number of services: the eight named ones first (``api-gateway``,
        ``checkout``, ``payments``, ``inventory``, ``auth``, ``search``,
        ``db-proxy``, ``cache``), then ``svc-09``, ``svc-10``, ...
    seed
        The same seed gives the same history, byte for byte.
    start
        Time of the first minute (ISO-8601; naive times are UTC).
    drift_at
        Day offset from which ``warning_burst`` incidents stop and
        ``disk_fill`` incidents appear; None for no drift.
    rate
        Requests per service per minute at the weekday peak (services differ
        around it). The default gives about 0.75 million events for 8
        services over 7 days, a fifth of them metric snapshots; 20 gives
        about one million.
    incident_rate
        Root incidents per service per day (before overlaps are dropped).
        The default makes about 6% of (service, minute) decision points
        positive for ">= 5 errors in the next 10 minutes".

    Returns
    -------
    GeneratedHistory
        ``events`` (canonical table), ``incidents`` (one row per incident
        and affected service, columns :data:`INCIDENT_COLUMNS`),
        ``dependencies`` (``(caller, callee)`` edges) and ``config``.

    Raises
    ------
    ConfigError
        A parameter is out of range; the message names it.
    """
    config = GeneratorConfig(days=days, services=services, seed=seed, start=start,
                             drift_at=drift_at, rate=rate, incident_rate=incident_rate)
    topo = build_topology(config.services)
    origin = config.start_time
    total_ms = int(round(config.days * 86_400_000))
    minutes = -(-total_ms // 60_000)
    drift_min = None if config.drift_at is None else int(round(config.drift_at * 1440))
    rng_world, rng_plan, rng_rows = np.random.default_rng(config.seed).spawn(3)
    canvas = make_canvas(topo, _traffic_profile(origin, minutes, rng_world), rng_world)
    plans = schedule(rng_plan, topo, canvas, days=config.days,
                     incident_rate=config.incident_rate, drift_min=drift_min)
    vocab = Vocab()
    parts = draw_events(rng_rows, topo, canvas, plans, rate=config.rate, vocab=vocab)
    frame, owner, t_ms = assemble(rng_rows, topo, parts, vocab=vocab, start_ns=origin.value,
                                  total_ms=total_ms)
    events = to_canonical(frame, where="generate_history")
    incidents = _incident_table(plans, topo.names, owner, t_ms, origin.value)
    return GeneratedHistory(events, incidents, topo.pairs(), config)


def _incident_table(plans: list[Plan], names, owner: np.ndarray, t_ms: np.ndarray,
                    origin_ns: int) -> pd.DataFrame:
    n = len(plans)
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    mask = owner >= 0
    own, times = owner[mask], t_ms[mask]
    if own.size:
        uniq, i_first = np.unique(own, return_index=True)
        first[uniq] = times[i_first]
        uniq_r, i_last = np.unique(own[::-1], return_index=True)
        last[uniq_r] = times[::-1][i_last]
    root_of = np.arange(n)
    for i, p in enumerate(plans):
        if p.parent >= 0:
            root_of[i] = root_of[p.parent]
    keep = [i for i in range(n) if first[i] >= 0]
    order_roots = sorted({int(root_of[i]) for i in keep},
                         key=lambda r: (min(first[i] for i in keep if root_of[i] == r), r))
    ids = {r: k + 1 for k, r in enumerate(order_roots)}
    ms = 1_000_000

    def precursor(i: int) -> int | None:
        p = plans[i]
        if not p.has_precursor:
            return None
        if p.parent >= 0:
            parent_first = first[p.parent]
            return int(parent_first * ms + origin_ns) if parent_first >= 0 else None
        return int(max(p.first, 0) * 60_000 * ms + origin_ns)

    def column(fn, dtype=None):
        return pd.array([fn(i) for i in keep], dtype=dtype)

    table = pd.DataFrame({
        "incident_id": column(lambda i: ids[int(root_of[i])], "int64"),
        "service": column(lambda i: names[plans[i].service], "str"),
        "root_service": column(lambda i: names[plans[i].root], "str"),
        "mechanism": column(lambda i: plans[i].mechanism, "str"),
        "has_precursor": column(lambda i: plans[i].has_precursor, "bool"),
        "precursor_start": column(precursor, "Int64"),
        "start": column(lambda i: int(first[i] * ms + origin_ns), "int64"),
        "end": column(lambda i: int(last[i] * ms + origin_ns), "int64"),
        "error_type": column(lambda i: plans[i].types[0], "str"),
        "retry_after_s": column(lambda i: plans[i].retry_after, "float64"),
        "severity_level": column(
            lambda i: "outage" if plans[i].fail >= 0.8 else "degraded", "str"),
    })
    for name in ("precursor_start", "start", "end"):
        table[name] = pd.to_datetime(table[name], unit="ns", utc=True)
    return table.sort_values(["incident_id", "start", "service"], kind="stable").reset_index(
        drop=True)
