from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from errpredict.exceptions import ConfigError, ModelBundleError
from errpredict.models import RiskModel, load_model, train
from errpredict.tracking import (
    list_models,
    load_registered_model,
    log_training_run,
    parse_model_ref,
    promote,
    show_model,
)


@pytest.fixture
def registry(tracked, monkeypatch, tmp_path):
    """The shared store as the tracking URI of the test, and a fresh download cache."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracked.uri)
    monkeypatch.setenv("ERRPREDICT_CACHE_DIR", str(tmp_path / "cache"))
    return tracked


def test_parse_model_ref():
    assert parse_model_ref("svc-risk") == ("svc-risk", None, None)
    assert parse_model_ref("svc-risk@challenger") == ("svc-risk", "challenger", None)
    assert parse_model_ref("models:/svc-risk/12") == ("svc-risk", None, "12")
    assert parse_model_ref("models:/svc-risk/latest") == ("svc-risk", None, "latest")
    with pytest.raises(ConfigError, match="NAME@ALIAS"):
        parse_model_ref("svc-risk@")


def test_list_show_and_promote(registry):
    models = {m["name"]: m for m in list_models()}
    first = models["svc-risk"]
    assert first["versions"][0] == "1"
    assert first["latest_version"] == first["versions"][-1]

    moved = promote("svc-risk", 1, "champion")
    assert moved == {"name": "svc-risk", "alias": "champion", "version": "1",
                     "previous": None}
    assert list_models()[[m["name"] for m in list_models()].index("svc-risk")][
        "aliases"]["champion"] == "1"
    assert promote("svc-risk", "1", "challenger")["previous"] is None

    shown = show_model("svc-risk@champion")
    assert shown["version"] == "1"
    assert shown["aliases"] == ["challenger", "champion"]
    assert shown["model_uri"] == "models:/svc-risk/1"
    assert shown["run_id"] == registry.info.run_id
    assert shown["status"] == "READY"
    assert shown["source"].endswith("/artifacts/model")
    assert shown["metrics"]["pr_auc"] == registry.model.metadata["validation"]["pr_auc"]
    assert shown["params"]["target.horizon"] == "10m"
    assert shown["metadata"]["model_sha256"] == registry.model.metadata["model_sha256"]
    assert shown["tags"]["errpredict.model_id"] == registry.model.version
    assert show_model("svc-risk/1")["run_id"] == registry.info.run_id


def test_champion_scores_exactly_as_the_bundle(registry):
    promote("svc-risk", 1, "champion")
    events = registry.events.iloc[-20_000:]
    want = RiskModel.load(registry.bundle).predict_risk(events)
    for ref in ("models:/svc-risk@champion", "models:/svc-risk/1",
                f"runs:/{registry.info.run_id}/model"):
        got = load_model(ref).predict_risk(events)
        assert np.array_equal(got["risk"].to_numpy(), want["risk"].to_numpy()), ref
        assert got["entity"].tolist() == want["entity"].tolist()
        assert got["timestamp"].equals(want["timestamp"])


def test_bundle_is_cached_and_a_broken_cache_is_refilled(registry, tmp_path):
    cache = tmp_path / "own-cache"
    m = load_registered_model("models:/svc-risk/1", cache_dir=cache)
    (entry,) = list(cache.iterdir())
    joblib_file = entry / "bundle" / "model.joblib"
    stamp = joblib_file.stat().st_mtime_ns
    assert load_registered_model("models:/svc-risk/1", cache_dir=cache).version == m.version
    assert joblib_file.stat().st_mtime_ns == stamp  # read from the cache
    joblib_file.write_bytes(b"not a model")
    assert load_registered_model("models:/svc-risk/1", cache_dir=cache).version == m.version
    assert joblib_file.read_bytes() != b"not a model"


def test_unknown_names_aliases_and_versions_list_what_exists(registry):
    with pytest.raises(ModelBundleError, match=r"'nope' not found .* svc-risk"):
        load_model("models:/nope@champion")
    promote("svc-risk", 1, "champion")
    with pytest.raises(ModelBundleError, match=r"no alias 'gold'; its aliases: .*champion -> 1"):
        load_model("models:/svc-risk@gold")
    with pytest.raises(ModelBundleError, match=r"no version 99; its versions: 1"):
        show_model("svc-risk/99")
    with pytest.raises(ModelBundleError, match="no run 'feedbeef'"):
        load_model("runs:/feedbeef/model")
    with pytest.raises(ModelBundleError, match="no version 7"):
        promote("svc-risk", 7, "champion")
    with pytest.raises(ConfigError, match="'alias' parameter"):
        promote("svc-risk", 1, "latest")
    with pytest.raises(ConfigError, match="expected models:/"):
        load_registered_model("svc-risk@champion")


def test_a_replaced_artifact_is_refused(registry, tmp_path):
    """The digest the run recorded guards the bundle in the artifact store."""
    with threadpool_limits(limits=1):
        other = train(registry.events.iloc[:40_000], model="logreg")
    other_dir = other.save(tmp_path / "other")
    info = log_training_run(other, bundle_dir=other_dir, register="tamper",
                            experiment="tamper", uri=registry.uri)
    source = Path(show_model("tamper/1")["source"].removeprefix("file://"))
    target = source / "artifacts" / "bundle"
    for name in ("model.joblib", "metadata.json"):
        shutil.copyfile(registry.bundle / name, target / name)
    with pytest.raises(ModelBundleError, match="is not the one its run recorded"):
        load_registered_model("models:/tamper/1")
    with pytest.raises(ModelBundleError, match="is not the one its run recorded"):
        load_registered_model(info.model_uri)
