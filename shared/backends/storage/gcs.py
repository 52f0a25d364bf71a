"""``gs://``: Google Cloud Storage through ``google-cloud-storage``; honours ``STORAGE_EMULATOR_HOST``
(then no credentials are needed). Uploads are atomic by nature; compose is server side."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from shared.backends.storage.base import (
    WRITE_CHUNK_BYTES,
    ObjectInfo,
    VendorStore,
    as_utc,
    buffered,
    compose_keys,
    folder_prefix,
    object_key,
    refused_connection,
)
from shared.errors import (
    DropscoreError,
    ObjectNotFoundError,
    PermanentError,
    ServiceUnavailableError,
    TransientError,
)
from shared.object_names import TEMP_PREFIX, split_uri

# GCS composes at most 32 objects per request; more are composed in rounds.
GCS_COMPOSE_MAX_SOURCES = 32
# GCS BlobReader fetches this much per ranged request (its default, 40 MiB, is a big
# share of a small function's memory cap). Must be a multiple of 256 KiB.
GCS_READ_CHUNK_BYTES = 8 * 1024 * 1024
DEFAULT_GCS_TIMEOUT_SECONDS = 60.0
# With a local emulator, "connection refused" means "not started": say so in seconds,
# not after the two minutes the real service deserves.
EMULATOR_RETRY_DEADLINE_SECONDS = 5.0

HOW_TO_START_GCS = (
    "Start the local stack with `dropscore serve`, or set STORAGE_EMULATOR_HOST to the emulator's "
    "address (unset it to use Google Cloud Storage)."
)


class GcsObjectStore(VendorStore):
    """Google Cloud Storage. Uploads are atomic by nature: an object exists once finalized."""

    def __init__(self, client: Any = None, retry: Any = None, timeout: float = DEFAULT_GCS_TIMEOUT_SECONDS):
        from google.auth.exceptions import GoogleAuthError
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.emulator_host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip() or None
        self.endpoint = self.emulator_host or "https://storage.googleapis.com"
        if retry is None:
            retry = (
                DEFAULT_RETRY.with_timeout(EMULATOR_RETRY_DEADLINE_SECONDS)
                if self.emulator_host
                else DEFAULT_RETRY
            )
        self._retry = retry
        self._timeout = timeout
        # gcp-storage-emulator ignores ifGenerationMatch (it would overwrite a claim and
        # report success). Against it, look first; that is racy between concurrent callers,
        # which only the emulator needs to tolerate. Real GCS gets the precondition alone.
        self.check_before_create = self.emulator_host is not None
        try:
            self.client = client if client is not None else self._build_client()
        except (GoogleAuthError, OSError) as exc:
            # No credentials, or no project found in the environment: configuration.
            raise PermanentError(f"Google Cloud Storage is not configured: {exc}") from exc

    def _build_client(self) -> Any:
        from google.cloud import storage

        if self.emulator_host:
            from google.auth.credentials import AnonymousCredentials

            project = os.environ.get("GOOGLE_CLOUD_PROJECT", "").strip() or "dropscore-local"
            return storage.Client(project=project, credentials=AnonymousCredentials())
        return storage.Client()

    def _translate(self, exc: Exception, uri: str) -> DropscoreError | None:
        import requests
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        if isinstance(exc, api.NotFound):
            return ObjectNotFoundError(f"No object at {uri}")
        if isinstance(
            exc, api.RetryError | requests.RequestException | auth.TransportError | ConnectionError
        ):
            if refused_connection(exc):
                return ServiceUnavailableError(
                    service="Google Cloud Storage",
                    location=self.endpoint,
                    how_to_start=HOW_TO_START_GCS if self.emulator_host else "Check the network path to it.",
                    detail=str(exc),
                )
            return TransientError(f"Google Cloud Storage did not answer for {uri}: {exc}")
        if isinstance(exc, api.TooManyRequests | api.ServerError):
            return TransientError(f"Google Cloud Storage fault on {uri}: {exc}")
        if isinstance(exc, api.GoogleAPICallError):
            return PermanentError(f"Google Cloud Storage refused the request on {uri}: {exc}")
        if isinstance(exc, auth.GoogleAuthError):
            # Credentials that cannot be refreshed (revoked, wrong audience): configuration.
            return PermanentError(f"Google Cloud Storage rejected the credentials: {exc}")
        return None

    def _blob(self, uri: str) -> Any:
        bucket_name, key = object_key(uri, "gs")
        return self.client.bucket(bucket_name).blob(key)

    def _calls(self) -> dict[str, Any]:
        return {"retry": self._retry, "timeout": self._timeout}

    def read_bytes(self, uri: str) -> bytes:
        with self._errors(uri):
            return cast(bytes, self._blob(uri).download_as_bytes(**self._calls()))

    def open_read(self, uri: str) -> BinaryIO:
        bucket_name, key = object_key(uri, "gs")
        with self._errors(uri):
            # get_blob pins the generation: every ranged read comes from the same version,
            # so a concurrent rewrite fails the stream instead of splicing two versions.
            blob = self.client.bucket(bucket_name).get_blob(key, **self._calls())
            if blob is None:
                raise ObjectNotFoundError(f"No object at {uri}")
            reader = blob.open("rb", chunk_size=GCS_READ_CHUNK_BYTES, **self._calls())
        return buffered(reader, lambda exc: self._translate(exc, uri))

    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        with self._errors(uri):
            # Retrying an overwrite with the same bytes is harmless, so retry it.
            self._blob(uri).upload_from_string(data, content_type=content_type, **self._calls())

    def upload_file(self, uri: str, local_path: Path, content_type: str = "application/octet-stream") -> None:
        with self._errors(uri):
            self._blob(uri).upload_from_filename(str(local_path), content_type=content_type, **self._calls())

    @contextmanager
    def open_write(self, uri: str, content_type: str = "application/octet-stream") -> Iterator[BinaryIO]:
        # A resumable upload, a chunk at a time: the object is finalized by close(); the writer
        # cancels the upload when the block raises, so no partial object ever appears.
        with self._errors(uri):
            writer = self._blob(uri).open(
                "wb", chunk_size=WRITE_CHUNK_BYTES, content_type=content_type, ignore_flush=True, retry=self._retry
            )
            with writer:
                yield cast(BinaryIO, writer)

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._blob(uri)
        with self._errors(uri):
            if self.check_before_create and blob.exists(**self._calls()):
                return False
            try:
                # Generation 0 means "no live object": GCS creates it or answers 412.
                blob.upload_from_string(data, if_generation_match=0, **self._calls())
            except PreconditionFailed:
                return False
            return True

    def exists(self, uri: str) -> bool:
        with self._errors(uri):
            return bool(self._blob(uri).exists(**self._calls()))

    def stat(self, uri: str) -> ObjectInfo:
        bucket_name, key = object_key(uri, "gs")
        with self._errors(uri):
            blob = self.client.bucket(bucket_name).get_blob(key, **self._calls())
        if blob is None:
            raise ObjectNotFoundError(f"No object at {uri}")
        return self._info(bucket_name, blob)

    @staticmethod
    def _info(bucket_name: str, blob: Any) -> ObjectInfo:
        return ObjectInfo(
            uri=f"gs://{bucket_name}/{blob.name}",
            size=int(blob.size or 0),
            generation=str(blob.generation),
            updated=as_utc(blob.updated),
        )

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        scheme, bucket_name, key = split_uri(prefix_uri)
        if scheme != "gs":
            raise PermanentError(f"{prefix_uri!r} is not a gs:// URI.")
        with self._errors(prefix_uri):
            blobs = list(self.client.list_blobs(bucket_name, prefix=folder_prefix(key), **self._calls()))
        # Names ending in "/" are the console's empty "folder" placeholders, not data.
        found = [self._info(bucket_name, blob) for blob in blobs if not blob.name.endswith("/")]
        return sorted(found, key=lambda info: info.uri)

    def delete(self, uri: str) -> None:
        from google.api_core.exceptions import NotFound

        with self._errors(uri):
            try:
                self._blob(uri).delete(**self._calls())
            except NotFound:
                pass

    def sweep_temp(self, folder_uri: str, older_than_seconds: float) -> list[str]:
        # Uploads are atomic here: the only temp objects are compose intermediates of a killed compose.
        _, bucket_name, key = split_uri(folder_uri)
        cutoff = datetime.now(UTC).timestamp() - older_than_seconds
        removed: list[str] = []
        with self._errors(folder_uri):
            blobs = list(self.client.list_blobs(bucket_name, prefix=folder_prefix(key), delimiter="/", **self._calls()))
            for blob in blobs:
                if TEMP_PREFIX in blob.name.rsplit("/", 1)[-1] and blob.updated is not None and as_utc(blob.updated).timestamp() < cutoff:
                    self.delete(f"gs://{bucket_name}/{blob.name}")
                    removed.append(f"gs://{bucket_name}/{blob.name}")
        return removed

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        bucket_name, target_key, keys = compose_keys(target_uri, source_uris, "gs")
        bucket = self.client.bucket(bucket_name)
        intermediates: list[str] = []
        with self._errors(target_uri):
            try:
                # More than 32 sources: compose groups into intermediate objects, then those.
                while len(keys) > GCS_COMPOSE_MAX_SOURCES:
                    grouped = []
                    for start in range(0, len(keys), GCS_COMPOSE_MAX_SOURCES):
                        group = keys[start : start + GCS_COMPOSE_MAX_SOURCES]
                        name = f"{target_key}{TEMP_PREFIX}compose-{secrets.token_hex(6)}"
                        self._compose_once(bucket, name, group, content_type)
                        intermediates.append(name)
                        grouped.append(name)
                    keys = grouped
                self._compose_once(bucket, target_key, keys, content_type)
            finally:
                for name in intermediates:
                    try:
                        bucket.blob(name).delete(**self._calls())
                    except Exception:  # a leftover intermediate is only clutter; the compose result stands
                        pass
        return self.stat(target_uri)

    def _compose_once(self, bucket: Any, target_key: str, keys: list[str], content_type: str) -> None:
        target = bucket.blob(target_key)
        target.content_type = content_type
        # compose is a single request that creates the object whole; retrying it rewrites the same bytes.
        target.compose([bucket.blob(key) for key in keys], **self._calls())
