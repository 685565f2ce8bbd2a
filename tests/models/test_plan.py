"""RiskClassifier.plan and fit_planned: the rows a fit uses, and the same model from them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from errpredict.datasets import generate_history
from errpredict.features import ErrorHistoryFeaturizer, make_labels
from errpredict.models import RiskClassifier

N_FIT = 3800


@pytest.fixture(scope="module")
def data():
    """Time-ordered features and 0/1 labels of a seeded history (rows are time-major)."""
    ev = generate_history(days=1, services=3, seed=7).events
    X = ErrorHistoryFeaturizer().fit(ev).transform(ev)
    y = make_labels(ev)
    known = y.notna().to_numpy()
    X, y = X.to_numpy()[known], y.to_numpy()[known].astype(np.int64)
    assert X.shape == (4290, 87) and int(y.sum()) == 120
    return X[:N_FIT], y[:N_FIT], X[N_FIT:]


def _labels(n, seed=0, rate=0.3):
    return (np.random.default_rng(seed).random(n) < rate).astype(np.int64)


def _assert_same_model(a: RiskClassifier, b: RiskClassifier, X_new):
    assert a.threshold_ == b.threshold_
    assert np.array_equal(a.validation_scores_[0], b.validation_scores_[0])
    assert np.array_equal(a.validation_scores_[1], b.validation_scores_[1])
    assert np.array_equal(a.predict_proba(X_new), b.predict_proba(X_new))
    assert np.array_equal(a.predict(X_new), b.predict(X_new))
    assert np.array_equal(a.classes_, b.classes_)
    assert np.array_equal(a.unobserved_columns_, b.unobserved_columns_)
    for name in ("n_features_in_", "n_sampled_", "n_train_", "n_validation_",
                 "validation_used_"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("params", [
    {},
    {"model": "logreg"},
    {"max_train_rows": 1000},
    {"model": "logreg", "max_train_rows": 1000},
], ids=["hgb", "logreg", "hgb-sampled", "logreg-sampled"])
def test_fit_planned_equals_fit(data, params):
    X, y, X_new = data
    clf = RiskClassifier(**params)
    tr, va = clf.plan(y)
    assert np.array_equal(va, np.arange(3040, 3800))
    planned = clf.fit_planned(X[tr], y[tr], X[va], y[va], len(y))
    assert planned is clf
    fitted = clone(clf).fit(X, y)
    _assert_same_model(planned, fitted, X_new)
    assert planned.validation_used_ and planned.n_validation_ == 760
    assert planned.n_train_ == 3040
    assert planned.n_sampled_ == len(tr)
    if "max_train_rows" in params:
        assert len(tr) < 3040
    else:
        assert np.array_equal(tr, np.arange(3040))


def test_fit_planned_equals_fit_without_usable_validation(data):
    """Validation part of one class: every row trains and validates, in both paths."""
    X, y, X_new = data
    X, y = X[:1500], y[:1500].copy()
    y[1200:] = 0
    clf = RiskClassifier(model="logreg")
    tr, va = clf.plan(y)
    assert np.array_equal(tr, np.arange(1500)) and np.array_equal(va, np.arange(1500))
    planned = clf.fit_planned(X[tr], y[tr], X[va], y[va], len(y))
    fitted = clone(clf).fit(X, y)
    _assert_same_model(planned, fitted, X_new)
    assert not planned.validation_used_ and planned.n_train_ == 1500


@pytest.mark.parametrize("n, fraction, n_val", [
    (1000, 0.2, 200), (1003, 0.3, 301), (997, 0.1, 100), (50, 0.05, 2),
])
def test_validation_rows_are_the_last_rows(n, fraction, n_val):
    y = np.zeros(n, dtype=np.int64)
    y[::2] = 1  # both classes in both parts
    assert int(round(n * fraction)) == n_val
    tr, va = RiskClassifier(validation_fraction=fraction).plan(y)
    assert np.array_equal(va, np.arange(n - n_val, n))
    assert np.array_equal(tr, np.arange(n - n_val))


def test_a_validation_part_of_one_row_holds_one_class():
    """round(40 * 0.01) is 0; one row validates at least, and one row is one class."""
    y = np.zeros(40, dtype=np.int64)
    y[::2] = 1
    tr, va = RiskClassifier(validation_fraction=0.01).plan(y)
    assert np.array_equal(tr, np.arange(40)) and np.array_equal(va, np.arange(40))


def test_plan_with_max_train_rows_samples_the_training_part():
    y = _labels(5000, seed=1)
    tr, va = RiskClassifier(max_train_rows=1000, random_state=0).plan(y)
    assert np.array_equal(va, np.arange(4000, 5000))
    assert len(tr) == 1014
    assert np.all(np.diff(tr) > 0)  # sorted, no repeats
    assert tr[0] >= 0 and tr[-1] < 4000
    # spread over the whole training part, not its most recent rows
    assert tr[0] < 20 and tr[-1] > 3980
    assert abs(np.sum(tr < 2000) - np.sum(tr >= 2000)) < 60
    # the seed chooses the sample: the same again, another with another seed
    again, _ = RiskClassifier(max_train_rows=1000, random_state=0).plan(y)
    other, _ = RiskClassifier(max_train_rows=1000, random_state=1).plan(y)
    assert np.array_equal(again, tr)
    assert len(other) == 1011 and not np.array_equal(other, tr)


@pytest.mark.parametrize("cap", [4000, 10_000, None])
def test_plan_keeps_every_training_row_up_to_the_cap(cap):
    y = _labels(5000, seed=1)
    tr, va = RiskClassifier(max_train_rows=cap).plan(y)
    assert np.array_equal(tr, np.arange(4000)) and np.array_equal(va, np.arange(4000, 5000))


def test_plan_one_class_in_validation_uses_every_row():
    y = _labels(1000, seed=2)
    y[800:] = 0
    tr, va = RiskClassifier().plan(y)
    assert np.array_equal(tr, np.arange(1000)) and np.array_equal(va, np.arange(1000))
    y[800:] = 1
    tr, va = RiskClassifier(model="logreg").plan(y)
    assert np.array_equal(tr, np.arange(1000)) and np.array_equal(va, np.arange(1000))


def test_plan_one_class_in_training_uses_every_row():
    y = _labels(1000, seed=2)
    y[:800] = 0
    tr, va = RiskClassifier().plan(y)
    assert np.array_equal(tr, np.arange(1000)) and np.array_equal(va, np.arange(1000))


def test_plan_one_class_with_a_cap_samples_all_rows():
    """Without a usable validation part, the sample is drawn from every row."""
    y = _labels(5000, seed=3)
    y[4000:] = 0
    tr, va = RiskClassifier(max_train_rows=1000).plan(y)
    assert np.array_equal(va, np.arange(5000))
    assert len(tr) == 1047
    assert np.all(np.diff(tr) > 0) and tr[-1] > 4000
