"""shared.backends.storage, the Protocol and its factory, against the real things: a folder,
gcp-storage-emulator, moto in server mode.

One test body per behaviour runs on every backend (``root_uri`` is parametrized, see conftest.py);
what only one backend can show has its own tests in test_local.py, test_gcs.py and test_s3.py.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import pytest

from shared.backends import process_cache
from shared.backends.storage import ObjectStore, get_store
from shared.backends.storage.base import WRITE_CHUNK_BYTES
from shared.errors import ObjectNotFoundError, PermanentError
from tests.backends.storage.storage_helpers import payload


def test_get_store_returns_one_cached_store_per_scheme(root_uri: str) -> None:
    first = get_store(f"{root_uri}/a.csv")
    assert isinstance(first, ObjectStore)
    assert get_store(f"{root_uri}/b/c.csv") is first
    process_cache.reset()
    assert get_store(root_uri) is not first


def test_write_then_read_round_trip(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/incoming/ventas marzo.csv"
    store.write_bytes(uri, "id;monto\n1;10,5;año\n".encode(), content_type="text/csv")

    assert store.read_bytes(uri) == "id;monto\n1;10,5;año\n".encode()
    assert store.exists(uri)


def test_write_replaces_the_whole_object(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/report.json"
    store.write_bytes(uri, b"a much longer first version")
    store.write_bytes(uri, b"short")

    assert store.read_bytes(uri) == b"short"
    assert store.stat(uri).size == 5


def test_upload_file_round_trip(store: ObjectStore, root_uri: str, tmp_path: Path) -> None:
    local = tmp_path / "model.bin"
    local.write_bytes(payload(300_000))
    uri = f"{root_uri}/models/model.bin"

    store.upload_file(uri, local)

    assert store.read_bytes(uri) == local.read_bytes()


@pytest.mark.parametrize("size", [0, 1000, 2 * WRITE_CHUNK_BYTES + 12_345], ids=["empty", "small", "several pieces"])
def test_open_write_streams_an_object_that_appears_whole(store: ObjectStore, root_uri: str, size: int) -> None:
    uri = f"{root_uri}/predictions/grande.predictions.csv"
    body = payload(size)
    with store.open_write(uri, "text/csv") as stream:
        for start in range(0, len(body), 1_000_003):  # pieces that straddle the store's own
            stream.write(body[start : start + 1_000_003])
        if size:
            assert not store.exists(uri), "nothing is visible before the block ends"
    assert store.read_bytes(uri) == body
    with store.open_write(uri) as stream:
        stream.write(b"short")
    assert store.read_bytes(uri) == b"short"  # a rewrite replaces the whole object


def test_open_write_that_fails_leaves_the_previous_object(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/predictions/mes.predictions.csv"
    store.write_bytes(uri, b"the good version")
    with pytest.raises(RuntimeError, match="scoring failed"), store.open_write(uri) as stream:
        stream.write(payload(WRITE_CHUNK_BYTES + 10))  # a piece already sent
        raise RuntimeError("scoring failed")
    assert store.read_bytes(uri) == b"the good version"
    assert [info.uri for info in store.list(f"{root_uri}/predictions")] == [uri]


def test_upload_of_a_missing_local_file_is_the_callers_error(
    store: ObjectStore, root_uri: str, tmp_path: Path
) -> None:
    # Not an ObjectNotFoundError: the missing thing is local, not the object.
    with pytest.raises(FileNotFoundError):
        store.upload_file(f"{root_uri}/models/model.bin", tmp_path / "absent.bin")
    assert not store.exists(f"{root_uri}/models/model.bin")


def test_open_read_streams_in_pieces(store: ObjectStore, root_uri: str) -> None:
    data = payload(3 * 1024 * 1024 + 17)
    uri = f"{root_uri}/big.bin"
    store.write_bytes(uri, data)

    pieces = []
    with store.open_read(uri) as stream:
        while piece := stream.read(64 * 1024):
            assert len(piece) <= 64 * 1024
            pieces.append(piece)

    assert len(pieces) > 1
    assert b"".join(pieces) == data


def test_open_read_serves_text_line_by_line(store: ObjectStore, root_uri: str) -> None:
    lines = [f"{number},cliente-{number}\n" for number in range(20_000)]
    uri = f"{root_uri}/incoming/clientes.csv"
    store.write_bytes(uri, "".join(lines).encode())

    with store.open_read(uri) as stream, io.TextIOWrapper(stream, encoding="utf-8") as text:
        assert text.readline() == lines[0]
        assert sum(1 for _ in text) == len(lines) - 1


def test_open_read_seeks_like_a_file(store: ObjectStore, root_uri: str) -> None:
    data = payload(1024 * 1024)
    uri = f"{root_uri}/seek.bin"
    store.write_bytes(uri, data)

    with store.open_read(uri) as stream:
        assert stream.seekable()
        assert stream.read(4) == data[:4]
        stream.seek(-100, io.SEEK_END)
        assert stream.read() == data[-100:]
        stream.seek(700_000)
        assert stream.read(5) == data[700_000:700_005]
        assert stream.tell() == 700_005
        stream.seek(0)
        assert stream.read() == data


def test_open_read_serves_parquet_which_reads_its_footer_first(store: ObjectStore, root_uri: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": list(range(50_000)), "score": [n / 50_000 for n in range(50_000)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=10_000)
    uri = f"{root_uri}/clean/batch.parquet"
    store.write_bytes(uri, sink.getvalue())

    with store.open_read(uri) as stream:
        assert pq.ParquetFile(stream).read().equals(table)


def test_create_if_absent_creates_once_and_keeps_the_first(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/claims/raw/incoming/a.csv#1"

    assert store.create_if_absent(uri, b"first") is True
    assert store.create_if_absent(uri, b"second") is False
    assert store.read_bytes(uri) == b"first"


def test_concurrent_create_if_absent_has_one_winner(store: ObjectStore, root_uri: str) -> None:
    if root_uri.startswith("gs://"):
        pytest.skip(
            "gcp-storage-emulator ignores ifGenerationMatch; the emulator-only pre-check is racy "
            "(real GCS enforces the precondition)"
        )
    uri = f"{root_uri}/claims/once"
    contenders = 12
    start = threading.Barrier(contenders)

    def claim(number: int) -> bool:
        start.wait()
        return store.create_if_absent(uri, f"claimed-by-{number}".encode())

    with ThreadPoolExecutor(contenders) as pool:
        results = list(pool.map(claim, range(contenders)))

    assert results.count(True) == 1
    winner = results.index(True)
    assert store.read_bytes(uri) == f"claimed-by-{winner}".encode()


def test_exists_and_delete(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/tmp/x.csv"
    assert not store.exists(uri)
    store.write_bytes(uri, b"x")
    assert store.exists(uri)

    store.delete(uri)

    assert not store.exists(uri)
    store.delete(uri)  # missing is fine
    store.delete(f"{root_uri}/never/was.csv")


def test_stat_reports_size_generation_and_utc_time(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/clean/batch.parquet"
    store.write_bytes(uri, b"version one")
    first = store.stat(uri)

    store.write_bytes(uri, b"version two!")
    second = store.stat(uri)

    assert first.uri == second.uri == uri
    assert (first.size, second.size) == (11, 12)
    assert first.generation and second.generation
    assert second.generation != first.generation
    assert second.updated.tzinfo is not None
    assert second.updated.utcoffset() == UTC.utcoffset(None)
    assert second.updated >= first.updated


def test_list_is_recursive_sorted_and_prefix_is_a_folder(store: ObjectStore, root_uri: str) -> None:
    for key in ["in/b.csv", "in/a.csv", "in/sub/c.csv", "inbox/d.csv", "other/e.csv"]:
        store.write_bytes(f"{root_uri}/{key}", key.encode())

    expected = [f"{root_uri}/in/a.csv", f"{root_uri}/in/b.csv", f"{root_uri}/in/sub/c.csv"]
    assert [info.uri for info in store.list(f"{root_uri}/in")] == expected
    assert [info.uri for info in store.list(f"{root_uri}/in/")] == expected
    everything = store.list(root_uri)
    assert [info.uri for info in everything] == sorted(info.uri for info in everything)
    assert len(everything) == 5
    assert store.list(f"{root_uri}/missing") == []


def test_listed_objects_match_stat_and_read_back(store: ObjectStore, root_uri: str) -> None:
    store.write_bytes(f"{root_uri}/predictions/p 1.csv", b"one")
    store.write_bytes(f"{root_uri}/predictions/2024/p2.csv", b"two-two")

    for info in store.list(f"{root_uri}/predictions"):
        assert store.stat(info.uri) == info
        assert len(store.read_bytes(info.uri)) == info.size


def test_missing_object_raises_not_found(store: ObjectStore, root_uri: str) -> None:
    uri = f"{root_uri}/incoming/nope.csv"

    with pytest.raises(ObjectNotFoundError) as raised:
        store.read_bytes(uri)
    assert raised.value.__cause__ is not None  # translated at the boundary, vendor error kept
    with pytest.raises(ObjectNotFoundError):
        store.stat(uri)
    with pytest.raises(ObjectNotFoundError):
        store.open_read(uri)


def test_uri_naming_no_object_is_refused(store: ObjectStore, root_uri: str) -> None:
    with pytest.raises(PermanentError):
        store.read_bytes(f"{root_uri}/folder/")


@pytest.mark.parametrize(
    "uri", ["ftp://host/file.csv", "relative/path.csv", "gs:///no-bucket", "file://otherhost/x"]
)
def test_bad_uris_are_permanent_errors(uri: str) -> None:
    with pytest.raises(PermanentError):
        get_store(uri)


def test_unknown_scheme_message_names_the_scheme_and_the_choices() -> None:
    with pytest.raises(PermanentError, match=r"'ftp'.*file://, gs:// or s3://"):
        get_store("ftp://host/file.csv")


# ------------------------------------------------------------------ compose (fan-out assembly)


def test_compose_concatenates_sources_in_order(store: ObjectStore, root_uri: str) -> None:
    parts = [payload(1000, "a"), b"", payload(70_000, "b"), payload(5, "c")]
    sources = [f"{root_uri}/parts/part-{index:03d}.csv" for index in range(len(parts))]
    for uri, data in zip(sources, parts, strict=True):
        store.write_bytes(uri, data, "text/csv")
    target = f"{root_uri}/out/whole.csv"
    store.write_bytes(target, b"an older version")

    info = store.compose(target, sources, "text/csv")

    assert store.read_bytes(target) == b"".join(parts)
    assert info.size == sum(len(part) for part in parts) and info.uri.endswith("/out/whole.csv")
    assert all(store.exists(uri) for uri in sources)  # the caller decides when sources go


def test_compose_of_more_sources_than_one_gcs_request_takes(store: ObjectStore, root_uri: str) -> None:
    parts = [f"line {index}\n".encode() for index in range(70)]  # GCS composes 32 at a time
    sources = [f"{root_uri}/many/p{index:03d}" for index in range(len(parts))]
    for uri, data in zip(sources, parts, strict=True):
        store.write_bytes(uri, data)
    store.compose(f"{root_uri}/many-whole", sources)
    assert store.read_bytes(f"{root_uri}/many-whole") == b"".join(parts)
    assert [info.uri for info in store.list(f"{root_uri}/many")] == sources  # no intermediate left


def test_compose_with_a_missing_source_creates_nothing(store: ObjectStore, root_uri: str) -> None:
    present = f"{root_uri}/present"
    store.write_bytes(present, b"here")
    with pytest.raises(ObjectNotFoundError):
        store.compose(f"{root_uri}/never", [present, f"{root_uri}/absent"])
    assert not store.exists(f"{root_uri}/never")
    with pytest.raises(PermanentError):
        store.compose(f"{root_uri}/never", [])
