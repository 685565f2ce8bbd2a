"""Latency and throughput of errpredict.cache.PredictionCache.

Prints hit and miss latency (p50/p99 in microseconds, measured one call at a
time with ``time.perf_counter_ns``, so the figures include the timer's own
cost) and throughput (ops/s over a tight loop) for ``get`` hits, ``get``
misses, ``put`` and ``get_or_compute`` hits, on one thread.

Usage: python scripts/bench_cache.py [--n 200000] [--entities 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np
import pandas as pd

from errpredict.cache import PredictionCache


def _latency_us(call, keys) -> tuple[float, float]:
    clock = time.perf_counter_ns
    samples = np.empty(len(keys), dtype="int64")
    for i, key in enumerate(keys):
        start = clock()
        call(*key)
        samples[i] = clock() - start
    return float(np.percentile(samples, 50)) / 1e3, float(np.percentile(samples, 99)) / 1e3


def _ops_per_s(call, keys) -> float:
    start = time.perf_counter()
    for key in keys:
        call(*key)
    return len(keys) / (time.perf_counter() - start)


def _threaded_ops_per_s(call, keys, threads: int) -> float:
    parts = [keys[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=_ops_per_s, args=(call, part)) for part in parts]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(keys) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="calls per measurement")
    parser.add_argument("--entities", type=int, default=1_000, help="distinct entities")
    parser.add_argument("--threads", type=int, default=4, help="threads sharing the cache")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-01-05", tz="UTC").value
    step = 60 * 10**9
    entities = [f"svc-{i}" for i in range(args.entities)]
    n_keys = args.entities * 10  # ten steps per entity are live
    stored = [
        ("v1", entities[i % args.entities], start + (i // args.entities) * step)
        for i in range(n_keys)
    ]
    cache = PredictionCache(maxsize=n_keys * 2, ttl_s=3600.0)
    for i, (v, e, t) in enumerate(stored):
        cache.put(v, e, t, float(i) / n_keys)

    pick = rng.integers(0, n_keys, size=args.n)
    hits = [stored[i] for i in pick]
    hits_ts = [(v, e, pd.Timestamp(t, tz="UTC")) for v, e, t in hits[: args.n // 4]]
    misses = [("v2", e, t) for v, e, t in hits]
    puts = [(v, e, t, 0.5) for v, e, t in hits]
    computes = [(v, e, t, lambda: 0.5) for v, e, t in hits]

    result: dict[str, dict[str, float]] = {}
    for name, call, keys in (
        ("get hit (int ns)", cache.get, hits),
        ("get hit (Timestamp)", cache.get, hits_ts),
        ("get miss", cache.get, misses),
        ("put (replace)", cache.put, puts),
        ("get_or_compute hit", cache.get_or_compute, computes),
    ):
        p50, p99 = _latency_us(call, keys)
        result[name] = {"p50_us": p50, "p99_us": p99, "ops_per_s": _ops_per_s(call, keys)}
    threaded = _threaded_ops_per_s(cache.get, hits, args.threads)
    stats = cache.stats()
    if args.json:
        print(
            json.dumps(
                {
                    "n": args.n,
                    "size": stats["size"],
                    "results": result,
                    f"get_hit_ops_per_s_{args.threads}_threads": threaded,
                }
            )
        )
        return
    print(f"PredictionCache, {stats['size']:,} entries, {args.n:,} calls per row, one thread")
    print(f"{'operation':<22}{'p50 us':>10}{'p99 us':>10}{'ops/s':>14}")
    for name, r in result.items():
        print(f"{name:<22}{r['p50_us']:>10.2f}{r['p99_us']:>10.2f}{r['ops_per_s']:>14,.0f}")
    print(f"get hit, {args.threads} threads sharing the cache: {threaded:,.0f} ops/s in total")


if __name__ == "__main__":
    main()
