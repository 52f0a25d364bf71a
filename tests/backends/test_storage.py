"""shared.backends.storage against the real things: a folder, gcp-storage-emulator, moto in server mode.

One test body per behaviour runs on every backend (``root_uri`` is parametrized); what only
one backend can show (atomic rename on disk, timestamp-based generations, endpoints that
refuse connections) has its own tests below.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import pytest

from shared.backends.storage import (
    TEMP_PREFIX,
    WRITE_CHUNK_BYTES,
    GcsObjectStore,
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    get_store,
    reset_clients,
    split_uri,
)
from shared.errors import (
    ObjectNotFoundError,
    PermanentError,
    ServiceUnavailableError,
    TransientError,
)
from tests.conftest_services import (  # noqa: F401 - fixtures, used by name
    TEST_PROJECT,
    closed_port_url,
    gcs_bucket_uri,
    gcs_emulator,
    moto_server,
    s3_bucket_uri,
    use_gcs_emulator,
    use_s3_endpoint,
)

BACKENDS = ["file", "gs", "s3"]


@pytest.fixture(autouse=True)
def fresh_clients():
    reset_clients()
    yield
    reset_clients()


@pytest.fixture(params=BACKENDS)
def root_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URI of an empty bucket (a folder for file://; the space exercises percent-encoding)."""
    if request.param == "file":
        return (tmp_path / "my bucket").as_uri()
    if request.param == "gs":
        return request.getfixturevalue("gcs_bucket_uri")
    return request.getfixturevalue("s3_bucket_uri")


@pytest.fixture
def store(root_uri: str) -> ObjectStore:
    return get_store(root_uri)


def payload(size: int, seed: str = "x") -> bytes:
    """Deterministic, incompressible-looking bytes (so chunks cannot be confused)."""
    block_count = size // 32 + 1  # a SHA-256 digest is 32 bytes
    return b"".join(hashlib.sha256(f"{seed}-{number}".encode()).digest() for number in range(block_count))[
        :size
    ]


# ------------------------------------------------------------------ every backend


def test_get_store_returns_one_cached_store_per_scheme(root_uri: str) -> None:
    first = get_store(f"{root_uri}/a.csv")
    assert isinstance(first, ObjectStore)
    assert get_store(f"{root_uri}/b/c.csv") is first
    reset_clients()
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


# ------------------------------------------------------------------- file:// only


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


# ------------------------------------------------------------------------ URIs


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gs://dropscore-raw/incoming/a.csv", ("gs", "dropscore-raw", "incoming/a.csv")),
        ("s3://bucket/pre/fix/", ("s3", "bucket", "pre/fix/")),
        ("s3://bucket", ("s3", "bucket", "")),
        ("GS://bucket/k", ("gs", "bucket", "k")),
        ("gs://bucket/report #1?.csv", ("gs", "bucket", "report #1?.csv")),  # keys are verbatim
        ("file:///srv/data/my%20bucket/a.csv", ("file", "", "/srv/data/my bucket/a.csv")),
        ("file://localhost/srv/a.csv", ("file", "", "/srv/a.csv")),
        ("file:///srv/data/", ("file", "", "/srv/data")),
        ("/srv/data/a.csv", ("file", "", "/srv/data/a.csv")),
    ],
)
def test_split_uri(uri: str, expected: tuple[str, str, str]) -> None:
    assert split_uri(uri) == expected


@pytest.mark.parametrize(
    "uri", ["ftp://host/file.csv", "relative/path.csv", "gs:///no-bucket", "file://otherhost/x"]
)
def test_bad_uris_are_permanent_errors(uri: str) -> None:
    with pytest.raises(PermanentError):
        get_store(uri)


def test_unknown_scheme_message_names_the_scheme_and_the_choices() -> None:
    with pytest.raises(PermanentError, match=r"'ftp'.*file://, gs:// or s3://"):
        get_store("ftp://host/file.csv")


# ---------------------------------------------------------- error translation


@pytest.mark.parametrize("operation", ["read_bytes", "stat", "exists", "list", "write_bytes"])
def test_gcs_unreachable_emulator_is_service_unavailable(
    operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud.storage.retry import DEFAULT_RETRY

    endpoint = closed_port_url()
    use_gcs_emulator(monkeypatch, endpoint)
    store = GcsObjectStore(retry=DEFAULT_RETRY.with_timeout(0.3), timeout=2)

    with pytest.raises(ServiceUnavailableError) as raised:
        _call(store, operation, "gs://dropscore-raw/incoming/a.csv")

    assert isinstance(raised.value, TransientError)  # the platform retries it
    assert raised.value.service == "Google Cloud Storage"
    assert raised.value.location == endpoint
    assert "STORAGE_EMULATOR_HOST" in str(raised.value)


@pytest.mark.parametrize("operation", ["read_bytes", "stat", "exists", "list", "write_bytes"])
def test_s3_unreachable_endpoint_is_service_unavailable(
    operation: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from botocore.config import Config

    endpoint = closed_port_url()
    use_s3_endpoint(monkeypatch, endpoint, tmp_path)
    store = S3ObjectStore(config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2))

    with pytest.raises(ServiceUnavailableError) as raised:
        _call(store, operation, "s3://dropscore/raw/incoming/a.csv")

    assert isinstance(raised.value, TransientError)
    assert raised.value.service == "Amazon S3"
    assert raised.value.location == endpoint
    assert "AWS_ENDPOINT_URL" in str(raised.value)


def _call(store: ObjectStore, operation: str, uri: str) -> object:
    if operation == "write_bytes":
        return store.write_bytes(uri, b"x")
    if operation == "list":
        return store.list(uri.rsplit("/", 1)[0])
    return getattr(store, operation)(uri)


def test_s3_stream_fails_cleanly_when_the_object_is_replaced_mid_read(s3_bucket_uri: str) -> None:  # noqa: F811
    store = get_store(s3_bucket_uri)
    uri = f"{s3_bucket_uri}/incoming/a.csv"
    store.write_bytes(uri, payload(1024 * 1024, seed="old"))

    with store.open_read(uri) as stream:
        stream.read(10)
        store.write_bytes(uri, payload(1024 * 1024, seed="new"))
        stream.seek(900_000)  # past the buffer: the next read asks S3 for a range of the old version
        with pytest.raises(ObjectNotFoundError, match="replaced"):
            stream.read(10)


def test_s3_missing_bucket_is_a_permanent_configuration_error(s3_bucket_uri: str) -> None:  # noqa: F811
    store = get_store(s3_bucket_uri)

    with pytest.raises(PermanentError, match="NoSuchBucket"):
        store.read_bytes("s3://dropscore-no-such-bucket/a.csv")


def test_s3_endpoint_comes_from_aws_endpoint_url(s3_bucket_uri: str, moto_server: str) -> None:  # noqa: F811
    store = get_store(s3_bucket_uri)

    assert isinstance(store, S3ObjectStore)
    assert store.endpoint == moto_server


def test_gcs_store_needs_no_credentials_with_the_emulator(gcs_bucket_uri: str, gcs_emulator: str) -> None:  # noqa: F811
    store = get_store(gcs_bucket_uri)

    assert isinstance(store, GcsObjectStore)
    assert store.endpoint == gcs_emulator
    assert store.client.project == TEST_PROJECT


def _s3_client_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, ObjectNotFoundError),
        ("SlowDown", 503, TransientError),
        ("InternalError", 500, TransientError),
        ("ConditionalRequestConflict", 409, TransientError),
        ("AccessDenied", 403, PermanentError),
        ("InvalidAccessKeyId", 403, PermanentError),
    ],
)
def test_s3_error_codes_map_to_our_errors(
    code: str, status: int, expected: type[Exception], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_s3_endpoint(monkeypatch, closed_port_url(), tmp_path)
    error = S3ObjectStore()._translate(_s3_client_error(code, status), "s3://b/k")

    assert type(error) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NotFound", ObjectNotFoundError),
        ("TooManyRequests", TransientError),
        ("ServiceUnavailable", TransientError),
        ("InternalServerError", TransientError),
        ("Forbidden", PermanentError),
        ("Unauthorized", PermanentError),
        ("BadRequest", PermanentError),
    ],
)
def test_gcs_api_errors_map_to_our_errors(
    name: str, expected: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.api_core import exceptions as api

    use_gcs_emulator(monkeypatch, closed_port_url())
    error = GcsObjectStore()._translate(getattr(api, name)("boom"), "gs://b/k")

    assert type(error) is expected


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


def test_s3_compose_copies_big_parts_server_side_and_buffers_small_ones(s3_bucket_uri: str) -> None:  # noqa: F811
    store = get_store(s3_bucket_uri)
    assert isinstance(store, S3ObjectStore)
    big = 6 * 1024 * 1024  # above S3's 5 MiB minimum part: UploadPartCopy
    parts = [payload(big, "big-1"), payload(300, "small"), payload(big, "big-2"), payload(big, "big-3"), payload(10, "tail")]
    sources = [f"{s3_bucket_uri}/shards/{index}" for index in range(len(parts))]
    for uri, data in zip(sources, parts, strict=True):
        store.write_bytes(uri, data)
    copies: list[int] = []
    real_copy = store.client.upload_part_copy

    def counting_copy(**kwargs):  # noqa: ANN003, ANN202 - a pass-through spy
        copies.append(kwargs["PartNumber"])
        return real_copy(**kwargs)

    store.client.upload_part_copy = counting_copy  # type: ignore[method-assign]
    try:
        store.compose(f"{s3_bucket_uri}/whole", sources)
    finally:
        del store.client.upload_part_copy
    assert store.read_bytes(f"{s3_bucket_uri}/whole") == b"".join(parts)
    assert copies == [1]  # the first big part is copied; after a small one the rest stream through parts >= 5 MiB
