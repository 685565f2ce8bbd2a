"""errpredict: predict software errors before they happen.

Turn the error history that services already emit into per-entity risk of
errors in the next horizon, and into recovery advice.

>>> from errpredict import load_model, train  # doctest: +SKIP
"""

from __future__ import annotations

from errpredict._version import __version__
from errpredict.models import RiskModel, load_model, train


def evaluate(model: RiskModel | str, events) -> dict:
    """Evaluate a model (or a bundle path) on events: every figure, and ``baseline``'s."""
    if not isinstance(model, RiskModel):
        model = load_model(model)
    return model.evaluate(events)


__all__ = ["RiskModel", "__version__", "evaluate", "load_model", "train"]
