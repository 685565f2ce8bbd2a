"""One small trained model, logged once to a real MLflow SQLite store in a temporary
directory, shared by the tracking tests (training and logging are the slow part)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from threadpoolctl import threadpool_limits

from errpredict.datasets._generator import generate_history
from errpredict.io import write_events
from errpredict.models import train
from errpredict.tracking import log_training_run


@pytest.fixture(scope="session")
def tracked(tmp_path_factory) -> SimpleNamespace:
    """A model trained on 2 days of 3 services, saved, logged and registered as svc-risk/1."""
    root = Path(tmp_path_factory.mktemp("tracking"))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    hist = generate_history(days=2, services=3, seed=0)
    path = root / "history.parquet"
    write_events(hist.events, path)
    with threadpool_limits(limits=1):
        model = train(hist.events, source=str(path))
    bundle = model.save(root / "bundle")
    info = log_training_run(model, bundle_dir=bundle, events=hist.events, events_path=path,
                            register="svc-risk", uri=uri)
    return SimpleNamespace(root=root, uri=uri, events=hist.events, path=path, model=model,
                           bundle=bundle, info=info)


@pytest.fixture(scope="session")
def mlflow_client(tracked):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracked.uri, registry_uri=tracked.uri)
