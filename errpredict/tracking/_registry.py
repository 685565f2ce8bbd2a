"""The model registry: list, show, promote by alias, and load a registered model back.

References are ``NAME`` (the latest version), ``NAME@ALIAS`` or
``NAME/VERSION``; URIs add ``models:/`` in front, or name a run's model as
``runs:/RUN_ID/model``. Loading downloads the bundle inside the pyfunc model
into a cache directory and loads it with :meth:`RiskModel.load`, which checks
its SHA-256; the digest is also checked against the one the run recorded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from errpredict.exceptions import ConfigError, ModelBundleError
from errpredict.models import RiskModel
from errpredict.tracking._env import BUNDLE_ARTIFACT, MODEL_ARTIFACT, import_mlflow, tracking_uri
from errpredict.tracking._store import client

__all__ = ["list_models", "show_model", "promote", "load_registered_model", "parse_model_ref",
           "cache_root"]

_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def parse_model_ref(ref: str) -> tuple[str, str | None, str | None]:
    """``(name, alias, version)`` of ``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION``
    (with or without ``models:/``).

    >>> parse_model_ref("models:/svc-risk@champion")
    ('svc-risk', 'champion', None)
    >>> parse_model_ref("svc-risk/3")
    ('svc-risk', None, '3')
    """
    text = str(ref).strip()
    if text.startswith("models:/"):
        text = text[len("models:/"):]
    alias = version = None
    if "@" in text:
        text, alias = text.rsplit("@", 1)
    elif "/" in text:
        head, tail = text.rsplit("/", 1)
        if tail.isdigit() or tail == "latest":
            text, version = head, tail
    if not text or (alias is not None and not alias):
        raise ConfigError(f"model reference {ref!r}: expected NAME, NAME@ALIAS or NAME/VERSION "
                          "(e.g. svc-risk@champion or svc-risk/3)")
    return text, alias, version


def _iso(ms) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="seconds")


def _names(c) -> list[str]:
    return sorted(m.name for m in c.search_registered_models(max_results=1000))


def _versions(c, name: str) -> list:
    quoted = f'"{name}"' if "'" in name else f"'{name}'"
    return sorted(c.search_model_versions(f"name = {quoted}", max_results=10_000),
                  key=lambda v: int(v.version))


def _registered(c, name: str, uri: str):
    mlflow = import_mlflow()
    try:
        return c.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        names = _names(c)
        have = ", ".join(names) if names else "none yet"
        raise ModelBundleError(
            f"registered model {name!r} not found in {uri}; registered models: {have}. "
            "Register one with `errpredict train ... --register NAME`"
        ) from None


def _resolve(c, name: str, alias: str | None, version: str | None, uri: str):
    """The ModelVersion a reference names, with an error that lists what exists."""
    rm = _registered(c, name, uri)
    aliases = dict(getattr(rm, "aliases", {}) or {})
    if alias is not None:
        if alias not in aliases:
            have = ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items())) or "none"
            raise ModelBundleError(
                f"model {name!r} has no alias {alias!r}; its aliases: {have}. Set it with "
                f"`errpredict models promote {name} VERSION --alias {alias}`"
            )
        return c.get_model_version(name, str(aliases[alias]))
    versions = _versions(c, name)
    if not versions:
        raise ModelBundleError(f"model {name!r} has no versions; register one with "
                               f"`errpredict train ... --register {name}`")
    if version is None or version == "latest":
        return versions[-1]
    for v in versions:
        if str(v.version) == str(version):
            return v
    raise ModelBundleError(
        f"model {name!r} has no version {version}; its versions: "
        f"{', '.join(str(v.version) for v in versions)}"
    )


def list_models(*, uri: str | None = None) -> list[dict]:
    """Every registered model: name, latest version, versions, aliases, last update."""
    uri = uri or tracking_uri()
    c = client(uri)
    out = []
    for rm in sorted(c.search_registered_models(max_results=1000), key=lambda m: m.name):
        versions = [int(v.version) for v in _versions(c, rm.name)]
        out.append({
            "name": rm.name,
            "latest_version": str(max(versions)) if versions else None,
            "versions": [str(v) for v in versions],
            "aliases": {a: str(v) for a, v in sorted((rm.aliases or {}).items())},
            "description": rm.description or "",
            "updated": _iso(rm.last_updated_timestamp),
        })
    return out


def _bundle_uri(source: str) -> str:
    return f"{source.rstrip('/')}/artifacts/{BUNDLE_ARTIFACT}"


def show_model(ref: str, *, uri: str | None = None) -> dict:
    """One registered version (``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION``): version,
    aliases, run, metrics, creation time, source, and the bundle's metadata."""
    uri = uri or tracking_uri()
    c = client(uri)
    name, alias, version = parse_model_ref(ref)
    mv = _resolve(c, name, alias, version, uri)
    rm = c.get_registered_model(name)
    aliases = sorted(a for a, v in (rm.aliases or {}).items() if str(v) == str(mv.version))
    metrics, params, run_name = {}, {}, None
    if mv.run_id:
        run = c.get_run(mv.run_id)
        metrics, params = dict(run.data.metrics), dict(run.data.params)
        run_name = run.info.run_name
    meta = _download_metadata(mv.source)
    return {
        "name": name,
        "version": str(mv.version),
        "aliases": aliases,
        "model_uri": f"models:/{name}/{mv.version}",
        "run_id": mv.run_id,
        "run_name": run_name,
        "status": mv.status,
        "created": _iso(mv.creation_timestamp),
        "source": mv.source,
        "tags": dict(mv.tags or {}),
        "metrics": dict(sorted(metrics.items())),
        "params": dict(sorted(params.items())),
        "metadata": meta,
    }


def _download_metadata(source: str) -> dict | None:
    import json

    mlflow = import_mlflow()
    with tempfile.TemporaryDirectory(prefix="errpredict-meta-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{_bundle_uri(source)}/metadata.json", dst_path=tmp)
            return json.loads(Path(path).read_text())
        except (mlflow.exceptions.MlflowException, OSError, ValueError):
            return None


def promote(name: str, version: str | int, alias: str = "champion", *,
            uri: str | None = None) -> dict:
    """Point ``alias`` (``champion``, ``challenger`` or any valid alias) at a version.

    Returns ``name, alias, version`` and ``previous`` (the version the alias
    pointed at before, or None).
    """
    uri = uri or tracking_uri()
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias.lower() == "latest" \
            or re.fullmatch(r"[vV]\d+", alias):
        raise ConfigError(
            f"The 'alias' parameter of promote must be a name of letters, digits, '_' or '-' "
            f"(not 'latest' nor v<number>), e.g. champion or challenger. Got {alias!r} instead."
        )
    c = client(uri)
    mv = _resolve(c, name, None, str(version), uri)
    previous = (c.get_registered_model(name).aliases or {}).get(alias)
    c.set_registered_model_alias(name, alias, str(mv.version))
    return {"name": name, "alias": alias, "version": str(mv.version),
            "previous": None if previous is None else str(previous)}


def cache_root() -> Path:
    """Where downloaded bundles are kept: ``ERRPREDICT_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/errpredict/models`` (``~/.cache/errpredict/models``)."""
    env = os.environ.get("ERRPREDICT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "errpredict" / "models"


def _source_of(c, text: str, uri: str) -> tuple[str, str | None]:
    """Artifact URI of the pyfunc model an URI names, and the digest its run recorded."""
    mlflow = import_mlflow()
    if text.startswith("runs:/"):
        parts = text[len("runs:/"):].strip("/").split("/", 1)
        run_id, path = parts[0], (parts[1] if len(parts) > 1 else MODEL_ARTIFACT)
        try:
            run = c.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            raise ModelBundleError(f"{text}: no run {run_id!r} in {uri}; check the run id "
                                   "(errpredict train prints it)") from None
        return f"{run.info.artifact_uri.rstrip('/')}/{path}", run.data.tags.get(
            "errpredict.model_sha256")
    name, alias, version = parse_model_ref(text)
    mv = _resolve(c, name, alias, version, uri)
    return mv.source, (mv.tags or {}).get("errpredict.model_sha256")


def load_registered_model(model_uri: str, *, cache_dir: str | os.PathLike | None = None,
                          uri: str | None = None) -> RiskModel:
    """The :class:`RiskModel` behind ``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or
    ``runs:/RUN_ID/model``.

    The bundle is downloaded once into ``cache_dir`` (default
    :func:`cache_root`), keyed by its source and digest, and loaded with
    :meth:`RiskModel.load`. A bundle is pickled code: load models only from a
    registry you trust.
    """
    text = str(model_uri)
    if not (text.startswith("models:/") or text.startswith("runs:/")):
        raise ConfigError(f"{text!r}: expected models:/NAME@ALIAS, models:/NAME/VERSION or "
                          "runs:/RUN_ID/model")
    uri = uri or tracking_uri()
    c = client(uri)
    source, expected = _source_of(c, text, uri)
    key = hashlib.sha256(f"{source}|{expected}".encode()).hexdigest()[:24]
    dest = Path(cache_dir or cache_root()) / key / BUNDLE_ARTIFACT
    model = None
    if dest.is_dir():
        try:
            model = RiskModel.load(dest)
        except ModelBundleError:
            shutil.rmtree(dest.parent, ignore_errors=True)
    if model is None:
        model = RiskModel.load(_download_bundle(source, dest, text))
    got = model.metadata.get("model_sha256")
    if expected and got != expected:
        raise ModelBundleError(
            f"{text}: the bundle's SHA-256 {str(got)[:12]}... is not the one its run recorded "
            f"({expected[:12]}...); the artifact store was modified: register the model again"
        )
    return model


def _download_bundle(source: str, dest: Path, text: str) -> Path:
    mlflow = import_mlflow()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=dest.parent))
    try:
        try:
            got = mlflow.artifacts.download_artifacts(artifact_uri=_bundle_uri(source),
                                                      dst_path=str(tmp))
        except (mlflow.exceptions.MlflowException, OSError) as exc:
            raise ModelBundleError(
                f"{text}: no errpredict bundle at {_bundle_uri(source)} ({exc}); only models "
                "logged by errpredict (train with tracking on) can be loaded"
            ) from None
        try:
            os.replace(got, dest)
        except OSError:  # another process filled the cache meanwhile
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
