"""The sentences about the model registry: versions, aliases, rollback. (es, en)"""

from __future__ import annotations

REGISTRY: dict[str, tuple[str, str]] = {
    "registry_no_previous_champion": (
        "no hay un campeón anterior al que volver",
        "there is no previous champion to roll back to",
    ),
    "registry_no_version_with_alias": (
        "el modelo «{model}» no tiene una versión con el alias «{alias}»",
        "model '{model}' has no version with alias '{alias}'",
    ),
}
