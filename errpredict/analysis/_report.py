"""One self-contained static HTML page about an error history.

The page carries its stylesheet inline and its plots as base64 PNG images
drawn with matplotlib's Agg canvas; it has no script and no link to the
network, so it opens from disk in any browser, offline.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from errpredict._version import __version__
from errpredict.analysis import _html as h
from errpredict.analysis._common import (
    ensure_events,
    format_duration,
    parse_freq,
    require_column,
)
from errpredict.analysis._hotspots import DEFAULT_BY, hotspots
from errpredict.analysis._risk import RiskView, prepare_risk
from errpredict.analysis._style import CSS, colors
from errpredict.analysis._trends import trends

__all__ = ["build_report", "write_report"]

#: Bucket widths the report picks from, so that a plot has at most ~400 buckets.
_LADDER = ("1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "3h", "6h", "12h",
           "1D", "2D", "7D")
_MAX_BUCKETS = 400
#: Most panels in a small-multiples figure; the entities with most errors are shown.
MAX_PANELS = 12
#: Histories of risk longer than ZOOM_AFTER also get a close-up of their last ZOOM.
ZOOM_AFTER = pd.Timedelta(days=3)
ZOOM = pd.Timedelta(days=1)


def _auto_freq(span: pd.Timedelta) -> pd.Timedelta:
    for item in _LADDER:
        width = pd.Timedelta(item)
        if span / width <= _MAX_BUCKETS:
            return width
    return pd.Timedelta(days=math.ceil(span / pd.Timedelta(days=_MAX_BUCKETS)))


def _windows(freq: pd.Timedelta) -> tuple[pd.Timedelta, pd.Timedelta]:
    k_short = max(1, round(pd.Timedelta("1h") / freq))
    k_long = max(4 * k_short, math.ceil(pd.Timedelta("24h") / freq))
    return freq * k_short, freq * k_long


def build_report(
    events: pd.DataFrame,
    *,
    entity: str = "service",
    risk: pd.DataFrame | None = None,
    threshold: float | None = None,
    incidents: pd.DataFrame | None = None,
    horizon: str | pd.Timedelta = "10min",
    min_errors: int = 5,
    freq: str | pd.Timedelta | None = None,
    top: int = 8,
    title: str = "errpredict report",
) -> str:
    """Build the HTML report on an error history, optionally with model risk.

    Sections: summary numbers; error rate per entity over time with its
    change points; where and when errors concentrate (a heat map and the
    :func:`hotspots` tables); error types; trends and change points (from
    :func:`trends`); and, when ``risk`` is given, risk over time per entity
    with the alarms and the incidents.

    Parameters
    ----------
    events
        The canonical event table.
    entity
        Column the plots and trends are per (``"service"``, ``"host"`` ...).
    risk
        Scores as ``predict`` writes them: columns ``entity`` (or the entity
        column's name), ``timestamp`` and ``risk`` in [0, 1]; an ``alarm``
        column is used when ``threshold`` is None.
    threshold
        Risk at or above which an alarm fires.
    incidents
        Actual incidents to shade, columns ``service`` (or ``entity``),
        ``start``, ``end``. Without them, a decision time counts as followed
        by an incident when at least ``min_errors`` errors of its entity
        happen in the next ``horizon``, and those times are shaded.
    horizon, min_errors
        The incident definition above (use the model's own target).
    freq
        Bucket width of the plots and trends; ``None`` picks the smallest of
        1min, 2min, 5min ... 7D giving at most 400 buckets. The trend windows
        are about 1 hour (short) and 24 hours (long), rounded to ``freq``.
    top
        Rows per dimension in the hotspot tables.
    title
        Page title.

    Returns
    -------
    str
        The HTML page.
    """
    owner = "build_report"
    events = ensure_events(events)
    require_column(events, entity, name="entity", owner=owner)
    ts = events["timestamp"]
    start, end = ts.iloc[0], ts.iloc[-1]
    span = max(end - start, pd.Timedelta("1min"))
    width = _auto_freq(span) if freq is None else parse_freq(freq, name="freq", owner=owner)
    short, long = _windows(width)
    view: RiskView | None = None
    if risk is not None:
        view = prepare_risk(
            risk, events, entity=entity, threshold=threshold, incidents=incidents,
            horizon=horizon, min_errors=min_errors,
        )

    from errpredict.analysis import _plots  # matplotlib is imported here, not with the package

    tr = trends(events, entity=entity, freq=width, short=short, long=long)
    by = tuple(dict.fromkeys((entity, *DEFAULT_BY)))
    hot = hotspots(events, by=by, freq=max(width, pd.Timedelta("1h")), top=top)
    summary = tr.summary.sort_values(["errors", "entity"], ascending=[False, True], kind="stable")
    ranked = summary["entity"].tolist()
    palette = colors(ranked)
    shown = ranked[:MAX_PANELS]
    fw, fs, fl = format_duration(width), format_duration(short), format_duration(long)
    more = f" ({len(shown)} of {len(ranked)}, those with most errors)" if len(ranked) > len(
        shown
    ) else ""

    n_events, n_errors = len(events), int(events["is_error"].sum())
    counts_only = tr.basis == "count"
    parts = [
        h.section("summary", "Summary", "", _summary_cards(
            n_events, n_errors, counts_only, len(ranked), entity, start, end, span)
        )
    ]
    what = "share of events that were errors" if not counts_only else "number of errors"
    parts.append(h.section(
        "rates", f"{'Errors' if counts_only else 'Error rate'} per {entity} over time", "",
        h.figure(
            _plots.rate_panels(tr, shown, palette), f"error rate per {entity}",
            f"<b>Error {'rate' if not counts_only else 'count'} per {h.esc(entity)}</b>{more}, "
            f"in {fw} buckets (UTC). The coloured area is the {what} in each bucket; the dark "
            "line is the level between change points, and the triangles on top mark the "
            "change points (PELT on the variance-stabilised rate). Each panel has its own "
            "y scale.",
        ),
    ))
    parts.append(h.section(
        "hotspots", "Hotspots: where errors concentrate",
        f"Each value's share of all errors against its share of all events. <b>Lift</b> = "
        "share of errors / share of events: above 1 a value has more errors than its traffic "
        "explains. Ranked by errors, ties by lift. <b>Hottest bucket</b>: the "
        f"{format_duration(max(width, pd.Timedelta('1h')))} bucket (UTC start) with its most "
        "errors.",
        h.figure(
            _plots.error_heatmap(tr, shown), f"errors per {entity} and time",
            f"<b>When and where errors happened</b>: errors per {h.esc(entity)} and {fw} "
            "bucket; darker is more, on a square-root scale so that small bursts stay visible.",
        ) + h.hotspot_tables(hot, palette, entity),
    ))
    parts.append(h.section("error-types", "Error types", "", _error_types(
        events, entity, shown, palette, _plots)))
    parts.append(h.section(
        "trends", "Trends and change points",
        f"The last {fs} against the last {fl} at the end of the data; "
        "<b>trend</b> = short / long (&#9650; rising by 20% or more, &#9660; falling). "
        "Change points: where PELT (Killick et al., 2012, penalty 3&nbsp;log&nbsp;n) finds "
        f"that the {fw} error rate shifted; before and after are the rates of the segments "
        "either side.",
        h.trend_table(summary, tr.basis, palette, fs, fl) + "<h3>Change points</h3>"
        + h.change_table(tr.change_points, tr.basis, palette),
    ))
    if view is not None:
        parts.append(_risk_section(view, entity, ranked, palette, _plots, width))
    nav = "".join(
        f'<a href="#{i}">{t}</a>'
        for i, t in (("summary", "Summary"), ("rates", "Error rates"), ("hotspots", "Hotspots"),
                     ("error-types", "Error types"), ("trends", "Trends"))
    ) + ('<a href="#risk">Risk and alarms</a>' if view is not None else "")
    generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta name=\"generator\" content=\"errpredict {__version__}\">"
        f"<title>{h.esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><div class=\"wrap\"><h1>{h.esc(title)}</h1>"
        f"<p class=\"sub\">{_fmt(n_events)} events from {h.fmt_time(start)} to "
        f"{h.fmt_time(end)} UTC &middot; {len(ranked)} {h.esc(_plural(entity, len(ranked)))}</p>"
        f"<nav>{nav}</nav></div></header><main><div class=\"wrap\">{''.join(parts)}</div></main>"
        f"<footer><div class=\"wrap\">Generated {generated} by errpredict {__version__}. "
        "A static page: no scripts, nothing loaded from the network.</div></footer>"
        "</body></html>\n"
    )


def _fmt(n: float) -> str:
    return h.fmt_int(n)


def _plural(word: str, n: int = 2) -> str:
    """``service`` -> ``services`` (English, good enough for column names)."""
    return word if n == 1 or word.endswith("s") else word + "s"


def _summary_cards(n_events, n_errors, counts_only, n_entities, entity, start, end, span) -> str:
    rate = "&ndash;" if counts_only else h.fmt_rate(n_errors / n_events)
    body = h.cards([
        ("events", _fmt(n_events), "rows in the history"),
        ("errors", _fmt(n_errors), "rows with is_error"),
        ("error rate", rate, "errors / events" if not counts_only else "no success rows"),
        (_plural(entity), _fmt(n_entities), f"distinct {h.esc(entity)} values"),
        ("time span", h.fmt_span(span), f"{h.fmt_time(start)} &rarr; {h.fmt_time(end)}"),
    ])
    if counts_only:
        body += (
            '<p class="note">Every event is an error (the history has no success rows), '
            "so the page shows error counts instead of rates and no lift.</p>"
        )
    return body


def _error_types(events, entity, shown, palette, plots) -> str:
    n_types = (
        events.loc[events["is_error"], "error_type"].nunique()
        if "error_type" in events.columns else 0
    )
    if n_types == 0:
        return (
            '<p class="lede">The events have no <code>error_type</code> on their errors, so '
            "there is nothing to break down.</p>"
        )
    top = 12
    return h.figure(
        plots.error_type_bars(events, entity, shown, palette, top=top), "error types",
        f"<b>The most frequent error types</b> ({min(top, n_types)} of {n_types}), each bar "
        f"split by {h.esc(entity)}; the number is the total.",
    )


def _risk_section(view: RiskView, entity, ranked, palette, plots, width) -> str:
    risk_entities = list(dict.fromkeys(view.risk["entity"]))
    order = [e for e in ranked if e in risk_entities] + [
        e for e in risk_entities if e not in ranked
    ]
    shown = order[:MAX_PANELS]
    for name in order:
        palette.setdefault(name, "#7b8794")
    st = view.stats
    horizon = format_duration(view.horizon)
    precision = h.fmt_rate(st["alarm_precision"])
    items = [
        ("decision times", _fmt(st["decisions"]),
         f"{len(order)} {h.esc(_plural(entity, len(order)))}"),
        ("alarms", _fmt(st["alarms"]),
         f"risk &ge; {view.threshold:.2f}" if view.threshold is not None else "from the scores"),
        ("alarms that hit", precision, f"followed by an incident within {horizon}"),
        ("incidents caught", f"{_fmt(st['caught'])} / {_fmt(st['incidents'])}",
         "with an alarm in the horizon before or during"),
    ]
    shaded = (
        "the incidents given" if view.source == "incidents"
        else f"decision times followed by at least {view.min_errors} error(s) of the same "
        f"{h.esc(entity)} within {horizon}: where an alarm is a hit"
    )
    note = "" if view.threshold is not None or view.risk["alarm"].any() else (
        '<p class="note">No threshold given, so no alarm is marked; pass the model\'s '
        "threshold to see them.</p>"
    )
    more = f" ({len(shown)} of {len(order)})" if len(order) > len(shown) else ""
    steps = view.risk.groupby("entity")["timestamp"].diff().dropna()
    coarse = len(steps) > 0 and steps.median() < width
    line = (
        f"The line is the highest risk in each {format_duration(width)} bucket; dots mark "
        "buckets with an alarm" if coarse else "Dots mark alarms"
    )
    body = h.cards(items) + note + "<div style='height:16px'></div>" + h.figure(
        plots.risk_panels(view, shown, palette, width if coarse else None), "risk over time",
        f"<b>Risk over time per {h.esc(entity)}</b>{more}. {line} "
        "(risk at or above the dashed threshold); shaded: " + shaded + ".",
    )
    last = view.risk["timestamp"].max()
    if last - view.risk["timestamp"].min() > ZOOM_AFTER:
        cut = last - ZOOM
        recent = replace(
            view,
            risk=view.risk[view.risk["timestamp"] > cut],
            spans=view.spans[view.spans["end"] > cut],
        )
        body += f"<h3>The last {format_duration(ZOOM)}</h3>" + h.figure(
            plots.risk_panels(recent, shown, palette, None), "risk over the last day",
            f"<b>The last {format_duration(ZOOM)} up close</b>: every decision time, so that "
            "each alarm can be read against the shaded incidents.",
        )
    return h.section(
        "risk", "Risk and alarms",
        "The model's risk that errors follow within the horizon, next to what happened.", body,
    )


def write_report(events: pd.DataFrame, path: str | Path, **options) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path.

    ``options`` are the keyword arguments of :func:`build_report`.
    """
    out = Path(path)
    page = build_report(events, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
