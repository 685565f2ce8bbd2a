"""The synthetic history generator: determinism, schema, ground truth, precursors, drift, I/O."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from errpredict.datasets._generator import (
    INCIDENT_COLUMNS,
    MECHANISMS,
    GeneratorConfig,
    generate_history,
    positive_rate,
    read_incidents,
    write_history,
)
from errpredict.exceptions import ConfigError, DataFormatError
from errpredict.io import read_events, to_canonical

MIN = pd.Timedelta(minutes=1)


@pytest.fixture(scope="module")
def hist():
    return generate_history(days=2, seed=5)


@pytest.fixture(scope="module")
def drifted():
    return generate_history(days=2, seed=5, drift_at=1.0)


def _rows(events, service, lo, hi, *, closed="left"):
    ts = events["timestamp"]
    inside = (ts >= lo) & (ts < hi) if closed == "left" else (ts >= lo) & (ts <= hi)
    return events[(events["service"] == service) & inside]


def _requests(events):
    return events[~events["is_error"] & events["duration_ms"].notna()]


# determinism and exact counts -------------------------------------------------------------


def test_same_seed_same_bytes(tmp_path):
    paths = []
    for k in range(2):
        h = generate_history(days=0.25, services=4, seed=3)
        paths.append(write_history(h, tmp_path / f"run{k}" / "hist.csv"))
    for a, b in zip(*paths, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert len(paths[0][0].read_bytes()) > 100_000


def test_different_seeds_differ():
    a = generate_history(days=0.25, services=4, seed=3)
    b = generate_history(days=0.25, services=4, seed=4)
    assert len(a.events) != len(b.events)
    assert not a.incidents["start"].equals(b.incidents["start"])


def test_exact_counts_for_a_seed(hist):
    ev = hist.events
    assert len(ev) == 225_868
    assert int(ev["is_error"].sum()) == 7_578
    assert int((ev["severity"] == 13).sum()) == 1_102
    assert int((ev["operation"] == "metrics").sum()) == 8 * 2 * 2880
    assert len(hist.incidents) == 65
    assert hist.incidents["incident_id"].nunique() == 43
    assert hist.incidents["mechanism"].value_counts().to_dict() == {
        "dependency_cascade": 31, "memory_leak": 6, "latency_ramp": 6, "bad_deploy": 6,
        "network_blip": 6, "overload": 6, "warning_burst": 4,
    }


# schema --------------------------------------------------------------------------------


def test_events_are_canonical(hist):
    ev = hist.events
    assert list(ev.columns) == [
        "timestamp", "service", "operation", "is_error", "error_type", "severity",
        "duration_ms", "host", "message", "trace_id",
        "cpu_pct", "mem_pct", "queue_depth", "disk_pct",
    ]
    assert str(ev["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert ev["is_error"].dtype == bool and ev["severity"].dtype == np.int8
    for name in ("duration_ms", "cpu_pct", "mem_pct", "queue_depth", "disk_pct"):
        assert ev[name].dtype == np.float64
    pd.testing.assert_frame_equal(to_canonical(ev), ev)
    assert ev["timestamp"].is_monotonic_increasing
    assert ev["timestamp"].iloc[0] >= pd.Timestamp("2026-01-05T00:00:00Z")
    assert ev["timestamp"].iloc[-1] < pd.Timestamp("2026-01-07T00:00:00Z")


def test_row_kinds(hist):
    ev = hist.events
    metrics = ev["operation"] == "metrics"
    assert ev.loc[metrics, ["cpu_pct", "mem_pct", "queue_depth", "disk_pct"]].notna().all().all()
    assert ev.loc[~metrics, ["cpu_pct", "mem_pct", "queue_depth", "disk_pct"]].isna().all().all()
    # 30 s snapshots per service
    gaps = ev[metrics & (ev["service"] == "cache")]["timestamp"].diff().dt.total_seconds()
    assert 28 < gaps.iloc[1:].min() and gaps.max() < 32
    ok = ev[~ev["is_error"] & ~metrics & (ev["severity"] != 13)]
    assert set(ok["severity"].unique()) == {0, 9}
    assert ok["duration_ms"].notna().all() and ok["host"].notna().all()
    assert (ok["severity"] == 0).eq(ok["trace_id"].notna()).all()
    traced = ev["trace_id"].dropna()
    assert traced.str.fullmatch(r"[0-9a-f]{32}").all() and traced.is_unique
    warn = ev[ev["severity"] == 13]
    assert not warn["is_error"].any() and warn["message"].notna().all()
    errors = ev[ev["is_error"]]
    assert errors["error_type"].notna().all() and errors["message"].notna().all()
    assert set(errors["severity"].unique()) == {17, 21}
    assert ev.loc[ev["error_type"] == "OutOfMemoryError", "severity"].eq(21).all()
    assert {"HTTP 400", "HTTP 404", "ValidationError", "HTTP 401", "NOT_FOUND"} <= set(
        errors["error_type"])


def test_services_hosts_and_graph(hist):
    names = hist.config.service_names
    assert names == ("api-gateway", "checkout", "payments", "inventory", "auth", "search",
                     "db-proxy", "cache")
    assert set(hist.events["service"].unique()) == set(names)
    hosts = hist.events.dropna(subset=["host"]).groupby("service")["host"].nunique()
    assert hosts.to_dict() == {"api-gateway": 3, "auth": 3, "cache": 2, "checkout": 3,
                               "db-proxy": 2, "inventory": 2, "payments": 2, "search": 3}
    tier = {"api-gateway": 0, "checkout": 1, "auth": 1, "search": 1, "payments": 2,
            "inventory": 2, "db-proxy": 3, "cache": 3}
    assert len(hist.dependencies) == 13
    assert all(tier[a] <= tier[b] for a, b in hist.dependencies)
    # a DAG: peeling services nobody calls empties the graph
    edges, left = set(hist.dependencies), set(names)
    while left:
        top = {s for s in left if not any(b == s for _, b in edges)}
        assert top, f"cycle among {left}"
        left -= top
        edges = {(a, b) for a, b in edges if a not in top}
    more = generate_history(days=0.05, services=11, seed=0)
    assert more.config.service_names[8:] == ("svc-09", "svc-10", "svc-11")
    assert ("api-gateway", "svc-09") in more.dependencies
    assert ("svc-09", "db-proxy") in more.dependencies


def test_diurnal_and_weekly_traffic():
    h = generate_history(days=7, services=1, seed=0, incident_rate=0.0)
    req = _requests(h.events)
    per_hour = req.groupby(req["timestamp"].dt.hour).size()
    assert per_hour.idxmax() in range(14, 19) and per_hour.idxmin() in range(1, 6)
    assert per_hour.max() > 3 * per_hour.min()
    per_day = req.groupby(req["timestamp"].dt.day_of_week).size()
    assert per_day[[5, 6]].max() < 0.8 * per_day[[0, 1, 2, 3, 4]].min()
    assert h.incidents.empty and list(h.incidents.columns) == list(INCIDENT_COLUMNS)


# ground truth ---------------------------------------------------------------------------


def test_incidents_table(hist):
    inc = hist.incidents
    assert list(inc.columns) == list(INCIDENT_COLUMNS)
    assert inc.dtypes.astype(str).to_dict() == {
        "incident_id": "int64", "service": "str", "root_service": "str", "mechanism": "str",
        "has_precursor": "bool", "precursor_start": "datetime64[ns, UTC]",
        "start": "datetime64[ns, UTC]", "end": "datetime64[ns, UTC]", "error_type": "str",
        "retry_after_s": "float64", "severity_level": "str",
    }
    assert set(inc["mechanism"]) <= set(MECHANISMS)
    assert set(inc["severity_level"]) == {"degraded", "outage"}
    assert (inc["start"] <= inc["end"]).all()
    assert inc["has_precursor"].eq(inc["precursor_start"].notna()).all()
    assert (inc["precursor_start"].dropna() < inc.loc[inc["has_precursor"], "start"]).all()
    overload = inc["mechanism"] == "overload"
    assert inc.loc[overload, "error_type"].eq("HTTP 429").all()
    assert inc.loc[overload, "retry_after_s"].isin([1, 2, 5, 10, 30, 60]).all()
    assert inc.loc[~overload, "retry_after_s"].isna().all()
    no_precursor = {"bad_deploy", "network_blip"}
    assert not inc.loc[inc["mechanism"].isin(no_precursor), "has_precursor"].any()


def test_incident_errors_are_in_the_events(hist):
    ev = hist.events[hist.events["is_error"]]
    counts = []
    for row in hist.incidents.itertuples():
        mine = _rows(ev, row.service, row.start, row.end, closed="both")
        assert mine["timestamp"].iloc[0] == row.start and mine["timestamp"].iloc[-1] == row.end
        assert row.error_type in set(mine["error_type"])
        if len(mine) >= 30:  # the dominant type
            assert mine["error_type"].value_counts().index[0] == row.error_type
        counts.append(len(mine))
    counts = np.array(counts)
    assert counts.min() >= 5 and np.median(counts) > 40 and counts.max() > 200
    # incidents of one service never overlap
    for _, group in hist.incidents.groupby("service"):
        group = group.sort_values("start")
        assert (group["start"].iloc[1:].to_numpy() > group["end"].iloc[:-1].to_numpy()).all()


def test_background_errors_are_isolated(hist):
    ev = hist.events
    inside = np.zeros(len(ev), dtype=bool)
    for row in hist.incidents.itertuples():
        inside |= ((ev["service"] == row.service) & (ev["timestamp"] >= row.start)
                   & (ev["timestamp"] <= row.end)).to_numpy()
    noise = ev[ev["is_error"].to_numpy() & ~inside]
    assert len(noise) == 834
    per_10min = noise.groupby(["service", noise["timestamp"].dt.floor("10min")]).size()
    assert per_10min.quantile(0.99) <= 3


# precursors -------------------------------------------------------------------------------


def _by(hist, mechanism):
    rows = hist.incidents[hist.incidents["mechanism"] == mechanism]
    assert len(rows) >= 3, mechanism
    return rows.itertuples()


def test_latency_ramp_shows_rising_latency(hist):
    req = _requests(hist.events)
    for row in _by(hist, "latency_ramp"):
        svc = req[req["service"] == row.service]
        before = _rows(svc, row.service, row.start - 15 * MIN, row.start)["duration_ms"]
        assert before.mean() > 1.4 * svc["duration_ms"].mean()
        last = _rows(svc, row.service, row.start - 5 * MIN, row.start)["duration_ms"]
        assert last.median() > 2.0 * svc["duration_ms"].median()
        early = _rows(svc, row.service, row.precursor_start - 10 * MIN, row.precursor_start)
        assert early["duration_ms"].median() < 1.3 * svc["duration_ms"].median()


def test_warning_burst_shows_rising_warnings(hist):
    warn = hist.events[hist.events["severity"] == 13]
    for row in _by(hist, "warning_burst"):
        before = _rows(warn, row.service, row.start - 10 * MIN, row.start)
        quiet = _rows(warn, row.service, row.precursor_start - 60 * MIN, row.precursor_start)
        assert len(before) >= 10 and len(before) > 5 * len(quiet) / 6
        assert before["message"].str.contains("connection pool|retrying").mean() > 0.8


def test_memory_leak_shows_rising_memory(hist):
    met = hist.events[hist.events["operation"] == "metrics"]
    for row in _by(hist, "memory_leak"):
        at_start = _rows(met, row.service, row.precursor_start - 5 * MIN, row.precursor_start)
        before = _rows(met, row.service, row.start - 5 * MIN, row.start)
        assert before["mem_pct"].mean() > 90 and at_start["mem_pct"].mean() < 62
        assert before["mem_pct"].mean() - at_start["mem_pct"].mean() > 30


def test_overload_shows_a_traffic_surge(hist):
    req = _requests(hist.events)
    met = hist.events[hist.events["operation"] == "metrics"]
    for row in _by(hist, "overload"):
        early = _rows(req, row.service, row.precursor_start - 10 * MIN, row.precursor_start)
        late = _rows(req, row.service, row.start - 10 * MIN, row.start)
        assert len(late) > 1.3 * len(early)
        queue = _rows(met, row.service, row.start - 5 * MIN, row.start)["queue_depth"]
        assert queue.mean() > 15


def test_cascade_spreads_from_callee_to_caller(hist):
    callees = {}
    for a, b in hist.dependencies:
        callees.setdefault(a, set()).add(b)
    cascades = hist.incidents[hist.incidents["mechanism"] == "dependency_cascade"]
    assert cascades["incident_id"].nunique() >= 5
    spread = 0
    for _, group in cascades.groupby("incident_id"):
        root = group[group["service"] == group["root_service"]]
        assert len(root) == 1 and not root["has_precursor"].iloc[0]
        starts = dict(zip(group["service"], group["start"], strict=True))
        for row in group[group["service"] != group["root_service"]].itertuples():
            upstream = [s for s in callees[row.service] if starts.get(s) == row.precursor_start]
            assert upstream, row
            lag = row.start - row.precursor_start
            assert pd.Timedelta(minutes=1) < lag < pd.Timedelta(minutes=6)
            spread += 1
    assert spread == 22


def test_drift_swaps_a_mechanism(hist, drifted):
    cut = pd.Timestamp("2026-01-06T00:00:00Z")
    inc = drifted.incidents
    burst, disk = inc[inc["mechanism"] == "warning_burst"], inc[inc["mechanism"] == "disk_fill"]
    assert len(burst) >= 2 and len(disk) >= 2
    assert (burst["end"] < cut).all() and (disk["precursor_start"] >= cut).all()
    assert disk["error_type"].eq("OSError").all()
    assert "disk_fill" not in set(hist.incidents["mechanism"])
    assert drifted.config.mechanisms_after == (
        "latency_ramp", "dependency_cascade", "memory_leak", "bad_deploy", "overload",
        "network_blip", "disk_fill")
    met = drifted.events[drifted.events["operation"] == "metrics"]
    for row in disk.itertuples():
        before = _rows(met, row.service, row.start - 5 * MIN, row.start)["disk_pct"]
        at_start = _rows(met, row.service, row.precursor_start - 5 * MIN,
                         row.precursor_start)["disk_pct"]
        assert before.mean() > 90 and before.max() > 98 and at_start.mean() < 70


def test_positive_rate_near_target(hist):
    rate = hist.positive_rate()
    assert rate == pytest.approx(0.06796, abs=5e-5)
    assert 0.04 < rate < 0.08
    assert positive_rate(hist.events) == pytest.approx(rate, abs=2e-3)
    assert hist.positive_rate(min_errors=1) > rate
    quiet = generate_history(days=2, seed=5, incident_rate=0.0)
    assert quiet.positive_rate() < 0.002
    assert "positive service-minutes" in hist.summary()


# writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl"])
def test_write_history_round_trip(tmp_path, ext):
    h = generate_history(days=0.1, services=3, seed=2, drift_at=0.05)
    events_path, inc_path = write_history(h, tmp_path / f"hist.{ext}")
    assert events_path == tmp_path / f"hist.{ext}"
    assert inc_path == tmp_path / "hist.incidents.csv"
    pd.testing.assert_frame_equal(read_events(events_path), h.events)
    pd.testing.assert_frame_equal(read_incidents(inc_path), h.incidents)
    pd.testing.assert_frame_equal(read_incidents(events_path), h.incidents)


def test_write_history_rejects_unknown_extension(tmp_path):
    h = generate_history(days=0.02, services=2, seed=0)
    with pytest.raises(DataFormatError, match="unknown file type '.xlsx'"):
        write_history(h, tmp_path / "hist.xlsx")
    assert not list(tmp_path.iterdir())


# parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "'days' parameter of generate_history must be a number of days from"),
        ({"services": 0}, r"'services' parameter .* an int in \[1, 99\]. Got 0 instead"),
        ({"services": 2.5}, "'services' parameter"),
        ({"seed": -1}, "'seed' parameter"),
        ({"rate": 0}, "'rate' parameter"),
        ({"incident_rate": -1}, "'incident_rate' parameter"),
        ({"days": 2, "drift_at": 2.0}, r"'drift_at' parameter .* in \(0, 2\)"),
        ({"start": "yesterday-ish"}, "'start' parameter .* ISO-8601"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate_history(**kwargs)


def test_config_records_the_parameters(drifted):
    assert drifted.config == GeneratorConfig(days=2, seed=5, drift_at=1.0)
    assert drifted.config.start_time == pd.Timestamp("2026-01-05T00:00:00Z")
    h = generate_history(days=0.01, services=2, seed=0, start="2026-03-01T12:00:00+01:00")
    assert h.events["timestamp"].iloc[0] >= pd.Timestamp("2026-03-01T11:00:00Z")
