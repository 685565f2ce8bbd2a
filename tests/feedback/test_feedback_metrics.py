from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
)

from errpredict.exceptions import ConfigError
from errpredict.feedback import FeedbackProcessor, live_figures

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def test_figures_by_hand():
    risk = np.array([0.95, 0.85, 0.62, 0.55, 0.40, 0.12, 0.05, 0.30])
    label = np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)
    m = live_figures(risk, label, threshold=0.5)
    # alarms: 0.95 0.85 0.62 0.55 -> tp 3, fp 1; missed: 0.30 -> fn 1
    assert (m["n"], m["positives"], m["alarms"]) == (8, 4, 4)
    assert (m["precision"], m["recall"], m["f1"]) == (0.75, 0.75, 0.75)
    # ranks of the positives: 1, 2, 4, 6 -> AP = (1 + 1 + 3/4 + 4/6) / 4
    assert m["pr_auc"] == pytest.approx((1 + 1 + 0.75 + 4 / 6) / 4, abs=1e-15)
    assert m["brier"] == pytest.approx(
        (0.05**2 + 0.15**2 + 0.62**2 + 0.45**2 + 0.40**2 + 0.12**2 + 0.05**2 + 0.70**2) / 8,
        abs=1e-15,
    )
    # bins: [0.0,0.1) 0.05/0; [0.1,0.2) 0.12/0; [0.3,0.4) 0.30/1; [0.4,0.5) 0.40/0;
    # [0.5,0.6) 0.55/1; [0.6,0.7) 0.62/0; [0.8,0.9) 0.85/1; [0.9,1.0] 0.95/1
    ece = (0.05 + 0.12 + 0.70 + 0.40 + 0.45 + 0.62 + 0.15 + 0.05) / 8
    assert m["ece"] == pytest.approx(ece, abs=1e-15)
    cal = m["calibration"]
    assert cal["ece"] == m["ece"]
    assert (cal["mean_predicted"], cal["observed_rate"]) == (pytest.approx(0.48), 0.5)
    assert [b["n"] for b in cal["bins"]] == [1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
    assert cal["bins"][2] == {
        "lower": 0.2,
        "upper": 0.3,
        "n": 0,
        "mean_predicted": None,
        "observed_rate": None,
    }


def test_figures_agree_with_scikit_learn_on_seeded_data():
    rng = np.random.default_rng(11)
    risk = rng.random(2000)
    label = rng.random(2000) < risk**2
    m = live_figures(risk, label, threshold=0.4)
    alarm = risk >= 0.4
    assert m["precision"] == pytest.approx(precision_score(label, alarm), abs=1e-12)
    assert m["recall"] == pytest.approx(recall_score(label, alarm), abs=1e-12)
    assert m["f1"] == pytest.approx(f1_score(label, alarm), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(label, risk), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(label, risk), abs=1e-12)
    bins = np.minimum((risk * 10).astype(int), 9)
    ece = sum(
        (bins == b).sum() / 2000 * abs(risk[bins == b].mean() - label[bins == b].mean())
        for b in range(10)
        if (bins == b).any()
    )
    assert m["ece"] == pytest.approx(ece, abs=1e-12)
    assert (m["n"], m["positives"], m["alarms"]) == (2000, 657, 1172)


def test_degenerate_windows():
    empty = live_figures(np.array([]), np.array([], dtype=bool), threshold=0.5)
    assert empty["n"] == 0 and empty["precision"] is None and empty["calibration"] is None
    one_class = live_figures(np.array([0.2, 0.7]), np.array([False, False]), threshold=0.5)
    assert one_class["pr_auc"] is None
    assert (one_class["precision"], one_class["recall"], one_class["f1"]) == (0.0, 0.0, 0.0)


def _store_two_versions(fp: FeedbackProcessor) -> None:
    rng = np.random.default_rng(2)
    n = 300
    for version, skill in (("1", 0.2), ("2", 0.8)):
        label = rng.random(n) < 0.3
        risk = np.clip(np.where(label, skill, 1 - skill) * 0.6 + rng.random(n) * 0.4, 0, 1)
        frame = pd.DataFrame(
            {
                "entity": "api",
                "timestamp": pd.date_range(T0, periods=n, freq="min"),
                "risk": risk,
                "prediction_id": [f"v{version}-{i}" for i in range(n)],
            }
        )
        fp.record_predictions(frame, model_version=version)
        for i in range(n - 20):  # the last 20 are not labelled yet
            fp.record_outcome(
                f"v{version}-{i}", label=bool(label[i]), source="implicit" if i % 2 else "explicit"
            )


def test_live_metrics_per_version_over_the_last_window():
    with FeedbackProcessor(":memory:", window=100) as fp:
        _store_two_versions(fp)
        by_version = fp.live_metrics_by_version(threshold=0.5)
        assert list(by_version) == ["1", "2"]
        for version in ("1", "2"):
            m = by_version[version]
            stored = fp.predictions(model_version=version).iloc[180:280]
            ref = live_figures(
                stored["risk"].to_numpy(), stored["label"].to_numpy(dtype=bool), threshold=0.5
            )
            assert {k: m[k] for k in ref} == ref
            assert (m["n"], m["window"], m["model_version"]) == (100, 100, version)
            assert (m["since"], m["until"]) == (
                T0 + pd.Timedelta("180min"),
                T0 + pd.Timedelta("279min"),
            )
        assert by_version["2"]["pr_auc"] > by_version["1"]["pr_auc"]
        assert (by_version["1"]["pr_auc"], by_version["2"]["pr_auc"]) == (
            pytest.approx(0.246341, abs=1e-6),
            pytest.approx(0.988636, abs=1e-6),
        )
        pooled = fp.live_metrics(window=10_000)
        assert pooled["n"] == 560 and pooled["model_version"] is None
        assert fp.live_metrics("nope")["n"] == 0
        with pytest.raises(ConfigError, match="'window'"):
            fp.live_metrics("1", window=-3)
