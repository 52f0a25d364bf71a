"""One cache and one reset for every per-process client (shared.backends.process_cache)."""

from __future__ import annotations

import threading
from pathlib import Path

from shared.backends import process_cache, services
from shared.backends.process_cache import per_process
from shared.backends.storage import get_store
from shared.settings import load_settings


def test_a_client_is_built_once_per_arguments_and_again_after_reset() -> None:
    built: list[str] = []

    @per_process
    def client(name: str) -> object:
        built.append(name)
        return object()

    first = client("a")
    assert client("a") is first
    assert client("b") is not first
    assert built == ["a", "b"]
    process_cache.reset()
    assert client("a") is not first
    assert built == ["a", "b", "a"]


def test_threads_that_miss_together_share_one_client() -> None:
    """Two threads missing at once must not both build (a lost client holds a connection pool)."""
    threads = 8
    start = threading.Barrier(threads)
    built: list[int] = []

    @per_process
    def client() -> object:
        built.append(1)
        start_waiting = threading.Event()
        start_waiting.wait(0.05)  # stay inside the build while the other threads ask for the client
        return object()

    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(client())

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(built) == 1
    assert len({id(result) for result in results}) == 1


def test_services_reset_forgets_every_client_storage_included(tmp_path: Path) -> None:
    """Before, storage kept its own cache: services.reset() left the old storage client in place."""
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path)})
    store = get_store(settings.storage_uri)
    warehouse = services.warehouse(settings)
    assert get_store(settings.storage_uri) is store and services.warehouse(settings) is warehouse

    services.reset()

    assert get_store(settings.storage_uri) is not store
    assert services.warehouse(settings) is not warehouse
