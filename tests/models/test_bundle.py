from __future__ import annotations

import json

import numpy as np
import pytest

from errpredict import evaluate, load_model, train
from errpredict.datasets import generate_history
from errpredict.exceptions import ConfigError, ModelBundleError


@pytest.fixture(scope="module")
def history():
    return generate_history(days=1.5, services=4, seed=3).events


@pytest.fixture(scope="module")
def model(history):
    return train(history, horizon="10m", min_errors=5)


def test_train_is_deterministic_and_scores_every_cell(history, model):
    again = train(history, horizon="10m", min_errors=5)
    a, b = model.predict_risk(history), again.predict_risk(history)
    np.testing.assert_array_equal(a["risk"].to_numpy(), b["risk"].to_numpy())
    minutes = int((history["timestamp"].max().ceil("1min") - history["timestamp"].min()
                   .ceil("1min")).total_seconds() // 60) + 1
    assert len(a) == minutes * 4
    assert a["risk"].between(0, 1).all()
    assert model.metadata["validation"]["pr_auc"] > model.metadata["validation"]["baseline"][
        "pr_auc"]


def test_round_trip_and_checks(tmp_path, history, model):
    d = model.save(tmp_path / "m")
    loaded = load_model(d)
    np.testing.assert_array_equal(loaded.predict_risk(history)["risk"].to_numpy(),
                                  model.predict_risk(history)["risk"].to_numpy())
    meta = json.loads((d / "metadata.json").read_text())
    assert meta["model_sha256"][:12] == loaded.version
    assert meta["feature_names"] == list(model.featurizer.feature_names_out_)
    assert set(meta["versions"]) >= {"errpredict", "scikit-learn", "numpy", "pandas"}
    assert evaluate(str(d), history)["n"] > 0


def test_bad_bundles_say_what_is_wrong(tmp_path, model):
    with pytest.raises(ModelBundleError, match="no such model bundle"):
        load_model(tmp_path / "nope")
    d = model.save(tmp_path / "m")
    (d / "model.joblib").write_bytes((d / "model.joblib").read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelBundleError, match="does not match metadata.json"):
        load_model(d)
    d = model.save(tmp_path / "m2")
    meta = json.loads((d / "metadata.json").read_text())
    meta["bundle_format"] = 99
    (d / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelBundleError, match="bundle format 99 is not supported"):
        load_model(d)
    d = model.save(tmp_path / "m3")
    (d / "metadata.json").unlink()
    with pytest.raises(ModelBundleError, match="metadata.json is missing"):
        load_model(d)


def test_predict_at_uses_only_the_past(history, model):
    at = history["timestamp"].iloc[len(history) // 2]
    one = model.predict_risk(history, at=at)
    full = model.predict_risk(history)
    t = at.floor("1min")
    assert (one["timestamp"] == t).all() and len(one) == 4
    expect = full[full["timestamp"] == t]["risk"].to_numpy()
    np.testing.assert_allclose(one["risk"].to_numpy(), expect)


def test_target_without_positives_is_a_clear_error(history):
    with pytest.raises(ConfigError, match="no positive decision times"):
        train(history, horizon="1m", min_errors=10_000)
