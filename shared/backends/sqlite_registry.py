"""The embedded registry read without MLflow: a champion's version, tags and files from its sqlite file.

On one machine the registry is MLflow's sqlite file and the artifacts a folder beside it. Reading a
champion through MLflow's client costs a cold process about 1.4 s and 100 MiB (MLflow's import, its
SQLAlchemy store and the schema check at connect; issue 16), then copies every file of the version
into a temporary folder. What scoring needs of it is three indexed rows (the alias, the version's
artifact location, its tags) and files that are already on disk. This reads those rows with the
standard library, read-only, and hands the version's folder as it is; the files are still checked
against the manifest whose digest the registry holds (shared.artifact_integrity), as after a download.

Only reading, and only where the answer is unambiguous: a registry at a server, a database whose
tables do not have the expected columns (another MLflow schema), a name found in several
workspaces or artifacts outside the local disk all answer ``None``, and the caller asks MLflow.
Everything that writes (registering, moving aliases) goes through MLflow.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class LocalVersion:
    """A model version as stored: its number, the folder of its artifacts and its tags."""

    version: str
    folder: Path
    tags: dict[str, str]


def database_of(tracking_uri: str, registry_uri: str) -> Path | None:
    """The sqlite file both URIs name, when they name one and it exists (else None: ask MLflow)."""
    if tracking_uri != registry_uri or not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    path = Path(tracking_uri.removeprefix(SQLITE_PREFIX))
    return path if path.is_file() else None


class SqliteRegistryReader:
    """Read-only lookups in an MLflow sqlite registry; ``None`` wherever MLflow should answer instead."""

    def __init__(self, database: Path, model_name: str) -> None:
        self.database = database
        self.model_name = model_name

    def _rows(self, query: str, parameters: tuple[str, ...]) -> list[tuple] | None:
        try:
            # mode=ro: never creates, migrates or locks the file for writing; a fresh connection per
            # lookup, so another process moving the alias is seen at once.
            with sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0) as connection:
                return connection.execute(query, parameters).fetchall()
        except sqlite3.Error:
            return None  # another schema, a locked or damaged file: MLflow's client knows better

    def version_of(self, alias: str) -> str | None:
        """The version ``alias`` points to; None when not answerable here (not: "no such alias")."""
        rows = self._rows("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (self.model_name, alias))
        if not rows or len(rows) != 1:  # none (MLflow says "no alias" in its own words) or several workspaces
            return None
        return str(rows[0][0])

    def alias_is_unset(self, alias: str) -> bool:
        """True only when this file settles it: the model is registered once and no row gives it ``alias``
        (a registry with no challenger, which every score event asks about). Anything less sure: False,
        and MLflow answers."""
        aliases = self._rows("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (self.model_name, alias))
        models = self._rows("SELECT COUNT(*) FROM registered_models WHERE name = ?", (self.model_name,))
        return aliases == [] and models is not None and models[0][0] == 1

    def version(self, version: str) -> LocalVersion | None:
        """The version's artifact folder and tags, when the artifacts are a folder on this machine."""
        rows = self._rows("SELECT storage_location, source FROM model_versions WHERE name = ? AND version = ?", (self.model_name, version))
        if not rows or len(rows) != 1:
            return None
        location = str(rows[0][0] or rows[0][1] or "")
        parsed = urlparse(location)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            return None  # a logged model reference or a remote store: MLflow resolves it
        folder = Path(unquote(parsed.path))
        if not folder.is_dir():
            return None
        tags = self._rows("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?", (self.model_name, version))
        if tags is None:
            return None
        return LocalVersion(str(version), folder, {str(key): str(value) for key, value in tags})
