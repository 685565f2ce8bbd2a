"""The feedback processor: every prediction and every outcome, durable, with live metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError, FeedbackError
from errpredict.feedback._labels import error_times, store_matured_labels
from errpredict.feedback._queries import (
    read_counts,
    read_live_metrics,
    read_outcomes,
    read_prediction,
    read_predictions,
    read_predictions_by_id,
    read_versions,
)
from errpredict.feedback._store import (
    INSERT_OUTCOME,
    INSERT_PREDICTION,
    SET_LABEL,
    SOURCES,
    Store,
    default_outcome_id,
)
from errpredict.feedback._validate import check_risk, prediction_rows, text
from errpredict.feedback._values import hash_features, json_dumps, to_ns

__all__ = ["FeedbackProcessor"]


class FeedbackProcessor:
    """Durable record of predictions and their outcomes, with live metrics per model version.

    Every prediction (id, model version, entity, decision time, features
    hash, risk) and every outcome is stored in an embedded SQLite database in
    WAL mode. Outcomes are explicit (a report that an alarm was right or
    wrong, or that a recovery action worked) or implicit (the label computed
    from the events that followed, :meth:`label_matured`). Recording is
    idempotent on the prediction id and the outcome id, so a stream replayed
    after a crash counts nothing twice. Each ``record_*`` call is one
    committed transaction: when it returns, the write survives the process
    being killed (``synchronous="NORMAL"``; ``"FULL"`` also survives a power
    cut, at one fsync per commit). Safe to share between threads.

    The effective label of a prediction is its latest explicit label if it
    has one, else its latest implicit label.

    Parameters
    ----------
    path
        SQLite file (created with its parent folders), or ``":memory:"`` for
        a store that lives as long as the object.
    window
        Default number of most recent labelled predictions in live metrics.
    timeout_s
        How long a write waits for another process holding the database lock.
    synchronous
        SQLite ``synchronous`` level, ``"NORMAL"`` or ``"FULL"``.

    Examples
    --------
    >>> fp = FeedbackProcessor(":memory:")
    >>> pid = fp.record_prediction(entity="api", timestamp="2026-01-05T10:00:00Z",
    ...                            risk=0.8, model_version="3", prediction_id="p1")
    >>> fp.record_outcome(pid, label=True), fp.record_outcome(pid, label=True)
    (True, False)
    >>> fp.counts()["outcomes"], fp.live_metrics("3")["recall"]
    (1, 1.0)
    >>> fp.close()
    """

    def __init__(
        self,
        path: str | Path,
        *,
        window: int = 5000,
        timeout_s: float = 30.0,
        synchronous: str = "NORMAL",
    ) -> None:
        self.window = self._check_window(window)
        self.timeout_s = timeout_s
        self.synchronous = synchronous
        self._store = Store(path, timeout_s=timeout_s, synchronous=synchronous)

    @staticmethod
    def _check_window(window: Any) -> int:
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise ConfigError(
                "The 'window' parameter of FeedbackProcessor must be an int in [1, inf). "
                f"Got {window!r} instead."
            )
        return int(window)

    @property
    def path(self) -> str:
        """The SQLite file (or ``":memory:"``)."""
        return self._store.path

    def close(self) -> None:
        """Close the database; further calls raise :class:`FeedbackError`."""
        self._store.close()

    def __enter__(self) -> FeedbackProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeedbackProcessor({self.path!r}, window={self.window})"

    # ------------------------------------------------------------------ writing

    def record_prediction(
        self,
        *,
        entity: str,
        timestamp: Any,
        risk: float | None,
        model_version: str,
        features: Any = None,
        kind: str = "risk",
        prediction_id: str | None = None,
        payload: dict | None = None,
    ) -> str:
        """Store one prediction and return its id.

        Parameters
        ----------
        entity
            What the prediction is about (a service, a host, a drive).
        timestamp
            Decision time: a ``Timestamp``, a ``datetime`` (naive = UTC), an
            ISO-8601 string or epoch s/ms/us/ns; stored as UTC nanoseconds.
        risk
            Probability of the target for ``kind="risk"``; any finite number
            or ``None`` for other kinds.
        model_version
            The version of the model that made it.
        features
            The feature vector (a dict or an array), stored as its SHA-256
            hash (:func:`hash_features`) to trace which inputs were seen.
        kind
            ``"risk"`` (an alarm, labelled by :meth:`label_matured`) or any
            other name such as ``"recommendation"``.
        prediction_id
            Makes recording idempotent; a random ``uuid4().hex`` by default.
            Recording an id again stores nothing and returns it (the first
            record wins).
        payload
            Anything else to keep with it, stored as JSON.
        """
        kind = text(kind, "kind")
        row = (
            text(prediction_id, "prediction_id") if prediction_id is not None else uuid.uuid4().hex,
            kind,
            text(model_version, "model_version"),
            text(entity, "entity"),
            to_ns(timestamp, name="timestamp"),
            hash_features(features),
            check_risk(risk, kind),
            json_dumps(payload, name="payload"),
            time.time_ns(),
        )
        with self._store.write() as cur:
            cur.execute(INSERT_PREDICTION, row)
        return row[0]

    def record_predictions(
        self, frame: pd.DataFrame, *, model_version: str, kind: str = "risk"
    ) -> list[str]:
        """Store a table of predictions in one transaction and return their ids.

        Parameters
        ----------
        frame
            Columns ``entity``, ``timestamp``, ``risk``; optional
            ``prediction_id`` (missing ids are drawn at random) and
            ``features_hash``.
        model_version, kind
            The same for every row.
        """
        rows, ids = prediction_rows(
            frame, model_version=text(model_version, "model_version"), kind=text(kind, "kind")
        )
        if not ids:
            return []
        with self._store.write() as cur:
            cur.executemany(INSERT_PREDICTION, rows)
        return ids

    def record_outcome(
        self,
        prediction_id: str,
        *,
        label: bool | None = None,
        outcome: dict | None = None,
        source: str = "explicit",
        outcome_id: str | None = None,
        timestamp: Any = None,
    ) -> bool:
        """Store what happened after a prediction; ``True`` if new, ``False`` if a duplicate.

        Parameters
        ----------
        prediction_id
            A stored prediction.
        label
            Whether the alarm was right (the error came).
        outcome
            What an action gave, e.g. ``{"recovered": True, "time_to_recovery_s": 4.0}``.
        source
            ``"explicit"`` (a report) or ``"implicit"`` (computed from later events).
        outcome_id
            Makes recording idempotent; by default derived from the prediction id
            and the source (:func:`default_outcome_id`), so one outcome per pair.
        timestamp
            When the outcome was observed (optional).

        Raises
        ------
        FeedbackError
            The prediction id is unknown, neither ``label`` nor ``outcome`` is
            given, or ``outcome_id`` already belongs to another prediction.

        Notes
        -----
        A duplicate is ignored whatever it holds: to correct a report,
        record it again under a new ``outcome_id`` (the latest explicit label
        becomes the prediction's label).
        """
        prediction_id = text(prediction_id, "prediction_id")
        if source not in SOURCES:
            raise FeedbackError(f"argument 'source': got {source!r}; expected one of {SOURCES}")
        if label is None and outcome is None:
            raise FeedbackError(
                f"record_outcome({prediction_id!r}): neither 'label' nor 'outcome' given; pass "
                "label=True/False for an alarm, or an outcome dict for an action"
            )
        if label is not None and not isinstance(label, bool | np.bool_ | int | np.integer):
            raise FeedbackError(f"argument 'label': got {label!r}; expected True, False or None")
        if label is not None and label not in (0, 1):
            raise FeedbackError(f"argument 'label': got {label!r}; expected True, False or None")
        oid = text(outcome_id, "outcome_id") if outcome_id is not None else None
        oid = oid or default_outcome_id(prediction_id, source)
        row = (
            oid,
            prediction_id,
            source,
            None if label is None else int(bool(label)),
            json_dumps(outcome, name="outcome"),
            None if timestamp is None else to_ns(timestamp, name="timestamp"),
            time.time_ns(),
        )
        with self._store.write() as cur:
            if (
                cur.execute("SELECT 1 FROM predictions WHERE id = ?", (prediction_id,)).fetchone()
                is None
            ):
                raise FeedbackError(
                    f"record_outcome: unknown prediction_id {prediction_id!r}; record the "
                    "prediction first (record_prediction) or check the id"
                )
            cur.execute(INSERT_OUTCOME, row)
            if cur.rowcount == 1:
                if label is not None:
                    cur.execute(SET_LABEL[source], (row[3], prediction_id))
                return True
            owner = cur.execute(
                "SELECT prediction_id FROM outcomes WHERE id = ?", (oid,)
            ).fetchone()
            if owner[0] != prediction_id:
                raise FeedbackError(
                    f"record_outcome: outcome_id {oid!r} already belongs to prediction "
                    f"{owner[0]!r}, not {prediction_id!r}; give each outcome its own id"
                )
            return False

    def label_matured(
        self,
        events: pd.DataFrame,
        *,
        horizon: Any,
        min_errors: int,
        entity: str = "service",
        now: Any = None,
        error_types: Sequence[str] | None = None,
        min_severity: int | None = None,
    ) -> int:
        """Label, from the events that followed, every matured unlabelled risk prediction.

        A ``"risk"`` prediction for entity ``e`` at time ``t`` is matured when
        ``t + horizon <= now``; its label is whether ``events`` hold at least
        ``min_errors`` errors of ``e`` in ``(t, t + horizon]``. Each label is
        stored as an implicit outcome (observed at ``t + horizon``) in one
        transaction. ``events`` must cover those windows: an entity absent
        from them counts as having had no error.

        Parameters
        ----------
        events
            Canonical event table with ``timestamp``, ``is_error`` and the
            ``entity`` column.
        horizon
            A ``Timedelta`` or anything ``pandas.Timedelta`` reads ("10min").
        min_errors
            Errors needed in the horizon for a positive label.
        entity
            Event column that names the entity of the predictions.
        now
            Current time; by default the latest event time.
        error_types, min_severity
            Optional filters of the target, as in training.

        Returns
        -------
        int
            How many predictions were labelled by this call.
        """
        try:
            horizon_ns = int(pd.Timedelta(horizon).value)
        except (TypeError, ValueError):
            horizon_ns = 0
        if horizon_ns <= 0:
            raise ConfigError(
                "The 'horizon' parameter of label_matured must be a positive duration "
                f"(a Timedelta or a string such as '10min'). Got {horizon!r} instead."
            )
        if (
            isinstance(min_errors, bool)
            or not isinstance(min_errors, int | np.integer)
            or min_errors < 1
        ):
            raise ConfigError(
                "The 'min_errors' parameter of label_matured must be an int in [1, inf). "
                f"Got {min_errors!r} instead."
            )
        err_entity, err_ns, latest = error_times(
            events, entity=entity, error_types=error_types, min_severity=min_severity
        )
        now_ns = to_ns(now, name="now") if now is not None else latest
        if now_ns is None:
            return 0
        return store_matured_labels(
            self._store,
            err_entity=err_entity,
            err_ns=err_ns,
            now_ns=now_ns,
            horizon_ns=horizon_ns,
            min_errors=int(min_errors),
        )

    # ------------------------------------------------------------------ reading

    def predictions(
        self, kind: str | None = None, model_version: str | None = None, since: Any = None
    ) -> pd.DataFrame:
        """Stored predictions, oldest decision time first, with their effective label.

        Filters: ``kind``, ``model_version`` and decision time ``>= since``.
        Columns: :data:`PREDICTION_COLUMNS` (``timestamp`` is the decision
        time, ``label`` a nullable boolean, ``payload`` a dict or ``None``).
        """
        return read_predictions(self._store, kind=kind, model_version=model_version, since=since)

    def outcomes(self, kind: str | None = None, since: Any = None) -> pd.DataFrame:
        """Every stored outcome joined with its prediction, in the order they were recorded.

        Filters: prediction ``kind`` and decision time ``>= since``. Columns:
        :data:`OUTCOME_COLUMNS` (``outcome`` is a dict or ``None``,
        ``observed_at`` when the outcome happened, ``recorded_at`` when it was
        stored).
        """
        return read_outcomes(self._store, kind=kind, since=since)

    def get_prediction(self, prediction_id: str) -> dict[str, Any]:
        """One prediction as a dict, with the list of its outcomes under ``"outcomes"``.

        Raises
        ------
        FeedbackError
            The id is unknown.
        """
        return read_prediction(self._store, prediction_id)

    def predictions_by_id(self, prediction_ids: Sequence[str]) -> pd.DataFrame:
        """The stored predictions among ``prediction_ids``, in that order (unknown ids left out)."""
        return read_predictions_by_id(self._store, prediction_ids)

    def counts(self) -> dict[str, Any]:
        """How many predictions and outcomes are stored.

        Keys: ``predictions``, ``outcomes``, ``explicit``, ``implicit``
        (outcomes by source), ``labelled`` (predictions with a label),
        ``positives`` and ``by_kind`` (predictions per kind).
        """
        return read_counts(self._store)

    def model_versions(self) -> list[str]:
        """The model versions that made stored predictions, sorted."""
        return read_versions(self._store)

    def live_metrics(
        self,
        model_version: str | None = None,
        *,
        window: int | None = None,
        threshold: float = 0.5,
    ) -> dict[str, Any]:
        """Metrics over the last ``window`` labelled risk predictions of a model version.

        "Last" is by decision time; ``model_version=None`` pools every
        version. The dict holds ``model_version``, ``window``, ``n``,
        ``positives``, ``alarms``, ``precision``, ``recall``, ``f1`` at
        ``threshold`` (0.0 when undefined), ``pr_auc`` (average precision;
        ``None`` with a single class), ``brier``, ``ece`` (expected
        calibration error over 10 equal-width bins), ``calibration``
        (``ece``, ``mean_predicted``, ``observed_rate`` and the per-bin table)
        and ``since``/``until``, the window's first and last decision times.
        With no labelled prediction ``n`` is 0 and the figures are ``None``.
        """
        window = self.window if window is None else self._check_window(window)
        return read_live_metrics(self._store, model_version, window=window, threshold=threshold)

    def live_metrics_by_version(
        self, *, window: int | None = None, threshold: float = 0.5
    ) -> dict[str, dict[str, Any]]:
        """:meth:`live_metrics` for every model version, keyed by version."""
        return {
            v: self.live_metrics(v, window=window, threshold=threshold)
            for v in self.model_versions()
        }
