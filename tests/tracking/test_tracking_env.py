from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from errpredict.exceptions import ConfigError
from errpredict.tracking import git_commit, tracking_uri
from errpredict.tracking._env import local_db_path
from errpredict.tracking._store import experiment_id

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_tracking_uri_is_the_env_or_mlflow_db_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert local_db_path(tracking_uri()) == tmp_path.resolve() / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"
    assert local_db_path(tracking_uri()) is None


def test_git_commit_reads_head_without_git(tmp_path):
    assert git_commit(tmp_path) is None or Path("/").joinpath(".git").exists()
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "refs" / "heads" / "main").write_text(SHA + "\n")
    (repo / "src").mkdir()
    assert git_commit(repo / "src") == SHA
    (repo / ".git" / "refs" / "heads" / "main").unlink()
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{SHA} refs/heads/main\n")
    assert git_commit(repo) == SHA
    (repo / ".git" / "HEAD").write_text(SHA[::-1] + "\n")  # detached
    assert git_commit(repo) == SHA[::-1]


def test_importing_tracking_does_not_import_mlflow():
    code = "import sys, errpredict.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_artifacts_live_next_to_the_database(tracked, mlflow_client):
    exp = mlflow_client.get_experiment(tracked.info.experiment_id)
    assert exp.name == "errpredict"
    assert exp.artifact_location == (tracked.root / "mlruns" / "errpredict").as_uri()
    assert experiment_id(tracked.uri, "errpredict") == exp.experiment_id


def test_a_deleted_experiment_is_reported(tracked, mlflow_client):
    eid = experiment_id(tracked.uri, "to-delete")
    mlflow_client.delete_experiment(eid)
    with pytest.raises(ConfigError, match="is deleted .*`mlflow experiments restore"):
        experiment_id(tracked.uri, "to-delete")
