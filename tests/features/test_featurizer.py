from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errpredict.exceptions import ConfigError, SchemaError
from errpredict.features import ErrorHistoryFeaturizer, make_labels

T0 = pd.Timestamp("2026-01-05T00:00:00Z")  # a Monday


def _events(rows):
    df = pd.DataFrame(rows, columns=["sec", "service", "is_error", "error_type", "severity",
                                     "duration_ms"])
    df.insert(0, "timestamp", T0 + pd.to_timedelta(df.pop("sec"), unit="s"))
    from errpredict.io import to_canonical

    return to_canonical(df)


@pytest.fixture
def small():
    return _events([
        (10, "api", False, None, 9, 100.0),
        (70, "api", True, "HTTP 503", 17, 900.0),
        (80, "db", True, "TimeoutError", 17, 50.0),
        (95, "api", False, None, 13, 120.0),
        (120, "api", True, "HTTP 503", 17, 1000.0),  # exactly on the 00:02 boundary
        (185, "db", False, None, 9, 40.0),
        (200, "api", True, "HTTP 500", 17, None),
    ])


def test_counts_windows_and_grid(small):
    fz = ErrorHistoryFeaturizer(step="1m", windows=(1, 2, 3), max_peers=2).fit(small)
    X = fz.transform(small)
    times = X.index.get_level_values("timestamp").unique()
    assert list(times) == [T0 + pd.Timedelta(minutes=m) for m in (1, 2, 3, 4)]
    api = X.xs("api", level="entity")
    assert api["events_1m"].tolist() == [1, 3, 0, 1]
    assert api["errors_1m"].tolist() == [0, 2, 0, 1]
    assert api["errors_2m"].tolist() == [0, 2, 2, 1]
    assert api["warnings_3m"].tolist() == [0, 1, 1, 1]
    assert api["error_rate_1m"].tolist() == [0.0, 2 / 3, 0.0, 1.0]
    assert api["error_types_3m"].tolist() == [0, 1, 1, 2]
    assert api["latency_mean_1m"].iloc[1] == pytest.approx((900 + 120 + 1000) / 3)
    assert np.isnan(api["latency_mean_1m"].iloc[2])
    # 00:02 counts the error at exactly 00:02; the error at 00:01:10 was 50 s earlier
    assert api["time_since_error_s"].tolist() == [180.0, 0.0, 60.0, 40.0]
    db = X.xs("db", level="entity")
    assert db["other_errors_1m"].tolist() == [0, 2, 0, 1]
    assert X["sys_errors_3m"].xs("db", level="entity").tolist() == [0, 3, 3, 4]
    assert db["entities_erroring_2m"].tolist() == [0, 2, 2, 1]
    assert X["hour"].iloc[0] == 0 and X["weekday"].iloc[0] == 0
    # error types by count in fit: HTTP 503 (2), then HTTP 500 and TimeoutError (1 each, by name)
    assert fz.spec_.error_types == ("HTTP 503", "HTTP 500", "TimeoutError")
    assert api["errors_3m[HTTP 503]"].tolist() == [0, 2, 2, 2]
    # peers: the most erroring entities, api (3) then db (1)
    assert X.xs("api", level="entity")["peer_errors_2m[db]"].tolist() == [0, 1, 1, 0]


def test_latency_p95_is_an_upper_bin_edge(small):
    fz = ErrorHistoryFeaturizer(step="1m", windows=(1, 5)).fit(small)
    X = fz.transform(small)
    p95 = X.xs("api", level="entity")["latency_p95_5m"].iloc[1]
    edges = np.asarray(fz.spec_.latency_edges)
    assert p95 in edges and p95 >= 1000.0 and p95 < 1000.0 * (edges[1] / edges[0])


def test_metric_columns_are_window_means():
    ev = _events([(10, "a", False, None, 9, None), (20, "a", False, None, 9, None),
                  (70, "a", False, None, 9, None)])
    ev["cpu"] = [10.0, 30.0, np.nan]
    X = ErrorHistoryFeaturizer(step="1m", windows=(1, 2)).fit(ev).transform(ev)
    assert X["cpu_mean_1m"].iloc[0] == 20.0 and np.isnan(X["cpu_mean_1m"].iloc[1])
    assert X["cpu_mean_2m"].tolist() == [20.0, 20.0]


def test_bad_parameters_and_inputs(small):
    with pytest.raises(ConfigError, match="'windows' parameter"):
        ErrorHistoryFeaturizer(windows=(0, 5)).fit(small)
    with pytest.raises(ConfigError, match="whole multiples"):
        ErrorHistoryFeaturizer(step="1m", windows=("90s",)).fit(small)
    with pytest.raises(ConfigError, match="'step' parameter"):
        ErrorHistoryFeaturizer(step="soon").fit(small)
    with pytest.raises(SchemaError, match="entity column 'pod'"):
        ErrorHistoryFeaturizer(entity="pod").fit(small)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ErrorHistoryFeaturizer().transform(small)


def test_labels_right_closed_and_censored(small):
    y = make_labels(small, horizon="2m", min_errors=2)
    api = y.xs("api", level="entity")
    # at 00:01 the next two minutes (00:01, 00:03] hold the errors at 00:02 and 00:03:20
    assert api.iloc[:2].tolist() == [1.0, 0.0]
    assert api.iloc[2:].isna().all()


_SERVICES = ["a", "b", "c"]
_TYPES = ["E1", "E2", "E3", None]


@st.composite
def histories(draw):
    n = draw(st.integers(5, 60))
    secs = draw(st.lists(st.integers(0, 1800), min_size=n, max_size=n))
    rows = [(s, draw(st.sampled_from(_SERVICES)), draw(st.booleans()),
             draw(st.sampled_from(_TYPES)), draw(st.sampled_from([0, 9, 13, 17])),
             draw(st.one_of(st.none(), st.floats(1.0, 5000.0)))) for s in secs]
    ev = _events(rows)
    ev["cpu"] = draw(st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=n, max_size=n))
    ev["cpu"] = ev["cpu"].astype("float64")
    return ev


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 1800), st.integers(0, 2**32 - 1))
def test_no_feature_sees_the_future(ev, cut_s, seed):
    """Changing, dropping or adding events after t leaves every feature at or before t as is."""
    fz = ErrorHistoryFeaturizer(step="1m", windows=(1, 3, 10)).fit(ev)
    cut = (T0 + pd.Timedelta(seconds=cut_s)).ceil("1min")
    before = ev[ev["timestamp"] <= cut]
    if before.empty:
        return
    rng = np.random.default_rng(seed)
    after = ev[ev["timestamp"] > cut].copy()
    after["is_error"] = rng.random(len(after)) < 0.5
    after["duration_ms"] = rng.uniform(1, 1e4, len(after))
    extra = after.assign(timestamp=after["timestamp"] + pd.Timedelta(minutes=7))
    changed = pd.concat([before, after, extra]).sort_values("timestamp", kind="stable")
    a = fz.transform(ev)
    b = fz.transform(changed)
    t = a.index.get_level_values("timestamp")
    keep = a[t <= cut]
    pd.testing.assert_frame_equal(keep, b.loc[keep.index])


def test_chunked_transform_equals_in_memory(tmp_path):
    from errpredict.datasets import generate_history
    from errpredict.features import transform_chunks
    from errpredict.io import iter_events, write_events

    ev = generate_history(days=0.3, services=4, seed=2).events
    path = write_events(ev, tmp_path / "h.parquet")
    fz = ErrorHistoryFeaturizer().fit(ev)
    grid, X = fz.transform_arrays(ev)
    times, ents, Xc = transform_chunks(fz, lambda: iter_events(path, chunk_rows=5_000))
    assert list(ents) == list(grid.entities) and (times == grid.times_ns).all()
    np.testing.assert_allclose(Xc, X, rtol=1e-12, atol=1e-9)
