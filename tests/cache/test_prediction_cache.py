from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest

from errpredict.cache import PredictionCache
from errpredict.exceptions import ConfigError

T0 = pd.Timestamp("2026-01-05T10:00:00Z")
T0_NS = 1_767_607_200_000_000_000
STEP_NS = 60 * 10**9


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _seeded_ops(n: int, seed: int = 42):
    rng = np.random.default_rng(seed)
    versions = rng.choice(["v1", "v2"], n, p=[0.8, 0.2])
    entities = rng.integers(0, 40, n)
    steps = rng.integers(0, 5, n)
    is_put = rng.random(n) < 0.3
    return [
        (bool(p), str(v), f"svc-{e}", T0_NS + int(s) * STEP_NS)
        for p, v, e, s in zip(is_put, versions, entities, steps, strict=True)
    ]


def test_exact_counts_on_a_seeded_sequence():
    ops = _seeded_ops(5000)
    cache = PredictionCache(maxsize=64, ttl_s=None)
    # reference: the definition of an LRU, written plainly
    ref: OrderedDict = OrderedDict()
    hits = misses = evictions = 0
    for is_put, v, e, t in ops:
        key = (v, e, t)
        if is_put:
            cache.put(v, e, t, len(e) / 10 + (t - T0_NS) / STEP_NS)
            ref[key] = len(e) / 10 + (t - T0_NS) / STEP_NS
            ref.move_to_end(key)
            if len(ref) > 64:
                ref.popitem(last=False)
                evictions += 1
        else:
            got = cache.get(v, e, t)
            if key in ref:
                hits += 1
                ref.move_to_end(key)
                assert got == ref[key]
            else:
                misses += 1
                assert got is None
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["evictions"]) == (hits, misses, evictions)
    assert (stats["hits"], stats["misses"], stats["evictions"], stats["size"]) == (
        726,
        2791,
        1075,
        64,
    )
    assert stats["expirations"] == 0 and stats["hit_rate"] == pytest.approx(726 / 3517)


def test_least_recently_used_goes_first():
    cache = PredictionCache(maxsize=3, ttl_s=None)
    for i, e in enumerate("abc"):
        cache.put("v1", e, T0_NS, i / 10)
    assert cache.get("v1", "a", T0_NS) == 0.0  # a is now the most recent
    cache.put("v1", "d", T0_NS, 0.3)  # evicts b
    assert cache.get("v1", "b", T0_NS) is None
    cache.put("v1", "c", T0_NS, 0.25)  # replaces c, no eviction
    assert [cache.get("v1", e, T0_NS) for e in "acd"] == [0.0, 0.25, 0.3]
    assert cache.stats()["evictions"] == 1 and len(cache) == 3


def test_ttl_with_an_injected_clock():
    clock = FakeClock()
    cache = PredictionCache(maxsize=10, ttl_s=pd.Timedelta("1min"), clock=clock)
    assert cache.ttl_s == 60.0
    cache.put("v1", "api", T0, 0.4)
    clock.now += 59.999
    assert cache.get("v1", "api", T0) == 0.4
    clock.now += 0.001  # exactly ttl_s after the put: gone
    assert cache.get("v1", "api", T0) is None
    cache.put("v1", "api", T0, 0.5)
    clock.now += 30
    cache.put("v1", "api", T0, 0.6)  # a put refreshes the time to live
    clock.now += 45
    assert cache.get("v1", "api", T0) == 0.6
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["expirations"]) == (2, 1, 1)


def test_expired_entries_are_counted_as_expirations_not_evictions():
    clock = FakeClock()
    cache = PredictionCache(maxsize=2, ttl_s=10, clock=clock)
    cache.put("v1", "a", 0, 0.1)
    cache.put("v1", "b", 0, 0.2)
    clock.now += 10
    cache.put("v1", "c", 0, 0.3)  # a is the LRU entry and already expired
    assert (cache.stats()["evictions"], cache.stats()["expirations"]) == (0, 1)
    assert cache.expire() == 1  # b
    cache.put("v1", "d", 0, 0.4)
    cache.put("v1", "e", 0, 0.5)  # c is fresh: a true eviction
    assert cache.stats() | {"hit_rate": None} == {
        "hits": 0,
        "misses": 0,
        "evictions": 1,
        "expirations": 2,
        "invalidations": 0,
        "size": 2,
        "maxsize": 2,
        "ttl_s": 10.0,
        "hit_rate": None,
    }


def test_one_step_ttl_from_the_grid_step():
    step = pd.Timedelta("5min")
    cache = PredictionCache(ttl_s=step.total_seconds())
    assert cache.ttl_s == 300.0
    assert PredictionCache(ttl_s=dt.timedelta(minutes=5)).ttl_s == 300.0
    assert PredictionCache(ttl_s=None).ttl_s is None


def test_every_form_of_a_decision_time_hits_the_same_entry():
    cache = PredictionCache()
    cache.put("v1", "api", T0, 0.7)
    forms = [
        T0_NS,
        T0,
        T0.as_unit("s"),
        "2026-01-05T10:00:00Z",
        "2026-01-05T11:00:00+01:00",
        dt.datetime(2026, 1, 5, 10),
        np.datetime64("2026-01-05T10:00:00"),
        np.int64(T0_NS),
    ]
    assert [cache.get("v1", "api", t) for t in forms] == [0.7] * len(forms)
    assert cache.get("v2", "api", T0) is None and cache.get("v1", "db", T0) is None
    with pytest.raises(ConfigError, match="decision time"):
        cache.get("v1", "api", 3.5)
    with pytest.raises(ConfigError, match="decision time"):
        cache.put("v1", "api", True, 0.1)


def test_get_or_compute_computes_once_per_key():
    calls: list[str] = []

    def model(e: str):
        def compute() -> float:
            calls.append(e)
            return len(e) / 10

        return compute

    cache = PredictionCache()
    assert [cache.get_or_compute("v1", e, T0, model(e)) for e in ["api", "db", "api", "db"]] == [
        0.3,
        0.2,
        0.3,
        0.2,
    ]
    assert calls == ["api", "db"]
    assert (cache.stats()["hits"], cache.stats()["misses"]) == (2, 2)


def test_invalidate_on_swap():
    cache = PredictionCache()
    for v in ("v1", "v2"):
        for e in ("api", "db", "queue"):
            cache.put(v, e, T0, 0.5)
    assert cache.invalidate("v1") == 3
    assert cache.get("v1", "api", T0) is None and cache.get("v2", "api", T0) == 0.5
    assert cache.invalidate("v9") == 0
    assert cache.invalidate() == 3
    assert len(cache) == 0 and cache.stats()["invalidations"] == 6
    cache.clear()
    assert cache.stats()["hits"] == 0 and cache.stats()["invalidations"] == 0


def test_configuration_errors():
    with pytest.raises(ConfigError, match="'maxsize' parameter of PredictionCache"):
        PredictionCache(maxsize=0)
    with pytest.raises(ConfigError, match="'ttl_s'"):
        PredictionCache(ttl_s=0)
    with pytest.raises(ConfigError, match="'ttl_s'"):
        PredictionCache(ttl_s="a minute")
    with pytest.raises(ConfigError, match="'clock'"):
        PredictionCache(clock=5)


def test_threads_share_the_cache_with_exact_counts():
    cache = PredictionCache(maxsize=50, ttl_s=None)
    n_threads, per_thread = 4, 20_000
    wrong: list[tuple] = []
    errors: list[BaseException] = []
    lookups = [0] * n_threads
    done = [0] * n_threads

    def value(e: str, t: int) -> float:
        return (int(e[4:]) * 7 + t % 11) / 1000

    def work(k: int) -> None:
        try:
            run(k)
        except BaseException as exc:  # a thread's exception would not fail the test
            errors.append(exc)

    def run(k: int) -> None:
        rng = np.random.default_rng(k)
        for e_i, s, op in zip(
            rng.integers(0, 30, per_thread),
            rng.integers(0, 4, per_thread),
            rng.integers(0, 3, per_thread),
            strict=True,
        ):
            e, t = f"svc-{e_i}", int(s)
            if op == 0:
                cache.put("v1", e, t, value(e, t))
            elif op == 1:
                got = cache.get("v1", e, t)
                lookups[k] += 1
                if got is not None and got != value(e, t):
                    wrong.append((e, t, got))
            else:
                got = cache.get_or_compute("v1", e, t, lambda e=e, t=t: value(e, t))
                lookups[k] += 1
                if got != value(e, t):
                    wrong.append((e, t, got))
            if k == 0 and s == 0 and op == 0 and e_i == 0:
                cache.invalidate("v1")  # a swap in the middle of the traffic
            done[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads every few operations, not every 5 ms
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    stats = cache.stats()
    assert errors == [] and wrong == []
    assert done == [per_thread] * n_threads
    assert stats["hits"] + stats["misses"] == sum(lookups)
    assert stats["size"] <= 50 and stats["size"] == len(cache)
    assert stats["hits"] > 0 and stats["misses"] > 0


def test_a_hit_costs_under_20_microseconds():
    cache = PredictionCache(maxsize=100_000, ttl_s=60.0)
    keys = [("v1", f"svc-{i % 1000}", T0_NS + (i // 1000) * STEP_NS) for i in range(10_000)]
    for i, key in enumerate(keys):
        cache.put(*key, i / 10_000)
    samples = []
    for key in keys * 2:
        start = time.perf_counter_ns()
        cache.get(*key)
        samples.append(time.perf_counter_ns() - start)
    p50 = float(np.percentile(samples, 50)) / 1000  # timer overhead included
    assert cache.stats()["hits"] == 20_000
    assert p50 < 20.0, f"p50 {p50:.2f} us"
