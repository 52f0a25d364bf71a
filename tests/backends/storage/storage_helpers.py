"""Helpers the storage tests share."""

from __future__ import annotations

import hashlib

from shared.backends.storage import ObjectStore


def payload(size: int, seed: str = "x") -> bytes:
    """Deterministic, incompressible-looking bytes (so chunks cannot be confused)."""
    block_count = size // 32 + 1  # a SHA-256 digest is 32 bytes
    return b"".join(hashlib.sha256(f"{seed}-{number}".encode()).digest() for number in range(block_count))[
        :size
    ]


def call_operation(store: ObjectStore, operation: str, uri: str) -> object:
    if operation == "write_bytes":
        return store.write_bytes(uri, b"x")
    if operation == "list":
        return store.list(uri.rsplit("/", 1)[0])
    return getattr(store, operation)(uri)
