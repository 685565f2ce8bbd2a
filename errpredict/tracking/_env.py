"""Where runs go, a quiet MLflow import, and the git commit of the working directory.

MLflow is imported only when a run is logged or the registry is read, after
the environment switches off every call out (telemetry).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from errpredict.exceptions import ConfigError

__all__ = ["tracking_uri", "import_mlflow", "git_commit", "local_db_path",
           "QUIET_ENV", "MODEL_ARTIFACT", "BUNDLE_ARTIFACT"]

#: Artifact path of the pyfunc model inside a training run.
MODEL_ARTIFACT = "model"
#: Name of the bundle directory among the pyfunc model's artifacts.
BUNDLE_ARTIFACT = "bundle"

#: Environment that keeps MLflow from calling out (telemetry) and from printing progress.
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}

def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<cwd>/mlflow.db`` (absolute).

    Examples
    --------
    >>> import os
    >>> uri = tracking_uri()
    >>> uri == os.environ.get("MLFLOW_TRACKING_URI", uri) and "://" in uri
    True
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    return "sqlite:///" + str(Path.cwd().resolve() / "mlflow.db")


def local_db_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI, or None for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(rest if rest.startswith("/") else Path.cwd() / rest)


def import_mlflow():
    """Import MLflow with telemetry off; returns the ``mlflow`` module."""
    os.environ.update(QUIET_ENV)
    try:
        import mlflow
    except ImportError as exc:  # pragma: no cover - mlflow is a dependency
        raise ConfigError(
            f"tracking needs the 'mlflow' package ({exc}); install it with "
            "`pip install mlflow`, or turn tracking off with --no-tracking"
        ) from None
    import logging

    for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit checked out in ``path`` (default: the working directory), or None.

    Reads ``.git/HEAD`` directly (no subprocess) and falls back to
    ``git rev-parse`` only for layouts it does not know; never raises.
    """
    try:
        here = Path(path or Path.cwd()).resolve()
        for d in (here, *here.parents):
            git = d / ".git"
            if git.is_file():  # a worktree or submodule: "gitdir: <path>"
                text = git.read_text().strip()
                if text.startswith("gitdir:"):
                    git = (d / text[len("gitdir:"):].strip()).resolve()
            if git.is_dir():
                return _read_head(git) or _rev_parse(d)
        return None
    except (OSError, ValueError):
        return None


def _read_head(git: Path) -> str | None:
    head = (git / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head if len(head) == 40 else None
    ref = head[len("ref:"):].strip()
    common = git
    if (git / "commondir").is_file():
        common = (git / (git / "commondir").read_text().strip()).resolve()
    for base in (git, common):
        f = base / ref
        if f.is_file():
            return f.read_text().strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def _rev_parse(where: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None
