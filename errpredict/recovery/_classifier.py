"""ErrorClassifier: rules for a cold start, statistics learned from history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from errpredict.exceptions import ConfigError, NotFittedError
from errpredict.recovery._event import ErrorEvent
from errpredict.recovery._history import (
    RecoveryStats,
    burst_level,
    recovery_times,
    summarise_recovery,
)
from errpredict.recovery._rules import DEFAULT_RULES, ErrorRule, load_rules

__all__ = ["Classification", "ErrorClassifier"]

_CALLER_FAULT = ("client", "auth")


@dataclass(frozen=True)
class Classification:
    """What an error is, by the rules, and what history says about it.

    ``history`` is ``None`` when the classifier is not fitted or has not seen
    this (entity, error type).
    """

    category: str
    retryable: bool
    transient: bool
    severity: str
    rule: str
    history: RecoveryStats | None = None


class ErrorClassifier(BaseEstimator):
    """Classify errors by a rules table, and learn how fast each entity recovers.

    ``classify`` works before ``fit`` from the rules alone; ``fit`` learns, per
    (entity, error type), how often and how fast the same entity (and
    operation) succeeded again after such an error, and lists where history
    and the rules disagree.

    Parameters
    ----------
    extra_rules
        Rules checked before the defaults: :class:`ErrorRule` objects, dicts,
        or a TOML/JSON file path (see :func:`load_rules`).
    quick_s
        An error "recovers quickly" when the entity succeeds again within this
        many seconds.
    min_support
        Errors needed before a disagreement with the rules is reported.
    use_operation
        Require the same operation, not only the same service, for a recovery.
    estimate
        ``"cleared"`` (the fault cleared by the last error before the next
        success; right when traffic is sparse) or ``"next_success"`` (the
        time to the next success), see :func:`recovery_times`.
    recent_window_s, burst_few, burst_many
        An error is ``single``, one of a ``few`` or part of a ``burst`` by the
        errors of its service in the last ``recent_window_s`` (itself
        included): fewer than ``burst_few``, at least ``burst_many``, or in
        between. Statistics are kept per situation as well as overall
        (``any``), since an isolated error and one amid a burst recover
        differently.

    Attributes
    ----------
    recovery_
        One row per (service, error_type): ``n``, ``recovered_share``,
        ``quick_share``, ``p50_s``, ``p90_s``, ``category``, ``retryable``.
    disagreements_
        Rows of ``recovery_`` where history contradicts the rules, with a
        ``finding`` sentence.
    stats_
        :class:`RecoveryStats` per (service, error type, situation).
    type_stats_
        :class:`RecoveryStats` per (error type, situation), across services.

    Examples
    --------
    >>> import pandas as pd
    >>> clf = ErrorClassifier()
    >>> clf.classify({"service": "api", "error_type": "HTTP 503"}).category
    'unavailable'
    >>> clf.classify({"service": "api", "error_type": "HTTP 400"}).retryable
    False
    >>> ev = pd.DataFrame({
    ...     "timestamp": pd.to_datetime([0, 1, 2, 3], unit="s", utc=True),
    ...     "service": "api", "is_error": [True, False, True, False],
    ...     "error_type": ["HTTP 503", None, "HTTP 503", None]})
    >>> clf.fit(ev).recovery_[["service", "error_type", "n", "quick_share"]].to_dict("records")
    [{'service': 'api', 'error_type': 'HTTP 503', 'n': 2, 'quick_share': 1.0}]
    """

    def __init__(
        self,
        extra_rules: Any = None,
        *,
        quick_s: float = 5.0,
        min_support: int = 20,
        use_operation: bool = True,
        estimate: str = "cleared",
        recent_window_s: float = 300.0,
        burst_few: int = 2,
        burst_many: int = 10,
    ):
        self.extra_rules = extra_rules
        self.quick_s = quick_s
        self.min_support = min_support
        self.use_operation = use_operation
        self.estimate = estimate
        self.recent_window_s = recent_window_s
        self.burst_few = burst_few
        self.burst_many = burst_many

    # -- rules ---------------------------------------------------------------------------------
    @property
    def rules(self) -> tuple[ErrorRule, ...]:
        """The rules table in the order it is checked: extra rules, then the defaults."""
        cached = self.__dict__.get("_rules_cache")
        if cached is None or cached[0] is not self.extra_rules:
            extra = load_rules(self.extra_rules) if self.extra_rules is not None else ()
            cached = (self.extra_rules, extra + DEFAULT_RULES)
            self._rules_cache = cached
            self._match_cache: dict[tuple, tuple] = {}
        return cached[1]

    def classify(self, error: ErrorEvent | Mapping[str, Any]) -> Classification:
        """Classify one error; adds the learned history when fitted.

        Parameters
        ----------
        error
            An :class:`ErrorEvent` or a dict with at least ``service`` and
            one of ``error_type``, ``http_status``, ``grpc_code``, ``message``.
        """
        event = ErrorEvent.from_dict(error)
        rules = self.rules
        key = (event.error_type, event.http_status, event.grpc_code, event.message)
        found = self._match_cache.get(key)
        if found is None:
            found = ("unknown", False, False, "medium", "no rule matched")
            for rule in rules:
                if rule.matches(event):
                    found = (rule.category, rule.retryable, rule.transient, rule.severity,
                             rule.name)
                    break
            if len(self._match_cache) >= 4096:
                self._match_cache.clear()
            self._match_cache[key] = found
        category, retryable, transient, severity, name = found
        history = None
        stats = getattr(self, "stats_", None)
        if stats is not None:
            history = stats.get((event.service, str(event.error_type or "unknown"), "any"))
        return Classification(category, retryable, transient, severity, name, history)

    def level(self, recent: int | None) -> str:
        """The situation of an error from the count of recent errors of its service."""
        return burst_level(recent, self.burst_few, self.burst_many)

    def classify_events(self, events: pd.DataFrame) -> pd.DataFrame:
        """Category, retryable, transient and severity of every error row (rules only)."""
        errors = events.loc[events["is_error"].to_numpy(dtype=bool)]
        etype = (
            errors["error_type"].fillna("unknown").astype("str")
            if "error_type" in errors.columns
            else pd.Series("unknown", index=errors.index)
        )
        table = {t: self.classify({"service": "_", "error_type": t}) for t in etype.unique()}
        return pd.DataFrame(
            {
                "category": etype.map(lambda t: table[t].category),
                "retryable": etype.map(lambda t: table[t].retryable).astype(bool),
                "transient": etype.map(lambda t: table[t].transient).astype(bool),
                "severity": etype.map(lambda t: table[t].severity),
            },
            index=errors.index,
        )

    # -- history -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: None = None) -> ErrorClassifier:
        """Learn per (entity, error type) recovery statistics from an event history.

        Parameters
        ----------
        X
            The canonical event table, success rows included.
        y
            Ignored.
        """
        if not isinstance(self.quick_s, int | float) or not self.quick_s > 0:
            raise ConfigError(
                f"The 'quick_s' parameter of ErrorClassifier must be a number > 0. "
                f"Got {self.quick_s!r} instead."
            )
        if not isinstance(self.min_support, int) or self.min_support < 1:
            raise ConfigError(
                f"The 'min_support' parameter of ErrorClassifier must be an int in [1, inf). "
                f"Got {self.min_support!r} instead."
            )
        if self.estimate not in ("cleared", "next_success"):
            raise ConfigError(
                "The 'estimate' parameter of ErrorClassifier must be 'cleared' or "
                f"'next_success'. Got {self.estimate!r} instead."
            )
        if not (isinstance(self.burst_few, int) and isinstance(self.burst_many, int)
                and 1 <= self.burst_few <= self.burst_many):
            raise ConfigError(
                "ErrorClassifier: need ints 1 <= burst_few <= burst_many, got "
                f"{self.burst_few!r}, {self.burst_many!r}"
            )
        _ = self.rules  # validate the rules table now, not at first use
        times = recovery_times(X, use_operation=self.use_operation,
                               recent_window_s=self.recent_window_s)
        recent = times["recent"].to_numpy()
        times["level"] = np.select([recent < self.burst_few, recent >= self.burst_many],
                                   ["single", "burst"], "few")
        value = "cleared_s" if self.estimate == "cleared" else "recovery_s"
        self.stats_ = summarise_recovery(times, ("service", "error_type", "level"), value)
        self.type_stats_ = summarise_recovery(times, ("error_type", "level"), value)
        for k, v in summarise_recovery(times, ("service", "error_type"), value).items():
            self.stats_[(*k, "any")] = v
        for k, v in summarise_recovery(times, ("error_type",), value).items():
            self.type_stats_[(*k, "any")] = v
        self.recovery_ = self._table()
        self.disagreements_ = self._disagreements(self.recovery_)
        return self

    def _table(self) -> pd.DataFrame:
        rows = []
        for (service, etype, level), st in sorted(self.stats_.items()):
            if level != "any":
                continue
            c = self.classify({"service": service, "error_type": etype})
            rows.append(
                {
                    "service": service,
                    "error_type": etype,
                    "n": st.n,
                    "recovered_share": round(st.recovered_share, 4),
                    "quick_share": round(st.share_within(self.quick_s), 4),
                    "p50_s": st.quantile(0.5),
                    "p90_s": st.quantile(0.9),
                    "category": c.category,
                    "retryable": c.retryable,
                }
            )
        columns = ["service", "error_type", "n", "recovered_share", "quick_share", "p50_s",
                   "p90_s", "category", "retryable"]
        return pd.DataFrame(rows, columns=columns)

    def _disagreements(self, table: pd.DataFrame) -> pd.DataFrame:
        enough = table["n"] >= self.min_support
        slow = enough & table["retryable"] & (table["quick_share"] < 0.2)
        fast = (
            enough
            & ~table["retryable"]
            & ~table["category"].isin(_CALLER_FAULT)
            & (table["quick_share"] >= 0.8)
        )
        out = table.loc[slow | fast].copy()
        pct = (out["quick_share"] * 100).round().astype(int).astype(str)
        said = np.where(out["retryable"], "retryable", "not retryable")
        found = np.where(out["retryable"], "rarely recovers quickly", "usually recovers quickly")
        out["finding"] = (
            "rules say " + out["error_type"] + " is " + said + ", but " + out["service"] + " "
            + found + ": " + pct + "% of " + out["n"].astype(str) + " errors cleared within "
            + f"{self.quick_s:g} s"
        )
        return out.reset_index(drop=True)

    def _check_fitted(self) -> None:
        if not hasattr(self, "stats_"):
            raise NotFittedError(
                "This ErrorClassifier instance is not fitted yet; call 'fit' with an event "
                "history first"
            )

    # -- state ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: parameters, extra rules and the learned statistics."""
        self._check_fitted()
        extra = [r.to_dict() for r in load_rules(self.extra_rules)] if self.extra_rules else []
        return {
            "params": {k: v for k, v in self.get_params().items() if k != "extra_rules"},
            "extra_rules": extra,
            "stats": [[*k, st.to_dict()] for k, st in self.stats_.items()],
            "type_stats": [[*k, st.to_dict()] for k, st in self.type_stats_.items()],
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> ErrorClassifier:
        """Rebuild a fitted classifier from :meth:`to_dict` output."""
        try:
            clf = cls(extra_rules=state["extra_rules"] or None, **state["params"])
            clf.stats_ = {tuple(row[:3]): RecoveryStats.from_dict(row[3])
                          for row in state["stats"]}
            clf.type_stats_ = {tuple(row[:2]): RecoveryStats.from_dict(row[2])
                               for row in state["type_stats"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"ErrorClassifier state: cannot read {exc!r}; expected the output of to_dict()"
            ) from None
        clf.recovery_ = clf._table()
        clf.disagreements_ = clf._disagreements(clf.recovery_)
        return clf
