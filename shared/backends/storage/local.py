"""``file://``: folders as buckets, the embedded default. Atomic writes: a temp file beside the
target, then a rename; create-only writes with ``link()``; generations are modification times."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import quote

from shared.backends.storage.base import ObjectInfo
from shared.errors import DropscoreError, ObjectNotFoundError, PermanentError, TransientError
from shared.object_names import TEMP_PREFIX, split_uri


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
