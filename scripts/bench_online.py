#!/usr/bin/env python
"""Online benchmark: the streaming path in events/s, and cached-prediction latency.

Run on one core, as the README reports it:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_online.py [--days 2] [--services 8]

The streaming path is the whole per-event work of the learning loop: the
streaming featurizer, the batch model's prediction through the prediction
cache, the online learner's prediction and, when each label matures, its
learning step, plus the delayed-label queue and the drift detectors (the
updater, which trains now and then, is off). It is measured at the
generator's default density (about 80 events per minute for 8 services) and
at a denser stream, with micro-batches of 1 and 10 steps: the per-step work
(one feature row and one prediction per entity) is amortised over more events
when a step holds more of them.

``--drift`` also replays the two drift scenarios of the README (the
generator's ``drift_at``, and the same history with warning floods and
tripled background errors added from the drift on) and prints the loop's and
the frozen model's PR-AUC after the drift. It takes several minutes.

Prints one line per figure and a JSON summary (``--json`` prints only the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import pandas as pd


def _stream_rate(model, events, micro_batch: str) -> float:
    from errpredict.online import replay

    t = time.perf_counter()
    replay(model, events, updater=False, micro_batch=micro_batch)
    return len(events) / (time.perf_counter() - t)


def _cache_latency(model, events, n: int) -> dict:
    from errpredict.cache import PredictionCache
    from errpredict.updater import Predictor

    grid, X = model.featurizer.transform_arrays(events)
    cache = PredictionCache(maxsize=200_000, ttl_s=60.0)
    predictor = Predictor(model, cache=cache)
    n_e = len(grid.entities)
    keys = [(str(grid.entities[i % n_e]), int(grid.times_ns[i // n_e])) for i in range(len(X))]
    keys = keys[-5000:]
    rows = X[-5000:]
    for (e, t), x in zip(keys, rows, strict=True):
        predictor.risk_one(e, t, x)  # fill the cache
    order = np.random.default_rng(0).integers(0, len(keys), n)
    hit_ns, get_ns = [], []
    clock = time.perf_counter_ns
    for i in order.tolist():
        e, t = keys[i]
        a = clock()
        predictor.risk_one(e, t)
        b = clock()
        cache.get(predictor.version, e, t)
        c = clock()
        hit_ns.append(b - a)
        get_ns.append(c - b)
    miss_ns = []
    for (e, t), x in list(zip(keys, rows, strict=True))[:500]:
        a = clock()
        predictor.risk_one(e, t + 1, x)  # a time not cached yet: computed from the row
        miss_ns.append(clock() - a)

    def q(v, p):
        return float(np.percentile(v, p)) / 1000.0

    return {"predictor_hit_us_median": q(hit_ns, 50), "predictor_hit_us_p99": q(hit_ns, 99),
            "cache_get_us_median": q(get_ns, 50), "miss_us_median": q(miss_ns, 50),
            "hit_rate": cache.stats()["hit_rate"]}


def _shifted(days: float, services: int, seed: int, drift_day: float) -> pd.DataFrame:
    """The generator's drift plus, from the same day, warning floods and tripled background
    errors (see :func:`errpredict.datasets._drift_noise.drifted_history`)."""
    from errpredict.datasets._drift_noise import drifted_history

    return drifted_history(days, services, seed, drift_day, noise_seed=seed + 1000)


def _drift_scenarios(seed: int, say) -> dict:
    from sklearn.metrics import average_precision_score

    from errpredict.datasets import generate_history
    from errpredict.models import train
    from errpredict.online import replay

    out = {}
    for name, build, drift_day, window in (
        ("generator_drift", lambda: generate_history(days=7, services=8, seed=seed,
                                                     drift_at=4).events, 4, (0, 3)),
        ("floods_and_new_mechanism", lambda: _shifted(7, 8, seed, 3), 3, (2, 4)),
    ):
        ev = build()
        drift = ev["timestamp"].iloc[0].floor("D") + pd.Timedelta(days=drift_day)
        model = train(ev[ev["timestamp"] < drift])
        t = time.perf_counter()
        result = replay(model, ev, drift_at=drift)
        seconds = time.perf_counter() - t
        s = result.summary
        # the window scored: days window[0]..window[1] after the drift, from --out scores
        lo, hi = drift + pd.Timedelta(days=window[0]), drift + pd.Timedelta(days=window[1])
        y = model.target.label_array(ev, model.featurizer.grid(ev))
        sel = (result.scores["timestamp"] >= lo) & (result.scores["timestamp"] < hi)
        sel = sel.to_numpy() & ~np.isnan(y)
        frozen = model.predict_risk(ev)["risk"].to_numpy()
        out[name] = {
            "events": len(ev), "seconds": round(seconds, 1),
            "detection_delay_h": None if s["detection_delay_s"] is None
            else round(s["detection_delay_s"] / 3600, 2),
            "swaps_after_drift": sum(1 for w in result.swaps if w.time >= drift),
            "pr_auc_after_drift": s["pr_auc_after_drift"],
            "frozen_pr_auc_after_drift": s["frozen_pr_auc_after_drift"],
            "window_days": list(window),
            "pr_auc_window": float(average_precision_score(y[sel],
                                                           result.scores["risk"].to_numpy()[sel])),
            "frozen_pr_auc_window": float(average_precision_score(y[sel], frozen[sel])),
        }
        say(f"{name}: {json.dumps(out[name])}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--services", type=int, default=8)
    ap.add_argument("--dense-rate", type=float, default=100.0,
                    help="requests per service per minute of the denser stream")
    ap.add_argument("--lookups", type=int, default=50_000)
    ap.add_argument("--drift", action="store_true", help="also replay the drift scenarios")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = ap.parse_args()

    def say(msg: str) -> None:
        if not args.json:
            print(msg, flush=True)

    from errpredict.datasets import generate_history
    from errpredict.models import train

    summary: dict = {"omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "stream": []}
    for rate in (14.0, args.dense_rate):
        ev = generate_history(days=args.days, services=args.services, seed=args.seed,
                              rate=rate).events
        first = ev[ev["timestamp"] < ev["timestamp"].iloc[0] + pd.Timedelta(days=1)]
        model = train(first)
        per_min = len(ev) / (args.days * 1440)
        for mb in ("1 step", "10 steps"):
            rate_s = statistics.median(_stream_rate(model, ev, mb) for _ in range(1))
            row = {"events": len(ev), "events_per_minute": round(per_min),
                   "micro_batch": mb, "events_per_s": round(rate_s)}
            summary["stream"].append(row)
            say(f"streaming path ({len(ev):,} events, {per_min:,.0f}/min, micro-batch {mb}): "
                f"{rate_s:,.0f} events/s")
        if rate == 14.0:
            lat = _cache_latency(model, ev, args.lookups)
            summary["cache"] = lat
            say(f"cached prediction: median {lat['predictor_hit_us_median']:.2f} us, p99 "
                f"{lat['predictor_hit_us_p99']:.2f} us (cache.get alone "
                f"{lat['cache_get_us_median']:.2f} us; a miss computed from its row "
                f"{lat['miss_us_median']:.0f} us)")
    if args.drift:
        summary["drift"] = _drift_scenarios(args.seed, say)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
