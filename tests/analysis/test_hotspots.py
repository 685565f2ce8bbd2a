from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errpredict.analysis import HOTSPOT_COLUMNS, hotspots
from errpredict.exceptions import ConfigError
from errpredict.io import to_canonical

NAN = float("nan")


def _events() -> pd.DataFrame:
    rows = [
        ("00:10", "api", "GET /a", "h1", None),
        ("00:20", "api", "GET /a", "h1", "TimeoutError"),
        ("00:50", "api", "GET /b", "h2", None),
        ("01:10", "api", "GET /b", "h2", "HTTP 503"),
        ("01:20", "api", "GET /b", "h2", "HTTP 503"),
        ("01:30", "db", "query", "h3", None),
        ("01:40", "db", "query", "h3", None),
        ("02:05", "db", "query", "h3", "TimeoutError"),
        ("02:10", "db", "query", "h3", None),
        ("02:20", "web", "GET /", None, None),
    ]
    frame = pd.DataFrame(rows, columns=["timestamp", "service", "operation", "host", "error_type"])
    frame["timestamp"] = "2026-01-01T" + frame["timestamp"] + ":00Z"
    return to_canonical(frame)


def _at(hh_mm: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-01-01 {hh_mm}", tz="UTC")


def _records(frame: pd.DataFrame, dim: str) -> list[dict]:
    sub = frame[frame["dimension"] == dim].drop(columns="dimension")
    return sub.to_dict("records")


def _same(got: list[dict], want: list[tuple]) -> None:
    cols = [c for c in HOTSPOT_COLUMNS if c != "dimension"]
    assert len(got) == len(want)
    for row, expected in zip(got, want, strict=True):
        for col, value in zip(cols, expected, strict=True):
            actual = row[col]
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(actual), (col, row)
            elif isinstance(value, float):
                assert actual == pytest.approx(value, rel=1e-12), (col, row)
            elif value is pd.NaT:
                assert pd.isna(actual), (col, row)
            else:
                assert actual == value, (col, row)


def test_columns_and_dimension_order():
    hot = hotspots(_events())
    assert tuple(hot.columns) == HOTSPOT_COLUMNS
    assert hot["dimension"].drop_duplicates().tolist() == [
        "service", "operation", "host", "error_type"
    ]
    assert str(hot["peak_start"].dtype) == "datetime64[ns, UTC]"
    assert hot["errors"].dtype == np.int64


def test_service_shares_lift_rate_and_peak():
    hot = hotspots(_events(), by="service")
    _same(_records(hot, "service"), [
        (1, "api", 3, 5, 0.75, 0.5, 1.5, 0.6, True, _at("01:00"), 2),
        (2, "db", 1, 4, 0.25, 0.4, 0.625, 0.25, True, _at("02:00"), 1),
        (3, "web", 0, 1, 0.0, 0.1, 0.0, 0.0, True, pd.NaT, 0),
    ])


def test_ties_on_errors_are_broken_by_lift():
    hot = hotspots(_events(), by=("operation",))
    _same(_records(hot, "operation"), [
        (1, "GET /b", 2, 3, 0.5, 0.3, 0.5 / 0.3, 2 / 3, True, _at("01:00"), 2),
        (2, "GET /a", 1, 2, 0.25, 0.2, 1.25, 0.5, True, _at("00:00"), 1),
        (3, "query", 1, 4, 0.25, 0.4, 0.625, 0.25, True, _at("02:00"), 1),
        (4, "GET /", 0, 1, 0.0, 0.1, 0.0, 0.0, True, pd.NaT, 0),
    ])


def test_missing_values_count_in_totals_but_not_as_a_value():
    hot = hotspots(_events(), by="host")
    _same(_records(hot, "host"), [
        (1, "h2", 2, 3, 0.5, 0.3, 0.5 / 0.3, 2 / 3, True, _at("01:00"), 2),
        (2, "h1", 1, 2, 0.25, 0.2, 1.25, 0.5, True, _at("00:00"), 1),
        (3, "h3", 1, 4, 0.25, 0.4, 0.625, 0.25, True, _at("02:00"), 1),
    ])


def test_a_dimension_only_set_on_errors_has_no_traffic():
    hot = hotspots(_events(), by="error_type")
    # tie on errors, lift unknown: by value; TimeoutError's two errors sit in
    # different hours, so its peak is the earliest of them
    _same(_records(hot, "error_type"), [
        (1, "HTTP 503", 2, 2, 0.5, NAN, NAN, NAN, False, _at("01:00"), 2),
        (2, "TimeoutError", 2, 2, 0.5, NAN, NAN, NAN, False, _at("00:00"), 1),
    ])


def test_errors_only_history_says_traffic_is_unknown():
    ev = _events()
    errors_only = to_canonical(ev[ev["is_error"]].reset_index(drop=True))
    hot = hotspots(errors_only, by="service")
    assert hot["has_traffic"].tolist() == [False, False]
    assert hot["lift"].isna().all() and hot["error_rate"].isna().all()
    assert hot[["value", "errors", "error_share"]].values.tolist() == [
        ["api", 3, 0.75], ["db", 1, 0.25]
    ]


def test_freq_changes_the_peak_bucket_and_top_cuts_each_dimension():
    hot = hotspots(_events(), by=("service", "host"), freq="30min", top=1)
    assert hot[["dimension", "value", "peak_start", "peak_errors"]].values.tolist() == [
        ["service", "api", _at("01:00"), 2],
        ["host", "h2", _at("01:00"), 2],
    ]


def test_absent_dimensions_are_skipped_and_raw_frames_are_normalised():
    raw = pd.DataFrame({
        "timestamp": [1_767_225_600, 1_767_225_660, 1_767_225_720],
        "service": ["a", "a", "b"],
        "severity": ["ERROR", "INFO", "INFO"],
    })
    hot = hotspots(raw)
    assert hot["dimension"].unique().tolist() == ["service"]
    assert hot[["value", "errors", "events", "lift"]].values.tolist() == [
        ["a", 1, 2, 1.5], ["b", 0, 1, 0.0]
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ("region",)}, "names no column"),
        ({"freq": "soon"}, "'freq' parameter of hotspots"),
        ({"freq": "-1h"}, "positive duration"),
        ({"top": 0}, "'top' parameter of hotspots must be an int in [1, inf)"),
        ({"top": 2.5}, "Got 2.5 instead"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        hotspots(_events(), **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 600), st.sampled_from(["a", "b", "c"]),
                  st.sampled_from(["h1", "h2", None]), st.booleans()),
        min_size=1, max_size=60,
    )
)
def test_counts_add_up_and_ranks_follow_errors_then_lift(rows):
    frame = pd.DataFrame(rows, columns=["timestamp", "service", "host", "is_error"])
    frame["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        frame["timestamp"], unit="min")
    ev = to_canonical(frame)
    hot = hotspots(ev, by=("service", "host"), top=None)
    total_errors = int(ev["is_error"].sum())
    svc = hot[hot["dimension"] == "service"]
    assert svc["errors"].sum() == total_errors and svc["events"].sum() == len(ev)
    host = hot[hot["dimension"] == "host"]
    assert host["events"].sum() == int(ev["host"].notna().sum())
    for part in (svc, host):
        assert part["rank"].tolist() == list(range(1, len(part) + 1))
        keys = list(zip(-part["errors"], -part["lift"].fillna(-np.inf), strict=True))
        assert keys == sorted(keys)
        assert (part["peak_errors"] <= part["errors"]).all()
        assert ((part["peak_errors"] > 0) == (part["errors"] > 0)).all()
        if part["has_traffic"].all() and total_errors:
            np.testing.assert_allclose(part["lift"] * part["traffic_share"], part["error_share"])
