"""Promotion: bundle directory with an atomic champion, and the MLflow registry's aliases."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from errpredict.datasets import generate_history
from errpredict.exceptions import ModelBundleError
from errpredict.models import RiskModel, train
from errpredict.updater import BundleDirectory, ModelUpdater, RegistryPromoter, UpdaterConfig


@pytest.fixture(scope="module")
def two_models():
    ev = generate_history(days=1, services=3, seed=11).events
    with threadpool_limits(limits=1):
        a = train(ev, model="logreg")
        b = train(ev, model="logreg", min_errors=3)
    return a, b, ev


def test_publish_writes_a_complete_version_once(two_models, tmp_path):
    a, _, _ = two_models
    bundles = BundleDirectory(tmp_path)
    v = bundles.publish(a)
    assert v == a.metadata["model_id"] and bundles.publish(a) == v
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == [v]
    files = {p.name for p in (tmp_path / "versions" / v).iterdir()}
    assert {"metadata.json", "model.joblib"} <= files
    assert bundles.champion_version() is None
    with pytest.raises(ModelBundleError, match="no champion yet"):
        bundles.load_champion()


def test_promote_points_the_champion_at_a_version_in_one_rename(two_models, tmp_path):
    a, b, ev = two_models
    bundles = BundleDirectory(tmp_path)
    va, vb = bundles.publish(a), bundles.publish(b)
    bundles.promote(va)
    assert os.readlink(tmp_path / "champion") == os.path.join("versions", va)
    bundles.promote(vb)
    assert bundles.champion_version() == vb
    loaded = bundles.load_champion()
    np.testing.assert_array_equal(loaded.predict_risk(ev.iloc[:3000])["risk"],
                                  b.predict_risk(ev.iloc[:3000])["risk"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion", "versions"]
    with pytest.raises(ModelBundleError, match="no published version 'nope'"):
        bundles.promote("nope")


def test_a_champion_directory_is_replaced_whole(two_models, tmp_path):
    a, b, _ = two_models
    a.save(tmp_path / "champion")  # a champion copied in by hand, not a link
    bundles = BundleDirectory(tmp_path)
    vb = bundles.publish(b)
    bundles.promote(vb)
    assert not (tmp_path / "champion").is_symlink()
    assert bundles.champion_version() == vb
    assert RiskModel.load(tmp_path / "champion").version == vb
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion", "versions"]


def test_readers_always_load_a_whole_champion_during_promotions(two_models, tmp_path):
    a, b, _ = two_models
    bundles = BundleDirectory(tmp_path)
    versions = [bundles.publish(a), bundles.publish(b)]
    bundles.promote(versions[0])
    stop = threading.Event()
    loaded, errors = [], []

    def reader():
        try:
            while not stop.is_set():
                loaded.append(bundles.load_champion().version)
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    for k in range(40):
        bundles.promote(versions[(k + 1) % 2])
        threading.Event().wait(0.005)
    stop.set()
    t.join(timeout=60)
    assert errors == [] and len(loaded) > 0 and set(loaded) <= set(versions)


def test_decisions_are_appended_as_json_lines(tmp_path):
    bundles = BundleDirectory(tmp_path)
    bundles.record({"time": "2026-01-05T00:00:00+00:00", "promoted": False, "why": "x"})
    bundles.record({"time": "2026-01-05T06:00:00+00:00", "promoted": True, "why": "y"})
    assert [d["why"] for d in bundles.decisions()] == ["x", "y"]


def test_registry_promotion_moves_the_champion_alias(two_models, tmp_path):
    pytest.importorskip("mlflow")
    a, b, ev = two_models
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    promoter = RegistryPromoter("replay-risk", tmp_path / "bundles", uri=uri)
    updater = ModelUpdater(a, config=UpdaterConfig(window="12h", holdout="3h"),
                           promoter=promoter)
    v1 = promoter.publish(b)
    assert v1 == "1" and promoter.publish(b) == "1"  # the same bundle is registered once
    promoter.promote(v1)
    champion = promoter.load_champion()
    assert champion.version == b.metadata["model_id"]
    assert promoter.model_uri == "models:/replay-risk@champion"
    from errpredict.tracking import show_model

    shown = show_model("models:/replay-risk@champion", uri=uri)
    assert str(shown["version"]) == "1"
    promoter.record({"promoted": True, "why": "test"})
    assert promoter.bundles.decisions() == [{"promoted": True, "why": "test"}]
    assert updater.predictor.model is a
