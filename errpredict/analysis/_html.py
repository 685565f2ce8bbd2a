"""Small HTML builders for the report: formatting, cards, figures and tables."""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

__all__ = [
    "cards",
    "change_table",
    "esc",
    "figure",
    "fmt_int",
    "fmt_rate",
    "fmt_span",
    "fmt_time",
    "hotspot_tables",
    "section",
    "trend_table",
]


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def fmt_int(value: float) -> str:
    return f"{int(value):,}"


def fmt_rate(value: float) -> str:
    """A rate as a percentage with as many digits as it needs."""
    if value is None or not np.isfinite(value):
        return "&ndash;"
    pct = 100.0 * value
    if pct == 0:
        return "0%"
    digits = 1 if round(pct, 2) >= 1 else 2 if round(pct, 3) >= 0.1 else 3
    return f"{pct:.{digits}f}%"


def fmt_num(value: float, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "&ndash;"
    return f"{value:,.{digits}f}"


def fmt_time(ts: pd.Timestamp) -> str:
    if ts is None or pd.isna(ts):
        return "&ndash;"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


def fmt_span(delta: pd.Timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def section(ident: str, title: str, lede: str, body: str) -> str:
    lede_html = f'<p class="lede">{lede}</p>' if lede else ""
    return f'<section id="{ident}"><h2>{esc(title)}</h2>{lede_html}{body}</section>\n'


def cards(items: list[tuple[str, str, str]]) -> str:
    out = ['<div class="cards">']
    for key, value, sub in items:
        out.append(
            f'<div class="card"><div class="k">{esc(key)}</div><div class="v">{value}</div>'
            f'<div class="s">{sub}</div></div>'
        )
    out.append("</div>")
    return "".join(out)


def figure(uri: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{uri}" alt="{esc(alt)}"><figcaption>{caption}</figcaption></figure>'
    )


def _swatch(color: str | None) -> str:
    return f'<span class="swatch" style="background:{color}"></span>' if color else ""


def _lift(value: float) -> str:
    if not np.isfinite(value):
        return '<span class="muted">&ndash;</span>'
    kind = "hi" if value >= 2 else "mid" if value >= 1.25 else "lo"
    return f'<span class="pill {kind}">{value:.2f}&times;</span>'


def _bar(share: float, top: float, color: str) -> str:
    """A bar as long as ``share`` relative to the largest share ``top`` in the table."""
    if not np.isfinite(share):
        return "&ndash;"
    width = max(2.0, 90.0 * share / top) if share > 0 and top > 0 else 0.0
    return f'<span class="bar" style="width:{width:.0f}px;background:{color}"></span>' + fmt_rate(
        share
    )


def hotspot_tables(hot: pd.DataFrame, palette: dict[str, str], entity: str) -> str:
    """One table per dimension, in the frame's order."""
    out = []
    for dim, rows in hot.groupby("dimension", sort=False):
        traffic = bool(rows["has_traffic"].iloc[0])
        out.append(f"<h3>{esc(dim)}</h3>")
        if not traffic:
            out.append(
                f'<p class="lede">{esc(dim)} is only set on errors, so its traffic is unknown: '
                "no lift or rate.</p>"
            )
        top = float(np.nanmax(rows["error_share"].to_numpy())) if len(rows) else 0.0
        out.append(
            "<table class='fixed'><colgroup><col style='width:3.5%'><col style='width:26%'>"
            "<col style='width:8%'><col style='width:15%'><col style='width:9%'>"
            "<col style='width:8%'><col style='width:8%'><col style='width:14.5%'>"
            "<col style='width:8%'></colgroup>"
            "<thead><tr><th class='num'>#</th><th>value</th><th class='num'>errors</th>"
            "<th>share of errors</th><th class='num'>share of events</th>"
            "<th class='num'>lift</th><th class='num'>error rate</th>"
            "<th>hottest bucket</th><th class='num'>errors then</th></tr></thead><tbody>"
        )
        for r in rows.itertuples(index=False):
            color = palette.get(r.value) if dim == entity else None
            out.append(
                f"<tr><td class='num muted'>{r.rank}</td>"
                f"<td class='name'>{_swatch(color)}{esc(r.value)}</td>"
                f"<td class='num'>{fmt_int(r.errors)}</td>"
                f"<td class='barcell'>{_bar(r.error_share, top, '#e0453a')}</td>"
                f"<td class='num'>{fmt_rate(r.traffic_share)}</td>"
                f"<td class='num'>{_lift(r.lift)}</td>"
                f"<td class='num'>{fmt_rate(r.error_rate)}</td>"
                f"<td class='when'>{fmt_time(r.peak_start)}</td>"
                f"<td class='num'>{fmt_int(r.peak_errors)}</td></tr>"
            )
        out.append("</tbody></table>")
    return "".join(out)


def _trend_cell(value: float) -> str:
    if not np.isfinite(value):
        return '<span class="flat">&ndash;</span>'
    if value >= 1.2:
        return f'<span class="up">&#9650; {value:.2f}&times;</span>'
    if value <= 1 / 1.2:
        return f'<span class="down">&#9660; {value:.2f}&times;</span>'
    return f'<span class="flat">&#9654; {value:.2f}&times;</span>'


def trend_table(
    summary: pd.DataFrame, basis: str, palette: dict[str, str], short: str, long: str
) -> str:
    fmt = fmt_rate if basis == "rate" else (lambda v: fmt_num(v, 2))
    unit = "rate" if basis == "rate" else "errors / bucket"
    out = [
        "<table><thead><tr><th>entity</th><th class='num'>events</th>"
        "<th class='num'>errors</th><th class='num'>error rate</th>"
        f"<th class='num'>last {esc(short)} ({unit})</th>"
        f"<th class='num'>last {esc(long)} ({unit})</th><th class='num'>trend</th>"
        "<th class='num'>change points</th><th>last change</th></tr></thead><tbody>"
    ]
    for r in summary.itertuples(index=False):
        out.append(
            f"<tr><td class='name nowrap'>{_swatch(palette.get(r.entity))}{esc(r.entity)}</td>"
            f"<td class='num'>{fmt_int(r.events)}</td><td class='num'>{fmt_int(r.errors)}</td>"
            f"<td class='num'>{fmt_rate(r.error_rate)}</td>"
            f"<td class='num'>{fmt(r.short_mean)}</td><td class='num'>{fmt(r.long_mean)}</td>"
            f"<td class='num'>{_trend_cell(r.trend)}</td>"
            f"<td class='num'>{r.change_points}</td>"
            f"<td class='when'>{fmt_time(r.last_change)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def change_table(cps: pd.DataFrame, basis: str, palette: dict[str, str], limit: int = 20) -> str:
    if len(cps) == 0:
        return '<p class="lede">No change points: every rate held steady at this resolution.</p>'
    fmt = fmt_rate if basis == "rate" else (lambda v: fmt_num(v, 2))
    recent = cps.sort_values("timestamp", ascending=False, kind="stable").head(limit)
    out = [
        "<table><thead><tr><th>when (UTC)</th><th>entity</th><th class='num'>before</th>"
        "<th class='num'>after</th><th class='num'>change</th></tr></thead><tbody>"
    ]
    for r in recent.itertuples(index=False):
        ratio = r.after / r.before if r.before > 0 else math.inf
        if math.isinf(ratio):
            cell = '<span class="up">&#9650; from 0</span>'
        elif ratio == 0:
            cell = '<span class="down">&#9660; to 0</span>'
        else:
            cell = _trend_cell(ratio)
        out.append(
            f"<tr><td class='when'>{fmt_time(r.timestamp)}</td>"
            f"<td class='name'>{_swatch(palette.get(r.entity))}{esc(r.entity)}</td>"
            f"<td class='num'>{fmt(r.before)}</td><td class='num'>{fmt(r.after)}</td>"
            f"<td class='num'>{cell}</td></tr>"
        )
    out.append("</tbody></table>")
    if len(cps) > limit:
        out.append(f'<p class="lede">The {limit} most recent of {len(cps)} change points.</p>')
    return "".join(out)
