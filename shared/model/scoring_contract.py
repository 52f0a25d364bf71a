"""The contract a file *to score* is checked against: the champion's, minus what its model never reads.

The leakage guard (shared.model.leakage) drops from the model a column that predicts the target almost
perfectly in training (a "loss reason" filled in only after the outcome). The contract still
lists it, as required, because training files carry it; but in a file to score it is usually
absent (it does not exist yet when the file is sent), and the model would not read it anyway.
So for ``incoming/`` files the columns the champion's training excluded (``meta.json``'s
``excluded_features``) are not required, and when present they are ignored: they are left out
of the clean rows like any column the contract does not name, and bad values in them never
quarantine a row. A personal column stays in the contract (not required), so that if a file
carries it, it still leaves only as a keyed hash (shared.ingest.pii).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from shared.backends import services
from shared.ingest.contract import Contract
from shared.model import registered
from shared.settings import Settings

_EXCLUDED: dict[tuple[str, str, str], list[str]] = {}


def excluded_features(settings: Settings, version: str) -> list[str]:
    """The columns the leakage guard excluded when ``version`` was trained (read once per version and instance)."""
    key = (settings.tracking_uri, settings.model_name, version)
    if key not in _EXCLUDED:
        meta: dict[str, Any] = json.loads(registered.read_file(services.registry(settings), version, "meta.json"))
        _EXCLUDED[key] = [str(name) for name in meta.get("excluded_features") or []]
    return _EXCLUDED[key]


def without_excluded(contract: Contract, excluded: list[str]) -> Contract:
    """``contract`` for files to score: excluded columns not required, and ignored when present."""
    if not excluded:
        return contract
    columns = {}
    for name, spec in contract.columns.items():
        if name not in excluded or name in (contract.id_column, contract.target):
            columns[name] = spec
        elif spec.personal:
            # Kept so that it is still hashed if a file carries it; never required, never a reason to quarantine.
            columns[name] = dataclasses.replace(spec, required=False, nullable=True, type="text", min=None, max=None, values=None, format=None)
    passthrough = [name for name in contract.passthrough if name in columns or name not in contract.columns]
    return dataclasses.replace(contract, columns=columns, passthrough=passthrough)


def for_scoring(settings: Settings, contract: Contract, version: str | None) -> Contract:
    """The champion's contract as ``incoming/`` files are checked against it."""
    return without_excluded(contract, excluded_features(settings, version)) if version else contract


__all__ = ["excluded_features", "for_scoring", "without_excluded"]
