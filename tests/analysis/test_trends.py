from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from errpredict.analysis import Trends, trends
from errpredict.exceptions import ConfigError
from errpredict.io import to_canonical

START = pd.Timestamp("2026-02-01", tz="UTC")


def _bucketed(counts: dict[str, list[tuple[int, int]]], width: str) -> pd.DataFrame:
    """Events from (events, errors) per bucket per service; errors come first in a bucket."""
    step = pd.Timedelta(width)
    rows = []
    for service, buckets in counts.items():
        for b, (n, k) in enumerate(buckets):
            for i in range(n):
                ts = START + b * step + i * step / max(n, 1)
                rows.append((ts, service, i < k))
    frame = pd.DataFrame(rows, columns=["timestamp", "service", "is_error"])
    return to_canonical(frame)


def _shifted_series(seed: int, n: int = 200, shift_at: int = 120, per_bucket: int = 100):
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(n) < shift_at, 0.02, 0.10)
    errors = rng.binomial(per_bucket, p)
    return [(per_bucket, int(k)) for k in errors], errors


def test_change_point_at_the_known_shift_of_a_seeded_binomial_series():
    buckets, errors = _shifted_series(seed=42)
    tr = trends(_bucketed({"api": buckets}, "5min"), freq="5min", short="1h", long="4h")
    assert tr.basis == "rate"
    cps = tr.change_points
    assert cps["timestamp"].tolist() == [START + 120 * pd.Timedelta("5min")]
    assert cps["entity"].tolist() == ["api"]
    assert cps["before"].iloc[0] == pytest.approx(errors[:120].sum() / 12_000, rel=1e-12)
    assert cps["after"].iloc[0] == pytest.approx(errors[120:].sum() / 8_000, rel=1e-12)
    level = tr.rates["level"].to_numpy()
    assert (level[:120] == cps["before"].iloc[0]).all()
    assert (level[120:] == cps["after"].iloc[0]).all()
    summary = tr.summary.iloc[0]
    assert summary["change_points"] == 1
    assert summary["last_change"] == START + 120 * pd.Timedelta("5min")


def test_a_steady_seeded_series_has_no_change_point():
    rng = np.random.default_rng(7)
    buckets = [(100, int(k)) for k in rng.binomial(100, 0.05, 200)]
    tr = trends(_bucketed({"api": buckets}, "5min"), freq="5min")
    assert len(tr.change_points) == 0
    assert tr.summary["change_points"].tolist() == [0]
    assert pd.isna(tr.summary["last_change"].iloc[0])


def test_rates_and_trailing_means_on_a_hand_made_grid():
    # buckets of 10 min: api (events, errors) = (2, 0), (4, 1), (0, 0), (2, 2); db one event
    ev = _bucketed({"api": [(2, 0), (4, 1), (0, 0), (2, 2)], "db": [(0, 0), (1, 0)]}, "10min")
    tr = trends(ev, freq="10min", short="20min", long="40min")
    assert isinstance(tr, Trends)
    assert (tr.freq, tr.short, tr.long) == (
        pd.Timedelta("10min"), pd.Timedelta("20min"), pd.Timedelta("40min")
    )
    api = tr.rates[tr.rates["entity"] == "api"]
    assert api["timestamp"].tolist() == [START + i * pd.Timedelta("10min") for i in range(4)]
    assert api["events"].tolist() == [2, 4, 0, 2]
    assert api["errors"].tolist() == [0, 1, 0, 2]
    np.testing.assert_allclose(api["rate"], [0.0, 0.25, np.nan, 1.0])
    np.testing.assert_allclose(api["short_mean"], [0.0, 1 / 6, 0.25, 1.0])
    np.testing.assert_allclose(api["long_mean"], [0.0, 1 / 6, 1 / 6, 3 / 8])
    np.testing.assert_allclose(api["trend"], [np.nan, 1.0, 1.5, 8 / 3])
    db = tr.rates[tr.rates["entity"] == "db"]
    assert db["events"].tolist() == [0, 1, 0, 0]  # same grid for every entity
    assert tr.summary[["entity", "events", "errors"]].values.tolist() == [
        ["api", 8, 3], ["db", 1, 0]
    ]
    np.testing.assert_allclose(tr.summary["error_rate"], [3 / 8, 0.0])
    np.testing.assert_allclose(tr.summary["trend"], [8 / 3, np.nan])


def test_errors_only_history_trends_counts():
    ev = _bucketed({"api": [(1, 1), (3, 3), (0, 0), (2, 2)]}, "10min")
    tr = trends(ev, freq="10min", short="20min", long="40min")
    assert tr.basis == "count"
    api = tr.rates
    np.testing.assert_allclose(api["short_mean"], [1.0, 2.0, 1.5, 1.0])
    np.testing.assert_allclose(api["long_mean"], [1.0, 2.0, 4 / 3, 1.5])
    assert tr.summary["error_rate"].isna().all()


def test_count_basis_change_point_on_seeded_poisson_counts():
    rng = np.random.default_rng(1)
    counts = rng.poisson(np.where(np.arange(100) < 60, 2.0, 8.0))
    assert counts[0] > 0  # the grid starts at the first event
    ev = _bucketed({"disk": [(int(k), int(k)) for k in counts]}, "1h")
    tr = trends(ev, freq="1h", short="3h", long="12h")
    assert tr.basis == "count"
    assert tr.change_points["timestamp"].tolist() == [START + pd.Timedelta(hours=60)]
    assert tr.change_points["after"].iloc[0] == pytest.approx(counts[60:].mean(), rel=1e-12)


def test_other_entity_column_and_missing_values():
    ev = _bucketed({"api": [(2, 1), (2, 0)]}, "10min")
    ev["host"] = ["h1", "h1", None, "h2"]
    ev = to_canonical(ev)
    tr = trends(ev, entity="host", freq="10min", short="10min", long="20min")
    assert tr.entity == "host"
    assert tr.summary[["entity", "events", "errors"]].values.tolist() == [
        ["h1", 2, 1], ["h2", 1, 0]
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entity": "region"}, "'entity' parameter of trends names column 'region'"),
        ({"short": "7min"}, "whole multiple of freq"),
        ({"short": "2h", "long": "1h"}, "'long' parameter of trends must be at least"),
        ({"freq": "later"}, "fixed duration"),
        ({"freq": "1ns"}, "pick a coarser freq"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    ev = _bucketed({"api": [(2, 1), (2, 0)]}, "10min")
    with pytest.raises(ConfigError, match=message):
        trends(ev, **kwargs)


def test_empty_buckets_are_skipped_so_the_change_lands_where_events_resume():
    buckets = [(100, 2)] * 30 + [(0, 0)] * 10 + [(100, 20)] * 30
    ev = _bucketed({"api": buckets, "idle": [(5, 0)] * 70}, "5min")
    tr = trends(ev, freq="5min", short="15min", long="1h")
    assert tr.change_points[["entity", "timestamp", "before", "after"]].values.tolist() == [
        ["api", START + 40 * pd.Timedelta("5min"), 0.02, 0.2]
    ]
    api = tr.rates[tr.rates["entity"] == "api"]
    assert api["level"].tolist() == [0.02] * 40 + [0.2] * 30
