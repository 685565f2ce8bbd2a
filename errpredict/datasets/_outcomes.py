"""What each recovery action would have achieved for the failed calls of a generated history.

The generator knows why every error happened (the incidents table: the
mechanism, so its recovery class, and when the errors stopped). This module
turns that into outcomes: for a failed call at time ``t``, what a retry
schedule, a fail-over or giving up would have given.

Assumptions (the whole model; nothing else is simulated)
--------------------------------------------------------
1. Situation of a failed call. A client error type of the generator (HTTP
   400/401/404, ``ValidationError``, ``NOT_FOUND``, ``INVALID_ARGUMENT``) is a
   bad request. Any other error inside an incident window of the same
   service (``start <= t <= end``) belongs to that incident and takes the
   recovery class of its mechanism. Any other error is an isolated blip.
2. When a retry succeeds. An attempt at time ``u > t`` succeeds from
   ``ok_from`` on: never for a bad request; at once for a blip and for the
   ``transient`` class ("a retry after a short delay succeeds");
   ``min(t + retry_after_s, end)`` for ``backoff`` ("retrying sooner fails
   again"); ``end`` for ``circuit``, ``failover`` and ``human`` (retries keep
   failing until the errors stop). These are the generator's documented
   recovery classes, not tuned here.
3. Cost of an attempt. A failed attempt takes as long as the original
   failed call (its ``duration_ms``: 5 s for an HTTP timeout, a few ms for a
   fast 503); a successful one takes the service's median successful
   latency. Attempts start only within the caller's budget
   (``time_budget_s`` after ``t``), the same for every policy.
4. Fail-over (only for a caller with a fallback) succeeds after
   ``failover_latency_s`` unless the request is bad or the incident is of
   the ``human`` class ("neither retry nor fail-over helps"); a failed
   fail-over counts as a wasted call.
5. Time to recovery. For a recovered call, the time until its successful
   response. For a call given up, the time until the fault is gone for the
   caller: ``end - t`` in an incident (or until the caller's circuit closes,
   if later), and the time spent on it for a blip or a bad request (the
   service itself was fine).
6. What no action changes. Incidents end at ``end`` whatever the callers
   do: the replay cannot credit retries for prolonging an overload, nor an
   escalation or load shedding for shortening an incident, so ``escalate``
   and ``shed_load`` count as giving up the call.
7. Requests. Non-error rows with a ``duration_ms`` are requests (metric
   snapshots and log lines are not); a request that meets an open circuit
   fails (or is served by the fallback, when there is one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from errpredict.datasets._gen_events import _CLIENT_AUTH, _CLIENT_GRPC, _CLIENT_HTTP
from errpredict.datasets._gen_mechanisms import MECHANISMS
from errpredict.exceptions import ConfigError, SchemaError

__all__ = ["CLIENT_ERROR_TYPES", "CallOutcome", "OutcomeModel", "failed_calls"]

#: The generator's client error types: bad requests that no retry fixes.
CLIENT_ERROR_TYPES = frozenset(name for table in (_CLIENT_HTTP, _CLIENT_AUTH, _CLIENT_GRPC)
                               for name, _, _ in table)
_RETRY_AFTER = re.compile(r"retry after (\d+(?:\.\d+)?) ?s", re.I)
_NO_FALLBACK = ("client", "human")


class CallOutcome(NamedTuple):
    """What an action achieved for one failed call.

    ``rejected_requests`` counts requests that would have succeeded and that
    the action failed (an open circuit, shed load); ``escalated`` whether a
    person was paged.
    """

    recovered: bool
    time_to_recovery_s: float
    wasted_calls: int
    elapsed_s: float
    rejected_requests: int = 0
    escalated: bool = False

    def to_dict(self) -> dict:
        return {"recovered": self.recovered, "time_to_recovery_s": self.time_to_recovery_s,
                "wasted_calls": self.wasted_calls, "rejected_requests": self.rejected_requests,
                "escalated": self.escalated}


def failed_calls(events: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """Every error row with its situation, from the ground-truth incidents.

    Returns
    -------
    pandas.DataFrame
        One row per error, in time order: ``t_ns``, ``service``,
        ``error_type``, ``operation`` (when present), ``message`` (when
        present), ``duration_s``, ``situation`` (``client``, ``blip`` or the
        incident's recovery class), ``mechanism``, ``incident_id``,
        ``end_ns``, ``ok_from_ns``, ``retry_after_s`` (the header the call
        carried, parsed from its message) and ``row`` (position in ``events``).
    """
    for col in ("timestamp", "service", "is_error"):
        if col not in events.columns:
            raise SchemaError(f"failed_calls: events lack column {col!r}; use the canonical table")
    need = ("service", "mechanism", "start", "end", "retry_after_s", "incident_id")
    missing = [c for c in need if c not in incidents.columns]
    if missing:
        raise SchemaError(
            f"failed_calls: incidents lack column {missing[0]!r}; pass the incidents table of "
            "generate_history (or read_incidents)"
        )
    rows = np.flatnonzero(events["is_error"].to_numpy(dtype=bool))
    err = events.iloc[rows]
    t = err["timestamp"].to_numpy("datetime64[ns]").view("int64")
    out = pd.DataFrame({"t_ns": t, "service": err["service"].astype("str").to_numpy()})
    etype = (err["error_type"].astype("object").fillna("unknown").astype("str").to_numpy()
             if "error_type" in err.columns else np.full(len(err), "unknown", dtype=object))
    out["error_type"] = etype
    for col in ("operation", "message"):
        if col in err.columns:
            out[col] = err[col].astype("object").to_numpy()
    dur = (err["duration_ms"].to_numpy(dtype="float64") / 1000.0
           if "duration_ms" in err.columns else np.zeros(len(err)))
    out["duration_s"] = np.nan_to_num(dur, nan=0.0)
    situation = np.full(len(err), "blip", dtype=object)
    mechanism = np.full(len(err), "", dtype=object)
    incident = np.full(len(err), -1, dtype=np.int64)
    end = t.copy()
    retry_after = np.full(len(err), np.nan)
    starts = incidents["start"].to_numpy("datetime64[ns]").view("int64")
    ends = incidents["end"].to_numpy("datetime64[ns]").view("int64")
    services = out["service"].to_numpy()
    for i, svc in enumerate(incidents["service"].astype("str").to_numpy()):
        where = np.flatnonzero(services == svc)
        lo, hi = np.searchsorted(t[where], [starts[i], ends[i]], side="left")
        hi = np.searchsorted(t[where], ends[i], side="right")
        sel = where[lo:hi]
        mech = str(incidents["mechanism"].iloc[i])
        if mech not in MECHANISMS:
            raise SchemaError(
                f"failed_calls: incidents row {i}: unknown mechanism {mech!r}; expected one "
                f"of {sorted(MECHANISMS)}"
            )
        situation[sel] = MECHANISMS[mech].recovery
        mechanism[sel] = mech
        incident[sel] = int(incidents["incident_id"].iloc[i])
        end[sel] = ends[i]
        retry_after[sel] = float(incidents["retry_after_s"].iloc[i])
    client = np.isin(etype, list(CLIENT_ERROR_TYPES))
    situation[client] = "client"
    end[client] = t[client]
    ok_from = end.copy()  # circuit, failover, human: the errors stop at `end`
    ok_from[(situation == "blip") | (situation == "transient")] = t[
        (situation == "blip") | (situation == "transient")]
    backoff = situation == "backoff"
    wait = np.nan_to_num(retry_after[backoff], nan=0.0)
    ok_from[backoff] = np.minimum(t[backoff] + (wait * 1e9).astype(np.int64), end[backoff])
    ok_from[client] = np.iinfo(np.int64).max
    out["situation"] = situation
    out["mechanism"] = mechanism
    out["incident_id"] = incident
    out["end_ns"] = end
    out["ok_from_ns"] = ok_from
    header = np.full(len(err), np.nan)
    if "message" in out.columns:
        parsed = out["message"].astype("str").str.extract(_RETRY_AFTER)[0]
        header = pd.to_numeric(parsed, errors="coerce").to_numpy(dtype="float64")
    out["retry_after_s"] = header
    out["row"] = rows
    return out


@dataclass(frozen=True)
class OutcomeModel:
    """Outcomes of recovery actions for failed calls (see the module docstring).

    Parameters
    ----------
    time_budget_s
        The caller's deadline: no attempt starts later than this after the failure.
    failover_latency_s
        Time a fail-over takes to answer.
    success_latency_s
        Time a successful attempt takes, per service (median of its successful
        requests); ``default_latency_s`` for a service not in it.

    Examples
    --------
    A call that timed out after 5 s in an overload that asked to retry after
    10 s (and lasts 10 min): fixed backoff spends its 10 s budget on two
    failed attempts, a retry after the Retry-After succeeds.

    >>> call = {"t_ns": 0, "service": "api", "duration_s": 5.0, "situation": "backoff",
    ...         "end_ns": 600 * 10**9, "ok_from_ns": 10 * 10**9}
    >>> m = OutcomeModel(time_budget_s=10.0)
    >>> m.retry(call, [0.1, 0.2, 0.4, 0.8, 1.6])[:3]
    (False, 600.0, 2)
    >>> m.retry(call, [10.0])[:3]
    (True, 10.05, 0)
    """

    time_budget_s: float = 10.0
    failover_latency_s: float = 0.05
    default_latency_s: float = 0.05
    success_latency_s: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not self.time_budget_s > 0 or self.failover_latency_s < 0:
            raise ConfigError(
                "OutcomeModel: time_budget_s must be > 0 and failover_latency_s >= 0, got "
                f"{self.time_budget_s!r}, {self.failover_latency_s!r}"
            )

    @classmethod
    def from_events(cls, events: pd.DataFrame, **kwargs) -> OutcomeModel:
        """Take each service's median successful latency from ``events``."""
        ok = events.loc[~events["is_error"].to_numpy(dtype=bool)]
        lat: tuple[tuple[str, float], ...] = ()
        if "duration_ms" in ok.columns:
            med = ok.groupby("service", observed=True)["duration_ms"].median() / 1000.0
            lat = tuple((str(k), round(float(v), 6)) for k, v in med.dropna().items())
        return cls(success_latency_s=lat, **kwargs)

    def _latency(self, service: str) -> float:
        return dict(self.success_latency_s).get(service, self.default_latency_s)

    def give_up(self, call, *, elapsed_s: float = 0.0, unavailable_until_ns: int | None = None,
                wasted: int = 0) -> CallOutcome:
        """The call fails; the caller is whole again when the fault (and its circuit) is gone."""
        until = int(call["end_ns"])
        if unavailable_until_ns is not None:
            until = max(until, int(unavailable_until_ns))
        ttr = max((until - int(call["t_ns"])) / 1e9, elapsed_s)
        return CallOutcome(False, round(ttr, 6), wasted, round(elapsed_s, 6))

    def retry(self, call, schedule_s) -> CallOutcome:
        """Retry after each delay of ``schedule_s`` in turn, within the budget."""
        t0 = int(call["t_ns"])
        elapsed = 0.0
        wasted = 0
        fail_s = float(call["duration_s"])
        for delay in schedule_s:
            start = elapsed + float(delay)
            if start > self.time_budget_s + 1e-9:
                break
            if t0 + int(round(start * 1e9)) >= int(call["ok_from_ns"]):
                done = round(start + self._latency(str(call["service"])), 6)
                return CallOutcome(True, done, wasted, done)
            wasted += 1
            elapsed = start + fail_s
        return self.give_up(call, elapsed_s=elapsed, wasted=wasted)

    def fail_over(self, call) -> CallOutcome:
        """Serve the call from the caller's fallback."""
        if call["situation"] in _NO_FALLBACK:
            return self.give_up(call, elapsed_s=self.failover_latency_s, wasted=1)
        return CallOutcome(True, self.failover_latency_s, 0, self.failover_latency_s)
