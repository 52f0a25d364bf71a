"""One way to keep a client per process: :func:`per_process` builds it on first use, and :func:`reset` forgets them all.

A Cloud Function instance stays warm between events, so clients (a storage client, the registry with
its loaded champion, a Pub/Sub publisher) are built once and reused. They are built on first use,
never at import: the environment (emulator hosts, endpoints, credentials) is read when a handler
runs. Tests and the local tools change that environment between cases and call :func:`reset`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_CACHES: list[PerProcess] = []  # type: ignore[type-arg]
_REGISTRY_LOCK = threading.Lock()


class PerProcess(Generic[P, T]):
    """``build`` called once per distinct arguments (they must be hashable), shared by every thread.

    One lock per cache: two threads that miss at once would otherwise both build a client (boto3 and
    google-cloud clients are expensive and hold connection pools), and one of them would be lost.
    """

    def __init__(self, build: Callable[P, T]) -> None:
        self._build = build
        self._built: dict[Hashable, T] = {}
        self._lock = threading.RLock()  # a builder may ask another cache of this kind (a store for a registry)
        functools.update_wrapper(self, build)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        key = (args, tuple(sorted(kwargs.items())))
        with self._lock:
            if key not in self._built:
                self._built[key] = self._build(*args, **kwargs)
            return self._built[key]

    def forget(self) -> None:
        with self._lock:
            self._built.clear()

    def __len__(self) -> int:
        return len(self._built)


def per_process(build: Callable[P, T]) -> PerProcess[P, T]:
    """Decorate a function that builds a client: its results are kept until :func:`reset`."""
    cache = PerProcess(build)
    with _REGISTRY_LOCK:
        _CACHES.append(cache)
    return cache


def reset() -> None:
    """Forget every client built so far; the next call builds anew from the environment of that moment."""
    with _REGISTRY_LOCK:
        caches = list(_CACHES)
    for cache in caches:
        cache.forget()
