"""Predictor: hot swaps under load never fail and never mix two models' numbers."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from errpredict.cache import PredictionCache
from errpredict.datasets import generate_history
from errpredict.exceptions import ConfigError
from errpredict.models import RiskClassifier, RiskModel, train
from errpredict.updater import Predictor


@pytest.fixture(scope="module")
def models():
    """Three models on one featurizer (so one feature matrix fits all of them), and the
    last hour of events to predict on."""
    ev = generate_history(days=1, services=3, seed=5).events
    with threadpool_limits(limits=1):
        base = train(ev, model="logreg")
        grid, X = base.featurizer.transform_arrays(ev)
        y = np.nan_to_num(base.target.label_array(ev, grid))
        out = [base]
        for seed, kind in ((1, "hgb"), (2, "hgb")):
            rows = np.random.default_rng(seed).random(len(y)) < 0.7
            clf = RiskClassifier(model=kind, random_state=seed).fit(X[rows], y[rows])
            out.append(RiskModel(base.featurizer, clf, base.target,
                                 {"model_id": f"m{seed}-{kind}"}))
    recent = ev[ev["timestamp"] >= ev["timestamp"].iloc[-1] - pd.Timedelta("1h")]
    return out, recent, grid, X


def test_versions_differ_and_so_do_the_risks(models):
    ms, recent, _, _ = models
    assert len({m.version for m in ms}) == 3
    risks = [m.predict_risk(recent)["risk"].to_numpy() for m in ms]
    assert not np.allclose(risks[0], risks[1]) and not np.allclose(risks[1], risks[2])


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to the last bits that BLAS sums change with the number of rows in a call."""
    return bool(np.allclose(a, b, rtol=0, atol=1e-12))


def _paced_swaps(predictor: Predictor, ms: list, n: int, answers: list, stop) -> None:
    """Swap ``n`` times, each time after the clients have answered at least once more."""
    for k in range(n):
        seen = len(answers)
        predictor.swap(ms[(k + 1) % 3])
        for _ in range(2000):
            if len(answers) > seen:
                break
            threading.Event().wait(0.001)
    stop.set()


def test_hammering_predict_during_swaps_never_fails_nor_mixes_versions(models):
    ms, recent, _, _ = models
    expected = {m.version: m.predict_risk(recent)["risk"].to_numpy() for m in ms}
    predictor = Predictor(ms[0], cache=PredictionCache(ttl_s=None))
    stop = threading.Event()
    errors: list[BaseException] = []
    answers: list[tuple[str, np.ndarray]] = []

    def client():
        try:
            while not stop.is_set():
                p = predictor.predict(recent)
                answers.append((p.version, p.frame["risk"].to_numpy()))
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test
            errors.append(exc)

    with threadpool_limits(limits=1):
        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        _paced_swaps(predictor, ms, 30, answers, stop)
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    assert predictor.swaps == 30 and len(answers) >= 30
    for version, risk in answers:
        assert _same(risk, expected[version])
        assert sum(_same(risk, other) for other in expected.values()) == 1
    assert {v for v, _ in answers} == set(expected)


def test_hammering_the_cached_row_path_during_swaps(models):
    ms, _, grid, X = models
    n_e = len(grid.entities)
    times, rows = grid.times_ns[-20:], X[-20 * n_e:]
    expected = {m.version: m.classifier.predict_risk_array(rows) for m in ms}
    cache = PredictionCache(maxsize=10_000, ttl_s=None)
    predictor = Predictor(ms[0], cache=cache)
    stop = threading.Event()
    errors: list[BaseException] = []
    mixed: list[str] = []
    served: list[str] = []

    def client():
        try:
            while not stop.is_set():
                version, risk = predictor.predict_rows(times, grid.entities, rows)
                if not _same(risk, expected[version]):
                    mixed.append(version)
                served.append(version)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with threadpool_limits(limits=1):
        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        _paced_swaps(predictor, ms, 150, served, stop)
        for t in threads:
            t.join(timeout=120)
    assert errors == [] and mixed == [] and set(served) == set(expected)
    stats = cache.stats()
    assert stats["hits"] > 0 and stats["invalidations"] > 0


def test_a_swap_drops_the_old_versions_answers_from_the_cache(models):
    ms, _, grid, X = models
    n_e = len(grid.entities)
    cache = PredictionCache(ttl_s=None)
    predictor = Predictor(ms[1], cache=cache)
    times, rows = grid.times_ns[:2], X[: 2 * n_e]
    predictor.predict_rows(times, grid.entities, rows)
    assert cache.stats()["misses"] == 2 * n_e and len(cache) == 2 * n_e
    version, risk = predictor.predict_rows(times, grid.entities, rows)
    assert cache.stats()["hits"] == 2 * n_e
    old = predictor.swap(ms[2])
    assert old is ms[1] and len(cache) == 0 and cache.stats()["invalidations"] == 2 * n_e
    v2, r2 = predictor.predict_rows(times, grid.entities, rows)
    assert (version, v2) == (ms[1].version, ms[2].version)
    np.testing.assert_array_equal(r2, ms[2].classifier.predict_risk_array(rows))


def test_risk_one_answers_from_the_cache_or_from_its_row(models):
    ms, _, grid, X = models
    predictor = Predictor(ms[0], cache=PredictionCache(ttl_s=None))
    t = int(grid.times_ns[5])
    with pytest.raises(ConfigError, match="not in the cache for version"):
        predictor.risk_one("checkout", t)
    version, value = predictor.risk_one("checkout", t, x=X[0])
    assert predictor.risk_one("checkout", t) == (version, value)
    assert value == pytest.approx(ms[0].classifier.predict_risk_array(X[:1])[0], abs=0)


def test_swap_from_a_bundle_loads_completely_first(models, tmp_path):
    ms, recent, _, _ = models
    path = ms[2].save(tmp_path / "bundle")
    predictor = Predictor(ms[0])
    predictor.swap_from(path)
    assert predictor.version == ms[2].metadata["model_id"]
    np.testing.assert_array_equal(predictor.predict(recent).frame["risk"].to_numpy(),
                                  ms[2].predict_risk(recent)["risk"].to_numpy())
    with pytest.raises(ConfigError, match="Predictor: expected a RiskModel"):
        predictor.swap("not a model")
