"""Every file a model version is scored with is checked against hashes recorded when it was registered.

The artifact store (a bucket, or a folder beside the sqlite database) is easier to edit than the
registry's database. Editing a version's ``contract.yaml`` there (turning ``personal: true`` off) or
its ``meta.json`` (threshold 0) must not change what dropscore does, so at registration the sha256
of every file of the version is written to a manifest (:data:`MANIFEST_FILE`, stored with the
artifacts) and the manifest's own sha256 goes into a model-version tag (:data:`MANIFEST_TAG`), which
lives in the registry's database, apart from the artifact store. Editing a file no longer matches
its line in the manifest; editing the manifest too no longer matches the tag. The digest in a tag,
not the whole manifest, because a tag holds at most 5 000 characters and a version's files are not
ours to count (MLflow's flavors add their own).

On load, every file the manifest lists is checked, and so is the manifest; a mismatch or a missing
file raises :class:`~shared.errors.ModelIntegrityError` naming the files (the caller alerts and
refuses to score). Files added to the version later (the model cards) are not in the manifest and
are never used to score.

Versions registered before manifests existed have only the ``model_sha256`` tag of the model file:
the registry still checks that one file and logs a warning that the others cannot be verified
(docs/data-protection.md says how to re-protect such a version: retrain or re-register it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from shared.errors import ModelIntegrityError

MANIFEST_FILE = "artifact_manifest.json"   # beside the contract and meta.json, under META_DIR
MANIFEST_TAG = "artifact_manifest_sha256"  # model-version tag: the sha256 of the manifest's bytes
MANIFEST_FORMAT = 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_manifest(folder: Path, *, exclude: str) -> dict[str, str]:
    """{relative posix path: sha256} of every file under ``folder`` except ``exclude`` (the manifest itself)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): sha256_of(p) for p in files if p.relative_to(folder).as_posix() != exclude}


def manifest_bytes(files: dict[str, str]) -> bytes:
    """The canonical serialization whose sha256 the tag holds (sorted keys: the same files, the same bytes)."""
    return json.dumps({"format": MANIFEST_FORMAT, "sha256": dict(sorted(files.items()))}, sort_keys=True, indent=1).encode("utf-8")


def write_manifest(folder: Path, manifest_path: str) -> str:
    """Hash every file under ``folder``, write the manifest at ``folder / manifest_path``; returns the tag value."""
    data = manifest_bytes(build_manifest(folder, exclude=manifest_path))
    target = folder / manifest_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return sha256_of_bytes(data)


@dataclass(frozen=True)
class Mismatch:
    path: str               # relative to the version's folder
    expected: str | None    # None: the file is not in the manifest
    actual: str | None      # None: the file is missing

    def describe(self) -> str:
        if self.actual is None:
            return f"{self.path} is missing"
        return f"{self.path} sha256 {self.actual[:12]}… is not the registered {str(self.expected)[:12]}…"


def integrity_error(version: str, mismatches: list[Mismatch]) -> ModelIntegrityError:
    """The error the caller alerts on: which artifacts of which version do not match, and how."""
    names = ", ".join(m.path for m in mismatches)
    error = ModelIntegrityError(
        f"model version {version}: {'; '.join(m.describe() for m in mismatches)}; refusing to score with it (tampered: {names})"
    )
    first = mismatches[0]
    error.version, error.expected, error.actual = version, first.expected, first.actual  # type: ignore[attr-defined]
    error.artifacts = [m.path for m in mismatches]  # type: ignore[attr-defined]
    return error


def read_manifest(version: str, manifest_data: bytes | None, registered_digest: str, manifest_path: str = MANIFEST_FILE) -> dict[str, str]:
    """The manifest's {path: sha256}, once its bytes match the digest in the registry (else ModelIntegrityError)."""
    if manifest_data is None:
        raise integrity_error(version, [Mismatch(manifest_path, registered_digest, None)])
    actual = sha256_of_bytes(manifest_data)
    if actual != registered_digest:
        raise integrity_error(version, [Mismatch(manifest_path, registered_digest, actual)])
    try:
        files = json.loads(manifest_data)["sha256"]
    except (ValueError, KeyError, TypeError) as exc:  # matched its digest, so this is our own bug, not tampering
        raise ModelIntegrityError(f"model version {version}: unreadable artifact manifest ({exc})") from exc
    return {str(path): str(digest) for path, digest in files.items()}


def verify_files(version: str, folder: Path, files: dict[str, str], *, only: list[str] | None = None) -> None:
    """Check the files the manifest lists (or just ``only``) under ``folder``; raise naming every mismatch.

    A file asked for in ``only`` that the manifest does not list is a mismatch too: whatever the
    version is scored with must have been registered.
    """
    mismatches: list[Mismatch] = []
    for path in only if only is not None else sorted(files):
        expected = files.get(path)
        local = folder / path
        actual = sha256_of(local) if local.is_file() else None
        if actual is None or actual != expected:
            mismatches.append(Mismatch(path, expected, actual))
    if mismatches:
        raise integrity_error(version, mismatches)
