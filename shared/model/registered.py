"""Model versions in the registry: saving a trained model as a version, loading one to score with.

The registry (:mod:`shared.backends.registry`) stores files, tags and aliases; this module decides
what the files of a version are and checks them. A version's folder is an MLflow model
(:mod:`shared.model.pyfunc_saving`) plus a ``dropscore/`` folder holding the contract, the metadata
(features, threshold, metrics, gates, importances, the model file's path and sha256) and the
reference sample for drift. Versions registered before the pyfunc have ``model.lgb`` at the root
(their meta.json names no ``model_file``) and load as before.

The sha256 of every file of a version, the pyfunc's too, is recorded at registration (a manifest
whose digest goes into a tag) and checked on load (:mod:`shared.model.artifact_integrity`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.backends.lightgbm_runtime import import_lightgbm
from shared.backends.registry import CHAMPION, Registry, short_json
from shared.errors import ModelIntegrityError, ModelNotFoundError
from shared.i18n import both
from shared.ingest.contract import Contract
from shared.model import artifact_integrity
from shared.model.loaded_model import LoadedModel
from shared.model.pyfunc_saving import MODEL_FILE

if TYPE_CHECKING:
    # Type hints only. shared.model.training pulls LightGBM, scikit-learn and SciPy (70-80 MiB RSS): the
    # clean step reads a champion's contract through this module and never a booster, so register()
    # and load() import them when they run.
    from shared.model.training import TrainedModel

logger = logging.getLogger(__name__)

LEGACY_MODEL_FILE = "model.lgb"  # versions logged with the lightgbm flavor alone
META_DIR = "dropscore"
MANIFEST_PATH = f"{META_DIR}/{artifact_integrity.MANIFEST_FILE}"
# What a version is scored with; a version without a manifest can vouch only for the model file.
SCORED_FILES = ("contract.yaml", "meta.json", "reference_sample.parquet")
_warned_unverifiable: set[str] = set()


def _warn_unverifiable(version: str) -> None:
    """Versions registered before artifact manifests: the model file's hash is all there is. Say so once."""
    if version not in _warned_unverifiable:
        _warned_unverifiable.add(version)
        logger.warning(
            "model version %s was registered without an artifact manifest: only %s is checked against its hash, "
            "not %s; retrain (or re-register) it to protect them",
            version, MODEL_FILE, ", ".join(SCORED_FILES),
        )


# -- loading ----------------------------------------------------------------------------------------

# Loaded versions per registry handle (one per process, shared.backends.services): a warm function
# instance keeps its champion in memory and downloads again only when the alias has moved.
_LOADED: weakref.WeakKeyDictionary[Registry, dict[str, LoadedModel]] = weakref.WeakKeyDictionary()


def load(registry: Registry, alias_or_version: str = CHAMPION) -> LoadedModel:
    """Load a version (by alias or number), verifying its files against the hashes recorded at registration.

    Cached per registry handle by version number: the alias is re-read on every call (cheap), the
    artifacts only when the alias has moved.
    """
    version = alias_or_version if alias_or_version.isdigit() else registry.version_of(alias_or_version)
    if version is None:
        spanish, english = both("registry_no_version_with_alias", model=registry.model_name, alias=alias_or_version)
        raise ModelNotFoundError(f"{english} / {spanish}")
    loaded = _LOADED.setdefault(registry, {})
    if version not in loaded:
        loaded[version] = _download_and_verify(registry, version)
    return loaded[version]


def _download_and_verify(registry: Registry, version: str) -> LoadedModel:
    lgb = import_lightgbm()  # without scikit-learn when nothing loaded it yet: scoring never needs it

    with tempfile.TemporaryDirectory() as scratch:
        tags = registry.tags_of(version)
        local = registry.download(version, Path(scratch))
        digest = tags.get(artifact_integrity.MANIFEST_TAG)
        if digest:
            # Every file registered with the version, before any of them is read.
            manifest = local / MANIFEST_PATH
            files = artifact_integrity.read_manifest(version, manifest.read_bytes() if manifest.is_file() else None, digest, MANIFEST_PATH)
            artifact_integrity.verify_files(version, local, files)
        else:
            _warn_unverifiable(version)
        meta = json.loads((local / META_DIR / "meta.json").read_text(encoding="utf-8"))
        model_file = str(meta.get("model_file") or LEGACY_MODEL_FILE)
        actual = artifact_integrity.sha256_of(local / model_file)
        # The tag lives in the registry's database, apart from the artifact store: editing both the
        # model file and meta.json beside it still does not match it.
        registered = tags.get("model_sha256") or meta["model_sha256"]
        if actual != registered or actual != meta["model_sha256"]:
            error = ModelIntegrityError(
                f"model version {version}: {model_file} sha256 {actual[:12]}… does not match the registered "
                f"{registered[:12]}…; refusing to score with it"
            )
            error.version, error.expected, error.actual = version, registered, actual  # type: ignore[attr-defined]
            error.artifacts = [model_file]  # type: ignore[attr-defined]
            raise error
        return LoadedModel(
            version=version,
            booster=lgb.Booster(model_file=str(local / model_file)),
            contract=Contract.from_yaml((local / META_DIR / "contract.yaml").read_text(encoding="utf-8")),
            meta=meta,
            reference_sample=_parquet_reader((local / META_DIR / "reference_sample.parquet").read_bytes()),  # verified above; parsed if a drift check asks
        )


def _parquet_reader(data: bytes) -> Callable[[], pd.DataFrame]:
    return lambda: pd.read_parquet(io.BytesIO(data))


def read_file(registry: Registry, version: str, name: str) -> str:
    """A text file from a version's ``dropscore/`` folder (``contract.yaml``, ``model_card.es.md``), checked
    against the version's manifest when the manifest lists it; only that file is downloaded."""
    relative = f"{META_DIR}/{name}"
    with tempfile.TemporaryDirectory() as scratch:
        local = registry.download(version, Path(scratch), relative)
        root = local.parents[len(Path(relative).parts) - 1]  # the version's files: the scratch folder, or where they lie
        digest = registry.tags_of(version).get(artifact_integrity.MANIFEST_TAG)
        if digest:
            try:
                manifest: bytes | None = registry.download(version, Path(scratch), MANIFEST_PATH).read_bytes()
            except ModelNotFoundError:
                manifest = None  # a missing manifest is reported as such by read_manifest
            files = artifact_integrity.read_manifest(version, manifest, digest, MANIFEST_PATH)
            if relative in files:  # files attached later (model cards) are not scored with
                artifact_integrity.verify_files(version, root, files, only=[relative])
        elif name in SCORED_FILES:
            _warn_unverifiable(version)
        return local.read_text(encoding="utf-8")


# -- registering ------------------------------------------------------------------------------------


def register(
    registry: Registry,
    trained: TrainedModel,
    contract: Contract,
    *,
    sources: dict[str, str],
    purpose: str,
    attach: Callable[[dict[str, Any], str], dict[str, str]] | None = None,
) -> str:
    """Save ``trained`` as a new version (params, metrics, the MLflow model, the dropscore files, their
    manifest, tags). Returns the version. ``attach(meta, version)`` returns text files (the model card)
    stored beside the metadata once the version has its number."""
    import lightgbm as lgb

    from shared.model.pyfunc_saving import save_pyfunc

    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch) / "staging"
        meta_dir = staging / META_DIR
        meta_dir.mkdir(parents=True)
        booster_file = staging / Path(MODEL_FILE).name
        trained.booster.save_model(str(booster_file))  # LightGBM's text format, what the lightgbm flavor writes
        (meta_dir / "contract.yaml").write_text(contract.to_yaml(), encoding="utf-8")
        trained.reference_sample.to_parquet(meta_dir / "reference_sample.parquet", index=False)
        meta = {
            "features": trained.features,
            "threshold": trained.threshold,
            "metrics": trained.metrics,
            "validation_metrics": trained.validation_metrics,
            "gates": contract.gates,
            "gate_failures": trained.gate_failures,
            "feature_importance": trained.feature_importance,
            "numeric_quartiles": trained.numeric_quartiles,
            "params": trained.params,
            "rows": trained.rows,
            "sources": sources,
            "purpose": purpose,
            "positive": contract.positive,
            "negative": contract.negative,
            "model_file": MODEL_FILE,
            "model_sha256": artifact_integrity.sha256_of(booster_file),
            "trained_at": datetime.now(UTC).isoformat(),
            # issue 5: task, leakage guard, threshold and expected value, fairness, search, lineage
            "task": trained.task,
            "classes": trained.classes,
            "leakage": trained.leakage,
            "excluded_features": trained.excluded_features,
            "threshold_info": trained.threshold_info,
            "fairness": trained.fairness,
            "search": trained.search,
            "interval": trained.interval,
            "training_seconds": trained.training_seconds,
            "lineage": {"sources": sources, "code_version": code_version(), "lightgbm": lgb.__version__},
        }
        (meta_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=float), encoding="utf-8")
        model_dir = Path(scratch) / "model"
        save_pyfunc(model_dir, booster_file, meta_dir, contract, trained.task, list(trained.classes or []))
        shutil.copytree(meta_dir, model_dir / META_DIR)
        # Last, once every file of the version is written: their hashes, whose digest goes into a tag.
        manifest_digest = artifact_integrity.write_manifest(model_dir, MANIFEST_PATH)
        version = registry.register(
            model_dir,
            run_name=f"{registry.model_name}-{purpose}",
            params={**trained.params, "threshold": round(trained.threshold, 6)},
            metrics={f"holdout_{key}": value for key, value in trained.metrics.items()},
            run_tags={"dropscore.purpose": purpose, "dropscore.contract": contract.fingerprint()},
            version_tags={
                "threshold": f"{trained.threshold:.6f}",
                "gates_passed": str(trained.gates_passed).lower(),
                "purpose": purpose,
                "model_sha256": meta["model_sha256"],
                artifact_integrity.MANIFEST_TAG: manifest_digest,
                "metrics": json.dumps({k: round(v, 5) for k, v in trained.metrics.items()}),
                "task": trained.task,
                "gates": json.dumps(dict(contract.gates)),
                "gate_failures": json.dumps(trained.gate_failures, ensure_ascii=False),
                "validation_metrics": json.dumps({k: round(v, 5) for k, v in trained.validation_metrics.items()}),
                "excluded_features": json.dumps(trained.excluded_features, ensure_ascii=False),
                "configuration": str(trained.params.get("configuration", "")),
                "lineage": short_json(meta["lineage"]),
            },
        )
    if attach is not None:
        registry.attach_files(version, META_DIR, attach(meta, version))
    return version


_CODE_VERSION: str | None = None


def code_version() -> str:
    """The package version plus a hash of the ``shared`` sources: the code that trained a model.

    A content hash works everywhere (a deployed function has no git checkout); the git commit
    is added when the code runs from a checkout.
    """
    global _CODE_VERSION
    if _CODE_VERSION is None:
        import shared

        root = Path(shared.__file__).parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
        version = f"{shared.__version__}+src.{digest.hexdigest()[:12]}"
        with contextlib.suppress(Exception):
            import subprocess

            commit = subprocess.run(
                ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()
            if commit:
                version += f".git.{commit}"
        _CODE_VERSION = version
    return _CODE_VERSION
