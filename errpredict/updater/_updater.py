"""ModelUpdater: retrain on drift or on a schedule, promote only a better challenger."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.features import to_ns
from errpredict.features._grid import ensure_canonical
from errpredict.models import RiskModel, train
from errpredict.updater._gate import GateRule, holdout_figures, judge
from errpredict.updater._predictor import Predictor
from errpredict.updater._promotion import Promoter

__all__ = ["ModelUpdater", "UpdateDecision", "UpdaterConfig"]

_REASONS = ("drift", "after-drift", "schedule", "manual")


def _ns(t: Any) -> int:
    if isinstance(t, int | np.integer) and not isinstance(t, bool):
        return int(t)
    ts = pd.Timestamp(t)
    return int((ts.tz_localize("UTC") if ts.tzinfo is None else ts).value)


def _stamp(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


@dataclass(frozen=True)
class UpdaterConfig:
    """When and how :class:`ModelUpdater` trains challengers, and the gate they must pass.

    Durations are strings such as ``"12h"`` or ``"2d"``.

    Parameters
    ----------
    window
        History a challenger trains on, ending where the held-out period begins.
    holdout
        The most recent labelled period, held out from the challenger's
        training and used to compare it with the champion.
    every
        Retrain on this schedule (stream time since the last retrain); ``None``: only on drift.
    on_drift
        Retrain when a drift is reported (:meth:`ModelUpdater.notify_drift`).
    follow_up
        After a drift, retrain again at these delays, as labels of the new
        regime mature (the first retrain after a drift has little of it).
    min_interval
        No two retrains closer than this (a burst of drift events trains once).
    min_history
        Stream time the updater waits before its first retrain.
    model
        Model type of the challengers (``"hgb"``, ``"logreg"``); ``None``: the champion's.
    gate
        The promotion rule.
    random_state
        Seed of the challengers' training.
    """

    window: str = "4d"
    holdout: str = "12h"
    every: str | None = "12h"
    on_drift: bool = True
    follow_up: tuple[str, ...] = ("6h", "12h", "24h")
    min_interval: str = "1h"
    min_history: str = "12h"
    model: str | None = None
    gate: GateRule = field(default_factory=GateRule)
    random_state: int = 0

    def __post_init__(self) -> None:
        for name in ("window", "holdout", "min_interval", "min_history"):
            to_ns(getattr(self, name), name=name)
        if self.every is not None:
            to_ns(self.every, name="every")
        for d in self.follow_up:
            to_ns(d, name="follow_up")
        if not isinstance(self.gate, GateRule):
            raise ConfigError(f"The 'gate' parameter of UpdaterConfig must be a GateRule. "
                              f"Got {self.gate!r} instead.")


@dataclass(frozen=True)
class UpdateDecision:
    """One decision of the updater, with the figures it rests on."""

    time: pd.Timestamp
    reason: str
    champion_version: str
    challenger_version: str | None
    promoted: bool
    why: str
    champion: dict | None = None
    challenger: dict | None = None
    train_start: pd.Timestamp | None = None
    train_end: pd.Timestamp | None = None
    holdout_start: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None
    train_cells: int | None = None
    train_positives: int | None = None
    published_as: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain types (times as ISO-8601) for JSON."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, pd.Timestamp):
                out[k] = v.isoformat()
        return out


class ModelUpdater:
    """Keep the serving model right: train challengers, promote only better ones.

    On a drift (:meth:`notify_drift`), at ``follow_up`` delays after it, or
    every ``every`` of stream time, :meth:`due` says a retrain is due and
    :meth:`update` runs it: a challenger is trained with the batch trainer
    (:func:`errpredict.models.train`, the champion's target and features) on
    the events of the last ``window`` before the held-out period, then both
    models are scored on the held-out period (the last ``holdout`` whose
    labels have matured, which the challenger never saw). The challenger is
    promoted only when :class:`GateRule` says so. Promotion publishes the
    model through the ``promoter`` (a :class:`BundleDirectory` or the MLflow
    registry), points the champion at it and swaps it into the
    :class:`Predictor`. Every decision, promoted or not, is kept with its
    figures in :attr:`decisions` and given to the promoter and ``on_decision``.

    Parameters
    ----------
    predictor
        The serving :class:`Predictor`, or a model to wrap in a new one.
    config
        When and how to retrain.
    promoter
        Where promoted models go; ``None`` swaps them in memory only.
    on_decision
        Called with each :class:`UpdateDecision`.

    Examples
    --------
    >>> from errpredict.datasets import generate_history
    >>> from errpredict.models import train
    >>> ev = generate_history(days=1.5, services=3, seed=4).events
    >>> first = ev[ev["timestamp"] < ev["timestamp"].iloc[0] + pd.Timedelta("12h")]
    >>> updater = ModelUpdater(train(first, model="logreg"),
    ...                        config=UpdaterConfig(window="1d", min_history="6h"))
    >>> updater.observe(ev["timestamp"].iloc[0])  # the stream starts
    >>> now = ev["timestamp"].iloc[-1]
    >>> updater.due(now)
    'schedule'
    >>> decision = updater.update(ev, now=now, reason="schedule")
    >>> decision.reason, sorted(decision.champion)[:3]
    ('schedule', ['alarms', 'brier', 'ece'])
    """

    def __init__(
        self,
        predictor: Predictor | RiskModel,
        *,
        config: UpdaterConfig | None = None,
        promoter: Promoter | None = None,
        on_decision: Callable[[UpdateDecision], None] | None = None,
    ) -> None:
        self.predictor = predictor if isinstance(predictor, Predictor) else Predictor(predictor)
        self.config = config if config is not None else UpdaterConfig()
        if not isinstance(self.config, UpdaterConfig):
            raise ConfigError(f"The 'config' parameter of ModelUpdater must be an UpdaterConfig. "
                              f"Got {config!r} instead.")
        self.promoter = promoter
        self.on_decision = on_decision
        self.decisions: list[UpdateDecision] = []
        c = self.config
        self._window = to_ns(c.window, name="window")
        self._holdout = to_ns(c.holdout, name="holdout")
        self._every = None if c.every is None else to_ns(c.every, name="every")
        self._follow = [to_ns(d, name="follow_up") for d in c.follow_up]
        self._min_interval = to_ns(c.min_interval, name="min_interval")
        self._min_history = to_ns(c.min_history, name="min_history")
        self._start: int | None = None
        self._last: int | None = None
        self._drift: Any = None
        self._pending_follow: list[int] = []

    @property
    def champion(self) -> RiskModel:
        return self.predictor.model

    @property
    def lookback_ns(self) -> int:
        """Events a featurizer needs before a decision time (its longest window)."""
        spec = self.champion.featurizer.spec_
        return spec.baseline * spec.step_ns

    def observe(self, now: Any) -> None:
        """Tell the updater the stream has reached ``now`` (starts its clock)."""
        if self._start is None:
            self._start = _ns(now)

    def notify_drift(self, event: Any) -> None:
        """A drift was detected: a retrain becomes due (when ``on_drift``)."""
        if self.config.on_drift:
            self._drift = event

    def due(self, now: Any) -> str | None:
        """The reason a retrain is due at ``now`` (``"drift"``, ``"after-drift"``,
        ``"schedule"``), or ``None``."""
        now = _ns(now)
        self.observe(now)
        if now - self._start < self._min_history:
            return None
        if self._last is not None and now - self._last < self._min_interval:
            return None
        if self._drift is not None:
            return "drift"
        if self._pending_follow and now >= self._pending_follow[0]:
            return "after-drift"
        if self._every is not None and now - (self._last or self._start) >= self._every:
            return "schedule"
        return None

    def update(self, events: pd.DataFrame, *, now: Any = None, reason: str = "manual"
               ) -> UpdateDecision:
        """Train a challenger on ``events`` up to ``now``, gate it, promote it if it wins.

        ``events`` must cover ``window + holdout`` plus a look-back before
        ``now`` (more is ignored); the default ``now`` is the last event.
        """
        if reason not in _REASONS:
            raise ConfigError(f"argument 'reason': got {reason!r}; expected one of {_REASONS}")
        t0 = time.perf_counter()
        events = ensure_canonical(events, what="ModelUpdater.update events")
        ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
        now_ns = int(ts[-1]) if now is None else _ns(now)
        self.observe(now_ns)
        self._last = now_ns
        if reason == "drift":
            self._pending_follow = [now_ns + d for d in self._follow]
        self._pending_follow = [t for t in self._pending_follow if t > now_ns]
        self._drift = None
        champion, champion_version = self.predictor.current()
        target = champion.target
        horizon = to_ns(target.horizon, name="horizon")
        hold_end = now_ns - horizon
        hold_start = hold_end - self._holdout
        train_start = hold_start - self._window
        common = dict(time=_stamp(now_ns), reason=reason, champion_version=champion_version,
                      train_start=_stamp(train_start), train_end=_stamp(hold_start),
                      holdout_start=_stamp(hold_start), holdout_end=_stamp(hold_end))
        train_ev = events.iloc[np.searchsorted(ts, train_start, "left"):
                               np.searchsorted(ts, hold_start, "left")]
        hold_ev = events.iloc[np.searchsorted(ts, hold_start - self.lookback_ns, "left"):
                              np.searchsorted(ts, now_ns, "right")]
        challenger = None
        try:
            if len(train_ev) == 0 or len(hold_ev) == 0:
                raise ConfigError("no events in the training window or the held-out period")
            fz = champion.featurizer
            challenger = train(
                train_ev, entity=fz.entity, step=fz.step, horizon=target.horizon,
                min_errors=int(target.min_errors),
                error_types=list(target.error_types) if target.error_types else None,
                min_severity=target.min_severity,
                model=self.config.model or champion.metadata.get("model", "hgb"),
                windows=tuple(fz.windows), random_state=self.config.random_state,
                source=f"updater:{reason}",
            )
        except ConfigError as exc:
            decision = UpdateDecision(**common, challenger_version=None, promoted=False,
                                      why=f"no challenger: {exc}",
                                      seconds=round(time.perf_counter() - t0, 3))
            return self._record(decision)
        champ_fig = holdout_figures(champion, hold_ev, hold_start, hold_end)
        chall_fig = holdout_figures(challenger, hold_ev, hold_start, hold_end)
        promote, why = judge(champ_fig, chall_fig, self.config.gate)
        published = None
        if promote:
            if self.promoter is not None:
                published = self.promoter.publish(challenger)
                self.promoter.promote(published)
            self.predictor.swap(challenger)
        training = challenger.metadata.get("training", {})
        decision = UpdateDecision(
            **common, challenger_version=challenger.version, promoted=promote, why=why,
            champion=champ_fig, challenger=chall_fig,
            train_cells=training.get("cells"), train_positives=training.get("positives"),
            published_as=published, seconds=round(time.perf_counter() - t0, 3),
        )
        return self._record(decision)

    def _record(self, decision: UpdateDecision) -> UpdateDecision:
        self.decisions.append(decision)
        if self.promoter is not None:
            self.promoter.record(decision.to_dict())
        if self.on_decision is not None:
            self.on_decision(decision)
        return decision

    def __repr__(self) -> str:
        return (f"ModelUpdater(champion={self.predictor.version!r}, "
                f"decisions={len(self.decisions)})")
