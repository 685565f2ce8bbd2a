#!/usr/bin/env python
"""Core benchmark: featurization events/s, training seconds, single-prediction latency.

Run on one core, as the README reports it:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_core.py [--events 1000000]

Prints one line per figure and a JSON summary. Figures vary with the machine's
load; compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="approximate history size")
    ap.add_argument("--services", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--predictions", type=int, default=2000)
    args = ap.parse_args()

    from errpredict import train
    from errpredict.datasets import generate_history
    from errpredict.features import ErrorHistoryFeaturizer
    from errpredict.online import StreamingFeaturizer

    days = 7.0
    rate = 14.0 * args.events / 740_000
    hist = generate_history(days=days, services=args.services, seed=0, rate=rate)
    ev = hist.events
    n = len(ev)
    print(f"history: {n:,} events, {args.services} services, {days:g} days "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")

    fz = ErrorHistoryFeaturizer().fit(ev)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        grid, X = fz.transform_arrays(ev)
        times.append(time.perf_counter() - t)
    feat_s = min(times)
    print(f"featurize: {n / feat_s:,.0f} events/s ({feat_s:.2f} s for {n:,} events -> "
          f"{X.shape[0]:,} rows x {X.shape[1]} features)")

    t = time.perf_counter()
    model = train(ev)
    train_s = time.perf_counter() - t
    print(f"train: {train_s:.1f} s on {n:,} events (hgb, {model.metadata['training']['cells']:,} "
          "labelled cells)")

    # single-entity prediction in process: the streaming state is up to date, one entity's
    # feature vector is scored by the calibrated classifier
    sf = StreamingFeaturizer(model.featurizer, entities=sorted(ev["service"].unique()))
    _, _, Xs = sf.push_arrays(ev.iloc[-200_000:])
    rows = Xs[-args.services:]
    clf = model.classifier
    lat = []
    for i in range(args.predictions):
        x = rows[i % len(rows)][None, :]
        t = time.perf_counter_ns()
        clf.predict_risk_array(x)
        lat.append(time.perf_counter_ns() - t)
    lat_ms = np.asarray(lat) / 1e6
    p50, p99 = np.percentile(lat_ms, [50, 99])
    print(f"predict one entity: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({args.predictions} calls)")
    print(f"peak RSS: {_rss_mb():,.0f} MB")
    print(json.dumps({"events": n, "featurize_events_per_s": round(n / feat_s),
                      "train_s": round(train_s, 2), "predict_p50_ms": round(p50, 4),
                      "predict_p99_ms": round(p99, 4), "peak_rss_mb": round(_rss_mb())}))


if __name__ == "__main__":
    main()
