"""A registry on a folder: the whole :class:`shared.backends.registry.Registry` Protocol without MLflow.

For tests that need a champion to score and compare with but not MLflow itself: each version is
a copy of the folder it was registered with, tags and aliases live in memory. The alias moves
(promote, rollback) and the version list are the production code's own (``AliasMoves``), and
``tests/backends/test_registry_protocol.py`` runs the same behaviour checks on this double and
on the MLflow registry, so the two cannot drift apart. Models are saved into it and loaded from
it by the real model layer (:mod:`shared.model.registered`): files, manifest and hashes included.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.backends.registry import CHAMPION, AliasMoves, VersionRecord
from shared.errors import ModelNotFoundError
from shared.model import artifact_integrity
from shared.model.loaded_model import LoadedModel
from shared.model.pyfunc_saving import MODEL_FILE
from shared.model.registered import MANIFEST_PATH, META_DIR


class FolderRegistry(AliasMoves):
    """The registered model ``model_name``, its versions as folders under ``root``."""

    def __init__(self, root: Path, model_name: str = "dropscore") -> None:
        self.root = root
        self.model_name = model_name
        self._tags: dict[str, dict[str, str]] = {}
        self._created: dict[str, datetime] = {}
        self._aliases: dict[str, str] = {}

    def _folder(self, version: str) -> Path:
        if version not in self._tags:
            raise ModelNotFoundError(f"model {self.model_name!r} has no version {version}")
        return self.root / version

    def version_of(self, alias: str) -> str | None:
        return self._aliases.get(alias)

    def tags_of(self, version: str) -> dict[str, str]:
        self._folder(version)
        return dict(self._tags[version])

    def download(self, version: str, destination: Path, path: str = "") -> Path:
        source = self._folder(version) / path if path else self._folder(version)
        if not source.exists():
            raise ModelNotFoundError(f"version {version} has no file {path}")
        if source.is_dir():
            target = destination / (path or version)
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target = destination / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return target

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
        version = str(len(self._tags) + 1)
        shutil.copytree(folder, self.root / version)
        self._tags[version] = {str(key): str(value) for key, value in version_tags.items()}
        self._created[version] = datetime.now(UTC)
        return version

    def attach_files(self, version: str, folder: str, files: Mapping[str, str]) -> None:
        target = self._folder(version) / folder
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (target / name).write_text(text, encoding="utf-8")

    def set_alias(self, alias: str, version: str) -> None:
        self._folder(version)
        self._aliases[alias] = version

    def clear_alias(self, alias: str) -> None:
        self._aliases.pop(alias, None)

    def search_versions(self) -> list[VersionRecord]:
        return [
            VersionRecord(
                version=version,
                aliases=tuple(sorted(alias for alias, number in self._aliases.items() if number == version)),
                tags=dict(tags),
                run_id=f"folder:{version}",
                created_at=self._created[version],
            )
            for version, tags in sorted(self._tags.items(), key=lambda item: int(item[0]))
        ]


def registry_with_champion(root: Path, model: LoadedModel) -> FolderRegistry:
    """A folder registry whose champion is ``model`` (grown in memory), saved as a version's files are:
    the booster in LightGBM's text format, the contract, meta.json, the reference sample and their manifest."""
    registry = FolderRegistry(root)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / META_DIR).mkdir()
        (folder / MODEL_FILE).parent.mkdir(parents=True)
        model.booster.save_model(str(folder / MODEL_FILE))
        (folder / META_DIR / "contract.yaml").write_text(model.contract.to_yaml(), encoding="utf-8")
        model.reference_sample.to_parquet(folder / META_DIR / "reference_sample.parquet", index=False)
        model_sha256 = artifact_integrity.sha256_of(folder / MODEL_FILE)
        meta = {**model.meta, "model_file": MODEL_FILE, "model_sha256": model_sha256}
        (folder / META_DIR / "meta.json").write_text(json.dumps(meta, indent=2, default=float), encoding="utf-8")
        digest = artifact_integrity.write_manifest(folder, MANIFEST_PATH)
        version = registry.register(
            folder,
            run_name=f"{registry.model_name}-train",
            params={},
            metrics={},
            run_tags={},
            version_tags={
                "threshold": f"{model.threshold:.6f}",
                "gates_passed": "true",
                "purpose": "train",
                "model_sha256": model_sha256,
                artifact_integrity.MANIFEST_TAG: digest,
                "metrics": json.dumps({key: round(value, 5) for key, value in model.meta["metrics"].items()}),
                "gates": json.dumps(dict(model.meta.get("gates") or {})),
            },
        )
    registry.set_alias(CHAMPION, version)
    return registry
