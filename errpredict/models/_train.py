"""train(): events in, a calibrated risk model with honest validation figures out."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.features import ErrorHistoryFeaturizer, Target
from errpredict.features._grid import ensure_canonical
from errpredict.models._bundle import RiskModel, package_versions
from errpredict.models._classifier import RiskClassifier
from errpredict.models._details import ValidationDetails, balanced_rows
from errpredict.models._evaluate import grid_truth, score_with_baseline

__all__ = ["train", "DEFAULT_WINDOWS"]

DEFAULT_WINDOWS = (1, 5, 15, 60)
#: validation cells whose features a trained model keeps in memory (for importances)
DETAIL_ROWS = 2000


def fingerprint(events: pd.DataFrame, entity: str) -> str:
    """SHA-256 of what training saw: row count, time range, and per-entity error and event
    counts (cheap and stable across file formats)."""
    h = hashlib.sha256()
    ts = events["timestamp"]
    h.update(f"{len(events)}|{ts.iloc[0].value}|{ts.iloc[-1].value}".encode())
    g = events.groupby(events[entity].astype(str), sort=True, observed=True)["is_error"]
    summary = pd.DataFrame({"n": g.size(), "e": g.sum()})
    h.update(pd.util.hash_pandas_object(summary, index=True).to_numpy().tobytes())
    return h.hexdigest()


def train(
    events: pd.DataFrame,
    *,
    entity: str = "service",
    step: str = "1m",
    horizon: str = "10m",
    min_errors: int = 5,
    error_types: list[str] | None = None,
    min_severity: int | None = None,
    model: str = "hgb",
    target_precision: float | None = None,
    windows: tuple = DEFAULT_WINDOWS,
    validation_fraction: float = 0.2,
    max_train_rows: int | None = 40_000,
    max_validation_rows: int | None = 40_000,
    random_state: int = 0,
    recovery: bool = True,
    recovery_window: str = "1d",
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RiskModel:
    """Train a risk model on an error history.

    Features at each decision time ``t`` (every ``step``) come from events up
    to ``t``; the label says whether ``(t, t + horizon]`` holds at least
    ``min_errors`` matching errors. The last ``validation_fraction`` of the
    history (in time, at most ``max_validation_rows`` decision times) is held
    out to stop boosting, calibrate the
    probabilities and choose the alarm threshold (best F1, or the lowest that
    reaches ``target_precision``); the figures on it, beside the persistence
    baseline's, are kept in ``model.metadata["validation"]``. Boosting trains
    on a uniform sample of at most ``max_train_rows`` of the earlier decision
    times (``None``: all of them), and only the sampled and validation rows
    are featurized, so a long history trains in bounded time and memory.

    With ``recovery``, the recovery statistics (how fast each entity recovers
    from each error type, for :class:`errpredict.recovery.Recommender`) are
    fitted on the last ``recovery_window`` of the history and kept in the
    model (``model.extras["recovery"]``, JSON-able).

    Examples
    --------
    >>> from errpredict.datasets import generate_history
    >>> hist = generate_history(days=1, services=3, seed=1)
    >>> m = train(hist.events, horizon="10m", min_errors=5)
    >>> sorted(m.metadata["validation"])[:3]
    ['alarms_per_entity_day', 'baseline', 'episodes']
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    events = ensure_canonical(events, what="training events")
    target = Target(horizon, int(min_errors), tuple(error_types) if error_types else None,
                    min_severity)
    featurizer = ErrorHistoryFeaturizer(entity=entity, step=step, windows=tuple(windows))
    # the fingerprint and the recovery statistics need only the events: a thread computes
    # them while this one featurizes (numpy and pandas leave the interpreter lock there)
    side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="errpredict-train")
    aside = side.submit(_aside, events, entity, recovery and entity == "service",
                        recovery_window)
    side.shutdown(wait=False)
    say("labels")
    featurizer.fit(events)
    grid = featurizer.grid(events)
    target.horizon_steps(grid.step_ns)
    truth = grid_truth(events, grid, target)
    labelled = np.flatnonzero(truth.scored)
    y = truth.y[labelled]
    if y.size == 0 or y.min() == y.max():
        what = "no labelled decision times" if y.size == 0 else (
            "no positive decision times" if y.max() == 0 else "only positive decision times")
        raise ConfigError(
            f"training data has {what} for the target (>= {min_errors} errors in {horizon}); "
            "use a longer history, a shorter horizon or a lower --min-errors"
        )
    clf = RiskClassifier(model=model, validation_fraction=validation_fraction,
                         target_precision=target_precision, max_train_rows=max_train_rows,
                         max_validation_rows=max_validation_rows, random_state=random_state)
    train_rows, val_rows = clf.plan(y)
    say("features")
    # only the cells boosting trains and validates on: a long history is sampled
    _, X = featurizer.transform_arrays(events, grid,
                                       cells=labelled[np.concatenate([train_rows, val_rows])])
    say("fit")
    n_tr = len(train_rows)
    clf.fit_planned(X[:n_tr], y[train_rows], X[n_tr:], y[val_rows], len(y))
    say("evaluate")
    y_val, p_val = clf.validation_scores_
    keep = balanced_rows(y_val, DETAIL_ROWS, random_state)
    sample = (X[n_tr:][keep], y_val[keep], p_val[keep])
    del X
    risk = np.full(len(truth.y), np.nan)
    val_cells = labelled[val_rows]
    risk[val_cells] = p_val
    scores = score_with_baseline(truth, risk, clf.threshold_, target, grid.step_ns,
                                 rows=val_cells, details=True)
    validation = {k: v for k, v in scores.items() if k != "lead_times_s"}
    validation["baseline"] = {k: v for k, v in scores["baseline"].items()
                              if k != "lead_times_s"}
    if recovery and entity == "service":
        say("recovery")
    digest, extras = aside.result()
    ts = events["timestamp"]
    meta = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model,
        "featurizer": featurizer.get_params(),
        "fingerprint": digest,
        "data": {"source": source, "rows": int(len(events)),
                 "errors": int(events["is_error"].sum()),
                 "entities": int(len(grid.entities)),
                 "start": ts.iloc[0].isoformat(), "end": ts.iloc[-1].isoformat()},
        "training": {"cells": int(len(labelled)), "positives": int(y.sum()),
                     "validation_cells": int(len(val_rows)), "seconds": None},
        "validation": validation,
        "versions": package_versions(),
    }
    if "recovery" in extras:
        meta["recovery"] = {k: v for k, v in extras["recovery"]["summary"].items()}
    meta["training"]["seconds"] = round(time.perf_counter() - t0, 3)
    model = RiskModel(featurizer, clf, target, meta, extras)
    model.validation_details = ValidationDetails(scores, *sample)
    return model


def _aside(events: pd.DataFrame, entity: str, recovery: bool, window: str
           ) -> tuple[str, dict]:
    extras = {"recovery": fit_recovery(events, window)} if recovery else {}
    return fingerprint(events, entity), extras


def fit_recovery(events: pd.DataFrame, window: str = "1d") -> dict:
    """Recovery statistics of the last ``window`` of a history, as JSON-able state."""
    from errpredict.features._time import to_ns
    from errpredict.recovery import Recommender

    ts = events["timestamp"]
    recent = events[ts > ts.iloc[-1] - pd.Timedelta(to_ns(window, name="recovery_window"))]
    rec = Recommender().fit(recent)
    return {"state": rec.to_dict(), "summary": rec.summary(), "window": window}
