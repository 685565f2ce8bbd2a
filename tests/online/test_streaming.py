"""Streaming features equal batch features: the same kernel on both paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from errpredict.features import ErrorHistoryFeaturizer
from errpredict.io import to_canonical
from errpredict.online import StreamingFeaturizer

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def _stream(sf: StreamingFeaturizer, events: pd.DataFrame, cuts: list[int]) -> pd.DataFrame:
    parts, lo = [], 0
    for hi in sorted(set(cuts)) + [len(events)]:
        if hi > lo:
            parts.append(sf.push(events.iloc[lo:hi]))
            lo = hi
    parts.append(sf.flush())
    return pd.concat(parts)


@st.composite
def histories(draw):
    n = draw(st.integers(1, 80))
    secs = sorted(draw(st.lists(st.integers(0, 3 * 3600), min_size=n, max_size=n)))
    frame = pd.DataFrame({
        "timestamp": T0 + pd.to_timedelta(secs, unit="s"),
        "service": draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n)),
        "is_error": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "error_type": draw(st.lists(st.sampled_from(["E1", "E2", "E3", None]), min_size=n,
                                    max_size=n)),
        "severity": draw(st.lists(st.sampled_from([0, 9, 13, 14, 17, 21]), min_size=n,
                                  max_size=n)),
        "duration_ms": draw(st.lists(st.one_of(st.none(), st.floats(0.01, 1e5)), min_size=n,
                                     max_size=n)),
        "cpu": draw(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=n,
                             max_size=n)),
    })
    frame["duration_ms"] = frame["duration_ms"].astype("float64")
    frame["cpu"] = frame["cpu"].astype("float64")
    cuts = draw(st.lists(st.integers(0, n), max_size=6))
    return to_canonical(frame), cuts


@settings(max_examples=50, deadline=None)
@given(histories(), st.sampled_from([(1, 3, 10), (2, 5, 15, 60), (1,)]))
def test_stream_equals_batch(history, windows):
    events, cuts = history
    fz = ErrorHistoryFeaturizer(step="1m", windows=windows, max_error_types=2,
                                max_peers=3).fit(events)
    batch = fz.transform(events)
    sf = StreamingFeaturizer(fz, entities=sorted(events["service"].unique()))
    stream = _stream(sf, events, cuts)
    assert stream.index.equals(batch.index)
    np.testing.assert_allclose(stream.to_numpy(), batch.to_numpy(), rtol=1e-9, atol=1e-9)
    assert sf.late_events_ == 0


def test_stream_equals_batch_on_a_generated_history():
    from errpredict.datasets import generate_history

    events = generate_history(days=0.5, services=5, seed=7).events
    fz = ErrorHistoryFeaturizer().fit(events)
    batch = fz.transform(events)
    sf = StreamingFeaturizer(fz, entities=sorted(events["service"].unique()))
    # micro-batches of ~a minute of events, not aligned with steps
    stream = _stream(sf, events, list(range(0, len(events), 997)))
    assert stream.shape == batch.shape == (720 * 5, len(fz.feature_names_out_))
    np.testing.assert_allclose(stream.to_numpy(), batch.to_numpy(), rtol=1e-9, atol=1e-9)


def test_late_events_are_counted_and_kept():
    events = to_canonical(pd.DataFrame({
        "timestamp": T0 + pd.to_timedelta([10, 130, 20], unit="s"),
        "service": ["a", "a", "a"], "is_error": [True, True, True]}), sort=False)
    fz = ErrorHistoryFeaturizer(windows=(1, 5)).fit(events)
    sf = StreamingFeaturizer(fz)
    first = sf.push(events.iloc[:2])  # closes 00:01 and 00:02; 00:03 is open
    late = sf.push(events.iloc[2:])  # 00:00:20 belongs to the closed step 00:01
    last = sf.flush()
    assert sf.late_events_ == 1 and late.empty
    assert first["errors_1m"].tolist() == [1.0, 0.0]
    # the late error is counted in the open step 00:03, not lost
    assert last["errors_1m"].tolist() == [2.0]
    assert last.index[0][0] == T0 + pd.Timedelta(minutes=3)


def test_new_entities_join_with_empty_history():
    events = to_canonical(pd.DataFrame({
        "timestamp": T0 + pd.to_timedelta([10, 70, 130], unit="s"),
        "service": ["a", "a", "b"], "is_error": [True, False, True]}))
    fz = ErrorHistoryFeaturizer(windows=(1, 5)).fit(events)
    sf = StreamingFeaturizer(fz)
    rows = pd.concat([sf.push(events.iloc[:2]), sf.push(events.iloc[2:]), sf.flush()])
    assert sf.entities == ["a", "b"]
    b = rows.xs("b", level="entity")
    assert b["errors_5m"].tolist() == [0.0, 1.0]  # b joins the step its first event closes
    assert rows.xs("a", level="entity")["other_errors_5m"].tolist() == [0.0, 0.0, 1.0]
