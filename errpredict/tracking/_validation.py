"""The validation part of a training run, rebuilt from the training events without refitting.

``train`` keeps the validation labels and risks (``classifier.validation_scores_``)
but not the grid they lie on. Given the same events, the grid and the truth are
cheap to rebuild (no featurization): that gives the lead time of every
episode. Features are rebuilt only for a sample of the validation cells, from
the tail of the events that their windows can see, for permutation importance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.features._grid import ensure_canonical
from errpredict.models import RiskModel
from errpredict.models._details import balanced_rows
from errpredict.models._evaluate import GridTruth, grid_truth, score_with_baseline

__all__ = ["ValidationView", "validation_view", "sample_features", "permutation_importance",
           "importance_rows", "average_precision"]


@dataclass
class ValidationView:
    """Validation cells of a training run: their rows on the grid, labels, risks, figures."""

    rows: np.ndarray  # time-major cell indices into the grid of the training events
    y: np.ndarray
    risk: np.ndarray
    truth: GridTruth
    entities: np.ndarray
    scores: dict  # score_with_baseline(..., details=True)


def validation_view(model: RiskModel, events: pd.DataFrame) -> ValidationView | None:
    """Rebuild the validation cells of ``model`` on its training ``events``.

    Returns None when the events are not those the model was trained on (the
    labels of the rebuilt validation cells differ from the stored ones).
    """
    clf = model.classifier
    y_val, p_val = (np.asarray(a) for a in clf.validation_scores_)
    events = ensure_canonical(events, what="training events")
    grid = model.featurizer.grid(events)
    truth = grid_truth(events, grid, model.target)
    labelled = np.flatnonzero(truth.scored)  # the cells train() labels
    n_val = int(clf.n_validation_)
    rows = labelled[len(labelled) - n_val:] if clf.validation_used_ else labelled
    if len(rows) != len(y_val) or not np.array_equal(truth.y[rows], y_val.astype(np.float64)):
        return None
    risk = np.full(len(truth.y), np.nan)
    risk[rows] = p_val
    scores = score_with_baseline(truth, risk, model.threshold, model.target, grid.step_ns,
                                 rows=rows, details=True)
    return ValidationView(rows, y_val, p_val, truth, grid.entities, scores)


def sample_features(model: RiskModel, events: pd.DataFrame, view: ValidationView, n: int,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and stored risks of a sample of validation cells.

    Only the events that the windows of the sampled decision times can see are
    featurized: from ``t_first - longest window`` on. Window sums, trends,
    context and the time since the last error (capped at the longest window)
    are then the same as on the whole history.
    """
    pick = balanced_rows(view.y, n, seed)
    rows = view.rows[pick]
    t_ns = view.truth.t_ns[rows]
    ent = view.entities[view.truth.entity[rows]]
    spec = model.featurizer.spec_
    lookback = (max(spec.windows) + 1) * spec.step_ns
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    lo = np.searchsorted(ts, int(t_ns.min()) - lookback, side="left")
    grid, X = model.featurizer.transform_arrays(events.iloc[lo:])
    names = grid.entities.astype(str)
    e_idx = np.minimum(np.searchsorted(names, ent.astype(str)), len(names) - 1)
    # an entity without events in the tail has no row there: leave those cells out
    ok = names[e_idx] == ent.astype(str)
    t_idx = (t_ns // grid.step_ns) - grid.first
    X = X[(t_idx * len(names) + e_idx)[ok]]
    return X, view.y[pick][ok], view.risk[pick][ok]


def average_precision(y: np.ndarray, risk: np.ndarray) -> float:
    """Average precision (PR-AUC) as scikit-learn computes it, without its input checks
    (called once per feature)."""
    order = np.argsort(-risk, kind="mergesort")
    r, t = risk[order], y[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(r)), len(r) - 1]
    tps = np.cumsum(t)[last]
    if tps[-1] == 0:
        return float("nan")
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def importance_rows(model: RiskModel, requested: int, budget: float = 3e6) -> int:
    """Validation cells to sample so that scoring one shuffled copy per feature stays
    within ``budget`` row-trees (a few tenths of a second), between 200 and ``requested``."""
    n_trees = getattr(model.classifier.estimator_, "n_iter_", None)
    if not isinstance(n_trees, int | np.integer) or n_trees <= 0:
        return requested
    n_features = len(model.featurizer.feature_names_out_) + 1
    return int(min(requested, max(200, budget / (n_features * int(n_trees)))))


def permutation_importance(model: RiskModel, X: np.ndarray, y: np.ndarray, *,
                           seed: int = 0, block: int = 16) -> pd.DataFrame:
    """Drop in PR-AUC when each feature is shuffled (one shuffle per feature).

    The permuted copies of ``X`` are scored in blocks of ``block`` features per
    call, so that the cost is a few calls of the classifier, not one per
    feature. Returns ``feature, importance, pr_auc_permuted`` sorted by importance.
    """
    names = [str(f) for f in model.featurizer.feature_names_out_]
    clf = model.classifier
    rng = np.random.default_rng(seed)
    base = average_precision(y, clf.predict_risk_array(X))
    n, f = X.shape
    perm_scores = np.empty(f)
    for start in range(0, f, block):
        cols = range(start, min(start + block, f))
        big = np.tile(X, (len(cols), 1))
        for k, j in enumerate(cols):
            big[k * n:(k + 1) * n, j] = X[rng.permutation(n), j]
        risk = clf.predict_risk_array(big)
        for k, j in enumerate(cols):
            perm_scores[j] = average_precision(y, risk[k * n:(k + 1) * n])
    out = pd.DataFrame({"feature": names, "importance": base - perm_scores,
                        "pr_auc_permuted": perm_scores})
    out = out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["pr_auc"] = base
    out.attrs["rows"] = n
    return out
