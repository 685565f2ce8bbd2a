"""A harder drift: the generator's own, plus misleading noise from the same day.

Used by the learning-loop tests and ``scripts/bench_online.py --drift`` to imitate the
drift that hurts a frozen model most: a new failure mode arrives together with signals
that used to mean trouble and now mean nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from errpredict.datasets._generator import generate_history
from errpredict.io import to_canonical

__all__ = ["drifted_history"]

DAY_NS = 86_400 * 10**9


def drifted_history(days: float, services: int, seed: int, drift_day: float, *,
                    background: int = 3, warnings_per_min: float = 0.5,
                    bursts_per_hour: float = 3.0, noise_seed: int | None = None
                    ) -> pd.DataFrame:
    """A generated history that changes at ``drift_day`` in four ways at once.

    The generator's own drift stops one incident mechanism (warning bursts) and starts
    another (disk fills, a new error type); on top of it, from the same moment, bursts of
    warnings that predict nothing flood every service and the background errors (those
    outside incidents) triple: the signals the old model learned now mislead it.
    ``noise_seed`` (default ``seed + 1``) draws the added noise.
    """
    hist = generate_history(days=days, services=services, seed=seed, drift_at=drift_day)
    ev = hist.events
    rng = np.random.default_rng(seed + 1 if noise_seed is None else noise_seed)
    t0 = hist.config.start_time.value
    drift, end = t0 + int(drift_day * DAY_NS), t0 + int(days * DAY_NS)
    ts = ev["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    svc = ev["service"].to_numpy(dtype=object)
    in_incident = np.zeros(len(ev), dtype=bool)
    for row in hist.incidents.itertuples():
        in_incident |= (svc == row.service) & (ts >= row.start.value - 60 * 10**9) & (
            ts <= row.end.value + 60 * 10**9)
    noise = np.flatnonzero(ev["is_error"].to_numpy() & ~in_incident & (ts >= drift))
    extra = []
    for _ in range(background - 1):
        rows = ev.iloc[noise].copy()
        shift = rng.uniform(-1800e9, 1800e9, len(rows)).astype(np.int64)
        rows["timestamp"] = pd.to_datetime(np.clip(ts[noise] + shift, drift, end - 1),
                                           unit="ns", utc=True)
        extra.append(rows)
    warn_t, warn_s = [], []
    minutes = (end - drift) / 60e9
    for name in hist.config.service_names:
        n = rng.poisson(warnings_per_min * minutes)
        warn_t.append(rng.uniform(drift, end, n))
        warn_s += [name] * n
        for start in rng.uniform(drift, end - 1800e9, rng.poisson(bursts_per_hour * minutes / 60)):
            span = rng.uniform(5, 20) * 60e9
            k = rng.poisson(span / 60e9 * rng.uniform(2, 6))
            warn_t.append(start + np.sort(rng.uniform(0, span, k)))
            warn_s += [name] * k
    warnings = pd.DataFrame({
        "timestamp": pd.to_datetime(np.concatenate(warn_t).astype(np.int64), unit="ns",
                                    utc=True),
        "service": warn_s, "operation": "log", "is_error": False, "severity": np.int8(13),
        "message": "connection pool 90% used"})
    out = pd.concat([ev, *extra, warnings], ignore_index=True).sort_values(
        "timestamp", kind="stable").reset_index(drop=True)
    return to_canonical(out, where="drifted history")
