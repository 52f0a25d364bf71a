"""What only the folder store (shared.backends.storage.local) can show: atomic renames on disk,
modification times as generations, plain paths, folders that are not objects."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from shared.backends.storage import get_store
from shared.backends.storage.local import LocalObjectStore
from shared.errors import ObjectNotFoundError
from shared.object_names import TEMP_PREFIX


def test_local_write_is_atomic_for_concurrent_readers(tmp_path: Path) -> None:
    store = LocalObjectStore()
    uri = (tmp_path / "bucket" / "hot.bin").as_uri()
    size = 512 * 1024
    store.write_bytes(uri, b"a" * size)
    done = threading.Event()

    def rewrite() -> None:
        try:
            for round_number in range(40):
                store.write_bytes(uri, (b"b" if round_number % 2 else b"a") * size)
        finally:
            done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    reads = 0
    try:
        while not done.is_set() or reads == 0:
            seen = store.read_bytes(uri)
            assert len(seen) == size and len(set(seen)) == 1, "a reader saw a partial object"
            reads += 1
    finally:
        writer.join()


def test_local_temp_files_are_never_listed_nor_left_behind(tmp_path: Path) -> None:
    store = LocalObjectStore()
    root = tmp_path / "bucket"
    store.write_bytes((root / "a" / "x.csv").as_uri(), b"x")
    store.upload_file((root / "a" / "y.csv").as_uri(), _local_file(tmp_path, b"y"))
    store.create_if_absent((root / "a" / "z.claim").as_uri(), b"z")
    store.create_if_absent((root / "a" / "z.claim").as_uri(), b"z again")
    assert sorted(os.listdir(root / "a")) == ["x.csv", "y.csv", "z.claim"]

    # A writer that died mid-write leaves its temp file: still not an object.
    (root / "a" / f"{TEMP_PREFIX}0123456789abcdef").write_bytes(b"half")
    assert [info.uri for info in store.list(root.as_uri())] == [
        (root / "a" / name).as_uri() for name in ["x.csv", "y.csv", "z.claim"]
    ]


def _local_file(folder: Path, data: bytes) -> Path:
    path = folder / "upload-source.bin"
    path.write_bytes(data)
    return path


def test_local_generation_changes_on_every_fast_rewrite(tmp_path: Path) -> None:
    store = LocalObjectStore()
    uri = (tmp_path / "bucket" / "same.csv").as_uri()
    generations = []
    for _ in range(25):
        store.write_bytes(uri, b"identical bytes")  # faster than the kernel's timestamp tick
        generations.append(int(store.stat(uri).generation))

    assert generations == sorted(set(generations))


def test_local_generation_is_the_mtime_in_nanoseconds(tmp_path: Path) -> None:
    store = LocalObjectStore()
    path = tmp_path / "bucket" / "x.csv"
    store.write_bytes(path.as_uri(), b"x")

    assert store.stat(path.as_uri()).generation == str(path.stat().st_mtime_ns)


def test_local_accepts_plain_absolute_paths(tmp_path: Path) -> None:
    path = tmp_path / "plain dir" / "x.csv"
    store = get_store(str(path))
    assert isinstance(store, LocalObjectStore)

    store.write_bytes(str(path), b"plain")

    assert path.read_bytes() == b"plain"
    assert store.read_bytes(path.as_uri()) == b"plain"
    assert store.stat(str(path)).uri == path.as_uri()
    assert [info.uri for info in store.list(str(path.parent))] == [path.as_uri()]


def test_local_folder_is_not_an_object(tmp_path: Path) -> None:
    store = LocalObjectStore()
    store.write_bytes((tmp_path / "b" / "sub" / "x").as_uri(), b"x")

    with pytest.raises(ObjectNotFoundError):
        store.read_bytes((tmp_path / "b" / "sub").as_uri())
    with pytest.raises(ObjectNotFoundError):
        store.stat((tmp_path / "b" / "sub").as_uri())
    assert not store.exists((tmp_path / "b" / "sub").as_uri())
