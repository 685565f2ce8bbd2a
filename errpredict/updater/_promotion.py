"""Where promoted models go: a bundle directory, or the MLflow registry's aliases."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Protocol

from errpredict.exceptions import ModelBundleError
from errpredict.models import RiskModel

__all__ = ["BundleDirectory", "Promoter", "RegistryPromoter"]

DECISIONS_FILE = "decisions.jsonl"


class Promoter(Protocol):
    """What the updater needs to publish a model, make it the champion and log decisions."""

    def publish(self, model: RiskModel) -> str:
        """Store ``model`` durably; return the version it is known by."""

    def promote(self, version: str) -> None:
        """Make a published version the champion."""

    def record(self, decision: dict[str, Any]) -> None:
        """Keep one decision of the updater."""


class BundleDirectory:
    """Champion and earlier versions as bundle directories under one root.

    Layout::

        <root>/versions/<id>/     every published model (model.joblib + metadata.json)
        <root>/champion           the champion: a link to versions/<id>
        <root>/decisions.jsonl    one JSON line per updater decision

    :meth:`publish` writes a bundle into a temporary directory and renames it
    to ``versions/<id>`` once complete. :meth:`promote` points ``champion``
    at a version by renaming a new link over the old one, a single atomic
    rename: a reader loads either the old champion or the new one, never a
    mixture. Where links cannot be made, ``champion`` is a copied directory
    replaced by two renames (a reader retrying on a missing directory still
    never sees a partial one).

    Parameters
    ----------
    root
        Directory of the bundles (created when missing).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.versions = self.root / "versions"
        self.versions.mkdir(parents=True, exist_ok=True)

    @property
    def champion_path(self) -> Path:
        return self.root / "champion"

    def champion_version(self) -> str | None:
        """Version id of the champion, or ``None`` before the first promotion."""
        path = self.champion_path
        if path.is_symlink():
            return Path(os.readlink(path)).name
        meta = path / "metadata.json"
        if meta.exists():
            return str(json.loads(meta.read_text()).get("model_id"))
        return None

    def load_champion(self) -> RiskModel:
        """The champion model, fully loaded.

        The link is resolved once, so that every file comes from the same
        version even when a promotion happens meanwhile; a champion directory
        replaced while it was being read is read again.
        """
        attempts = 3
        while True:
            if not self.champion_path.exists():
                raise ModelBundleError(
                    f"{self.champion_path}: no champion yet; publish and promote a model first "
                    "(ModelUpdater does it when a challenger wins)"
                )
            try:
                return RiskModel.load(self.champion_path.resolve())
            except (ModelBundleError, FileNotFoundError):
                attempts -= 1
                if attempts == 0:
                    raise

    def publish(self, model: RiskModel) -> str:
        """Save ``model`` as ``versions/<id>`` (written in full, then renamed); return ``id``."""
        tmp = self.versions / f".tmp-{uuid.uuid4().hex}"
        try:
            model.save(tmp)
            version = str(model.metadata["model_id"])
            final = self.versions / version
            if final.exists():  # the same bytes were published before
                shutil.rmtree(tmp)
            else:
                os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return version

    def promote(self, version: str) -> None:
        """Make ``versions/<version>`` the champion in one rename."""
        target = self.versions / version
        if not (target / "metadata.json").exists():
            raise ModelBundleError(
                f"{target}: no published version {version!r}; publish the model first"
            )
        champion = self.champion_path
        if champion.is_symlink() or not champion.exists():
            link = self.root / f".champion-{uuid.uuid4().hex}"
            try:
                os.symlink(Path("versions") / version, link, target_is_directory=True)
            except OSError:  # no links on this file system: copy below
                pass
            else:
                os.replace(link, champion)
                return
        staged = self.root / f".champion-{uuid.uuid4().hex}"
        shutil.copytree(target, staged)
        old = None
        if champion.is_symlink():
            os.unlink(champion)
        elif champion.exists():
            old = self.root / f".champion-old-{uuid.uuid4().hex}"
            os.rename(champion, old)
        os.rename(staged, champion)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def record(self, decision: dict[str, Any]) -> None:
        """Append one decision to ``decisions.jsonl`` (flushed and synced)."""
        line = json.dumps(decision, default=str, sort_keys=True) + "\n"
        with open(self.root / DECISIONS_FILE, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def decisions(self) -> list[dict[str, Any]]:
        """Every recorded decision, oldest first."""
        path = self.root / DECISIONS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"BundleDirectory({str(self.root)!r})"


class RegistryPromoter:
    """Publish to the MLflow model registry and promote by moving an alias.

    :meth:`publish` logs a training run with the bundle and registers it
    under ``name``; :meth:`promote` points ``alias`` (``champion``) at the
    new registered version, so that ``models:/NAME@champion`` loads it.
    Decisions are kept in a local :class:`BundleDirectory` beside the
    bundles (``bundle_root``).

    Parameters
    ----------
    name
        Registered model name.
    bundle_root
        Where the bundles and ``decisions.jsonl`` are written.
    experiment
        MLflow experiment of the runs.
    alias
        Alias that names the champion.
    uri
        MLflow tracking URI; ``None``: ``MLFLOW_TRACKING_URI`` or ``mlflow.db`` here.
    """

    def __init__(self, name: str, bundle_root: str | os.PathLike, *,
                 experiment: str = "errpredict", alias: str = "champion",
                 uri: str | None = None) -> None:
        self.name = name
        self.alias = alias
        self.experiment = experiment
        self.tracking_uri = uri
        self.bundles = BundleDirectory(bundle_root)
        self._registered: dict[str, str] = {}  # bundle id -> registry version

    def publish(self, model: RiskModel) -> str:
        from errpredict import tracking

        bundle_id = self.bundles.publish(model)
        if bundle_id not in self._registered:
            info = tracking.log_training_run(
                model, bundle_dir=self.bundles.versions / bundle_id, experiment=self.experiment,
                register=self.name, run_name=f"challenger-{bundle_id}", uri=self.tracking_uri)
            self._registered[bundle_id] = str(info.registered_version)
        return self._registered[bundle_id]

    def promote(self, version: str) -> None:
        from errpredict import tracking

        tracking.promote(self.name, version, self.alias, uri=self.tracking_uri)

    def record(self, decision: dict[str, Any]) -> None:
        self.bundles.record(decision)

    @property
    def model_uri(self) -> str:
        """``models:/NAME@ALIAS`` of the champion."""
        return f"models:/{self.name}@{self.alias}"

    def load_champion(self) -> RiskModel:
        from errpredict import tracking

        return tracking.load_registered_model(self.model_uri, uri=self.tracking_uri)

    def __repr__(self) -> str:
        return f"RegistryPromoter({self.name!r}, alias={self.alias!r})"
