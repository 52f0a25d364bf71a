"""Object storage behind one small Protocol; the backend is chosen by URI scheme.

- ``file://`` (or a plain absolute path): folders as buckets, the embedded default (:mod:`.local`).
- ``gs://``: Google Cloud Storage through ``google-cloud-storage``; honours
  ``STORAGE_EMULATOR_HOST`` (then no credentials are needed) (:mod:`.gcs`).
- ``s3://``: Amazon S3 through ``boto3``, the fallback; honours ``AWS_ENDPOINT_URL`` (:mod:`.s3`,
  with :mod:`.aws_credentials` for a role assumed from Google Cloud).

Every backend gives the same guarantees: writes are atomic (a reader sees the old
object or the new one, never a partial one), ``compose`` concatenates objects into a new
one server side where the service can (GCS compose, S3 multipart copy) and atomically,
``create_if_absent`` is a create-only
precondition (the idempotency claims of the handlers rest on it), ``list`` is
recursive and sorted, and vendor errors are translated at this boundary into
:mod:`shared.errors` (``raise ... from exc``): not found -> :class:`ObjectNotFoundError`,
faults that may pass -> :class:`TransientError`, an endpoint that refuses connections
-> :class:`ServiceUnavailableError`, everything the caller must fix -> :class:`PermanentError`.

Storage URIs are parsed by :func:`shared.object_names.split_uri` (pure text: settings use it too);
what an object looks like (:class:`~shared.backends.storage.base.ObjectInfo`) is in :mod:`.base`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from shared.backends.process_cache import per_process
from shared.backends.storage.base import ObjectInfo
from shared.backends.storage.gcs import GcsObjectStore
from shared.backends.storage.local import LocalObjectStore
from shared.backends.storage.s3 import S3ObjectStore
from shared.object_names import split_uri


@runtime_checkable
class ObjectStore(Protocol):
    def read_bytes(self, uri: str) -> bytes: ...

    def open_read(self, uri: str) -> BinaryIO: ...

    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def upload_file(
        self, uri: str, local_path: Path, content_type: str = "application/octet-stream"
    ) -> None: ...

    def open_write(self, uri: str, content_type: str = "application/octet-stream") -> contextlib.AbstractContextManager[BinaryIO]:
        """A binary stream whose bytes become the object at ``uri``, atomically, when the ``with``
        block ends without an exception; with one, nothing is written. Memory holds one piece
        (:data:`~shared.backends.storage.base.WRITE_CHUNK_BYTES`), local disk nothing: a function's
        /tmp counts against its memory.
        """
        ...

    def create_if_absent(self, uri: str, data: bytes) -> bool: ...

    def exists(self, uri: str) -> bool: ...

    def stat(self, uri: str) -> ObjectInfo: ...

    def list(self, prefix_uri: str) -> list[ObjectInfo]: ...

    def delete(self, uri: str) -> None: ...

    def sweep_temp(self, folder_uri: str, older_than_seconds: float) -> list[str]:
        """Delete the temp objects (``.tmp-…``) directly in ``folder_uri`` untouched for longer than
        ``older_than_seconds``: what runs killed mid-write left behind. Returns what was deleted."""
        ...

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        """Write ``target_uri`` as the bytes of ``source_uris`` one after the other, atomically.

        Sources stay as they are (the caller deletes them); all live in the same bucket as
        the target. Raises :class:`ObjectNotFoundError` when a source is missing.
        """
        ...


_STORE_CLASSES: dict[str, Callable[[], ObjectStore]] = {
    "file": LocalObjectStore,
    "gs": GcsObjectStore,
    "s3": S3ObjectStore,
}


@per_process
def _store_for_scheme(scheme: str) -> ObjectStore:
    return _STORE_CLASSES[scheme]()


def get_store(uri: str) -> ObjectStore:
    """The store for a URI's scheme (``file``, ``gs``, ``s3``), built once per process
    (:func:`shared.backends.process_cache.reset` forgets it)."""
    scheme, _, _ = split_uri(uri)  # raises PermanentError for unknown schemes
    return _store_for_scheme(scheme)
