from __future__ import annotations

import numpy as np
import pytest

from errpredict.models import choose_threshold, persistence_risk, score_risk

S = 60_000_000_000  # one minute in ns


def test_score_risk_exact_values():
    # one entity, 10 steps; an episode of positives at steps 4-6 whose first error comes
    # at minute 7.5; the model alarms from step 3 (a false alarm) through 5
    y = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    risk = np.array([.1, .1, .2, .7, .8, .9, .3, .1, .1, .1])
    t = np.arange(10) * S
    first = np.full(10, int(7.5 * S))
    recent = np.array([0, 0, 0, 0, 0, 0, 0, 5, 6, 2])
    r = score_risk(y, risk, threshold=0.5, recent=recent, min_errors=5,
                   entity=np.zeros(10, int), t_ns=t, first_error_ns=first, step_ns=S)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3)
    assert r["pr_auc"] == pytest.approx((1 + 1 + 3 / 4) / 3)
    # the first alarm inside the episode (step 4) came 3.5 minutes before the first error
    assert r["lead_time_median_s"] == pytest.approx(210.0)
    assert r["episodes"] == 1 and r["episodes_detected"] == 1
    # one alarm raise over 10 minutes of one entity = 144 per entity-day
    assert r["alarms_per_entity_day"] == pytest.approx(144.0)
    # onset points exclude steps 7 and 8 (>= 5 errors in the last horizon)
    assert r["n"] == 10 and r["positives"] == 3


def test_persistence_crosses_half_at_min_errors():
    assert persistence_risk(np.array([0, 4, 5, 15]), 5).tolist() == [0.0, 4 / 9, 0.5, 0.75]


def test_threshold_target_precision():
    y = np.array([0, 1, 0, 1, 1, 0, 1])
    p = np.array([.1, .2, .3, .4, .5, .6, .7])
    assert choose_threshold(y, p, 1.0) == 0.7
    assert choose_threshold(y, p) == 0.2
