"""Risk scores next to what happened: alarms, incidents and how they line up.

No plotting here; :mod:`errpredict.analysis._report` draws what this module
computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from errpredict.analysis._common import parse_freq, timestamps_ns
from errpredict.exceptions import ConfigError, SchemaError
from errpredict.io._schema import parse_timestamps

__all__ = ["RiskView", "prepare_risk"]


@dataclass(frozen=True, eq=False)
class RiskView:
    """Risk per entity with alarms and incident spans, ready to draw.

    ``risk`` has ``entity``, ``timestamp``, ``risk``, ``alarm`` and
    ``positive`` (an incident follows within the horizon); ``spans`` has
    ``entity``, ``start``, ``end`` (the shaded incidents); ``source`` is
    ``"incidents"`` when they were given, ``"errors"`` when derived from error
    bursts; ``stats`` holds the counts shown on the page.
    """

    risk: pd.DataFrame
    spans: pd.DataFrame
    threshold: float | None
    horizon: pd.Timedelta
    min_errors: int
    source: str
    stats: dict[str, float]


def _entity_column(frame: pd.DataFrame, entity: str, what: str) -> str:
    for name in ("entity", entity, "service"):
        if name in frame.columns:
            return name
    raise SchemaError(
        f"{what}: missing column 'entity' (or {entity!r}); the columns are "
        f"{list(map(str, frame.columns))}; pass the frame that predict writes "
        "(entity, timestamp, risk)"
    )


def _check_risk(risk: pd.DataFrame, entity: str) -> pd.DataFrame:
    if not isinstance(risk, pd.DataFrame):
        raise SchemaError(f"risk: expected a pandas DataFrame, got {type(risk).__name__}")
    name = _entity_column(risk, entity, "risk")
    for col in ("timestamp", "risk"):
        if col not in risk.columns:
            raise SchemaError(
                f"risk: missing column {col!r}; the columns are {list(map(str, risk.columns))}; "
                "expected entity, timestamp, risk as predict writes them"
            )
    if len(risk) == 0:
        raise SchemaError("risk: no rows; pass the scores predict wrote for these events")
    values = pd.to_numeric(risk["risk"], errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(values) | (values < 0) | (values > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"risk: column 'risk' row {i}: {risk['risk'].iloc[i]!r} is not a probability; "
            "expected a number in [0, 1]"
        )
    out = pd.DataFrame(
        {
            "entity": risk[name].astype("str").to_numpy(),
            "timestamp": pd.DatetimeIndex(parse_timestamps(risk["timestamp"], where="risk")),
            "risk": values,
        }
    )
    if "alarm" in risk.columns:
        out["alarm"] = risk["alarm"].astype(bool).to_numpy()
    return out.sort_values(["entity", "timestamp"], kind="stable").reset_index(drop=True)


def _check_incidents(incidents: pd.DataFrame, entity: str) -> pd.DataFrame:
    if not isinstance(incidents, pd.DataFrame):
        raise SchemaError(
            f"incidents: expected a pandas DataFrame, got {type(incidents).__name__}"
        )
    name = _entity_column(incidents, entity, "incidents")
    for col in ("start", "end"):
        if col not in incidents.columns:
            raise SchemaError(
                f"incidents: missing column {col!r}; expected service (or entity), start, end"
            )
    if len(incidents) == 0:
        return pd.DataFrame(
            {"entity": pd.Series(dtype="str"), "start": pd.Series(dtype="datetime64[ns, UTC]"),
             "end": pd.Series(dtype="datetime64[ns, UTC]")}
        )
    start = parse_timestamps(incidents["start"], where="incidents")
    end = parse_timestamps(incidents["end"], where="incidents")
    bad = (end < start).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"incidents: row {i}: end {end.iloc[i]} is before start {start.iloc[i]}; "
            "swap them or fix the times"
        )
    return pd.DataFrame(
        {"entity": incidents[name].astype("str").to_numpy(), "start": pd.DatetimeIndex(start),
         "end": pd.DatetimeIndex(end)}
    )


def prepare_risk(
    risk: pd.DataFrame,
    events: pd.DataFrame,
    *,
    entity: str,
    threshold: float | None,
    incidents: pd.DataFrame | None,
    horizon: str | pd.Timedelta,
    min_errors: int,
) -> RiskView:
    """Mark alarms (``risk >= threshold``) and the decision times an incident follows.

    A decision time ``t`` is positive when, for its entity, at least
    ``min_errors`` errors happen in ``(t, t + horizon]`` (no ``incidents``
    given) or an incident overlaps ``(t, t + horizon]``. Without a threshold
    the frame's own ``alarm`` column is used when it has one.
    """
    owner = "build_report"
    width = parse_freq(horizon, name="horizon", owner=owner)
    if isinstance(min_errors, bool) or not isinstance(min_errors, (int, np.integer)) or (
        min_errors < 1
    ):
        raise ConfigError(
            f"The 'min_errors' parameter of {owner} must be an int in [1, inf). "
            f"Got {min_errors!r} instead."
        )
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0 <= threshold <= 1):
        raise ConfigError(
            f"The 'threshold' parameter of {owner} must be a float in [0, 1] or None. "
            f"Got {threshold!r} instead."
        )
    frame = _check_risk(risk, entity)
    if threshold is not None:
        frame["alarm"] = frame["risk"].to_numpy() >= threshold
    elif "alarm" not in frame.columns:
        frame["alarm"] = False
    t = timestamps_ns(frame["timestamp"])
    ent = frame["entity"].to_numpy()
    positive = np.zeros(len(frame), dtype=bool)
    h = width.value
    span_rows: list[tuple[str, int, int]] = []
    caught = episodes = 0
    alarm = frame["alarm"].to_numpy()

    if incidents is not None:
        source = "incidents"
        inc = _check_incidents(incidents, entity)
        starts_all, ends_all = timestamps_ns(inc["start"]), timestamps_ns(inc["end"])
        inc_ent = inc["entity"].to_numpy()
        for name in pd.unique(ent):
            rows = np.flatnonzero(ent == name)
            mine = inc_ent == name
            for s, e in zip(starts_all[mine], ends_all[mine], strict=True):
                # (t, t + h] overlaps [s, e]  <=>  t < e and t + h >= s
                hit = (t[rows] < max(e, s + 1)) & (t[rows] + h >= s)
                positive[rows[hit]] = True
                episodes += 1
                caught += bool(alarm[rows[hit]].any())
                span_rows.append((name, int(s), int(e)))
    else:
        source = "errors"
        err = events["is_error"].to_numpy(dtype=bool)
        ev_ent = events[entity].astype("str").to_numpy()[err] if entity in events else None
        ev_t = timestamps_ns(events["timestamp"])[err]
        for name in pd.unique(ent):
            rows = np.flatnonzero(ent == name)
            times = np.sort(ev_t[ev_ent == name]) if ev_ent is not None else ev_t[:0]
            tt = t[rows]
            count = np.searchsorted(times, tt + h, "right") - np.searchsorted(times, tt, "right")
            pos = count >= min_errors
            positive[rows] = pos
            step = int(np.median(np.diff(tt))) if tt.size > 1 else h
            for a, b in _runs(pos):
                episodes += 1
                caught += bool(alarm[rows[a:b]].any())
                span_rows.append((name, int(tt[a]), int(tt[b - 1]) + step))
    frame["positive"] = positive
    spans = pd.DataFrame(
        {
            "entity": pd.Series([r[0] for r in span_rows], dtype="str"),
            "start": pd.to_datetime(np.array([r[1] for r in span_rows], dtype="int64"), utc=True),
            "end": pd.to_datetime(np.array([r[2] for r in span_rows], dtype="int64"), utc=True),
        }
    )
    n_alarms = int(alarm.sum())
    stats = {
        "decisions": float(len(frame)),
        "alarms": float(n_alarms),
        "alarm_precision": float((alarm & positive).sum() / n_alarms) if n_alarms else np.nan,
        "positives": float(positive.sum()),
        "recall": float((alarm & positive).sum() / positive.sum()) if positive.any() else np.nan,
        "incidents": float(episodes),
        "caught": float(caught),
    }
    return RiskView(
        risk=frame,
        spans=spans,
        threshold=None if threshold is None else float(threshold),
        horizon=width,
        min_errors=int(min_errors),
        source=source,
        stats=stats,
    )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the True runs in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype("int8"), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))
