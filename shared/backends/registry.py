"""Every MLflow call dropscore makes lives here. The registry works by alias only.

A model version's artifact folder is an MLflow model that MLflow's own tools run
(``mlflow models predict``, ``mlflow.pyfunc.load_model``, ``spark_udf``): a pyfunc logged "from
code" (shared/model/pyfunc_model.py, with the ``shared`` package as its ``code/``; nothing pickled)
whose artifacts are ``artifacts/model.lgb`` (LightGBM's native text format, also declared as the
``lightgbm`` flavor), the contract and the metadata. Its input signature is the contract's
columns as text; its output the predictions plus each quarantined row's reason
(:mod:`shared.model.frame_scoring`). Beside it a ``dropscore/`` folder holds the contract, the metadata
(features, threshold, metrics, gates, importances, the model file's path and sha256) and the
reference sample for drift. Versions registered before the pyfunc have ``model.lgb`` at the root
(their meta.json names no ``model_file``) and load as before.

The sha256 of every file of a version, the pyfunc's too, is recorded at registration and
checked on load (:mod:`shared.model.artifact_integrity`). The pyfunc's code travels as one deterministic
zip of the package (``code/shared.zip``), not a hundred loose files: each file is one more
download on every cold start and one more line to check.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.backends.lightgbm_runtime import import_lightgbm
from shared.backends.sqlite_registry import LocalVersion, SqliteRegistryReader, database_of
from shared.errors import ModelIntegrityError, ModelNotFoundError, ServiceUnavailableError
from shared.ingest.contract import Contract
from shared.model import artifact_integrity

if TYPE_CHECKING:
    # Type hints only. LightGBM pulls scikit-learn and SciPy (70-80 MiB RSS) and shared.model.training pulls
    # LightGBM: the clean step reads a champion's contract through this module and never a booster,
    # so register() and load() import them when they run.
    import lightgbm as lgb

    from shared.model.training import TrainedModel

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
EXPERIMENT_NAME = "dropscore"
MODEL_FILE = "artifacts/model.lgb"  # where the pyfunc's booster artifact lands (meta.json's "model_file")
LEGACY_MODEL_FILE = "model.lgb"     # versions logged with the lightgbm flavor alone
META_DIR = "dropscore"
PYFUNC_CODE_FILE = Path(__file__).resolve().parents[1] / "model" / "pyfunc_model.py"
CODE_ARCHIVE = "shared.zip"  # the package as the pyfunc's code: code/shared.zip in the version's folder
# The pyfunc's artifacts, by the names shared/model/pyfunc_model.py reads them.
BOOSTER_ARTIFACT, CONTRACT_ARTIFACT, META_ARTIFACT = "booster", "contract", "meta"
# Third-party distributions the pyfunc's code imports, pinned in its requirements.txt to the versions
# that trained it (tests/test_mlflow_pyfunc.py checks the list against what loading and predicting import).
PYFUNC_REQUIREMENTS = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "scikit-learn",
    "PyYAML",
    "python-stdnum",
    "charset-normalizer",
    "babel",  # shared.formatting: quarantine messages write numbers as the locale does
)
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


@dataclass
class LoadedModel:
    version: str
    booster: lgb.Booster
    contract: Contract
    meta: dict[str, Any]
    reference_sample: pd.DataFrame

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def feature_importance(self) -> dict[str, float]:
        return dict(self.meta["feature_importance"])


sha256_of = artifact_integrity.sha256_of


_TOKEN_REFRESH_SECONDS = 45 * 60  # Google ID tokens live one hour
_token_fetched_at: dict[str, float] = {}


def ensure_cloud_run_token(tracking_uri: str) -> None:
    """Authenticate to an MLflow server on Cloud Run that has no public invoker.

    Cloud Run wants a Google ID token whose audience is the service URL; the MLflow client
    sends ``MLFLOW_TRACKING_TOKEN`` as a bearer token. We fetch one from the metadata server
    (or the local service-account credentials) and refresh it before it expires. Local
    servers (loopback) and an explicitly set token are left alone.
    """
    import time
    from urllib.parse import urlparse

    host = urlparse(tracking_uri).hostname or ""
    if not tracking_uri.startswith("https://") or host in ("localhost", "127.0.0.1"):
        return
    if os.environ.get("MLFLOW_TRACKING_TOKEN") and tracking_uri not in _token_fetched_at:
        return  # someone set their own token (e.g. `gcloud auth print-identity-token`)
    if time.monotonic() - _token_fetched_at.get(tracking_uri, -1e9) < _TOKEN_REFRESH_SECONDS:
        return
    try:
        import google.auth.transport.requests
        import google.oauth2.id_token

        token = google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), tracking_uri.rstrip("/"))
    except Exception as exc:  # no Google credentials here: let the request go and fail with the server's answer
        logger.warning("could not fetch an ID token for %s: %s", tracking_uri, exc)
        return
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    _token_fetched_at[tracking_uri] = time.monotonic()


# MLflow retries a refused connection 7 times with doubling waits: four minutes before it says
# anything. A server on loopback that refuses is simply not started, so say so in seconds.
LOOPBACK_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


def fail_fast_on_loopback(tracking_uri: str) -> None:
    """Short MLflow HTTP retries for a loopback server, unless the environment already chose."""
    from urllib.parse import urlparse

    parsed = urlparse(tracking_uri)
    if parsed.scheme in ("http", "https") and parsed.hostname in ("localhost", "127.0.0.1", "::1"):
        for name, value in LOOPBACK_HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)  # MLflow reads these per request, not at import


_TAG_LIMIT = 4500  # MLflow keeps model-version tag values up to 5 000 characters


def _short_json(value: Any) -> str:
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


def current_actor() -> str:
    with contextlib.suppress(Exception):
        return os.environ.get("DROPSCORE_ACTOR") or getpass.getuser()
    return "unknown"


class ModelRegistry:
    """The registered model ``model_name`` in the MLflow server or sqlite file at ``tracking_uri``
    (its registry at ``registry_uri`` when that is another server, as ``MLFLOW_REGISTRY_URI`` says)."""

    def __init__(self, tracking_uri: str, model_name: str, artifact_root: Path | None = None, *, registry_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.model_name = model_name
        self._artifact_root = artifact_root
        self._loaded: dict[str, LoadedModel] = {}

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
    def _translated(self, action: str):
        """Turn "the server is not there" into an error that says which, where and how to start it."""
        ensure_cloud_run_token(self.tracking_uri)
        try:
            yield
        except (ModelNotFoundError, ModelIntegrityError):
            raise
        except Exception as exc:
            text = str(exc)
            unreachable = any(
                marker in text
                for marker in ("Connection refused", "Max retries exceeded", "Failed to establish", "Name or service not known")
            )
            if unreachable:
                raise ServiceUnavailableError(
                    "MLflow tracking server",
                    self.tracking_uri,
                    "Start it with `dropscore serve` (local) or check DROPSCORE_MLFLOW_TRACKING_URI.",
                    detail=f"while trying to {action}",
                ) from exc
            if "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower():
                raise ModelNotFoundError(f"{action}: {text}") from exc
            raise

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

    # -- writing ---------------------------------------------------------------------------

    def register(
        self,
        trained: TrainedModel,
        contract: Contract,
        *,
        sources: dict[str, str],
        purpose: str,
        attach: Callable[[dict[str, Any], str], dict[str, str]] | None = None,
    ) -> str:
        """Log a run with params, metrics and artifacts; register it as a new version. Returns the version.

        ``attach(meta, version)`` returns text files (the model card) stored beside the metadata.
        """
        import lightgbm as lgb

        with self._translated("register a model version"), tempfile.TemporaryDirectory() as scratch:
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
                "model_sha256": sha256_of(booster_file),
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
            client = self.client
            run = client.create_run(self._experiment_id(), run_name=f"{self.model_name}-{purpose}")
            run_id = run.info.run_id
            for key, value in trained.params.items():
                client.log_param(run_id, key, value)
            client.log_param(run_id, "threshold", round(trained.threshold, 6))
            for key, value in trained.metrics.items():
                client.log_metric(run_id, f"holdout_{key}", value)
            client.set_tag(run_id, "dropscore.purpose", purpose)
            client.set_tag(run_id, "dropscore.contract", contract.fingerprint())
            client.log_artifacts(run_id, str(model_dir), artifact_path="model")
            client.set_terminated(run_id)
            with contextlib.suppress(Exception):
                client.create_registered_model(self.model_name)
            source = f"{client.get_run(run_id).info.artifact_uri}/model"
            version = client.create_model_version(self.model_name, source, run_id=run_id)
            tags = {
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
                "lineage": _short_json(meta["lineage"]),
            }
            for key, value in tags.items():
                client.set_model_version_tag(self.model_name, version.version, key, value)
            if attach is not None:
                self.attach_files(str(version.version), attach(meta, str(version.version)))
            return str(version.version)

    def attach_files(self, version: str, files: dict[str, str]) -> None:
        """Add text files (the model card) beside a version's metadata, under ``model/dropscore/``."""
        with self._translated(f"attach files to version {version}"), tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            for name, text in files.items():
                (folder / name).write_text(text, encoding="utf-8")
            run_id = self.client.get_model_version(self.model_name, version).run_id
            self.client.log_artifacts(run_id, str(folder), artifact_path=f"model/{META_DIR}")

    def read_file(self, version: str, name: str) -> str:
        """A text file from a version's ``model/dropscore/`` folder (e.g. ``model_card.es.md``)."""
        relative = f"{META_DIR}/{name}"
        stored = self._local_version(version)
        if stored is not None and (stored.folder / relative).is_file():  # the embedded registry: the file where it lies, checked as after a download
            return self._checked_text(version, stored.folder, stored.tags, relative, name, stored.folder / relative)
        import mlflow

        with self._translated(f"read {name} of version {version}"), tempfile.TemporaryDirectory() as scratch:
            model_version = self.client.get_model_version(self.model_name, version)
            source, folder = model_version.source, Path(scratch)

            def download(path: str) -> Path | None:
                with contextlib.redirect_stdout(io.StringIO()):
                    try:
                        local = mlflow.artifacts.download_artifacts(
                            artifact_uri=f"{source}/{path}", dst_path=str(folder / Path(path).parent), tracking_uri=self.tracking_uri
                        )
                    except Exception:
                        if path == relative:
                            raise
                        return None  # a missing manifest is reported as such by the check below
                return Path(local)

            local = download(relative)
            tags = dict(model_version.tags or {})
            if tags.get(artifact_integrity.MANIFEST_TAG):
                download(MANIFEST_PATH)
            return self._checked_text(version, folder, tags, relative, name, Path(local))

    @staticmethod
    def _checked_text(version: str, folder: Path, tags: dict[str, str], relative: str, name: str, local: Path) -> str:
        """``local``'s text once it matches the manifest under ``folder`` whose digest the registry holds."""
        digest = tags.get(artifact_integrity.MANIFEST_TAG)
        if digest:
            manifest = folder / MANIFEST_PATH
            files = artifact_integrity.read_manifest(version, manifest.read_bytes() if manifest.is_file() else None, digest, MANIFEST_PATH)
            if relative in files:  # files attached later (model cards) are not scored with
                artifact_integrity.verify_files(version, folder, files, only=[relative])
        elif name in SCORED_FILES:
            _warn_unverifiable(version)
        return local.read_text(encoding="utf-8")

    def set_alias(self, alias: str, version: str) -> None:
        with self._translated(f"set alias {alias}"):
            self.client.set_registered_model_alias(self.model_name, alias, version)

    def clear_alias(self, alias: str) -> None:
        with self._translated(f"delete alias {alias}"), contextlib.suppress(Exception):
            self.client.delete_registered_model_alias(self.model_name, alias)

    def promote(self, version: str) -> str | None:
        """Make ``version`` the champion; the old champion becomes ``previous``. Returns the old champion."""
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
        """Champion goes back to ``previous``, at once. Returns (restored version, demoted version)."""
        previous, champion = self.version_of(PREVIOUS), self.version_of(CHAMPION)
        if previous is None or champion is None:
            raise ModelNotFoundError("there is no previous champion to roll back to / no hay un campeón anterior")
        self.set_alias(CHAMPION, previous)
        self.set_alias(PREVIOUS, champion)
        return previous, champion

    # -- reading ---------------------------------------------------------------------------

    def version_of(self, alias: str) -> str | None:
        if self._local is not None and (version := self._local.version_of(alias)) is not None:
            return version  # the embedded registry, read without MLflow (shared.backends.sqlite_registry)
        with self._translated(f"read alias {alias}"):
            try:
                return str(self.client.get_model_version_by_alias(self.model_name, alias).version)
            except Exception as exc:  # MLflow raises a generic exception for "no such alias / model"
                if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower():
                    return None
                raise

    def load(self, alias_or_version: str = CHAMPION) -> LoadedModel:
        """Load a version (by alias or number), verifying the model file against its recorded hash.

        Cached per process by version number: the alias is re-read on every call (cheap), the
        artifacts only when the alias has moved.
        """
        version = alias_or_version if alias_or_version.isdigit() else self.version_of(alias_or_version)
        if version is None:
            raise ModelNotFoundError(f"model {self.model_name!r} has no version with alias {alias_or_version!r}")
        if version in self._loaded:
            return self._loaded[version]
        lgb = import_lightgbm()

        with self._translated(f"download version {version}"), tempfile.TemporaryDirectory() as scratch:
            stored = self._local_version(version)
            if stored is not None:  # the embedded registry: its folder as it is, checked below like a download
                local, tags = stored.folder, stored.tags
            else:
                import mlflow

                model_version = self.client.get_model_version(self.model_name, version)
                with contextlib.redirect_stdout(io.StringIO()):
                    local = Path(
                        mlflow.artifacts.download_artifacts(
                            artifact_uri=model_version.source, dst_path=scratch, tracking_uri=self.tracking_uri
                        )
                    )
                tags = dict(model_version.tags or {})
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
            actual = sha256_of(local / model_file)
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
            loaded = LoadedModel(
                version=version,
                booster=lgb.Booster(model_file=str(local / model_file)),
                contract=Contract.from_yaml((local / META_DIR / "contract.yaml").read_text(encoding="utf-8")),
                meta=meta,
                reference_sample=pd.read_parquet(local / META_DIR / "reference_sample.parquet"),
            )
        self._loaded[version] = loaded
        return loaded

    def versions(self) -> list[dict[str, Any]]:
        with self._translated("list model versions"):
            try:
                found = self.client.search_model_versions(f"name = '{self.model_name}'")
            except Exception as exc:
                if "RESOURCE_DOES_NOT_EXIST" in str(exc):
                    return []
                raise
            # Search results do not carry aliases on every backend; the registered model always does.
            alias_map = dict(self.client.get_registered_model(self.model_name).aliases or {}) if found else {}
            out = []
            for model_version in sorted(found, key=lambda v: int(v.version)):
                tags = dict(model_version.tags or {})
                out.append(
                    {
                        "version": str(model_version.version),
                        "aliases": sorted(alias for alias, number in alias_map.items() if str(number) == str(model_version.version)),
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
                        "run_id": model_version.run_id,
                        "created_at": datetime.fromtimestamp(model_version.creation_timestamp / 1000, UTC).isoformat(),
                    }
                )
            return out


# -- the MLflow model other tools run --------------------------------------------------------------


def save_pyfunc(model_dir: Path, booster_file: Path, meta_dir: Path, contract: Contract, task: str, classes: list[str]) -> None:
    """Write a version's MLflow model: a pyfunc from code (shared/model/pyfunc_model.py) with its signature.

    The ``shared`` package goes in as ``code_paths``: a zip of what a function zip ships of it, which
    shared/model/pyfunc_model.py puts on ``sys.path``; so the model needs no dropscore install and nothing
    is pickled. The booster is also declared as the
    ``lightgbm`` flavor: ``mlflow.lightgbm.load_model`` hands out the raw booster.
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    import lightgbm as lgb
    import mlflow.pyfunc
    from mlflow.models import Model

    from shared.local.packaging import shared_package_files, write_deterministic_zip

    with tempfile.TemporaryDirectory() as scratch:
        code = Path(scratch) / CODE_ARCHIVE
        write_deterministic_zip(list(shared_package_files(PYFUNC_CODE_FILE.parents[2])), code)
        mlflow_model = Model()
        mlflow_model.add_flavor("lightgbm", lgb_version=lgb.__version__, data=MODEL_FILE, model_class="lightgbm.basic.Booster", code=None)
        requirements = []
        for name in PYFUNC_REQUIREMENTS:
            try:
                requirements.append(f"{name}=={installed(name)}")
            except PackageNotFoundError:
                requirements.append(name)
        with _quiet_mlflow():
            mlflow.pyfunc.save_model(
                path=str(model_dir),
                python_model=str(PYFUNC_CODE_FILE),
                artifacts={
                    BOOSTER_ARTIFACT: str(booster_file),
                    CONTRACT_ARTIFACT: str(meta_dir / "contract.yaml"),
                    META_ARTIFACT: str(meta_dir / "meta.json"),
                },
                code_paths=[str(code)],
                signature=pyfunc_signature(contract, task, classes),
                pip_requirements=requirements,
                mlflow_model=mlflow_model,
                metadata={"dropscore_contract": contract.fingerprint()},
            )


def pyfunc_signature(contract: Contract, task: str, classes: list[str]):  # noqa: ANN201 - mlflow.models.ModelSignature, imported lazily
    """Input: the columns an incoming file may carry, by name, required as the contract says; output:
    what the pyfunc returns; params: language, decimal mark, source name.

    The input columns are of MLflow's ``Any`` type: the pyfunc takes text as written ("1.234,5",
    "0912345678") and typed values alike (``mlflow models predict -t csv`` reads the CSV with pandas,
    which types numbers; Spark columns are typed), and validates every cell itself as the clean step
    does, quarantining a row rather than failing the request. A "string" column would refuse a
    numeric pandas column before the pyfunc sees it; a "double" one would refuse "1.234,5".
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    from shared.model.frame_scoring import DEFAULT_SOURCE_NAME, input_columns, output_columns_for

    columns, required = input_columns(contract)
    inputs = Schema([ColSpec(AnyType(), name, required=name in required) for name in columns])
    outputs = Schema([ColSpec(kind, name) for name, kind in output_columns_for(contract, task, classes)])
    params = ParamSchema(
        [
            ParamSpec("language", "string", ""),       # reasons and messages: es or en ("" = DROPSCORE_LANG, else es)
            ParamSpec("decimal", "string", "auto"),    # "," or "." for text numbers; auto = as the clean step decides
            ParamSpec("source_name", "string", DEFAULT_SOURCE_NAME),  # ids "<name>-<row>" when the contract has no id
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


@contextlib.contextmanager
def _quiet_mlflow():
    """MLflow logs and warns while it saves a model (no input example, inferred environments): not the user's business."""
    import warnings

    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        mlflow_logger.setLevel(level)
