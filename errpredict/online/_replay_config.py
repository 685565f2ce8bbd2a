"""ReplayConfig: how the learning loop of :func:`errpredict.online.replay` is put together."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from errpredict.exceptions import ConfigError
from errpredict.features import to_ns
from errpredict.updater import UpdaterConfig

__all__ = ["ONLINE_FEATURES", "OUTPUTS", "ReplayConfig", "STREAMS", "steps_per_batch"]

#: Streams the replay's ADWIN detectors watch: the serving batch model's log loss and the
#: online learner's log loss, per step, on the labels that matured. New error types are
#: watched besides (:class:`NewErrorTypes`).
STREAMS = ("batch_error", "online_loss")

OUTPUTS = ("online", "blend", "batch", "auto")
#: Features the online learner sees by default (shell-style patterns).
ONLINE_FEATURES = ("errors_*", "warnings_*", "error_rate_*", "error_trend_*", "warning_trend_*",
                   "latency_ratio_*", "time_since_*", "*_delta_*", "*_mean_5m")


@dataclass(frozen=True)
class ReplayConfig:
    """How the loop is put together (the arguments of :func:`replay` say what runs).

    Parameters
    ----------
    online_model
        :class:`OnlineLearner` model (``"logreg"``, ``"arf"``, ``"hoeffding"``).
    online_learning_rate
        SGD step of the online logistic regression: small, because it learns
        from every entity at every step, a long and noisy stream.
    online_features
        Shell-style patterns (:mod:`fnmatch`) of the features the online
        learner sees besides the batch risk; ``None``: every feature. The
        default keeps the error, warning, latency-trend and metric-change
        signals, about half of the features, which halves the learner's cost.
    output
        The loop's risk: ``"blend"``, the mean of the online learner's risk
        (stacked on the serving batch model's) and the batch model's;
        ``"online"``, the online learner's alone; ``"batch"``, the serving
        batch model's; ``"auto"``, per step whichever of the two had the lower
        log loss on the labels that matured recently. Until the online
        learner has learned ``warmup`` labels, the batch model's risk is used.
    warmup
        Labels the online learner learns before its risk is used.
    memory
        Matured cells over which ``"auto"`` averages the losses (an
        exponential average of about this many cells).
    drift_detector, drift_delta
        :class:`DriftMonitor` detector and ADWIN confidence.
    type_warmup
        Error types seen in the stream before the end of the first model's
        training data, or within this warm-up, count as known to it; an error
        type the serving model never saw that reaches the target's
        ``min_errors`` within one horizon is a drift (:class:`NewErrorTypes`):
        a new failure mode often comes with a new error type.
    updater
        :class:`~errpredict.updater.UpdaterConfig` of the challengers.
    feedback_every
        Stream time between feedback commits.
    registry_name
        Registered model name when tracking is on.
    seed
        Seed of the online learner.
    """

    online_model: str = "logreg"
    online_learning_rate: float = 0.001
    online_features: tuple[str, ...] | None = ONLINE_FEATURES
    output: str = "blend"
    warmup: int = 2000
    memory: int = 3000
    drift_detector: str = "adwin"
    drift_delta: float = 1e-4
    type_warmup: str = "12h"
    updater: UpdaterConfig = field(default_factory=UpdaterConfig)
    feedback_every: str = "1h"
    registry_name: str = "errpredict"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ConfigError(f"The 'output' parameter of ReplayConfig must be one of "
                              f"{OUTPUTS}. Got {self.output!r} instead.")
        to_ns(self.feedback_every, name="feedback_every")
        to_ns(self.type_warmup, name="type_warmup")


def steps_per_batch(micro_batch: Any, step_ns: int) -> int:
    """Grid steps per micro-batch from ``"N steps"``, an int, or a duration of whole steps."""
    if isinstance(micro_batch, int) and not isinstance(micro_batch, bool) and micro_batch >= 1:
        return micro_batch
    m = re.fullmatch(r"\s*(\d+)\s*steps?\s*", str(micro_batch))
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    try:
        ns = to_ns(str(micro_batch), name="micro_batch")
    except ConfigError:
        ns = 0
    if ns <= 0 or ns % step_ns:
        raise ConfigError(
            f"The 'micro_batch' parameter of replay must be 'N steps' or a duration that is a "
            f"whole number of steps ({step_ns / 1e9:g} s). Got {micro_batch!r} instead."
        )
    return ns // step_ns
