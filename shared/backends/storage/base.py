"""What every storage backend shares: the object record, key checks, and vendor errors made ours.

The backends (:mod:`.local`, :mod:`.gcs`, :mod:`.s3`) build on this module and nothing else of the
package; :mod:`shared.backends.storage` (the Protocol and the factory) builds on them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from shared.errors import DropscoreError, PermanentError
from shared.object_names import split_uri

# open_read() hands callers a buffered stream of this size over the vendor stream, so
# a chunked CSV reader issues few network reads without ever holding the whole object.
STREAM_BUFFER_BYTES = 256 * 1024
# What a streamed write (open_write) holds in memory before it sends a piece: GCS resumable
# chunks must be a multiple of 256 KiB, S3 multipart parts at least 5 MiB (but the last).
WRITE_CHUNK_BYTES = 8 * 1024 * 1024
# Files the local backend is still writing start with TEMP_PREFIX (shared.object_names); list() skips them.


@dataclass(frozen=True)
class ObjectInfo:
    uri: str  # full URI, e.g. gs://bucket/key, s3://bucket/key, file:///abs/path
    size: int
    generation: str  # GCS generation; S3 ETag; local: str(st_mtime_ns)
    updated: datetime  # timezone-aware UTC


# --------------------------------------------------------------------------- keys


def object_key(uri: str, scheme: str) -> tuple[str, str]:
    """(bucket, key) of a URI that must name one object of this backend."""
    uri_scheme, bucket, key = split_uri(uri)
    if uri_scheme != scheme:
        raise PermanentError(f"{uri!r} is not a {scheme}:// URI.")
    if not key or key.endswith("/"):
        raise PermanentError(f"Storage URI {uri!r} names no object (empty key or a folder).")
    return bucket, key


def folder_prefix(key: str) -> str:
    """Key prefix for a folder: "" for the bucket root, else "<folder>/"."""
    key = key.strip("/")
    return f"{key}/" if key else ""


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)



def compose_keys(target_uri: str, source_uris: list[str], scheme: str) -> tuple[str, str, list[str]]:
    """(bucket, target key, source keys) of a compose: at least one source, all in the target's bucket."""
    if not source_uris:
        raise PermanentError(f"compose of {target_uri} needs at least one source")
    bucket, target_key = object_key(target_uri, scheme)
    keys = []
    for uri in source_uris:
        source_bucket, key = object_key(uri, scheme)
        if source_bucket != bucket:
            raise PermanentError(f"compose of {target_uri}: {uri} is in another bucket")
        keys.append(key)
    return bucket, target_key, keys



# ------------------------------------------------------------------ error plumbing


class TranslatingReader(io.RawIOBase):
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


def buffered(source: Any, translate: Callable[[Exception], DropscoreError | None]) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(TranslatingReader(source, translate), STREAM_BUFFER_BYTES))


def refused_connection(exc: BaseException) -> bool:
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



class VendorStore:
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


