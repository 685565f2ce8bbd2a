"""Small PNG figures of a training run: PR curve, calibration, lead times, importances.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot,
no global backend change), small and at a low resolution so that a run logs
them in tens of milliseconds.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["pr_curve_png", "calibration_png", "lead_times_png", "importance_png", "prime"]

_SIZE, _DPI = (4.8, 3.6), 80
_MODEL, _BASE = "#1f5fa8", "#c0392b"


def _figure(size: tuple[float, float] = _SIZE, left: float = 0.13) -> tuple[Figure, object]:
    # fixed margins: a layout engine would double the drawing time
    fig = Figure(figsize=size, dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left, right=0.96, bottom=0.6 / size[1], top=1 - 0.35 / size[1])
    return fig, fig.add_subplot()


def _save(fig: Figure, path: str | os.PathLike) -> None:
    fig.savefig(path, dpi=_DPI)


def precision_recall_curve(y: np.ndarray, risk: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds as ``sklearn.metrics.precision_recall_curve`` gives
    them (recall decreasing, thresholds increasing), without loading scikit-learn in the
    tracking worker."""
    order = np.argsort(risk, kind="mergesort")[::-1]
    score, truth = np.asarray(risk)[order], np.asarray(y)[order] == 1
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth)[last].astype(np.float64)
    fps = 1 + last - tps
    precision = np.divide(tps, tps + fps, out=np.zeros_like(tps), where=(tps + fps) > 0)
    recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(tps)
    return (np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], score[last][::-1])


def pr_curve_png(y: np.ndarray, risk: np.ndarray, threshold: float, baseline: dict,
                 path: str | os.PathLike) -> None:
    """Precision-recall curve on the validation part, with the alarm threshold and the
    persistence baseline's operating point."""
    fig, ax = _figure()
    if len(np.unique(y)) == 2:
        prec, rec, thr = precision_recall_curve(y, risk)
        ax.step(rec, prec, where="post", color=_MODEL, lw=1.5, label="model")
        i = min(int(np.searchsorted(thr, threshold)), len(thr) - 1)
        ax.plot(rec[i], prec[i], "o", color=_MODEL, label=f"threshold {threshold:.3f}")
        ax.axhline(float(np.mean(y)), color="grey", lw=0.8, ls=":", label="positive rate")
    if baseline.get("precision") is not None:
        ax.plot(baseline.get("recall", 0.0), baseline["precision"], "s", color=_BASE,
                label="persistence baseline")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
           title="Precision-recall (validation part)")
    ax.legend(loc="lower left", fontsize=7)
    _save(fig, path)


def calibration_png(y: np.ndarray, risk: np.ndarray, path: str | os.PathLike,
                    bins: int = 10) -> None:
    """Observed positive rate against mean predicted risk, in quantile bins of risk."""
    fig, ax = _figure()
    order = np.argsort(risk, kind="stable")
    parts = [p for p in np.array_split(order, min(bins, max(len(order), 1))) if len(p)]
    mean_p = np.array([risk[p].mean() for p in parts])
    frac = np.array([y[p].mean() for p in parts])
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="perfect")
    ax.plot(mean_p, frac, "o-", color=_MODEL, ms=4, label="model")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted risk",
           ylabel="observed positive rate", title="Calibration (validation part)")
    ax.legend(loc="upper left", fontsize=7)
    _save(fig, path)


def lead_times_png(model_s: list[float], baseline_s: list[float], episodes: int,
                   path: str | os.PathLike) -> None:
    """Histogram of lead times in minutes (first alarm before the episode's first error;
    negative when late), model beside the persistence baseline."""
    fig, ax = _figure()
    m = np.asarray(model_s, dtype=float) / 60.0
    b = np.asarray(baseline_s, dtype=float) / 60.0
    both = np.concatenate([m, b])
    if both.size:
        lo, hi = float(np.floor(both.min())), float(np.ceil(both.max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 21)
        # stairs: one artist per series (bars would be one patch per bin, ten times slower)
        ax.stairs(np.histogram(b, edges)[0], edges, fill=True, color=_BASE, alpha=0.45,
                  label=f"persistence ({len(b)}/{episodes} detected)")
        ax.stairs(np.histogram(m, edges)[0], edges, fill=True, color=_MODEL, alpha=0.65,
                  label=f"model ({len(m)}/{episodes} detected)")
        ax.set_ylim(bottom=0)
    else:
        ax.text(0.5, 0.5, "no episode detected", ha="center", va="center",
                transform=ax.transAxes)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="lead time (minutes; > 0 = alarm before the first error)",
           ylabel="episodes", title="Lead time per episode (validation part)")
    ax.legend(loc="upper right", fontsize=7)
    _save(fig, path)


def importance_png(importances: pd.DataFrame, path: str | os.PathLike, top: int = 15) -> None:
    """Horizontal bars of the ``top`` permutation importances (drop in PR-AUC)."""
    fig, ax = _figure((_SIZE[0] + 1.2, 1.2 + 0.2 * top), left=0.36)
    head = importances.head(top).iloc[::-1]
    pos = np.arange(len(head))
    # one line collection instead of a patch per bar
    ax.hlines(pos, 0, head["importance"].to_numpy(), color=_MODEL, lw=9)
    ax.set_yticks(pos, head["feature"].tolist())
    ax.set_ylim(-0.7, len(head) - 0.3)
    ax.axvline(0, color="black", lw=0.6)
    ax.tick_params(axis="y", labelsize=7)
    ax.set(xlabel="drop in PR-AUC when shuffled", title="Permutation importance (validation)")
    _save(fig, path)


def prime() -> None:
    """Draw a small figure once (fonts, text layout and PNG writer load on first use)."""
    import io

    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], label="x")
    ax.set(xlabel="x", ylabel="y", title="t")
    ax.legend(fontsize=7)
    fig.savefig(io.BytesIO(), format="png", dpi=_DPI)
