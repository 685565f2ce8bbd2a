"""Replay a generated history's failed calls with the learned policy and today's fixed ones."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from errpredict.datasets._outcomes import CallOutcome, OutcomeModel, failed_calls
from errpredict.exceptions import ConfigError
from errpredict.recovery._recommender import Recommender

__all__ = ["FIXED_BACKOFF_S", "evaluate_recovery"]

#: Today's common practice: exponential backoff from 100 ms, doubling, 5 attempts.
FIXED_BACKOFF_S = (0.1, 0.2, 0.4, 0.8, 1.6)

Decide = Callable[[int, dict, bool], tuple[str, dict, Any]]


def _requests(events: pd.DataFrame) -> pd.DataFrame:
    ok = ~events["is_error"].to_numpy(dtype=bool)
    if "duration_ms" in events.columns:
        ok &= events["duration_ms"].notna().to_numpy()
    req = events.loc[ok]
    return pd.DataFrame({"t_ns": req["timestamp"].to_numpy("datetime64[ns]").view("int64"),
                         "service": req["service"].astype("str").to_numpy()})


def _recent(calls: pd.DataFrame, window_s: float) -> np.ndarray:
    out = np.zeros(len(calls), dtype=np.int64)
    t = calls["t_ns"].to_numpy()
    for _, idx in calls.groupby("service", sort=False).indices.items():
        ts = t[idx]
        out[idx] = np.arange(len(idx)) - np.searchsorted(ts, ts - int(window_s * 1e9), "right") + 1
    return out


def _blocked(requests: pd.DataFrame, spans: list[tuple[str, int, int]], since: int) -> np.ndarray:
    """Mask of requests inside any ``(lo, hi)`` span of their service, at or after ``since``."""
    mask = np.zeros(len(requests), dtype=bool)
    if not spans:
        return mask
    t = requests["t_ns"].to_numpy()
    by_service = requests.groupby("service", sort=False).indices
    frame = pd.DataFrame(spans, columns=["service", "lo", "hi"])
    for svc, part in frame.groupby("service", sort=False):
        idx = by_service.get(svc)
        if idx is None:
            continue
        ts = t[idx]
        cover = np.zeros(len(idx) + 1, dtype=np.int64)
        np.add.at(cover, np.searchsorted(ts, part["lo"].to_numpy(), "right"), 1)
        np.add.at(cover, np.searchsorted(ts, part["hi"].to_numpy(), "left"), -1)
        mask[idx] = np.cumsum(cover)[:-1] > 0
    return mask & (t >= since)


def _counter(requests: pd.DataFrame) -> Callable[[str, int, int], int]:
    """Count the requests of a service in ``(lo, hi)``."""
    t = requests["t_ns"].to_numpy()
    times = {svc: t[idx] for svc, idx in requests.groupby("service", sort=False).indices.items()}
    empty = np.empty(0, dtype=np.int64)

    def count(svc: str, lo: int, hi: int) -> int:
        ts = times.get(svc, empty)
        return int(np.searchsorted(ts, hi, "left") - np.searchsorted(ts, lo, "right"))

    return count


def _replay(calls: pd.DataFrame, records: list[dict], model: OutcomeModel, decide: Decide,
            learn: Callable[[Any, CallOutcome], None] | None, *, fallback: Callable[[str], bool],
            healthy_between: Callable[[str, int, int], int], report_after_s: float,
            rng: np.random.Generator) -> dict[str, Any]:
    n = len(calls)
    recovered = np.zeros(n, dtype=bool)
    ttr = np.zeros(n)
    wasted = np.zeros(n, dtype=np.int64)
    actions = np.empty(n, dtype=object)
    open_until: dict[str, int] = {}
    shed_until: dict[str, int] = {}
    circuits: list[tuple[str, int, int]] = []
    sheds: list[tuple[str, int, int]] = []
    waiting: list[tuple[int, int, Any, CallOutcome]] = []
    for i, call in enumerate(records):
        t, svc = call["t_ns"], call["service"]
        while learn is not None and waiting and waiting[0][0] <= t:
            _, _, token, outcome = heapq.heappop(waiting)
            learn(token, outcome)
        fb = fallback(svc)
        token = None
        if open_until.get(svc, -1) > t:
            action = "short_circuited"
            out = model.fail_over(call) if fb else model.give_up(
                call, unavailable_until_ns=open_until[svc])
        elif shed_until.get(svc, -1) > t and rng.random() < 0.5:
            action = "shed"
            out = model.give_up(call)
        else:
            action, params, token = decide(i, call, fb)
            if action in ("retry", "retry_backoff"):
                out = model.retry(call, params["schedule_s"])
            elif action == "fail_over":
                out = model.fail_over(call)
            elif action in ("open_circuit", "shed_load"):
                until = t + int(params["circuit_open_s"] * 1e9)
                healthy = healthy_between(svc, t, until)
                if action == "open_circuit":
                    open_until[svc] = until
                    circuits.append((svc, t, until))
                    out = model.give_up(call, unavailable_until_ns=until)
                    rejected = 0 if fb else healthy
                else:
                    shed_until[svc] = until
                    sheds.append((svc, t, until))
                    out = model.give_up(call)
                    rejected = int(rng.binomial(healthy, 0.5))
                out = out._replace(rejected_requests=rejected)
            elif action == "escalate":
                out = model.give_up(call)._replace(escalated=True)
            else:  # fail_fast
                out = model.give_up(call)
        recovered[i], ttr[i], wasted[i] = out.recovered, out.time_to_recovery_s, out.wasted_calls
        actions[i] = action
        if learn is not None and token is not None:
            reported = out._replace(
                time_to_recovery_s=min(out.time_to_recovery_s, report_after_s))
            known = t + int(reported.time_to_recovery_s * 1e9)
            heapq.heappush(waiting, (known, i, token, reported))
    return {"recovered": recovered, "ttr": ttr, "wasted": wasted, "actions": actions,
            "circuits": circuits, "sheds": sheds}


def _summary(run: dict, calls: pd.DataFrame, requests: pd.DataFrame, since: int,
             fallback: Callable[[str], bool], rng: np.random.Generator) -> dict[str, Any]:
    after = calls["t_ns"].to_numpy() >= since
    rec, ttr, wasted = run["recovered"][after], run["ttr"][after], run["wasted"][after]
    blocked = _blocked(requests, run["circuits"], since)
    services = requests["service"].to_numpy()
    with_fallback = [s for s in pd.unique(services) if fallback(s)]
    served = np.isin(services, with_fallback)
    shed = _blocked(requests, run["sheds"], since) & ~blocked
    dropped = int(rng.binomial(int(shed.sum()), 0.5)) if shed.any() else 0
    blocked_failed = int((blocked & ~served).sum()) + dropped
    by_situation = {}
    situation = calls["situation"].to_numpy()[after]
    for name in sorted(set(situation)):
        m = situation == name
        by_situation[name] = {
            "n": int(m.sum()),
            "recovered": int(rec[m].sum()),
            "wasted_calls": int(wasted[m].sum()),
            "mean_time_to_recovery_s": round(float(ttr[m].mean()), 3),
        }
    acts = pd.Series(run["actions"][after]).value_counts()
    return {
        "mean_time_to_recovery_s": round(float(ttr.mean()), 3) if len(ttr) else None,
        "wasted_calls": int(wasted.sum()),
        "failed_requests": int((~rec).sum()) + blocked_failed,
        "n": int(after.sum()),
        "recovered": int(rec.sum()),
        "blocked_requests": blocked_failed,
        "actions": {str(k): int(v) for k, v in acts.items()},
        "by_situation": by_situation,
    }


def _warmup(warmup: float | str | pd.Timedelta, history: pd.Timedelta) -> pd.Timedelta:
    if isinstance(warmup, int | float) and not isinstance(warmup, bool):
        if not 0.0 <= warmup < 1.0:
            raise ConfigError(
                f"evaluate_recovery: a warmup given as a share must be in [0, 1), got {warmup!r}"
            )
        return history * float(warmup)
    try:
        span = pd.Timedelta(warmup)
    except (TypeError, ValueError):
        raise ConfigError(
            f"evaluate_recovery: warmup {warmup!r} is neither a share of the history (0.15) "
            "nor a duration such as '1D'"
        ) from None
    if span < pd.Timedelta(0) or span >= history:
        raise ConfigError(
            f"evaluate_recovery: warmup {warmup!r} must be >= 0 and shorter than the history "
            f"({history}); give a shorter one such as '6h' or a share such as 0.15"
        )
    return span


def _fallback_fn(fallback: bool | Iterable[str]) -> Callable[[str], bool]:
    if isinstance(fallback, bool):
        return lambda _svc: fallback
    if isinstance(fallback, str):
        raise ConfigError(
            f"evaluate_recovery: 'fallback' must be True/False or a list of services, got "
            f"{fallback!r}"
        )
    names = frozenset(map(str, fallback))
    return lambda svc: svc in names


def evaluate_recovery(
    events: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    warmup: float | str | pd.Timedelta = 0.15,
    seed: int = 0,
    time_budget_s: float = 10.0,
    fallback: bool | Iterable[str] = False,
    circuit_s: float = 30.0,
    recommender: Recommender | None = None,
    learn: bool = True,
) -> dict[str, dict[str, Any]]:
    """Replay every failed call with the learned policy and with fixed policies.

    Calls are replayed in time order through the outcome model of
    :mod:`errpredict.datasets._outcomes` (built from the incidents' true
    mechanism and end). The learned :class:`Recommender` is fitted on the
    warm-up period's events only, then recommends for every call and learns
    from each outcome when it becomes known (at recovery, or
    ``time_scale_s`` of its reward after the failure). Figures count the
    calls after the warm-up; every policy sees the same calls and the same
    budget.

    Parameters
    ----------
    events, incidents
        A generated history (:func:`errpredict.datasets.generate_history`).
    warmup
        The warm-up from the first event: a share of the history (a float in
        [0, 1)) or a duration (``"1D"``, ``"6h"``).
    seed
        Seeds the recommender's jitter and the load shedding draws.
    time_budget_s
        The callers' deadline per request, for every policy.
    fallback
        Whether callers have a fallback: for all services (True), none
        (False), or the services named.
    circuit_s
        How long ``always_circuit`` keeps a circuit open.
    recommender
        The learned policy to replay (a fresh ``Recommender(seed=seed)`` by
        default); it is fitted on the warm-up events.
    learn
        Whether it learns from outcomes; without, ``learned`` shows the rules'
        defaults alone (with delays from history), which tells what learning adds.

    Returns
    -------
    dict
        ``{policy: {"mean_time_to_recovery_s", "wasted_calls", "failed_requests",
        "n", "recovered", "blocked_requests", "actions", "by_situation"}}`` for
        ``learned``, ``fixed_backoff`` (100 ms x2, 5 attempts), ``never_retry``
        and ``always_circuit``.
    """
    first, last = events["timestamp"].min(), events["timestamp"].max()
    span = _warmup(warmup, last - first)
    calls = failed_calls(events, incidents)
    requests = _requests(events)
    model = OutcomeModel.from_events(events, time_budget_s=time_budget_s)
    since = int(first.value + span.value)
    fb = _fallback_fn(fallback)
    healthy = _counter(requests)
    rec = recommender if recommender is not None else Recommender(seed=seed)
    rec.fit(events.loc[events["timestamp"].to_numpy("datetime64[ns]").view("int64") < since])
    window = rec.classifier.recent_window_s
    recent = _recent(calls, window)
    records = calls.to_dict("records")
    budget = time_budget_s

    def learned(i: int, call: dict, has_fb: bool) -> tuple[str, dict, Any]:
        now = pd.Timestamp(call["t_ns"], unit="ns", tz="UTC")
        error = {"service": call["service"], "error_type": call["error_type"], "timestamp": now}
        for key in ("operation", "message"):
            if isinstance(call.get(key), str):
                error[key] = call[key]
        context: dict[str, Any] = {"has_fallback": has_fb, "time_budget_s": budget, "now": now,
                                   "recent_errors": int(recent[i]), "recent_window_s": window}
        if np.isfinite(call["retry_after_s"]):
            context["retry_after_s"] = float(call["retry_after_s"])
        r = rec.recommend(error, context, recommendation_id=f"replay-{i}")
        return r.action, r.params, r.recommendation_id

    def learn_one(token: Any, outcome: CallOutcome) -> None:
        rec.learn(token, outcome.to_dict())

    def fixed(action: str, params: dict) -> Decide:
        return lambda i, call, has_fb: (action, params, None)

    deciders: dict[str, tuple[Decide, Any]] = {
        "learned": (learned, learn_one if learn else None),
        "fixed_backoff": (fixed("retry_backoff", {"schedule_s": FIXED_BACKOFF_S}), None),
        "never_retry": (fixed("fail_fast", {}), None),
        "always_circuit": (fixed("open_circuit", {"circuit_open_s": circuit_s}), None),
    }
    out = {}
    for k, (name, (decide, learner)) in enumerate(deciders.items()):
        run = _replay(calls, records, model, decide, learner, fallback=fb,
                      healthy_between=healthy, report_after_s=rec.policy.reward.time_scale_s,
                      rng=np.random.default_rng([seed, k]))
        out[name] = _summary(run, calls, requests, since, fb, np.random.default_rng([seed, k, 1]))
    return out
