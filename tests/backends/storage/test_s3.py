"""What only Amazon S3 (shared.backends.storage.s3) can show: ETag-pinned ranged reads, the endpoint
from AWS_ENDPOINT_URL, error codes mapped to ours, server-side copies in compose."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backends.storage import get_store
from shared.backends.storage.s3 import S3ObjectStore
from shared.errors import ObjectNotFoundError, PermanentError, ServiceUnavailableError, TransientError
from tests.backends.storage.storage_helpers import call_operation, payload
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


@pytest.mark.parametrize("operation", ["read_bytes", "stat", "exists", "list", "write_bytes"])
def test_s3_unreachable_endpoint_is_service_unavailable(
    operation: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from botocore.config import Config

    endpoint = closed_port_url()
    use_s3_endpoint(monkeypatch, endpoint, tmp_path)
    store = S3ObjectStore(config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2))

    with pytest.raises(ServiceUnavailableError) as raised:
        call_operation(store, operation, "s3://dropscore/raw/incoming/a.csv")

    assert isinstance(raised.value, TransientError)
    assert raised.value.service == "Amazon S3"
    assert raised.value.location == endpoint
    assert "AWS_ENDPOINT_URL" in str(raised.value)


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
