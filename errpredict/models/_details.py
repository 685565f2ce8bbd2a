"""What training saw on its validation cells, kept beside a freshly trained model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ValidationDetails", "balanced_rows"]


def balanced_rows(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of up to ``n`` rows of ``y``, half of them positives when possible."""
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y != 1)
    k_pos = min(len(pos), n // 2)
    k_neg = min(len(neg), n - k_pos)
    return np.sort(np.concatenate([rng.choice(pos, k_pos, replace=False),
                                   rng.choice(neg, k_neg, replace=False)]))


@dataclass
class ValidationDetails:
    """The validation part of a training run, in memory only (a bundle does not keep it).

    ``scores`` is every validation figure with the lead time of each detected
    episode (``lead_times_s``, also under ``baseline``); ``X``, ``y`` and
    ``risk`` are the features, labels and validation risks of a sample of the
    validation cells (half positives when possible), enough for permutation
    importance without featurizing the history again.
    """

    scores: dict
    X: np.ndarray
    y: np.ndarray
    risk: np.ndarray

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Up to ``n`` of the kept cells, drawn as the kept ones were."""
        pick = balanced_rows(self.y, n, seed) if n < len(self.y) else np.arange(len(self.y))
        return self.X[pick], self.y[pick], self.risk[pick]
