"""The report's figures, drawn with matplotlib's Agg canvas into inline PNGs.

Imported only when a report is built, so that importing errpredict does not
import matplotlib. Figures are ``matplotlib.figure.Figure`` objects, never
pyplot, so drawing changes no global state and is safe in a server thread.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, PowerNorm
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from errpredict.analysis._common import format_duration
from errpredict.analysis._risk import RiskView
from errpredict.analysis._style import ALARM, GRID, INCIDENT, INK, LEVEL, MUTED, RC
from errpredict.analysis._trends import Trends

__all__ = ["coarse_risk", "error_heatmap", "error_type_bars", "rate_panels", "risk_panels"]

WIDTH = 10.4  # inches; drawn at DPI and shown at the page's content width
DPI = 150
HEAT = LinearSegmentedColormap.from_list(
    "errpredict_heat", ["#f7f8fa", "#fde0c5", "#fb9a6b", "#e0453a", "#8f0d1e"]
)


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _naive(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC timestamps as naive datetime64 for matplotlib's date axis."""
    return pd.DatetimeIndex(ts).tz_convert("UTC").tz_localize(None).to_numpy()


def _date_axis(ax) -> None:
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        ConciseDateFormatter(
            locator,
            formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%b", "%b %d", "%H:%M", "%H:%M"],
            show_offset=False,
        )
    )


def _grid(n: int, row_height: float) -> tuple[Figure, np.ndarray, int]:
    """Small multiples in two columns, laid out by hand (constrained layout doubles the cost).

    Margins are in inches: room for y tick labels on the left, the legend on
    top, date labels at the bottom and each panel's title between rows.
    """
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    top, bottom, left, right, row_gap, col_gap = 0.3, 0.32, 0.55, 0.3, 0.4, 0.55
    height = row_height * nrows + top + bottom
    fig = Figure(figsize=(WIDTH, height))
    axes_h = row_height - row_gap
    axes_w = (WIDTH - left - right - (ncols - 1) * col_gap) / ncols
    fig.subplots_adjust(
        left=left / WIDTH, right=1 - right / WIDTH, top=1 - (top + row_gap) / height,
        bottom=bottom / height, hspace=row_gap / axes_h, wspace=col_gap / axes_w,
    )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    if n < len(axes):  # the last row is short: its neighbour above shows the dates
        axes[n - ncols].xaxis.set_tick_params(labelbottom=True)
    return fig, axes, ncols


def _legend(fig: Figure, handles: list) -> None:
    width, height = fig.get_size_inches()
    fig.legend(handles=handles, loc="upper right", ncols=len(handles),
               bbox_to_anchor=(1 - 0.1 / width, 1 - 0.02 / height), borderaxespad=0.0)


def _pct(top: float) -> PercentFormatter:
    return PercentFormatter(xmax=1.0, decimals=0 if top >= 0.05 else 1 if top >= 0.005 else 2)


def rate_panels(tr: Trends, entities: list[str], palette: dict[str, str]) -> str:
    """Small multiples: rate per bucket, segment levels, change points."""
    with mpl.rc_context(RC):
        fig, axes, _ = _grid(len(entities), 1.75)
        rates = tr.rates
        cps = tr.change_points
        column = "rate" if tr.basis == "rate" else "errors"
        for ax, name in zip(axes, entities, strict=False):
            mine = rates[rates["entity"] == name]
            x = _naive(mine["timestamp"])
            y = mine[column].to_numpy(dtype="float64")
            color = palette[name]
            ax.fill_between(x, np.nan_to_num(y), step="post", color=color, alpha=0.18, lw=0)
            ax.step(x, y, where="post", color=color, lw=0.9)
            level = mine["level"].to_numpy(dtype="float64")
            if tr.basis == "rate":  # no level where nothing happened (sparse histories)
                level = np.where(mine["events"].to_numpy() > 0, level, np.nan)
            ax.step(x, level, where="post", color=LEVEL, lw=1.5)
            top = float(np.nanmax(y)) if np.isfinite(y).any() else 0.0
            ax.set_ylim(0, max(top * 1.12, 0.01 if tr.basis == "rate" else 1.0))
            marks = _naive(cps.loc[cps["entity"] == name, "timestamp"])
            ax.plot(marks, np.ones(len(marks)), ls="none", marker="v", ms=4.5, color=INK,
                    transform=ax.get_xaxis_transform(), clip_on=False)
            if tr.basis == "rate":
                ax.yaxis.set_major_locator(MaxNLocator(4))
                ax.yaxis.set_major_formatter(_pct(top))
            else:
                ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.set_title(name, color=INK, pad=9)
            ax.set_xlim(x[0], x[-1] + (x[1] - x[0] if len(x) > 1 else np.timedelta64(1, "m")))
            _date_axis(ax)
        handles = [
            Patch(facecolor="#9aa5b1", alpha=0.5, label="error rate per bucket"
                  if tr.basis == "rate" else "errors per bucket"),
            Line2D([], [], color=LEVEL, lw=1.5, label="level between change points"),
            Line2D([], [], color=INK, lw=0, marker="v", ms=4.5, label="change point"),
        ]
        _legend(fig, handles)
        return _png(fig)


def error_heatmap(tr: Trends, entities: list[str]) -> str:
    """Errors per entity and bucket, one row per entity."""
    with mpl.rc_context(RC):
        grid = tr.rates["timestamp"].iloc[: len(tr.rates) // max(tr.rates["entity"].nunique(), 1)]
        by = tr.rates.set_index(["entity", "timestamp"])["errors"]
        matrix = np.vstack([by.loc[name].to_numpy(dtype="float64") for name in entities])
        x0 = date2num(_naive(grid)[0])
        x1 = date2num(_naive(grid)[-1] + np.timedelta64(tr.freq.value, "ns"))
        fig = Figure(figsize=(WIDTH, 0.36 * len(entities) + 1.1), layout="constrained")
        ax = fig.subplots()
        top = max(float(matrix.max()), 1.0)
        im = ax.imshow(
            matrix, aspect="auto", interpolation="nearest", cmap=HEAT,
            norm=PowerNorm(0.5, vmin=0, vmax=top), extent=(x0, x1, len(entities) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(entities)), labels=entities)
        ax.tick_params(axis="y", length=0)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.xaxis_date()
        _date_axis(ax)
        bar = fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
        bar.set_label(f"errors per {format_duration(tr.freq)}", color=MUTED)
        bar.outline.set_visible(False)
        bar.locator = MaxNLocator(4, integer=True)
        bar.update_ticks()
        return _png(fig)


def error_type_bars(
    events: pd.DataFrame, entity: str, entities: list[str], palette: dict[str, str], top: int = 12
) -> str:
    """Horizontal bars of the most frequent error types, split by entity."""
    errors = events.loc[events["is_error"].to_numpy(dtype=bool), ["error_type", entity]]
    errors = errors[errors["error_type"].notna()]
    shown = set(entities)
    owner = errors[entity].astype("str").where(errors[entity].astype("str").isin(shown), "other")
    table = pd.crosstab(errors["error_type"].astype("str"), owner)
    table = table.loc[table.sum(axis=1).sort_values(ascending=False, kind="stable").index[:top]]
    order = [e for e in entities if e in table.columns] + (
        ["other"] if "other" in table.columns else []
    )
    table = table[order].iloc[::-1]
    with mpl.rc_context(RC):
        fig = Figure(figsize=(WIDTH, 0.34 * len(table) + 1.2), layout="constrained")
        ax = fig.subplots()
        ax.set_axisbelow(True)
        left = np.zeros(len(table))
        for name in order:
            values = table[name].to_numpy(dtype="float64")
            ax.barh(np.arange(len(table)), values, left=left, height=0.68,
                    color=palette.get(name, "#c3cbd5"), label=name, edgecolor="white", lw=0.4)
            left += values
        for i, total in enumerate(left):
            ax.text(total, i, f"  {int(total):,}", va="center", ha="left", fontsize=8, color=INK)
        ax.set_yticks(np.arange(len(table)), labels=table.index)
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color=GRID)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, left.max() * 1.1 if len(left) else 1)
        ax.set_xlabel("errors")
        ax.legend(loc="lower right", ncols=min(len(order), 5), title=entity, title_fontsize=8.5)
        return _png(fig)


def coarse_risk(risk: pd.DataFrame, freq: pd.Timedelta) -> pd.DataFrame:
    """Highest risk per entity and ``freq`` bucket, with whether any alarm fired in it."""
    bucket = pd.DatetimeIndex(risk["timestamp"]).floor(freq)
    out = (
        pd.DataFrame({"entity": risk["entity"].to_numpy(), "timestamp": bucket,
                      "risk": risk["risk"].to_numpy(), "alarm": risk["alarm"].to_numpy()})
        .groupby(["entity", "timestamp"], sort=True)
        .agg(risk=("risk", "max"), alarm=("alarm", "any"))
        .reset_index()
    )
    return out


def risk_panels(
    view: RiskView, entities: list[str], palette: dict[str, str], freq: pd.Timedelta | None = None
) -> str:
    """Small multiples: risk over time, threshold, alarms and shaded incidents.

    With ``freq``, each line shows the highest risk per ``freq`` bucket.
    """
    with mpl.rc_context(RC):
        fig, axes, _ = _grid(len(entities), 1.6)
        risk, spans = view.risk, view.spans
        if freq is not None:
            risk = coarse_risk(risk, freq)
        span = risk["timestamp"].max() - risk["timestamp"].min()
        least = span / pd.Timedelta(days=1) / 400  # in days, matplotlib's date unit
        for ax, name in zip(axes, entities, strict=False):
            mine = risk[risk["entity"] == name]
            x = _naive(mine["timestamp"])
            mine_spans = spans[spans["entity"] == name]
            if len(mine_spans):
                s = date2num(_naive(mine_spans["start"]))
                e = date2num(_naive(mine_spans["end"]))
                bars = list(zip(s, np.maximum(e - s, least), strict=True))  # visible when short
                band = ax.get_xaxis_transform()
                ax.broken_barh(bars, (0, 1), transform=band, color=INCIDENT, alpha=0.3, lw=0)
                ax.broken_barh(bars, (0, 0.07), transform=band, color=INCIDENT, lw=0)
            ax.plot(x, mine["risk"].to_numpy(), color=palette.get(name, INK), lw=1.0)
            if view.threshold is not None:
                ax.axhline(view.threshold, color=MUTED, lw=0.9, ls=(0, (4, 2)))
            alarm = mine["alarm"].to_numpy()
            ax.scatter(x[alarm], mine["risk"].to_numpy()[alarm], s=9, color=ALARM, zorder=3,
                       lw=0)
            ax.set_ylim(0, 1.02)
            ax.yaxis.set_major_locator(MaxNLocator(3))
            ax.set_title(name, color=INK)
            if len(x) and x[-1] > x[0]:
                ax.set_xlim(x[0], x[-1])
            _date_axis(ax)
        label = "incident" if view.source == "incidents" else (
            f"≥ {view.min_errors} error(s) within the next {format_duration(view.horizon)}"
        )
        handles = [
            Line2D([], [], color="#7b8794", lw=1.0, label="risk"),
            Line2D([], [], color=ALARM, lw=0, marker="o", ms=4, label="alarm"),
            Patch(facecolor=INCIDENT, alpha=0.6, label=label),
        ]
        if view.threshold is not None:
            handles.insert(1, Line2D([], [], color=MUTED, lw=0.9, ls=(0, (4, 2)),
                                     label=f"threshold {view.threshold:.2f}"))
        _legend(fig, handles)
        return _png(fig)
