"""The MLflow client of a tracking URI, and experiments with their artifacts beside the database."""

from __future__ import annotations

import re

from errpredict.exceptions import ConfigError
from errpredict.tracking._env import import_mlflow, local_db_path

__all__ = ["client", "experiment_id"]

def client(uri: str):
    """An ``MlflowClient`` for ``uri`` (tracking and registry on the same store)."""
    import_mlflow()
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "experiment"


def experiment_id(uri: str, name: str) -> str:
    """Id of the experiment ``name``, created when missing.

    On a local SQLite store the experiment keeps its artifacts in
    ``mlruns/<name>`` next to the database file, whatever the working
    directory, so that the database and its artifacts move together.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"The experiment name must be a non-empty string. Got {name!r} instead.")
    mlflow = import_mlflow()
    c = client(uri)
    exp = c.get_experiment_by_name(name)
    if exp is None:
        db = local_db_path(uri)
        location = None
        if db is not None:
            location = (db.resolve().parent / "mlruns" / _slug(name)).as_uri()
        try:
            eid = c.create_experiment(name, artifact_location=location)
        except mlflow.exceptions.MlflowException:
            exp = c.get_experiment_by_name(name)  # created meanwhile by another process
            if exp is None:
                raise
            eid = exp.experiment_id
    elif exp.lifecycle_stage != "active":
        raise ConfigError(
            f"experiment {name!r} (id {exp.experiment_id}) is deleted in {uri}; restore it "
            f"with `mlflow experiments restore --experiment-id {exp.experiment_id}` or pick "
            "another name with --experiment"
        )
    else:
        eid = exp.experiment_id
    return eid
