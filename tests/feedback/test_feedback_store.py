from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import numpy as np
import pandas as pd
import pytest

from errpredict.exceptions import ConfigError, FeedbackError, SchemaError
from errpredict.feedback import (
    OUTCOME_COLUMNS,
    PREDICTION_COLUMNS,
    FeedbackProcessor,
    default_outcome_id,
    hash_features,
)

T0 = pd.Timestamp("2026-01-05T10:00:00Z")
T0_NS = 1_767_607_200_000_000_000


@pytest.fixture
def fp():
    with FeedbackProcessor(":memory:") as proc:
        yield proc


def _stream(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "entity": rng.choice(["api", "db", "cache"], n),
            "timestamp": pd.date_range(T0, periods=n, freq="min"),
            "risk": np.round(rng.random(n), 3),
            "prediction_id": [f"p{i:05d}" for i in range(n)],
        }
    )


def test_timestamp_forms_store_the_same_nanoseconds(fp):
    forms = [
        T0,
        "2026-01-05T10:00:00Z",
        "2026-01-05T11:00:00+01:00",
        dt.datetime(2026, 1, 5, 10, 0),  # naive = UTC
        dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC),
        np.datetime64("2026-01-05T10:00:00"),
        1_767_607_200,  # epoch s
        1_767_607_200_000,  # epoch ms
        1_767_607_200.0,
        T0_NS,  # epoch ns
    ]
    for i, ts in enumerate(forms):
        fp.record_prediction(
            entity="api", timestamp=ts, risk=0.5, model_version="1", prediction_id=f"t{i}"
        )
    stored = fp.predictions()
    assert stored["timestamp"].dtype == "datetime64[ns, UTC]"
    assert stored["timestamp"].array.asi8.tolist() == [T0_NS] * len(forms)


def test_record_prediction_round_trip(fp):
    features = {"errors_5m": 3, "rate_1m": np.float32(0.25)}
    pid = fp.record_prediction(
        entity="api",
        timestamp=T0,
        risk=0.75,
        model_version="7",
        features=features,
        payload={"top": ["errors_5m"], "n": np.int64(2)},
    )
    assert len(pid) == 32 and int(pid, 16) >= 0
    rec = fp.get_prediction(pid)
    assert {k: rec[k] for k in ("prediction_id", "kind", "model_version", "entity", "risk")} == {
        "prediction_id": pid,
        "kind": "risk",
        "model_version": "7",
        "entity": "api",
        "risk": 0.75,
    }
    assert rec["timestamp"] == T0
    assert rec["features_hash"] == hash_features({"rate_1m": 0.25, "errors_5m": 3.0})
    assert rec["payload"] == {"top": ["errors_5m"], "n": 2}
    assert rec["label"] is None and rec["label_source"] is None and rec["outcomes"] == []
    assert list(fp.predictions().columns) == list(PREDICTION_COLUMNS)


def test_features_hash_of_dict_and_array():
    assert hash_features(None) is None
    assert hash_features({"b": 2, "a": 1}) == hash_features(pd.Series({"a": 1.0, "b": 2.0}))
    assert hash_features({"a": 1, "b": 2}) != hash_features({"a": 2, "b": 1})
    assert hash_features(np.array([1, 2], dtype="int32")) == hash_features([1.0, 2.0])
    # sha256 of the 16 bytes of float64 [1, 2]; of the JSON text {"a":1.0,"b":2.0}
    assert hash_features([1.0, 2.0]) == (
        "dc91ce9a50ddc828740aa26743716897fdb2bb64f1db662fe263a59be56145ae"
    )
    assert hash_features({"a": 1, "b": 2}) == (
        "903f074436ae1707943c92e2e545134393177c793068a69b685f3f231b51e8a5"
    )
    with pytest.raises(FeedbackError, match="features"):
        hash_features({"a": "x"})


def test_same_prediction_id_is_stored_once_first_wins(fp):
    a = fp.record_prediction(
        entity="api", timestamp=T0, risk=0.1, model_version="1", prediction_id="p1"
    )
    b = fp.record_prediction(
        entity="db", timestamp=T0, risk=0.9, model_version="2", prediction_id="p1"
    )
    assert a == b == "p1"
    assert fp.counts()["predictions"] == 1
    assert fp.get_prediction("p1")["entity"] == "api"


def test_record_outcome_is_idempotent_per_outcome_id(fp):
    fp.record_prediction(
        entity="api", timestamp=T0, risk=0.8, model_version="1", prediction_id="p1"
    )
    assert fp.record_outcome("p1", label=True) is True
    assert fp.record_outcome("p1", label=True) is False
    assert fp.record_outcome("p1", label=False, source="implicit") is True
    assert fp.record_outcome("p1", label=False, source="implicit") is False
    assert fp.record_outcome("p1", outcome={"recovered": True}, outcome_id="o-action") is True
    assert fp.record_outcome("p1", outcome={"recovered": True}, outcome_id="o-action") is False
    counts = fp.counts()
    assert (counts["outcomes"], counts["explicit"], counts["implicit"]) == (3, 2, 1)
    out = fp.outcomes()
    assert list(out.columns) == list(OUTCOME_COLUMNS)
    assert out["outcome_id"].tolist() == [
        default_outcome_id("p1", "explicit"),
        default_outcome_id("p1", "implicit"),
        "o-action",
    ]
    assert out["label"].tolist() == [True, False, pd.NA]
    assert out["outcome"].tolist() == [None, None, {"recovered": True}]
    assert out["source"].tolist() == ["explicit", "implicit", "explicit"]
    assert (out["timestamp"] == T0).all() and (out["risk"] == 0.8).all()


def test_action_outcome_with_observed_time(fp):
    pid = fp.record_prediction(
        entity="api",
        timestamp=T0,
        risk=None,
        model_version="pol-1",
        kind="recommendation",
        payload={"action": "retry", "delay_s": 2},
    )
    outcome = {"recovered": True, "time_to_recovery_s": 4.0, "wasted_calls": 1}
    assert fp.record_outcome(pid, outcome=outcome, timestamp=T0 + pd.Timedelta("4s"))
    rec = fp.get_prediction(pid)
    assert rec["kind"] == "recommendation" and rec["risk"] is None
    assert rec["outcomes"][0]["outcome"] == outcome
    assert rec["outcomes"][0]["observed_at"] == T0 + pd.Timedelta("4s")
    assert fp.outcomes(kind="recommendation")["prediction_id"].tolist() == [pid]
    assert fp.outcomes(kind="risk").empty
    assert fp.counts()["by_kind"] == {"recommendation": 1}


def test_explicit_label_wins_over_implicit(fp):
    for pid in ("a", "b"):
        fp.record_prediction(
            entity="api", timestamp=T0, risk=0.6, model_version="1", prediction_id=pid
        )
    fp.record_outcome("a", label=False, source="implicit")
    assert fp.get_prediction("a")["label"] is False
    fp.record_outcome("a", label=True)  # an operator says the alarm was right
    assert fp.get_prediction("a")["label_source"] == "explicit"
    fp.record_outcome("a", label=False, source="implicit", outcome_id="late-implicit")
    assert fp.get_prediction("a")["label"] is True
    fp.record_outcome("a", label=False, outcome_id="correction")  # a later report wins
    assert fp.get_prediction("a")["label"] is False
    fp.record_outcome("b", label=True)
    fp.record_outcome("b", label=False, source="implicit")
    assert fp.predictions()["label"].tolist() == [False, True]
    assert fp.counts()["labelled"] == 2 and fp.counts()["positives"] == 1


def test_unknown_and_invalid_feedback_raise_with_the_culprit(fp):
    with pytest.raises(FeedbackError, match="unknown prediction_id 'nope'"):
        fp.record_outcome("nope", label=True)
    with pytest.raises(FeedbackError, match="unknown prediction_id 'nope'"):
        fp.get_prediction("nope")
    fp.record_prediction(
        entity="api", timestamp=T0, risk=0.5, model_version="1", prediction_id="p1"
    )
    fp.record_prediction(
        entity="api", timestamp=T0, risk=0.5, model_version="1", prediction_id="p2"
    )
    fp.record_outcome("p1", label=True, outcome_id="shared")
    with pytest.raises(FeedbackError, match="already belongs to prediction 'p1'"):
        fp.record_outcome("p2", label=True, outcome_id="shared")
    with pytest.raises(FeedbackError, match="neither 'label' nor 'outcome'"):
        fp.record_outcome("p1")
    with pytest.raises(FeedbackError, match="'source'"):
        fp.record_outcome("p1", label=True, source="oncall")
    with pytest.raises(FeedbackError, match="'label'"):
        fp.record_outcome("p1", label="yes")
    with pytest.raises(FeedbackError, match="'outcome'"):
        fp.record_outcome("p1", outcome={"at": object()})
    with pytest.raises(FeedbackError, match=r"'risk': got 1\.5"):
        fp.record_prediction(entity="api", timestamp=T0, risk=1.5, model_version="1")
    with pytest.raises(FeedbackError, match="'timestamp'"):
        fp.record_prediction(entity="api", timestamp="yesterday-ish", risk=0.5, model_version="1")
    with pytest.raises(FeedbackError, match="'entity'"):
        fp.record_prediction(entity="", timestamp=T0, risk=0.5, model_version="1")
    assert fp.counts()["predictions"] == 2 and fp.counts()["outcomes"] == 1


def test_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match="'window' parameter of FeedbackProcessor"):
        FeedbackProcessor(":memory:", window=0)
    with pytest.raises(ConfigError, match="'synchronous'"):
        FeedbackProcessor(":memory:", synchronous="OFF")
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a database file at all, just text" * 50)
    with pytest.raises(FeedbackError, match="cannot open it as a SQLite database"):
        FeedbackProcessor(bad)


def test_bulk_record_predictions(fp):
    frame = _stream(1000)
    frame.loc[3, "prediction_id"] = None
    frame["features_hash"] = [hash_features([i]) for i in range(1000)]
    ids = fp.record_predictions(frame, model_version="2")
    assert ids[:3] == ["p00000", "p00001", "p00002"] and len(ids[3]) == 32
    again = fp.record_predictions(frame.drop(index=3), model_version="2")
    assert again == [i for j, i in enumerate(ids) if j != 3]
    stored = fp.predictions(model_version="2")
    assert len(stored) == 1000 and fp.counts()["predictions"] == 1000
    assert stored["risk"].tolist() == frame["risk"].tolist()
    assert stored["features_hash"].tolist() == frame["features_hash"].tolist()
    assert stored["prediction_id"].tolist() == ids
    assert fp.record_predictions(frame.iloc[:0], model_version="2") == []


def test_bulk_errors_name_the_row(fp):
    frame = _stream(10)
    with pytest.raises(SchemaError, match="missing column 'risk'"):
        fp.record_predictions(frame.drop(columns="risk"), model_version="1")
    frame.loc[6, "risk"] = 1.2
    with pytest.raises(SchemaError, match=r"column 'risk' row 6: 1\.2"):
        fp.record_predictions(frame, model_version="1")
    assert fp.counts()["predictions"] == 0


def test_bulk_insert_is_fast(tmp_path):
    frame = _stream(100_000, seed=1).drop(columns="prediction_id")
    with FeedbackProcessor(tmp_path / "fb.sqlite") as fp:
        # CPU time of this process (SQLite runs in it): wall time on a shared 2-core machine
        # measures the neighbours as much as the code
        start = time.process_time()
        ids = fp.record_predictions(frame, model_version="1")
        rate = len(ids) / (time.process_time() - start)
        assert fp.counts()["predictions"] == 100_000
    assert rate >= 50_000, f"{rate:,.0f} rows/s"


def test_filters(fp):
    fp.record_predictions(_stream(60), model_version="1")
    fp.record_predictions(
        _stream(30).assign(prediction_id=lambda f: "q" + f.prediction_id), model_version="2"
    )
    since = T0 + pd.Timedelta("20min")
    assert len(fp.predictions(since=since)) == 40 + 10
    assert len(fp.predictions(model_version="2", since=since)) == 10
    assert len(fp.predictions(kind="recommendation")) == 0
    assert fp.model_versions() == ["1", "2"]
    for i in range(0, 60, 2):
        fp.record_outcome(f"p{i:05d}", label=i % 4 == 0)
    assert len(fp.outcomes(since=since)) == 20
    assert fp.outcomes()["prediction_id"].tolist()[:3] == ["p00000", "p00002", "p00004"]


def test_file_store_is_wal_and_survives_reopening(tmp_path):
    path = tmp_path / "deep" / "er" / "feedback.sqlite"
    with FeedbackProcessor(path) as fp:
        fp.record_predictions(_stream(50), model_version="1")
        fp.record_outcome("p00001", label=True)
    assert path.exists()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    with FeedbackProcessor(path) as fp:
        assert fp.counts()["predictions"] == 50 and fp.counts()["outcomes"] == 1
        assert fp.record_outcome("p00001", label=True) is False
    fp2 = FeedbackProcessor(path)
    fp2.close()
    with pytest.raises(FeedbackError, match="is closed"):
        fp2.counts()


def test_schema_version_mismatch(tmp_path):
    path = tmp_path / "fb.sqlite"
    FeedbackProcessor(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(FeedbackError, match="schema version 99"):
        FeedbackProcessor(path)


def test_two_processors_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "fb.sqlite"
    with FeedbackProcessor(path) as writer, FeedbackProcessor(path, timeout_s=5) as reader:
        writer.record_prediction(
            entity="api", timestamp=T0, risk=0.3, model_version="1", prediction_id="p1"
        )
        reader.record_outcome("p1", label=False)
        assert writer.get_prediction("p1")["label"] is False
        assert reader.counts()["predictions"] == 1


def test_threads_share_one_processor_exactly(tmp_path):
    n_threads, per_thread = 4, 150
    news: list[int] = []
    errors: list[BaseException] = []
    with FeedbackProcessor(tmp_path / "fb.sqlite") as fp:

        def work(k: int) -> None:
            try:
                new = 0
                for i in range(per_thread):
                    pid = f"t{k}-{i}"
                    fp.record_prediction(
                        entity=f"svc{k}",
                        timestamp=T0_NS + i * 60 * 10**9,
                        risk=(i % 10) / 10,
                        model_version="1",
                        prediction_id=pid,
                    )
                    new += fp.record_outcome(pid, label=i % 3 == 0)
                    # every thread also reports on a neighbour's predictions: duplicates
                    other = f"t{(k + 1) % n_threads}-{i}"
                    try:
                        new += fp.record_outcome(other, label=i % 3 == 0)
                    except FeedbackError:
                        pass  # the neighbour has not recorded it yet
                news.append(new)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        counts = fp.counts()
    assert counts["predictions"] == counts["outcomes"] == n_threads * per_thread
    assert sum(news) == n_threads * per_thread
    assert counts["positives"] == n_threads * 50
