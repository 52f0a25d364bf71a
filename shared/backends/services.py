"""Per-process handles to the services a handler needs, built lazily and reused across events.

Cloud Functions keep an instance warm between events; caching the registry keeps the
champion model in memory and reloads it only when the alias moves.
"""

from __future__ import annotations

from functools import lru_cache

from shared.backends.registry import ModelRegistry
from shared.backends.storage import ObjectStore, get_store
from shared.backends.warehouse import Warehouse, open_warehouse
from shared.settings import Settings


@lru_cache(maxsize=8)
def _registry(tracking_uri: str, model_name: str, registry_uri: str) -> ModelRegistry:
    return ModelRegistry(tracking_uri, model_name, registry_uri=registry_uri)


def registry(settings: Settings) -> ModelRegistry:
    return _registry(settings.tracking_uri, settings.model_name, settings.registry_uri or settings.tracking_uri)


def warehouse(settings: Settings) -> Warehouse:
    # The warehouse backends open connections per operation, so one object per URI is safe to share.
    return _warehouse(settings.warehouse_uri)


@lru_cache(maxsize=8)
def _warehouse(uri: str) -> Warehouse:
    return open_warehouse(uri)


def store(uri: str) -> ObjectStore:
    return get_store(uri)


def reset() -> None:
    """Forget cached handles (tests switch settings between cases)."""
    _registry.cache_clear()
    _warehouse.cache_clear()
