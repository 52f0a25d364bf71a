"""Object storage behind one small Protocol; the backend is chosen by URI scheme.

- ``file://`` (or a plain absolute path): folders as buckets, the embedded default.
- ``gs://``: Google Cloud Storage through ``google-cloud-storage``; honours
  ``STORAGE_EMULATOR_HOST`` (then no credentials are needed).
- ``s3://``: Amazon S3 through ``boto3``, the fallback; honours ``AWS_ENDPOINT_URL``.

Every backend gives the same guarantees: writes are atomic (a reader sees the old
object or the new one, never a partial one), ``compose`` concatenates objects into a new
one server side where the service can (GCS compose, S3 multipart copy) and atomically,
``create_if_absent`` is a create-only
precondition (the idempotency claims of the handlers rest on it), ``list`` is
recursive and sorted, and vendor errors are translated at this boundary into
:mod:`shared.errors` (``raise ... from exc``): not found -> :class:`ObjectNotFoundError`,
faults that may pass -> :class:`TransientError`, an endpoint that refuses connections
-> :class:`ServiceUnavailableError`, everything the caller must fix -> :class:`PermanentError`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast, runtime_checkable
from urllib.parse import quote, unquote

from shared.errors import (
    DropscoreError,
    ObjectNameError,
    ObjectNotFoundError,
    PermanentError,
    ServiceUnavailableError,
    TransientError,
)
from shared.object_names import TEMP_PREFIX, printable

SUPPORTED_SCHEMES = ("file", "gs", "s3")

# Files the local backend is still writing start with TEMP_PREFIX (".tmp-"); list() skips them.

# open_read() hands callers a buffered stream of this size over the vendor stream, so
# a chunked CSV reader issues few network reads without ever holding the whole object.
STREAM_BUFFER_BYTES = 256 * 1024
# GCS composes at most 32 objects per request; more are composed in rounds.
GCS_COMPOSE_MAX_SOURCES = 32
# S3 multipart parts: at least 5 MiB each but the last. Sources this big are copied server side
# (UploadPartCopy); smaller ones are streamed through a buffer flushed in WRITE_CHUNK_BYTES parts.
S3_MIN_PART_BYTES = 5 * 1024 * 1024
# GCS BlobReader fetches this much per ranged request (its default, 40 MiB, is a big
# share of a small function's memory cap). Must be a multiple of 256 KiB.
GCS_READ_CHUNK_BYTES = 8 * 1024 * 1024
# What a streamed write (open_write) holds in memory before it sends a piece: GCS resumable
# chunks must be a multiple of 256 KiB, S3 multipart parts at least 5 MiB (but the last).
WRITE_CHUNK_BYTES = 8 * 1024 * 1024

DEFAULT_GCS_TIMEOUT_SECONDS = 60.0
# With a local emulator, "connection refused" means "not started": say so in seconds,
# not after the two minutes the real service deserves.
EMULATOR_RETRY_DEADLINE_SECONDS = 5.0

HOW_TO_START_GCS = (
    "Start the local stack with `dropscore serve`, or set STORAGE_EMULATOR_HOST to the emulator's "
    "address (unset it to use Google Cloud Storage)."
)
HOW_TO_START_S3 = (
    "Start the local stack with `dropscore serve`, or set AWS_ENDPOINT_URL to the S3-compatible "
    "endpoint (unset it to use Amazon S3)."
)


@dataclass(frozen=True)
class ObjectInfo:
    uri: str  # full URI, e.g. gs://bucket/key, s3://bucket/key, file:///abs/path
    size: int
    generation: str  # GCS generation; S3 ETag; local: str(st_mtime_ns)
    updated: datetime  # timezone-aware UTC


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
        (:data:`WRITE_CHUNK_BYTES`), local disk nothing: a function's /tmp counts against its memory.
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


# --------------------------------------------------------------------------- URIs


def split_uri(uri: str) -> tuple[str, str, str]:
    """Split a storage URI into ``(scheme, bucket, key)``.

    For ``file://`` URIs and plain absolute paths the bucket is ``""`` and the key is the
    absolute path (percent-escapes decoded, as ``Path.as_uri()`` writes them). Keys of
    ``gs://`` and ``s3://`` URIs are taken verbatim: object names may hold ``#`` or ``?``.
    """
    uri = os.fspath(uri)
    if "://" not in uri:
        if os.path.isabs(uri):
            return "file", "", _local_path_of(uri, uri)
        raise PermanentError(
            f"Not a storage URI: {uri!r}. Use file:///absolute/path, gs://bucket/key or s3://bucket/key."
        )
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    if scheme == "file":
        host, slash, path = rest.partition("/")
        if host not in ("", "localhost") or not slash:
            raise PermanentError(f"Not a local file URI: {uri!r}. Use file:///absolute/path.")
        return "file", "", _local_path_of("/" + unquote(path), uri)
    if scheme not in SUPPORTED_SCHEMES:
        raise PermanentError(
            f"Unsupported storage scheme {scheme!r} in {uri!r}: use file://, gs:// or s3://."
        )
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise PermanentError(f"Storage URI {uri!r} names no bucket.")
    return scheme, bucket, key


def _local_path_of(path: str, uri: str) -> str:
    """The decoded path of a file URI, refused when it steps up (``..``) or holds NUL: a path is never
    "normalised" into another file. Keys become URIs through ``Settings.object_uri``, which escapes
    them (shared.object_names); this is the second line, for URIs built any other way."""
    if "\x00" in path or any(part in (".", "..") for part in path.split("/")):
        raise ObjectNameError(
            "unsafe_name",
            f"La ruta {printable(uri)} sale de su carpeta o contiene caracteres no válidos; no se usó.",
            f"The path {printable(uri)} leaves its folder or holds invalid characters; it was not used.",
        )
    return os.path.normpath(path)


def _object_key(uri: str, scheme: str) -> tuple[str, str]:
    """(bucket, key) of a URI that must name one object of this backend."""
    uri_scheme, bucket, key = split_uri(uri)
    if uri_scheme != scheme:
        raise PermanentError(f"{uri!r} is not a {scheme}:// URI.")
    if not key or key.endswith("/"):
        raise PermanentError(f"Storage URI {uri!r} names no object (empty key or a folder).")
    return bucket, key


def _folder_prefix(key: str) -> str:
    """Key prefix for a folder: "" for the bucket root, else "<folder>/"."""
    key = key.strip("/")
    return f"{key}/" if key else ""


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------ error plumbing


class _TranslatingReader(io.RawIOBase):
    """Raw stream over a vendor stream that translates vendor errors raised mid-read.

    Seekable when the vendor stream is: Parquet readers seek to the footer first.
    """

    def __init__(self, source: Any, translate: Callable[[Exception], DropscoreError | None]) -> None:
        super().__init__()
        self._source = source
        self._translate = translate

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DropscoreError:
            raise
        except Exception as exc:
            error = self._translate(exc)
            if error is None:
                raise
            raise error from exc

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._errors():
            chunk = self._source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return bool(getattr(self._source, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("seek")
        with self._errors():
            return int(self._source.seek(offset, whence))

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                super().close()


def _buffered(source: Any, translate: Callable[[Exception], DropscoreError | None]) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(_TranslatingReader(source, translate), STREAM_BUFFER_BYTES))


def _refused_connection(exc: BaseException) -> bool:
    """True when the chain of causes shows nobody listening (refused, or no such host)."""
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError | NewConnectionError):
            return True
        # requests and urllib3 keep the underlying error in args / .reason, not only __cause__.
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


# ---------------------------------------------------------------------- file://


class LocalObjectStore:
    """Folders as buckets. Atomic writes: temp file in the same folder, then rename.

    A file has no content type, so ``content_type`` is accepted and not kept.
    """

    def _path(self, uri: str) -> Path:
        scheme, _, path = split_uri(uri)
        if scheme != "file":
            raise PermanentError(f"{uri!r} is not a file:// URI.")
        return Path(path)

    @staticmethod
    def _uri(path: Path) -> str:
        return path.as_uri()

    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            # A folder is not an object, as in a bucket.
            raise ObjectNotFoundError(f"No object at {uri}") from exc
        except PermissionError as exc:
            raise PermanentError(f"Permission denied on {uri}: {exc}") from exc
        except DropscoreError:
            raise
        except OSError as exc:
            # Disk full, I/O error, stale mount: may pass; let the platform retry.
            raise TransientError(f"Local storage error on {uri}: {exc}") from exc

    def _write_temp(self, target: Path, write: Callable[[BinaryIO], object]) -> Path:
        """Write a complete temp file next to ``target`` (same filesystem, so rename is atomic)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        # O_EXCL + mode 0o666: a fresh file with the umask's permissions (mkstemp would force 0600).
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                write(cast(BinaryIO, handle))
                handle.flush()
                os.fsync(handle.fileno())
            self._advance_mtime(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp

    @staticmethod
    def _advance_mtime(temp: Path, target: Path) -> None:
        # The generation is the mtime, and kernel timestamps are coarse (a clock tick): a
        # rewrite within the same tick would keep the old generation, and an idempotent
        # handler would skip the new content. Make every rewrite's mtime strictly newer.
        try:
            previous_ns = target.stat().st_mtime_ns
        except FileNotFoundError:
            return
        status = temp.stat()
        if status.st_mtime_ns <= previous_ns:
            os.utime(temp, ns=(status.st_atime_ns, previous_ns + 1))

    def _replace_with(self, uri: str, write: Callable[[BinaryIO], object]) -> None:
        target = self._path(uri)
        with self._errors(uri):
            temp = self._write_temp(target, write)
            try:
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise

    def read_bytes(self, uri: str) -> bytes:
        with self._errors(uri):
            return self._path(uri).read_bytes()

    def open_read(self, uri: str) -> BinaryIO:
        with self._errors(uri):
            return cast(BinaryIO, open(self._path(uri), "rb"))  # the caller closes it

    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._replace_with(uri, lambda handle: handle.write(data))

    def upload_file(self, uri: str, local_path: Path, content_type: str = "application/octet-stream") -> None:
        # Opened outside the translation: a missing source is the caller's bug, not a missing object.
        with open(local_path, "rb") as source:
            self._replace_with(uri, lambda handle: shutil.copyfileobj(source, handle, 1024 * 1024))

    @contextmanager
    def open_write(self, uri: str, content_type: str = "application/octet-stream") -> Iterator[BinaryIO]:
        # The temp file beside the target is the object being written; renamed into place at the end.
        target = self._path(uri)
        with self._errors(uri):
            temp = self._write_temp(target, lambda handle: None)
            handle = open(temp, "r+b")  # noqa: SIM115 - closed below, before the rename
        try:
            with handle:
                yield cast(BinaryIO, handle)
                handle.flush()
                os.fsync(handle.fileno())
            with self._errors(uri):
                self._advance_mtime(temp, target)
                os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        target = self._path(uri)
        with self._errors(uri):
            temp = self._write_temp(target, lambda handle: handle.write(data))
            try:
                # link() fails if the target exists, and the target appears with its full
                # content at once: no reader ever sees an empty or half-written claim.
                os.link(temp, target)
            except FileExistsError:
                return False
            finally:
                temp.unlink(missing_ok=True)
            return True

    def exists(self, uri: str) -> bool:
        with self._errors(uri):
            return self._path(uri).is_file()

    def stat(self, uri: str) -> ObjectInfo:
        path = self._path(uri)
        with self._errors(uri):
            status = path.stat()
            if not path.is_file():
                raise ObjectNotFoundError(f"No object at {uri} (it is a folder)")
        return self._info(self._uri(path) if "://" not in uri else uri, status)

    @staticmethod
    def _info(uri: str, status: os.stat_result) -> ObjectInfo:
        return ObjectInfo(
            uri=uri,
            size=status.st_size,
            generation=str(status.st_mtime_ns),
            updated=datetime.fromtimestamp(status.st_mtime_ns / 1e9, tz=UTC),
        )

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        root = self._path(prefix_uri)
        # Child URIs extend the caller's own spelling of the prefix, so they compare equal
        # to URIs the caller builds by joining keys onto the same base.
        base = (prefix_uri if "://" in prefix_uri else self._uri(root)).rstrip("/")
        found: list[ObjectInfo] = []
        with self._errors(prefix_uri):
            if not root.is_dir():
                return []
            for folder, _, names in os.walk(root):
                for name in names:
                    if name.startswith(TEMP_PREFIX):
                        continue
                    path = Path(folder) / name
                    try:
                        status = path.stat()
                    except FileNotFoundError:
                        continue  # deleted while we walked
                    relative = path.relative_to(root).as_posix()
                    # Escaped as Settings.object_uri escapes keys, so listed URIs equal built ones.
                    found.append(self._info(f"{base}/{quote(relative, safe='/')}", status))
        return sorted(found, key=lambda info: info.uri)

    def delete(self, uri: str) -> None:
        with self._errors(uri):
            self._path(uri).unlink(missing_ok=True)

    def sweep_temp(self, folder_uri: str, older_than_seconds: float) -> list[str]:
        # A live writer's temp file is written to as it goes (every row group, every CSV chunk), so its
        # modification time stays fresh; one untouched for longer than the threshold belongs to a dead run.
        folder = self._path(folder_uri.rstrip("/"))
        cutoff_ns = time.time_ns() - int(older_than_seconds * 1e9)
        removed: list[str] = []
        with self._errors(folder_uri):
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                return []
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    if entry.stat(follow_symlinks=False).st_mtime_ns >= cutoff_ns:
                        continue
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # its writer finished (renamed it) or another sweep got there first
                removed.append(entry.path)
        return removed

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        if not source_uris:
            raise PermanentError(f"compose of {target_uri} needs at least one source")
        paths = [self._path(uri) for uri in source_uris]

        def concatenate(handle: BinaryIO) -> None:
            for uri, path in zip(source_uris, paths, strict=True):
                with self._errors(uri), open(path, "rb") as source:
                    shutil.copyfileobj(source, handle, 1024 * 1024)

        self._replace_with(target_uri, concatenate)  # one rename: readers never see a partial file
        return self.stat(target_uri)


# ------------------------------------------------------------------------ gs://


def _compose_keys(target_uri: str, source_uris: list[str], scheme: str) -> tuple[str, str, list[str]]:
    """(bucket, target key, source keys) of a compose: at least one source, all in the target's bucket."""
    if not source_uris:
        raise PermanentError(f"compose of {target_uri} needs at least one source")
    bucket, target_key = _object_key(target_uri, scheme)
    keys = []
    for uri in source_uris:
        source_bucket, key = _object_key(uri, scheme)
        if source_bucket != bucket:
            raise PermanentError(f"compose of {target_uri}: {uri} is in another bucket")
        keys.append(key)
    return bucket, target_key, keys


class _VendorStore:
    """What the cloud stores share: vendor errors become ours at the boundary (``raise … from``)."""

    def _translate(self, exc: Exception, uri: str) -> DropscoreError | None:
        raise NotImplementedError

    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        try:
            yield
        except DropscoreError:
            raise
        except Exception as exc:
            error = self._translate(exc, uri)
            if error is None:
                raise
            raise error from exc


class GcsObjectStore(_VendorStore):
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
            if _refused_connection(exc):
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
        bucket_name, key = _object_key(uri, "gs")
        return self.client.bucket(bucket_name).blob(key)

    def _calls(self) -> dict[str, Any]:
        return {"retry": self._retry, "timeout": self._timeout}

    def read_bytes(self, uri: str) -> bytes:
        with self._errors(uri):
            return cast(bytes, self._blob(uri).download_as_bytes(**self._calls()))

    def open_read(self, uri: str) -> BinaryIO:
        bucket_name, key = _object_key(uri, "gs")
        with self._errors(uri):
            # get_blob pins the generation: every ranged read comes from the same version,
            # so a concurrent rewrite fails the stream instead of splicing two versions.
            blob = self.client.bucket(bucket_name).get_blob(key, **self._calls())
            if blob is None:
                raise ObjectNotFoundError(f"No object at {uri}")
            reader = blob.open("rb", chunk_size=GCS_READ_CHUNK_BYTES, **self._calls())
        return _buffered(reader, lambda exc: self._translate(exc, uri))

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
        bucket_name, key = _object_key(uri, "gs")
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
            updated=_as_utc(blob.updated),
        )

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        scheme, bucket_name, key = split_uri(prefix_uri)
        if scheme != "gs":
            raise PermanentError(f"{prefix_uri!r} is not a gs:// URI.")
        with self._errors(prefix_uri):
            blobs = list(self.client.list_blobs(bucket_name, prefix=_folder_prefix(key), **self._calls()))
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
            blobs = list(self.client.list_blobs(bucket_name, prefix=_folder_prefix(key), delimiter="/", **self._calls()))
            for blob in blobs:
                if TEMP_PREFIX in blob.name.rsplit("/", 1)[-1] and blob.updated is not None and _as_utc(blob.updated).timestamp() < cutoff:
                    self.delete(f"gs://{bucket_name}/{blob.name}")
                    removed.append(f"gs://{bucket_name}/{blob.name}")
        return removed

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        bucket_name, target_key, keys = _compose_keys(target_uri, source_uris, "gs")
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


# ------------------------------------------------------------------------ s3://

# Error codes S3 returns for faults that may pass. ConditionalRequestConflict (409) means
# another conditional write to the key is in flight: retry, never guess who won.
_S3_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "ConditionalRequestConflict",
    }
)
_S3_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class _S3SeekableBody:
    """One S3 object version as a seekable stream.

    Reads pull from the streaming GET body. A seek drops the body; the next read asks for
    a byte range from the new offset, pinned to the ETag so that an overwrite in between
    fails the read instead of splicing two versions (GCS pins the generation the same way).
    """

    def __init__(self, client: Any, bucket: str, key: str, uri: str) -> None:
        self._client, self._bucket, self._key, self._uri = client, bucket, key, uri
        response = client.get_object(Bucket=bucket, Key=key)
        self._size = int(response["ContentLength"])
        self._etag = str(response["ETag"])
        self._body: Any = response["Body"]
        self._position = 0

    def read(self, size: int) -> bytes:
        from botocore.exceptions import ClientError

        if self._position >= self._size:
            return b""
        if self._body is None:
            try:
                response = self._client.get_object(
                    Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-", IfMatch=self._etag
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    raise ObjectNotFoundError(f"{self._uri} was replaced while being read") from exc
                raise
            self._body = response["Body"]
        chunk = bytes(self._body.read(size))
        self._position += len(chunk)
        return chunk

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        if whence not in bases:
            raise ValueError(f"invalid whence: {whence}")
        target = bases[whence] + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self.close()
            self._position = target
        return self._position

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class _S3PartWriter(io.RawIOBase):
    """Bytes sent to S3 a part at a time (multipart upload): the object appears only when
    :meth:`complete` completes the upload; :meth:`abort` drops the parts. A body smaller than one
    part is a plain PUT."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:  # writers such as Parquet's ask where they are
        return self._written

    def write(self, data: Any) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= WRITE_CHUNK_BYTES:
            self._send(bytes(self._buffer[:WRITE_CHUNK_BYTES]))
            del self._buffer[:WRITE_CHUNK_BYTES]
        return len(data)

    def can_copy(self, size: int) -> bool:
        """Whether an object of ``size`` bytes can come next as a server-side copy: nothing is
        waiting in the buffer, and it is big enough to be a part that is not the last."""
        return not self._buffer and size >= S3_MIN_PART_BYTES

    def copy_part(self, source_key: str, size: int) -> None:
        """The whole object ``source_key`` (same bucket) as the next part, copied by S3 itself."""
        copied = self.client.upload_part_copy(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload(), PartNumber=len(self._parts) + 1,
            CopySource={"Bucket": self.bucket, "Key": source_key},
        )  # fmt: skip
        self._parts.append({"PartNumber": len(self._parts) + 1, "ETag": copied["CopyPartResult"]["ETag"]})
        self._written += size

    def _upload(self) -> str:
        if self._upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self._upload_id = started["UploadId"]
        return self._upload_id

    def _send(self, part: bytes) -> None:
        number = len(self._parts) + 1
        sent = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload(), PartNumber=number, Body=part)
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> None:
        if self._upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=self.content_type)
        else:
            if self._buffer:
                self._send(bytes(self._buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer = bytearray()

    def abort(self) -> None:
        if self._upload_id is not None:
            with contextlib.suppress(Exception):  # best effort: a lifecycle rule reaps what is left
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        self._buffer = bytearray()


class S3ObjectStore(_VendorStore):
    """Amazon S3 (or any S3-compatible endpoint named by AWS_ENDPOINT_URL). PUTs are atomic."""

    def __init__(self, client: Any = None, config: Any = None) -> None:
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        from shared.backends import aws_credentials

        if client is None:
            # A Session per store: boto3's default session is not safe to share while
            # threads build clients. boto3 reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 itself.
            config = config or Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
            try:
                # On Google Cloud with only AWS_ROLE_ARN set, the session trades the runtime's
                # Google ID token for the role's credentials (shared/backends/aws_credentials.py).
                client = aws_credentials.aws_session().client("s3", config=config)
            except BotoCoreError as exc:
                raise PermanentError(f"Amazon S3 is not configured: {exc}") from exc
        self.client = client
        self.endpoint = str(client.meta.endpoint_url)

    def _translate(self, exc: Exception, uri: str) -> DropscoreError | None:
        from boto3.exceptions import S3UploadFailedError
        from botocore import exceptions as boto

        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, Exception):
            return self._translate(exc.__context__, uri)  # the transfer manager hides the ClientError
        if isinstance(exc, boto.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _S3_NOT_FOUND_CODES:
                return ObjectNotFoundError(f"No object at {uri}")
            if code in _S3_TRANSIENT_CODES or status >= 500:
                return TransientError(f"Amazon S3 fault on {uri}: {exc}")
            return PermanentError(f"Amazon S3 refused the request on {uri}: {exc}")
        if isinstance(exc, boto.EndpointConnectionError):
            return ServiceUnavailableError(
                service="Amazon S3", location=self.endpoint, how_to_start=HOW_TO_START_S3, detail=str(exc)
            )
        if isinstance(exc, boto.ConnectionError | boto.HTTPClientError | boto.IncompleteReadError):
            return TransientError(f"Amazon S3 did not answer for {uri}: {exc}")
        if isinstance(exc, boto.BotoCoreError):
            # No credentials, no region, invalid parameters: configuration.
            return PermanentError(f"Amazon S3 is not configured for {uri}: {exc}")
        return None

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                return cast(bytes, body.read())
            finally:
                body.close()

    def open_read(self, uri: str) -> BinaryIO:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            body = _S3SeekableBody(self.client, bucket, key, uri)
        return _buffered(body, lambda exc: self._translate(exc, uri))

    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    def upload_file(self, uri: str, local_path: Path, content_type: str = "application/octet-stream") -> None:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            # Large files go multipart; the object still appears only when the upload completes.
            self.client.upload_file(str(local_path), bucket, key, ExtraArgs={"ContentType": content_type})

    @contextmanager
    def open_write(self, uri: str, content_type: str = "application/octet-stream") -> Iterator[BinaryIO]:
        bucket, key = _object_key(uri, "s3")
        writer = _S3PartWriter(self.client, bucket, key, content_type)
        with self._errors(uri):
            try:
                yield cast(BinaryIO, writer)
                writer.complete()
            except BaseException:
                writer.abort()
                raise

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            try:
                # S3 conditional write: stored only if no object has this key, else 412.
                self.client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    return False
                raise
            return True

    def exists(self, uri: str) -> bool:
        try:
            self.stat(uri)
        except ObjectNotFoundError:
            return False
        return True

    def stat(self, uri: str) -> ObjectInfo:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            head = self.client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            uri=f"s3://{bucket}/{key}",
            size=int(head["ContentLength"]),
            # The ETag, not the VersionId: listings carry only the ETag, and stat() and
            # list() must agree on an object's generation.
            generation=str(head["ETag"]).strip('"'),
            updated=_as_utc(head["LastModified"]),
        )

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        scheme, bucket, key = split_uri(prefix_uri)
        if scheme != "s3":
            raise PermanentError(f"{prefix_uri!r} is not an s3:// URI.")
        found: list[ObjectInfo] = []
        with self._errors(prefix_uri):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=_folder_prefix(key)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # console "folder" placeholder, not data
                    found.append(
                        ObjectInfo(
                            uri=f"s3://{bucket}/{item['Key']}",
                            size=int(item["Size"]),
                            generation=str(item["ETag"]).strip('"'),
                            updated=_as_utc(item["LastModified"]),
                        )
                    )
        return sorted(found, key=lambda info: info.uri)

    def delete(self, uri: str) -> None:
        bucket, key = _object_key(uri, "s3")
        with self._errors(uri):
            self.client.delete_object(Bucket=bucket, Key=key)  # S3 answers 204 for a missing key too

    def sweep_temp(self, folder_uri: str, older_than_seconds: float) -> list[str]:
        # Nothing to sweep: an unfinished write is a multipart upload, not an object, and the bucket's
        # lifecycle rule aborts those (infra/); compose never makes intermediates here.
        return []

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        """A multipart upload (:class:`_S3PartWriter`): sources of 5 MiB or more are copied server
        side (UploadPartCopy), smaller ones are read through its buffer and uploaded in 8 MiB parts;
        the object appears whole when the upload completes, and an upload that fails is aborted."""
        bucket, target_key, keys = _compose_keys(target_uri, source_uris, "s3")
        sources = list(zip(source_uris, keys, strict=True))
        writer = _S3PartWriter(self.client, bucket, target_key, content_type)
        try:
            for uri, key in sources:
                with self._errors(uri):
                    size = int(self.client.head_object(Bucket=bucket, Key=key)["ContentLength"])
                    if writer.can_copy(size):
                        writer.copy_part(key, size)
                        continue
                    body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
                    try:
                        while chunk := body.read(1024 * 1024):
                            writer.write(chunk)
                    finally:
                        body.close()
            with self._errors(target_uri):
                writer.complete()
        except BaseException:
            writer.abort()  # the original error is the one to report; S3 expires stale uploads by lifecycle rule
            raise
        return self.stat(target_uri)


# --------------------------------------------------------------------- factory

_STORE_CLASSES: dict[str, Callable[[], ObjectStore]] = {
    "file": LocalObjectStore,
    "gs": GcsObjectStore,
    "s3": S3ObjectStore,
}
_store_lock = threading.Lock()


@functools.cache
def _store_for_scheme(scheme: str) -> ObjectStore:
    # Built on first use, never at import: the environment (emulator hosts, endpoints,
    # credentials) is read when a handler runs.
    return _STORE_CLASSES[scheme]()


def get_store(uri: str) -> ObjectStore:
    """The store for a URI's scheme (``file``, ``gs``, ``s3``), built once per process."""
    scheme, _, _ = split_uri(uri)  # raises PermanentError for unknown schemes
    # functools.cache does not stop two threads from both missing and building a client.
    with _store_lock:
        return _store_for_scheme(scheme)


def reset_clients() -> None:
    """Forget the cached stores and their clients (tests that change the environment need it)."""
    _store_for_scheme.cache_clear()


# Callers may also spell it like a functools.cache function.
get_store.cache_clear = reset_clients  # type: ignore[attr-defined]
