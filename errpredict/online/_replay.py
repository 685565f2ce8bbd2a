"""replay(): stream a history through the whole learning loop and score what it did."""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from errpredict.cache import PredictionCache
from errpredict.exceptions import ConfigError
from errpredict.features import to_ns
from errpredict.features._grid import ensure_canonical
from errpredict.features._time import grid_bucket
from errpredict.models import RiskModel, load_model
from errpredict.online._delayed import DelayedLabels
from errpredict.online._drift import DriftEvent, DriftMonitor, log_loss
from errpredict.online._learner import OnlineLearner
from errpredict.online._novelty import NewErrorTypes
from errpredict.online._replay_config import STREAMS, ReplayConfig, steps_per_batch
from errpredict.online._replay_feedback import LOOP_VERSION, FeedbackLog
from errpredict.online._replay_result import (
    ReplayProgress,
    ReplayResult,
    Swap,
    daily_metrics,
    summarize,
)
from errpredict.online._streaming import StreamingFeaturizer
from errpredict.updater import (
    BundleDirectory,
    ModelUpdater,
    Predictor,
    RegistryPromoter,
    UpdateDecision,
)

__all__ = ["replay"]


class _Loop:
    """The state of one replay: featurizer, predictor, learner, labels, drift, updater."""

    def __init__(self, model: RiskModel, events: pd.DataFrame, *, online: bool, updater: bool,
                 tracking: bool, feedback_path: Any, bundle_root: Any, config: ReplayConfig,
                 progress: Callable[[ReplayProgress], None] | None) -> None:
        self.events = events
        self.ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        self.config = config
        self.frozen = model
        self.entity = model.entity
        grid = model.featurizer.grid(events)  # checks the entity column up front
        self.entities = [str(e) for e in grid.entities]
        self._late = 0
        self.step_ns = model.featurizer.spec_.step_ns
        self.progress = progress
        self.predictor = Predictor(model, cache=PredictionCache(
            maxsize=max(4 * len(self.entities), 1024), ttl_s=None))
        self.stream = StreamingFeaturizer(model.featurizer, entities=self.entities)
        self.online = online
        self.learner = OnlineLearner(config.online_model, stack_on_batch=True,
                                     learning_rate=config.online_learning_rate, seed=config.seed)
        self.labels = DelayedLabels(model.target, self.step_ns, entity=self.entity)
        self._match = model.target.matching(events)
        self._entity_of = events[self.entity].astype(str).to_numpy(dtype=object)
        self.monitor = DriftMonitor(STREAMS, detector=config.drift_detector,
                                    delta=config.drift_delta, on_drift=self._on_drift)
        # error types the serving model never saw, arriving at incident volume
        self.novelty = NewErrorTypes(window=model.target.horizon,
                                     min_errors=int(model.target.min_errors),
                                     on_event=self.monitor.record)
        err = events["is_error"].to_numpy(dtype=bool)
        self._err_rows = np.flatnonzero(err)
        kinds = events["error_type"] if "error_type" in events else pd.Series(
            [None] * len(events))
        self._err_types = kinds.to_numpy(dtype=object)[self._err_rows]
        trained = pd.Timestamp(model.metadata.get("data", {}).get("end") or 0)
        trained = trained.tz_localize("UTC") if trained.tzinfo is None else trained
        warm = pd.Timestamp(int(self.ts[0]) + to_ns(config.type_warmup), unit="ns", tz="UTC")
        self._known_until = int(np.searchsorted(self.ts, max(trained, warm).value, "right"))
        self._known_upto = 0  # error rows (into _err_rows) whose types are known
        self.updater = None
        if updater:
            promoter = None
            if tracking:
                promoter = RegistryPromoter(config.registry_name, bundle_root or "models/replay")
            elif bundle_root is not None:
                promoter = BundleDirectory(bundle_root)
            self.updater = ModelUpdater(self.predictor, config=config.updater,
                                        promoter=promoter, on_decision=self._on_decision)
        self.feedback = None
        if feedback_path is not None:
            self.feedback = FeedbackLog(feedback_path, target=model.target, entity=self.entity,
                                        start_ns=int(self.ts[0]))
        self.feedback_every = to_ns(config.feedback_every)
        self.drift_events: list[DriftEvent] = []
        self.swaps: list[Swap] = []
        self.pushed = 0  # events pushed into the stream
        self.now: int | None = None  # last closed step: every event up to it is in
        self._last_flush: int | None = None
        self._flushed_upto = 0  # first event the next label pass needs
        self._out_t: list[np.ndarray] = []
        self._out_risk: list[np.ndarray] = []
        self._out_alarm: list[np.ndarray] = []
        self._loss = {"batch": math.log(2.0), "online": math.log(2.0)}
        self._alpha = 1.0 / max(config.memory, 1)
        self._columns_for: list[str] | None = None
        self._columns: tuple[list[str], np.ndarray | None] = ([], None)

    # -- callbacks -------------------------------------------------------------------------
    def _on_drift(self, event: DriftEvent) -> None:
        self.drift_events.append(event)
        if self.updater is not None:
            self.updater.notify_drift(event)
        self._say("drift", event)

    def _on_decision(self, decision: UpdateDecision) -> None:
        self._say("decision", decision)

    def _say(self, note: str, detail: Any = None) -> None:
        if self.progress is not None:
            self.progress(self._progress(note, detail))

    def _progress(self, note: str | None = None, detail: Any = None) -> ReplayProgress:
        now = None if self.now is None else pd.Timestamp(self.now, unit="ns", tz="UTC")
        ack = self.feedback.acknowledged if self.feedback is not None else 0
        return ReplayProgress(self.pushed, len(self.events), len(self._out_t), now,
                              len(self.drift_events), len(self.swaps), ack, note, detail)

    # -- the stream ------------------------------------------------------------------------
    def push(self, lo: int, hi: int) -> None:
        """Stream ``events[lo:hi]`` (whole steps) through the loop."""
        chunk = self.events.iloc[lo:hi]
        self._watch_types(lo, hi)
        match = self._match[lo:hi]
        self.labels.observe_arrays(int(self.ts[hi - 1]), self.ts[lo:hi][match],
                                   self._entity_of[lo:hi][match])
        times, ents, X = self.stream.push_arrays(chunk)
        self.pushed = hi
        if len(times):
            self._score(times, ents, X)
            self._advance(int(times[-1]))
        if self.progress is not None:
            self.progress(self._progress())

    def finish(self) -> None:
        times, ents, X = self.stream.flush_arrays()
        if len(times):
            self._score(times, ents, X)
            self._advance(int(times[-1]), final=True)
        elif self.feedback is not None and self.now is not None:
            self._flush_feedback(final=True)

    def _watch_types(self, lo: int, hi: int) -> None:
        """Errors of ``events[lo:hi]``: learn their types during the warm-up, else watch."""
        rows = self._err_rows
        a, b = np.searchsorted(rows, lo), np.searchsorted(rows, hi)
        if a == b:
            return
        if hi <= self._known_until:
            self.novelty.learn(set(self._err_types[a:b].tolist()))
            self._known_upto = b
            return
        self.novelty.update(self.ts[rows[a:b]].tolist(), self._err_types[a:b].tolist())

    def _score(self, times: np.ndarray, ents: np.ndarray, X: np.ndarray) -> None:
        n_e = len(ents)
        version, risk_b = self.predictor.predict_rows(times, ents, X)
        threshold = self.predictor.model.threshold
        names, keep = self._online_columns()
        X_on = X[:, keep] if keep is not None else X
        t_rows = np.repeat(times, n_e)
        e_rows = np.tile(ents, len(times))
        mode = self.config.output if self.online else "batch"
        warm = self.learner.n_learned >= self.config.warmup
        use_online = warm and (mode == "online" or (
            mode == "auto" and self._loss["online"] < self._loss["batch"]))
        w_online = 0.5 if warm and mode == "blend" else float(use_online)
        out = np.empty(len(t_rows))
        items = []
        for i, row in enumerate(X_on.tolist()):
            x = dict(zip(names, row, strict=True))
            x["batch_risk"] = float(risk_b[i])
            p_on = self.learner.predict_proba_one(x)[True] if self.online else math.nan
            out[i] = w_online * p_on + (1.0 - w_online) * risk_b[i] if w_online else risk_b[i]
            items.append((x, float(risk_b[i]), p_on))
        self.labels.add_many(t_rows, e_rows, items)
        self._out_t.append(times)
        self._out_risk.append(out)
        self._out_alarm.append(out >= threshold)
        if self.feedback is not None:
            self.feedback.add(version, e_rows, t_rows, risk_b)
            self.feedback.add(LOOP_VERSION, e_rows, t_rows, out)

    def _online_columns(self) -> tuple[list[str], np.ndarray | None]:
        """Names and column indices of the online learner's features (cached per featurizer)."""
        columns = self.stream.columns
        if self._columns_for is not columns:
            pats = self.config.online_features
            if pats is None:
                self._columns = (list(columns), None)
            else:
                idx = [i for i, c in enumerate(columns)
                       if any(fnmatch.fnmatchcase(c, p) for p in pats)]
                self._columns = ([columns[i] for i in idx], np.asarray(idx, dtype=np.int64))
            self._columns_for = columns
        return self._columns

    def _advance(self, now: int, final: bool = False) -> None:
        self.now = now
        if self._last_flush is None:
            self._last_flush = now
        self._learn(self.labels.pop_matured(now))
        if self.feedback is not None and (final or now - self._last_flush >= self.feedback_every):
            self._flush_feedback(final)
        if self.updater is not None and not final:
            reason = self.updater.due(now)
            if reason is not None:
                self._update(now, reason)

    def _learn(self, matured: list) -> None:
        if not matured:
            return
        a = self._alpha
        by_t: dict[int, list[tuple[float, float]]] = {}
        for m in matured:
            x, rb, p_on = m.item
            lb = log_loss(rb, m.label)
            lo = log_loss(p_on, m.label) if self.online else math.nan
            if self.online:
                self.learner.learn_one(x, m.label)
                self._loss["online"] += a * (lo - self._loss["online"])
            self._loss["batch"] += a * (lb - self._loss["batch"])
            by_t.setdefault(m.t_ns, []).append((lb, lo))
        for losses in by_t.values():
            self.monitor.update("batch_error", float(np.mean([v[0] for v in losses])),
                                time=self.now)
            if self.online:
                self.monitor.update("online_loss", float(np.mean([v[1] for v in losses])),
                                    time=self.now)

    def _flush_feedback(self, final: bool) -> None:
        hi = self.pushed
        lo = self._flushed_upto
        self.feedback.flush(self.events.iloc[lo:hi], self.now)
        horizon = self.labels.horizon_ns
        self._flushed_upto = int(np.searchsorted(self.ts, self.now - horizon - self.step_ns,
                                                 "left"))
        self._last_flush = self.now
        self._say("feedback")

    def _update(self, now: int, reason: str) -> None:
        up = self.updater
        cfg = up.config
        keep = (to_ns(cfg.window) + to_ns(cfg.holdout)
                + self.labels.horizon_ns + up.lookback_ns + self.step_ns)
        lo = int(np.searchsorted(self.ts, now - keep, "left"))
        hi = int(np.searchsorted(self.ts, now, "right"))
        before = self.predictor.version
        decision = up.update(self.events.iloc[lo:hi], now=now, reason=reason)
        if not decision.promoted:
            return
        model = self.predictor.model
        swap = Swap(pd.Timestamp(now, unit="ns", tz="UTC"), before, self.predictor.version,
                    reason)
        self.swaps.append(swap)
        self.monitor.reset("batch_error")
        b = int(np.searchsorted(self._err_rows, self.pushed))  # the new model saw these types
        if b > self._known_upto:
            self.novelty.learn(set(self._err_types[self._known_upto:b].tolist()))
            self._known_upto = b
        self._loss["batch"] = self._loss["online"] = math.log(2.0)
        # a featurizer for the new model, warmed up on the look-back it needs
        stream = StreamingFeaturizer(model.featurizer, entities=self.entities)
        warm = int(np.searchsorted(self.ts, now - up.lookback_ns - self.step_ns, "left"))
        stream.push_arrays(self.events.iloc[warm:self.pushed])
        self._late += self.stream.late_events_
        self.stream = stream
        self._say("swap", swap)

    def result(self, drift_at: pd.Timestamp | None) -> ReplayResult:
        times = np.concatenate(self._out_t) if self._out_t else np.empty(0, np.int64)
        n_e = len(self.entities)
        risk = np.concatenate(self._out_risk) if self._out_risk else np.empty(0)
        alarm = np.concatenate(self._out_alarm) if self._out_alarm else np.empty(0, bool)
        scores = pd.DataFrame({
            "entity": pd.array(np.tile(np.asarray(self.entities, dtype=object), len(times)),
                               dtype="str"),
            "timestamp": pd.to_datetime(np.repeat(times, n_e), unit="ns", utc=True),
            "risk": risk,
        })
        grid, frozen = self.frozen.score_grid(self.events)
        y = self.frozen.target.label_array(self.events, grid)
        t_ns = np.repeat(grid.times_ns, len(grid.entities))
        if len(t_ns) != len(risk) or list(map(str, grid.entities)) != self.entities:
            raise ConfigError("replay: the streamed grid does not match the batch grid of the "
                              "events; this is a bug, please report it")
        daily = daily_metrics(t_ns, y, risk, alarm, frozen, frozen >= self.frozen.threshold)
        decisions = self.updater.decisions if self.updater is not None else []
        extra = {
            "events": len(self.events), "steps": len(times), "entities": n_e,
            "late_events": int(self._late + self.stream.late_events_),
            "decisions": len(decisions),
            "promotions": sum(1 for d in decisions if d.promoted),
            "initial_version": self.frozen.version, "final_version": self.predictor.version,
            "online_labels_learned": int(self.learner.n_learned),
            "feedback_acknowledged": self.feedback.acknowledged if self.feedback else None,
            "feedback_labelled": self.feedback.labelled if self.feedback else None,
        }
        summary = summarize(t_ns=t_ns, y=y, loop_risk=risk, frozen_risk=frozen,
                            drift_at=drift_at, drift_events=self.drift_events,
                            swaps=self.swaps, extra=extra)
        return ReplayResult(scores, daily, list(self.drift_events), list(self.swaps),
                            list(decisions), summary)


def replay(
    model: RiskModel | str | os.PathLike,
    events: pd.DataFrame | str | os.PathLike,
    *,
    online: bool = True,
    updater: bool = True,
    tracking: bool = False,
    feedback_path: str | os.PathLike | None = None,
    bundle_root: str | os.PathLike | None = None,
    drift_at: Any = None,
    micro_batch: Any = "1 step",
    progress: Callable[[ReplayProgress], None] | None = None,
    config: ReplayConfig | None = None,
) -> ReplayResult:
    """Stream a history through the learning loop, as if it were happening now.

    Events go, one micro-batch at a time and in time order, through the
    streaming featurizer of the serving model, the batch predictor (through
    the prediction cache) and the online learner stacked on it; every
    prediction waits for its label until its horizon has passed
    (:class:`DelayedLabels`), then the online learner learns it and the drift
    monitor sees both models' losses. A drift (or the schedule) makes the
    updater train a challenger on the recent, matured past; a challenger
    that passes the gate is promoted and swapped in, with a new streaming
    featurizer warmed up on the look-back it needs. With ``feedback_path``
    every prediction and its implicit label are stored durably: a replay
    killed and restarted on the same history loses nothing that was
    acknowledged and counts nothing twice.

    Parameters
    ----------
    model
        The starting champion (a :class:`~errpredict.models.RiskModel`, a
        bundle directory or ``models:/NAME@ALIAS``). It is also the frozen
        model the loop is compared with.
    events
        The history (canonical events, or a file :func:`errpredict.io.read_events` reads).
    online
        Run the online learner (else the loop's risk is the batch model's).
    updater
        Run the drift-triggered and scheduled updater.
    tracking
        Promote through the MLflow registry (``ReplayConfig.registry_name``,
        alias ``champion``; bundles and ``decisions.jsonl`` under
        ``bundle_root``, default ``models/replay``). Off: promote through the
        bundle directory ``bundle_root``, or in memory only when it is ``None``.
    feedback_path
        SQLite feedback store; ``None``: no feedback is stored.
    bundle_root
        Directory of published bundles (``versions/<id>``), the ``champion``
        link and the updater's ``decisions.jsonl``.
    drift_at
        Known drift time (or day offset from the first event), from which the
        ``*_after_drift`` figures are measured; default: the first detected drift.
    micro_batch
        Events pushed at once: ``"N steps"`` or a duration (whole steps).
    progress
        Called with a :class:`ReplayProgress` after each micro-batch and at
        each drift, decision, swap and feedback commit.
    config
        :class:`ReplayConfig`.

    Returns
    -------
    ReplayResult
    """
    config = config if config is not None else ReplayConfig()
    if not isinstance(config, ReplayConfig):
        raise ConfigError(f"The 'config' parameter of replay must be a ReplayConfig. "
                          f"Got {config!r} instead.")
    if not isinstance(model, RiskModel):
        model = load_model(model)
    if not isinstance(events, pd.DataFrame):
        from errpredict.io import read_events

        events = read_events(events)
    events = ensure_canonical(events, what="replay events").reset_index(drop=True)
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    if drift_at is not None:
        if isinstance(drift_at, int | float) and not isinstance(drift_at, bool):
            drift_at = pd.Timestamp(int(ts[0]), unit="ns", tz="UTC").floor("D") + pd.Timedelta(
                days=float(drift_at))
        drift_at = pd.Timestamp(drift_at)
        drift_at = drift_at.tz_localize("UTC") if drift_at.tzinfo is None else drift_at
    step_ns = model.featurizer.spec_.step_ns
    n_steps = steps_per_batch(micro_batch, step_ns)
    loop = _Loop(model, events, online=online, updater=updater, tracking=tracking,
                 feedback_path=feedback_path, bundle_root=bundle_root, config=config,
                 progress=progress)
    try:
        bucket = grid_bucket(ts, step_ns)
        block = (bucket - bucket[0]) // n_steps
        cuts = np.flatnonzero(np.diff(block)) + 1
        bounds = np.concatenate([[0], cuts, [len(ts)]])
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            loop.push(int(lo), int(hi))
        loop.finish()
    finally:
        if loop.feedback is not None:
            loop.feedback.close()
    return loop.result(drift_at)
