"""errpredict: predict software errors before they happen.

Turn the error history that services already emit into per-entity risk of
errors in the next horizon, and into recovery advice.

>>> from errpredict import load_model, train  # doctest: +SKIP
"""

from __future__ import annotations

import os

# OpenMP threads (scikit-learn's boosting) that spin while they wait turn a busy machine's
# two cores into minutes of contention; sleeping waiters cost little on an idle one. Set
# before scikit-learn loads its OpenMP runtime; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from errpredict._lazy import lazy_attributes  # noqa: E402
from errpredict._version import __version__  # noqa: E402

# the models (scikit-learn, pandas) load on first use: a command that starts a tracking
# worker forks it while the process is still small
__getattr__, __dir__ = lazy_attributes(__name__, {"RiskModel": "models", "load_model": "models",
                                                 "train": "models"})


def evaluate(model, events) -> dict:
    """Evaluate a model (or a bundle path) on events: every figure, and ``baseline``'s."""
    from errpredict.models import RiskModel, load_model

    if not isinstance(model, RiskModel):
        model = load_model(model)
    return model.evaluate(events)


__all__ = ["RiskModel", "__version__", "evaluate", "load_model", "train"]
