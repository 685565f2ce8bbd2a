"""The replay's feedback log: predictions and implicit labels, committed in batches."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from errpredict.exceptions import FeedbackError
from errpredict.features import Target
from errpredict.feedback import FeedbackProcessor

__all__ = ["LOOP_VERSION", "FeedbackLog", "prediction_id"]

#: Model version under which the loop's own risk is recorded.
LOOP_VERSION = "loop"


def prediction_id(version: str, entity: str, t_ns: int) -> str:
    """Deterministic id of a replayed prediction, so that a restarted replay stores it once."""
    key = f"errpredict-replay\x1f{version}\x1f{entity}\x1f{t_ns}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class FeedbackLog:
    """Buffer the loop's predictions and commit them, then their matured labels, in batches.

    Two predictions are recorded per (entity, step): the serving batch
    model's risk under its version, and the loop's risk under
    :data:`LOOP_VERSION`. Ids are deterministic and outcomes use the
    store's default ids, so replaying the same history again (after a crash)
    stores nothing twice. :meth:`flush` commits the buffered predictions and
    then labels, from the events of the stream, every stored prediction whose
    horizon has passed.
    """

    def __init__(self, path: str | Path, *, target: Target, entity: str, start_ns: int) -> None:
        self.fp = FeedbackProcessor(path)
        self.target = target
        self.entity = entity
        self.acknowledged = 0
        self.labelled = 0
        self._rows: dict[str, list] = {}
        self._check_foreign(start_ns)

    def _check_foreign(self, start_ns: int) -> None:
        counts = self.fp.counts()
        if counts["by_kind"].get("risk", 0) <= counts["labelled"]:
            return
        pred = self.fp.predictions(kind="risk")
        stale = pred[pred["label"].isna() & (pred["timestamp"].array.asi8 < start_ns)]
        if len(stale):
            self.fp.close()
            raise FeedbackError(
                f"feedback store {self.fp.path!r} holds {len(stale)} unlabelled predictions "
                f"from before the start of this history ({stale['timestamp'].iloc[0]}); the "
                "replay cannot label them from these events: give a new --feedback file, or "
                "the history those predictions came from"
            )

    def add(self, version: str, entities: np.ndarray, t_ns: np.ndarray, risk: np.ndarray
            ) -> None:
        """Buffer rows (one per entity and time) recorded under ``version``."""
        rows = self._rows.setdefault(version, [])
        rows.extend(zip(entities.tolist(), t_ns.tolist(), risk.tolist(), strict=True))

    def flush(self, events: pd.DataFrame, now_ns: int) -> int:
        """Commit the buffered predictions, then label the matured ones; how many committed.

        ``events`` must hold every event after the decision times of the
        predictions that matured since the last flush.
        """
        committed = 0
        for version, rows in self._rows.items():
            if not rows:
                continue
            ent, ts, risk = zip(*rows, strict=True)
            frame = pd.DataFrame({
                "entity": list(ent),
                "timestamp": pd.to_datetime(np.asarray(ts, dtype=np.int64), unit="ns", utc=True),
                "risk": np.clip(np.asarray(risk, dtype=np.float64), 0.0, 1.0),
                "prediction_id": [prediction_id(version, e, t) for e, t in zip(ent, ts,
                                                                                strict=True)],
            })
            self.fp.record_predictions(frame, model_version=version)
            committed += len(rows)
        self._rows = {}
        self.acknowledged += committed
        if len(events):
            t = self.target
            self.labelled += self.fp.label_matured(
                events, horizon=t.horizon, min_errors=int(t.min_errors), entity=self.entity,
                now=pd.Timestamp(now_ns, unit="ns", tz="UTC"),
                error_types=list(t.error_types) if t.error_types else None,
                min_severity=t.min_severity)
        return committed

    def close(self) -> None:
        self.fp.close()
