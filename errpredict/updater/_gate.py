"""The champion/challenger gate: figures on a held-out period and the promotion rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from errpredict.exceptions import ConfigError
from errpredict.feedback import live_figures
from errpredict.models import RiskModel

__all__ = ["GateRule", "holdout_figures", "judge"]

_FIGURES = ("n", "positives", "alarms", "precision", "recall", "f1", "pr_auc", "brier", "ece")


@dataclass(frozen=True)
class GateRule:
    """When a challenger replaces the champion.

    The challenger must reach a PR-AUC at least ``margin`` above the
    champion's on the held-out period, and be no worse calibrated: its
    ``calibration`` figure (``"brier"`` or ``"ece"``, lower is better) at most
    ``tolerance`` above the champion's. With fewer than ``min_positives``
    positive cells in the held-out period nothing is promoted: the figures
    would be noise.
    """

    margin: float = 0.02
    calibration: str = "brier"
    tolerance: float = 0.005
    min_positives: int = 10

    def __post_init__(self) -> None:
        if self.calibration not in ("brier", "ece"):
            raise ConfigError("The 'calibration' parameter of GateRule must be 'brier' or 'ece'. "
                              f"Got {self.calibration!r} instead.")
        for name in ("margin", "tolerance"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v):
                raise ConfigError(f"The {name!r} parameter of GateRule must be a float. "
                                  f"Got {v!r} instead.")
        if isinstance(self.min_positives, bool) or not isinstance(self.min_positives, int) \
                or self.min_positives < 1:
            raise ConfigError("The 'min_positives' parameter of GateRule must be an int in "
                              f"[1, inf). Got {self.min_positives!r} instead.")


def holdout_figures(model: RiskModel, events: pd.DataFrame, start_ns: int, end_ns: int
                    ) -> dict[str, Any]:
    """Figures of ``model`` on the labelled cells with decision time in ``[start, end]``.

    ``events`` must hold the look-back before ``start`` and every event up to
    the end of the labels' horizon; a cell whose horizon runs past the last
    event has no label and is left out.
    """
    grid, X = model.featurizer.transform_arrays(events)
    risk = model.classifier.predict_risk_array(X)
    y = model.target.label_array(events, grid)
    t = np.repeat(grid.times_ns, len(grid.entities))
    sel = (t >= start_ns) & (t <= end_ns) & ~np.isnan(y)
    figures = live_figures(risk[sel], y[sel] == 1, threshold=model.threshold)
    return {k: figures[k] for k in _FIGURES}


def judge(champion: dict[str, Any], challenger: dict[str, Any], rule: GateRule
          ) -> tuple[bool, str]:
    """Apply ``rule``; ``(promote, why)`` with the figures that decided."""
    pos = champion["positives"]
    if pos < rule.min_positives:
        return False, (f"held-out period has {pos} positive cells, fewer than "
                       f"min_positives={rule.min_positives}")
    a, b = champion["pr_auc"], challenger["pr_auc"]
    if a is None or b is None:
        return False, "PR-AUC undefined on the held-out period (a single class)"
    cal = rule.calibration
    ca, cb = champion[cal], challenger[cal]
    gain = b - a
    if gain < rule.margin:
        return False, (f"PR-AUC {b:.4f} vs champion {a:.4f}: gain {gain:+.4f} below the margin "
                       f"{rule.margin:g}")
    if cb > ca + rule.tolerance:
        return False, (f"PR-AUC {b:.4f} vs {a:.4f} (gain {gain:+.4f}) but {cal} {cb:.4f} is worse "
                       f"than the champion's {ca:.4f} by more than {rule.tolerance:g}")
    return True, (f"PR-AUC {b:.4f} vs champion {a:.4f} (gain {gain:+.4f} >= {rule.margin:g}); "
                  f"{cal} {cb:.4f} vs {ca:.4f} (within {rule.tolerance:g})")
