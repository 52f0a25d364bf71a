"""Per-process handles to the services a handler needs, built lazily and reused across events.

Cloud Functions keep an instance warm between events; caching the registry keeps the
champion model in memory and reloads it only when the alias moves. Every handle here (and the
storage clients, and the Pub/Sub publisher) is cached the one way, :mod:`shared.backends.process_cache`,
so :func:`reset` forgets all of them at once.
"""

from __future__ import annotations

from shared.backends import process_cache
from shared.backends.process_cache import per_process
from shared.backends.registry import MlflowRegistry, Registry
from shared.backends.storage import ObjectStore, get_store
from shared.backends.warehouse import Warehouse, open_warehouse
from shared.settings import Settings


@per_process
def _registry(tracking_uri: str, model_name: str, registry_uri: str) -> MlflowRegistry:
    return MlflowRegistry(tracking_uri, model_name, registry_uri=registry_uri)


def registry(settings: Settings) -> Registry:
    return _registry(settings.tracking_uri, settings.model_name, settings.registry_uri or settings.tracking_uri)


def warehouse(settings: Settings) -> Warehouse:
    # The warehouse backends open connections per operation, so one object per URI is safe to share.
    return _warehouse(settings.warehouse_uri)


@per_process
def _warehouse(uri: str) -> Warehouse:
    return open_warehouse(uri)


def store(uri: str) -> ObjectStore:
    return get_store(uri)


def reset() -> None:
    """Forget every cached client and handle (tests and local tools switch settings between cases)."""
    process_cache.reset()
