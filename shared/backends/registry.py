"""The model registry: every MLflow call dropscore makes, behind the :class:`Registry` Protocol.

The registry works by alias only (``champion``, ``challenger``, ``previous``): resolve an alias,
download a version's files, register a folder as a new version, set and delete aliases, read
tags, search versions. It knows nothing of what a version's files mean — LightGBM, contracts,
hashes and the pyfunc are the model layer's (:mod:`shared.model.registered`), which reads and
writes them through this Protocol.

MLflow's errors become dropscore's here, by type and by MLflow ``error_code``, never by the
wording of a message (which changes between MLflow versions and server backends):

- a server that does not answer (connection refused, DNS, timeout, retries exhausted on 5xx/429:
  a ``requests`` error somewhere in the exception's chain) or that says so itself
  (``TEMPORARILY_UNAVAILABLE``, ``REQUEST_LIMIT_EXCEEDED``, ...) -> :class:`ServiceUnavailableError`
  (transient: the platform retries);
- ``RESOURCE_DOES_NOT_EXIST`` / ``NOT_FOUND`` (no such model, version or artifact) ->
  :class:`ModelNotFoundError` (permanent);
- anything else propagates as MLflow raised it.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shared.backends.mlflow_connection import ensure_cloud_run_token, fail_fast_on_loopback
from shared.backends.sqlite_registry import LocalVersion, SqliteRegistryReader, database_of
from shared.errors import DropscoreError, ModelNotFoundError, ServiceUnavailableError
from shared.i18n import both

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
EXPERIMENT_NAME = "dropscore"
MODEL_ARTIFACT_PATH = "model"  # a version's files: the run's artifacts under model/

# MLflow error codes (mlflow.protos.databricks_pb2, the REST API's "error_code") and what they mean here.
MISSING_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
UNAVAILABLE_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"})
# Looking up an alias nobody set: the sqlalchemy store (and the REST server in front of it) answers
# INVALID_PARAMETER_VALUE, other stores RESOURCE_DOES_NOT_EXIST (also: no registered model yet).
# Our alias names are the constants above, so an invalid parameter can only be the unset alias.
ALIAS_UNSET_CODES = frozenset({"INVALID_PARAMETER_VALUE"}) | MISSING_CODES
ALREADY_EXISTS_CODES = frozenset({"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"})

_TAG_LIMIT = 4500  # MLflow keeps model-version tag values up to 5 000 characters


@dataclass(frozen=True)
class VersionRecord:
    """What the registry keeps about one version, apart from its files."""

    version: str
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    run_id: str
    created_at: datetime


@runtime_checkable
class Registry(Protocol):
    """The registered model ``model_name``: its versions' files, tags and aliases."""

    model_name: str

    def version_of(self, alias: str) -> str | None:
        """The version number the alias points at, or None when the alias (or the model) does not exist."""
        ...

    def tags_of(self, version: str) -> dict[str, str]:
        """The version's tags (ModelNotFoundError when there is no such version)."""
        ...

    def download(self, version: str, destination: Path, path: str = "") -> Path:
        """The version's files (``path=""``: a folder holding them) or one of them (at ``destination / path``);
        returns the local path. Files already on this machine (the embedded registry) may be handed where they
        lie instead: read them, never write there. ModelNotFoundError when the version or the file does not exist."""
        ...

    def register(
        self,
        folder: Path,
        *,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        run_tags: Mapping[str, str],
        version_tags: Mapping[str, str],
    ) -> str:
        """Store ``folder`` as the files of a new version with these tags; returns its number."""
        ...

    def attach_files(self, version: str, folder: str, files: Mapping[str, str]) -> None:
        """Add text files to an existing version, under ``folder`` of its files."""
        ...

    def set_alias(self, alias: str, version: str) -> None: ...

    def clear_alias(self, alias: str) -> None:
        """Delete the alias; nothing happens when it is not set."""
        ...

    def promote(self, version: str) -> str | None:
        """Make ``version`` the champion; the old champion becomes ``previous``. Returns the old champion."""
        ...

    def rollback(self) -> tuple[str, str]:
        """Champion goes back to ``previous``, at once. Returns (restored version, demoted version)."""
        ...

    def search_versions(self) -> list[VersionRecord]:
        """Every version of the model, oldest first ([] when the model does not exist yet)."""
        ...

    def versions(self) -> list[dict[str, Any]]:
        """Every version as ``dropscore models`` shows it: aliases, metrics, gates, lineage, ..."""
        ...


class AliasMoves:
    """The moves made of alias changes, and the version list made of tags: one implementation for
    every :class:`Registry` (MLflow's and the tests' double), so they cannot disagree."""

    def version_of(self, alias: str) -> str | None:
        raise NotImplementedError

    def set_alias(self, alias: str, version: str) -> None:
        raise NotImplementedError

    def clear_alias(self, alias: str) -> None:
        raise NotImplementedError

    def search_versions(self) -> list[VersionRecord]:
        raise NotImplementedError

    def promote(self, version: str) -> str | None:
        old = self.version_of(CHAMPION)
        if old == version:
            return old
        if old is not None:
            self.set_alias(PREVIOUS, old)
        self.set_alias(CHAMPION, version)
        if self.version_of(CHALLENGER) == version:
            self.clear_alias(CHALLENGER)
        return old

    def rollback(self) -> tuple[str, str]:
        previous, champion = self.version_of(PREVIOUS), self.version_of(CHAMPION)
        if previous is None or champion is None:
            spanish, english = both("registry_no_previous_champion")
            raise ModelNotFoundError(f"{english} / {spanish}")
        self.set_alias(CHAMPION, previous)
        self.set_alias(PREVIOUS, champion)
        return previous, champion

    def versions(self) -> list[dict[str, Any]]:
        return [version_summary(record) for record in self.search_versions()]


def version_summary(record: VersionRecord) -> dict[str, Any]:
    """One version from its tags (written at registration by shared.model.registered)."""
    tags = dict(record.tags)
    return {
        "version": record.version,
        "aliases": sorted(record.aliases),
        "metrics": json.loads(tags.get("metrics", "{}")),
        "validation_metrics": json.loads(tags.get("validation_metrics", "{}")),
        "threshold": float(tags["threshold"]) if "threshold" in tags else None,
        "gates": json.loads(tags.get("gates", "{}")),
        "gates_passed": tags.get("gates_passed") == "true",
        "gate_failures": json.loads(tags.get("gate_failures", "[]")),
        "task": tags.get("task", "binary"),
        "excluded_features": json.loads(tags.get("excluded_features", "[]")),
        "configuration": tags.get("configuration"),
        "lineage": _parse_json(tags.get("lineage")),
        "model_sha256": tags.get("model_sha256"),
        "purpose": tags.get("purpose"),
        "run_id": record.run_id,
        "created_at": record.created_at.isoformat(),
    }


def short_json(value: Any) -> str:
    """``value`` as JSON that fits in a tag: a long ``sources`` list is cut to its first 20."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) <= _TAG_LIMIT:
        return text
    sources = dict(value.get("sources") or {}) if isinstance(value, dict) else {}
    shown = dict(list(sources.items())[:20])
    return json.dumps({**value, "sources": shown, "sources_total": len(sources), "truncated": True}, ensure_ascii=False, default=str)[:_TAG_LIMIT]


def _parse_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"raw": text}


# -- MLflow's errors, by type and code ------------------------------------------------------------


def error_code(exc: BaseException) -> str:
    """MLflow's error code (``MlflowException.error_code``, also a ``RestException``'s from the server's JSON); "" for others."""
    code = getattr(exc, "error_code", "")
    return code if isinstance(code, str) else ""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it. MLflow's REST client re-raises a requests error as a bare
    MlflowException inside its ``except`` block, so the requests error is the ``__context__``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_unreachable(exc: BaseException) -> bool:
    """The server did not answer, or answered that it cannot now: worth retrying later."""
    import requests

    transport = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.RetryError, ConnectionError, TimeoutError, socket.gaierror)
    return any(isinstance(link, transport) or error_code(link) in UNAVAILABLE_CODES for link in _chain(exc))


def translate(exc: BaseException, action: str, tracking_uri: str) -> DropscoreError | None:
    """The dropscore error an MLflow failure stands for, or None to let it through as it is."""
    if isinstance(exc, DropscoreError):
        return None
    if is_unreachable(exc):
        return ServiceUnavailableError(
            "MLflow tracking server",
            tracking_uri,
            "Start it with `dropscore serve` (local) or check DROPSCORE_MLFLOW_TRACKING_URI.",
            detail=f"while trying to {action}",
        )
    if error_code(exc) in MISSING_CODES:
        return ModelNotFoundError(f"{action}: {exc}")
    return None


# -- the MLflow registry --------------------------------------------------------------------------


class MlflowRegistry(AliasMoves):
    """The registered model ``model_name`` in the MLflow server or sqlite file at ``tracking_uri``
    (its registry at ``registry_uri`` when that is another server, as ``MLFLOW_REGISTRY_URI`` says).

    The embedded registry (one sqlite file) is read without MLflow where the answer is unambiguous
    (:mod:`shared.backends.sqlite_registry`: an alias, a version's tags, its folder on this disk); a
    cold process then pays neither MLflow's import nor its store (issue 16). Everything else, and
    every write, goes through MLflow's client.
    """

    def __init__(self, tracking_uri: str, model_name: str, artifact_root: Path | None = None, *, registry_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.model_name = model_name
        self._artifact_root = artifact_root
        self._sources: dict[str, str] = {}  # version -> where its files are; fixed when the version is created

    @cached_property
    def _local(self) -> SqliteRegistryReader | None:
        """The embedded registry's sqlite file read directly (reading only; None: MLflow's client answers)."""
        database = database_of(self.tracking_uri, self.registry_uri)
        return SqliteRegistryReader(database, self.model_name) if database is not None else None

    def _local_version(self, version: str) -> LocalVersion | None:
        return self._local.version(version) if self._local is not None else None

    @cached_property
    def client(self):  # noqa: ANN201 - MlflowClient, imported lazily (cold starts)
        from mlflow import MlflowClient

        for uri in {self.tracking_uri, self.registry_uri}:
            if uri.startswith("sqlite:///"):
                Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            fail_fast_on_loopback(uri)
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        ensure_cloud_run_token(self.tracking_uri)
        try:
            yield
        except Exception as exc:
            translated = translate(exc, action, self.tracking_uri)
            if translated is None:
                raise
            raise translated from exc

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(EXPERIMENT_NAME)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if self.tracking_uri.startswith("sqlite:///"):
            # Keep artifacts beside the sqlite file, never in the current working directory.
            root = self._artifact_root or Path(self.tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
            location = root.resolve().as_uri()
        return self.client.create_experiment(EXPERIMENT_NAME, artifact_location=location)

    # -- reading ---------------------------------------------------------------------------------

    def version_of(self, alias: str) -> str | None:
        if self._local is not None:  # the embedded registry, read without MLflow when the file settles it
            if (version := self._local.version_of(alias)) is not None:
                return version
            if self._local.alias_is_unset(alias):
                return None
        from mlflow.exceptions import MlflowException

        with self._translated(f"read alias {alias}"):
            try:
                return str(self.client.get_model_version_by_alias(self.model_name, alias).version)
            except MlflowException as exc:
                if error_code(exc) in ALIAS_UNSET_CODES and not is_unreachable(exc):
                    return None
                raise

    def tags_of(self, version: str) -> dict[str, str]:
        if (stored := self._local_version(version)) is not None:
            return dict(stored.tags)
        with self._translated(f"read the tags of version {version}"):
            return dict(self.client.get_model_version(self.model_name, version).tags or {})

    def download(self, version: str, destination: Path, path: str = "") -> Path:
        stored = self._local_version(version)
        if stored is not None and (stored.folder / path).exists():  # the embedded registry: the files where they lie
            return stored.folder / path if path else stored.folder
        import mlflow

        with self._translated(f"download {path or 'the files'} of version {version}"):
            if version not in self._sources:
                self._sources[version] = self.client.get_model_version(self.model_name, version).source
            source = self._sources[version]
            target = destination / Path(path).parent if path else destination
            target.mkdir(parents=True, exist_ok=True)
            with contextlib.redirect_stdout(io.StringIO()):
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{source}/{path}" if path else source, dst_path=str(target), tracking_uri=self.tracking_uri
                )
            return Path(local)

    def search_versions(self) -> list[VersionRecord]:
        from mlflow.exceptions import MlflowException

        with self._translated("list model versions"):
            try:
                found = self.client.search_model_versions(f"name = '{self.model_name}'")
            except MlflowException as exc:
                if error_code(exc) in MISSING_CODES:
                    return []
                raise
            # Search results do not carry aliases on every backend; the registered model always does.
            alias_map = dict(self.client.get_registered_model(self.model_name).aliases or {}) if found else {}
            return [
                VersionRecord(
                    version=str(found_version.version),
                    aliases=tuple(sorted(alias for alias, number in alias_map.items() if str(number) == str(found_version.version))),
                    tags=dict(found_version.tags or {}),
                    run_id=str(found_version.run_id),
                    created_at=datetime.fromtimestamp(found_version.creation_timestamp / 1000, UTC),
                )
                for found_version in sorted(found, key=lambda v: int(v.version))
            ]

    # -- writing ---------------------------------------------------------------------------------

    def register(
        self,
        folder: Path,
        *,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        run_tags: Mapping[str, str],
        version_tags: Mapping[str, str],
    ) -> str:
        from mlflow.exceptions import MlflowException

        with self._translated("register a model version"):
            client = self.client
            run_id = client.create_run(self._experiment_id(), run_name=run_name).info.run_id
            for key, value in params.items():
                client.log_param(run_id, key, value)
            for key, value in metrics.items():
                client.log_metric(run_id, key, value)
            for key, value in run_tags.items():
                client.set_tag(run_id, key, value)
            client.log_artifacts(run_id, str(folder), artifact_path=MODEL_ARTIFACT_PATH)
            client.set_terminated(run_id)
            try:
                client.create_registered_model(self.model_name)
            except MlflowException as exc:
                if error_code(exc) not in ALREADY_EXISTS_CODES:
                    raise
            source = f"{client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACT_PATH}"
            version = str(client.create_model_version(self.model_name, source, run_id=run_id).version)
            for key, value in version_tags.items():
                client.set_model_version_tag(self.model_name, version, key, value)
            return version

    def attach_files(self, version: str, folder: str, files: Mapping[str, str]) -> None:
        with self._translated(f"attach files to version {version}"), tempfile.TemporaryDirectory() as scratch:
            staging = Path(scratch)
            for name, text in files.items():
                (staging / name).write_text(text, encoding="utf-8")
            run_id = self.client.get_model_version(self.model_name, version).run_id
            self.client.log_artifacts(run_id, str(staging), artifact_path=f"{MODEL_ARTIFACT_PATH}/{folder}")

    def set_alias(self, alias: str, version: str) -> None:
        with self._translated(f"set alias {alias}"):
            self.client.set_registered_model_alias(self.model_name, alias, version)

    def clear_alias(self, alias: str) -> None:
        try:
            with self._translated(f"delete alias {alias}"):
                self.client.delete_registered_model_alias(self.model_name, alias)
        except ModelNotFoundError:
            return  # no registered model yet: no alias to delete
