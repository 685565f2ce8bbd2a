"""Drift detection: exact indices on seeded streams, the evidence, new error types."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from errpredict.exceptions import ConfigError
from errpredict.online import DriftEvent, DriftMonitor, log_loss
from errpredict.online._novelty import NewErrorTypes

MIN = 60_000_000_000


def _losses(seed: int = 42) -> np.ndarray:
    """1,000 losses around 0.2, then 1,000 around 0.5 (a model that got worse at 1,000)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.abs(rng.normal(0.2, 0.1, 1000)), np.abs(rng.normal(0.5, 0.1, 1000))])


def test_adwin_fires_at_the_exact_index_with_the_window_means_as_evidence():
    seen = []
    monitor = DriftMonitor(streams=("batch_error",), delta=0.002, on_drift=seen.append)
    for i, v in enumerate(_losses()):
        monitor.update("batch_error", float(v), time=i * MIN)
    assert len(monitor.events) == 1 and seen == monitor.events
    e = monitor.events[0]
    assert (e.index, e.n_before, e.n_after) == (1035, 1000, 36)
    assert (round(e.mean_before, 4), round(e.mean_after, 4)) == (0.199, 0.4895)
    assert e.time == pd.Timestamp("1970-01-01T17:15:00Z")  # value 1035, a minute each
    assert (e.detector, e.stream) == ("adwin", "batch_error")
    assert e.to_dict()["time"] == "1970-01-01T17:15:00+00:00"


def test_a_model_getting_better_is_not_a_drift_unless_asked():
    better = _losses()[::-1]
    up = DriftMonitor(streams=("x",), delta=0.002)
    for v in better:
        up.update("x", float(v))
    assert up.events == [] and up.ignored_ == 1
    both = DriftMonitor(streams=("x",), delta=0.002, direction="both")
    for v in better:
        both.update("x", float(v))
    e = both.events[0]
    assert (e.index, round(e.mean_before, 4), round(e.mean_after, 4)) == (1039, 0.4919, 0.2098)


def test_ddm_on_binary_errors_splits_the_evidence_where_the_warning_began():
    rng = random.Random(5)
    errors = [rng.random() < 0.1 for _ in range(1000)] + [rng.random() < 0.4 for _ in range(500)]
    monitor = DriftMonitor(streams=("err",), detector="ddm", grace_period=100)
    for e in errors:
        monitor.update("err", float(e))
    first = monitor.events[0]
    assert (first.index, first.n_before, first.n_after) == (1032, 826, 207)
    assert (round(first.mean_before, 3), round(first.mean_after, 3)) == (0.109, 0.193)


def test_streams_are_independent_and_reset_starts_a_detector_afresh():
    monitor = DriftMonitor(delta=0.002)
    for v in _losses()[:1000]:
        monitor.update("batch_error", float(v))
    monitor.reset("batch_error")
    for v in _losses()[1000:]:
        monitor.update("batch_error", float(v))
        monitor.update("online_loss", 0.3)
    assert monitor.events == []  # after the reset it only saw the new regime
    assert monitor.seen("batch_error") == 2000 and monitor.seen("online_loss") == 1000


def test_record_keeps_events_of_other_detectors():
    seen = []
    monitor = DriftMonitor(on_drift=seen.append)
    event = DriftEvent(pd.Timestamp("2026-01-05T00:00:00Z"), "novelty", "new_error_types", 0,
                       0.0, 5.0, 10, 5, detail="OSError")
    monitor.record(event)
    assert monitor.events == [event] == seen


@pytest.mark.parametrize("kwargs, message", [
    ({"detector": "kswin"}, "The 'detector' parameter of DriftMonitor must be one of"),
    ({"delta": 1.5}, "The 'delta' parameter of DriftMonitor must be a float in"),
    ({"direction": "down"}, "The 'direction' parameter of DriftMonitor must be 'up' or 'both'"),
    ({"grace_period": 0}, "The 'grace_period' parameter of DriftMonitor must be an int"),
    ({"streams": ()}, "The 'streams' parameter of DriftMonitor is empty"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DriftMonitor(**kwargs)


def test_unknown_stream_and_non_finite_values_are_refused():
    monitor = DriftMonitor()
    with pytest.raises(ConfigError, match="unknown stream 'latency'; the streams are"):
        monitor.update("latency", 0.1)
    with pytest.raises(ConfigError, match="value nan is not a finite number"):
        monitor.update("batch_error", float("nan"))


def test_log_loss_is_clipped():
    assert log_loss(1.0, True) == pytest.approx(0.0010005, abs=1e-7)
    assert log_loss(1.0, False) == pytest.approx(6.907755, abs=1e-6)
    assert log_loss(0.5, True) == pytest.approx(0.693147, abs=1e-6)


# -- new error types -----------------------------------------------------------------------

def test_a_new_error_type_at_incident_volume_is_a_drift_once():
    got = []
    watch = NewErrorTypes(window="10m", min_errors=5, on_event=got.append)
    watch.learn(["TimeoutError", "HTTP 503"])
    times = [k * MIN for k in range(30)]
    kinds = ["TimeoutError"] * 10 + ["OSError"] * 2 + ["HTTP 503"] * 4 + ["OSError"] * 14
    # OSError at minutes 10, 11, then 16..29: the fifth within 10 minutes is at minute 18
    events = watch.update(times, kinds)
    assert events == got and len(events) == 1
    e = events[0]
    assert (e.detail, e.index, e.time) == ("OSError", 18, pd.Timestamp(18 * MIN, tz="UTC"))
    assert (e.detector, e.stream, e.mean_before, e.mean_after, e.n_before) == (
        "novelty", "new_error_types", 0.0, 5.0, 14)


def test_errors_of_a_new_type_spread_thinner_than_the_window_are_not_a_drift():
    watch = NewErrorTypes(window="10m", min_errors=3)
    assert watch.update([k * 6 * MIN for k in range(10)], ["OSError"] * 10) == []


def test_a_learned_type_is_known_and_missing_types_are_ignored():
    watch = NewErrorTypes(window="10m", min_errors=2)
    watch.learn(["OSError", None, float("nan")])
    assert watch.update([0, MIN, 2 * MIN], ["OSError", None, "OSError"]) == []
    assert watch.known == {"OSError"} and watch.known_errors == 3


def test_new_error_types_needs_a_positive_count():
    with pytest.raises(ConfigError, match="'min_errors' parameter of NewErrorTypes"):
        NewErrorTypes(min_errors=0)
