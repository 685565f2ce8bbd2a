from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errpredict.exceptions import ConfigError, SchemaError
from errpredict.feedback import FeedbackProcessor
from errpredict.feedback._labels import errors_in_horizon
from errpredict.io import to_canonical

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
T0 = pd.Timestamp("2026-01-05T00:00:00Z")
MIN = pd.Timedelta("1min")


def _brute_force(pred: pd.DataFrame, events: pd.DataFrame, entity: str, horizon, k: int):
    """Label per prediction by looping over events: the definition, written plainly."""
    errors = events[events["is_error"]]
    times = {e: list(g["timestamp"]) for e, g in errors.groupby(entity)}
    out = []
    for e, t in zip(pred["entity"], pred["timestamp"], strict=True):
        out.append(sum(t < x <= t + horizon for x in times.get(e, [])) >= k)
    return out


def _seeded_history(seed: int = 3, n_events: int = 600):
    rng = np.random.default_rng(seed)
    events = pd.DataFrame(
        {
            "timestamp": T0 + pd.to_timedelta(np.sort(rng.integers(0, 180 * 60, n_events)), "s"),
            "service": rng.choice(["api", "db", "queue"], n_events),
            "host": rng.choice(["h1", "h2"], n_events),
            "is_error": rng.random(n_events) < 0.3,
            "severity": rng.choice([9, 13, 17, 21], n_events),
            "error_type": rng.choice(["Timeout", "HTTP 503"], n_events),
        }
    )
    grid = pd.date_range(T0, T0 + 170 * MIN, freq="5min")
    pred = pd.DataFrame(
        [(e, t) for t in grid for e in ("api", "db", "queue", "auth")],
        columns=["entity", "timestamp"],
    )
    pred["risk"] = np.round(rng.random(len(pred)), 2)
    pred["prediction_id"] = [f"p{i:04d}" for i in range(len(pred))]
    return to_canonical(events), pred


def test_matured_labels_equal_the_definition_exactly():
    events, pred = _seeded_history()
    horizon = pd.Timedelta("10min")
    with FeedbackProcessor(":memory:") as fp:
        fp.record_predictions(pred, model_version="1")
        n = fp.label_matured(events, horizon=horizon, min_errors=2)
        stored = fp.predictions()
        out = fp.outcomes()
    latest = events["timestamp"].max()
    matured = pred["timestamp"] + horizon <= latest
    assert n == int(matured.sum()) == 136  # 34 decision times x 4 entities
    expected = _brute_force(pred[matured], events, "service", horizon, 2)
    got = stored.set_index("prediction_id").loc[pred.loc[matured, "prediction_id"], "label"]
    assert got.tolist() == expected
    assert sum(expected) == 83
    assert stored.loc[stored["entity"] == "auth", "label"].dropna().tolist() == [False] * 34
    assert stored["label"].isna().sum() == len(pred) - 136
    assert set(out["source"]) == {"implicit"}
    assert (out["observed_at"] == out["timestamp"] + horizon).all()


def test_window_is_open_at_t_and_closed_at_t_plus_horizon():
    events = to_canonical(
        pd.DataFrame(
            {
                "timestamp": [T0, T0 + 10 * MIN, T0 + 10 * MIN, T0 + 20 * MIN, T0 + 30 * MIN],
                "service": ["api"] * 5,
                "is_error": [True, True, False, True, False],
            }
        )
    )
    pred = pd.DataFrame(
        {
            "entity": ["api"] * 4,
            "timestamp": [T0, T0 + 10 * MIN, T0 + 19 * MIN, T0 + 20 * MIN],
            "risk": [0.1, 0.2, 0.3, 0.4],
            "prediction_id": ["a", "b", "c", "d"],
        }
    )
    with FeedbackProcessor(":memory:") as fp:
        fp.record_predictions(pred, model_version="1")
        assert fp.label_matured(events, horizon="10min", min_errors=1) == 4
        # a: (0, 10] holds the error at 10 (the one at 0 is excluded); b: (10, 20] holds 20;
        # c: (19, 29] holds 20; d: (20, 30] holds nothing
        assert fp.predictions()["label"].tolist() == [True, True, True, False]


def test_only_matured_unlabelled_risk_predictions_are_labelled_once():
    events, pred = _seeded_history(seed=5)
    with FeedbackProcessor(":memory:") as fp:
        fp.record_predictions(pred, model_version="1")
        rec = fp.record_prediction(
            entity="api", timestamp=T0, risk=None, model_version="p", kind="recommendation"
        )
        fp.record_outcome("p0000", label=True)  # an operator labelled it first
        first = fp.label_matured(events, horizon="30min", min_errors=1, now=T0 + 60 * MIN)
        # decision times 0, 5, ..., 30 min have matured: 7 x 4, less the labelled one
        assert first == 27
        assert fp.label_matured(events, horizon="30min", min_errors=1, now=T0 + 60 * MIN) == 0
        second = fp.label_matured(events, horizon="30min", min_errors=1)
        # the rest up to the latest event (2 h 59 min): decision times 0-145 min, less the first
        assert second == 4 * 30 - 28 == 92
        assert fp.get_prediction("p0000")["label_source"] == "explicit"
        assert fp.get_prediction(rec)["outcomes"] == []
        counts = fp.counts()
        assert (counts["implicit"], counts["explicit"]) == (first + second, 1)


def test_entity_column_and_target_filters():
    events, _ = _seeded_history(seed=7)
    grid = pd.date_range(T0, T0 + 120 * MIN, freq="10min")
    pred = pd.DataFrame(
        [(h, t) for t in grid for h in ("h1", "h2")], columns=["entity", "timestamp"]
    )
    pred["risk"] = 0.5
    horizon = pd.Timedelta("15min")
    for kwargs, keep in [
        ({}, events["is_error"]),
        ({"error_types": ["Timeout"]}, events["is_error"] & (events["error_type"] == "Timeout")),
        ({"min_severity": 21}, events["is_error"] & (events["severity"] >= 21)),
    ]:
        with FeedbackProcessor(":memory:") as fp:
            fp.record_predictions(
                pred.assign(prediction_id=[f"x{i}" for i in range(len(pred))]), model_version="1"
            )
            assert fp.label_matured(
                events, horizon=horizon, min_errors=3, entity="host", **kwargs
            ) == len(pred)
            got = fp.predictions()["label"].tolist()
        assert got == _brute_force(pred, events.assign(is_error=keep), "host", horizon, 3)
    assert sum(got) < sum(_brute_force(pred, events, "host", horizon, 3))


def test_label_matured_rejects_bad_arguments():
    events, pred = _seeded_history()
    with FeedbackProcessor(":memory:") as fp:
        fp.record_predictions(pred, model_version="1")
        with pytest.raises(ConfigError, match="'horizon' parameter of label_matured"):
            fp.label_matured(events, horizon="soon", min_errors=1)
        with pytest.raises(ConfigError, match="'horizon'"):
            fp.label_matured(events, horizon=pd.Timedelta(0), min_errors=1)
        with pytest.raises(ConfigError, match="'min_errors'"):
            fp.label_matured(events, horizon="10min", min_errors=0)
        with pytest.raises(SchemaError, match="missing column 'node'"):
            fp.label_matured(events, horizon="10min", min_errors=1, entity="node")
        with pytest.raises(SchemaError, match="missing column 'is_error'"):
            fp.label_matured(events.drop(columns="is_error"), horizon="10min", min_errors=1)
        with pytest.raises(SchemaError, match="'is_error' has dtype"):
            fp.label_matured(
                events.assign(is_error=events["is_error"].map(str)), horizon="10min", min_errors=1
            )
        assert fp.label_matured(events.iloc[:0], horizon="10min", min_errors=1) == 0
        assert fp.counts()["outcomes"] == 0


def test_backblaze_drive_failures_label_daily_predictions():
    path = DATASETS / "backblaze" / "toshiba_mq01abf050_last_10_days_raw.csv"
    if not path.exists():
        pytest.skip(f"real dataset not found at {path}")
    raw = pd.read_csv(path)
    events = to_canonical(
        raw.rename(columns={"date": "timestamp"}).assign(
            service=raw["model"], is_error=raw["failure"] == 1
        )[["timestamp", "service", "serial_number", "is_error"]]
    )
    # one risk prediction per drive and day, scored by a stand-in that ranks by SMART 5
    pred = pd.DataFrame(
        {
            "entity": raw["serial_number"],
            "timestamp": pd.to_datetime(raw["date"], utc=True),
            "risk": np.clip(raw["smart_5_raw"].fillna(0) / 100, 0, 1),
            "prediction_id": [f"d{i}" for i in range(len(raw))],
        }
    )
    horizon = pd.Timedelta("3D")
    with FeedbackProcessor(":memory:", window=100_000) as fp:
        fp.record_predictions(pred, model_version="smart5")
        n = fp.label_matured(events, horizon=horizon, min_errors=1, entity="serial_number")
        labels = fp.predictions().set_index("prediction_id")["label"]
        metrics = fp.live_metrics("smart5", threshold=0.01)
    matured = pred["timestamp"] + horizon <= events["timestamp"].max()
    assert n == int(matured.sum()) == 3972
    expected = _brute_force(pred[matured], events, "serial_number", horizon, 1)
    assert labels.loc[pred.loc[matured, "prediction_id"]].tolist() == expected
    assert sum(expected) == 694
    assert metrics["n"] == 3972 and metrics["positives"] == 694


@settings(max_examples=200, deadline=None)
@given(
    preds=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 50)), max_size=30),
    errs=st.lists(st.tuples(st.sampled_from("abd"), st.integers(0, 60)), max_size=40),
    horizon=st.integers(1, 20),
)
def test_window_counts_match_a_plain_loop(preds, errs, horizon):
    counts = errors_in_horizon(
        np.array([e for e, _ in preds], dtype=object),
        np.array([t for _, t in preds], dtype="int64"),
        np.array([e for e, _ in errs], dtype=object).astype(str),
        np.array([t for _, t in errs], dtype="int64"),
        horizon,
    )
    expected = [sum(pe == ee and pt < et <= pt + horizon for ee, et in errs) for pe, pt in preds]
    assert counts.tolist() == expected
