"""What only Google Cloud Storage (shared.backends.storage.gcs) can show: the emulator without
credentials, an emulator that is not running, API errors mapped to ours."""

from __future__ import annotations

import pytest

from shared.backends.storage import get_store
from shared.backends.storage.gcs import GcsObjectStore
from shared.errors import ObjectNotFoundError, PermanentError, ServiceUnavailableError, TransientError
from tests.backends.storage.storage_helpers import call_operation
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
def test_gcs_unreachable_emulator_is_service_unavailable(
    operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud.storage.retry import DEFAULT_RETRY

    endpoint = closed_port_url()
    use_gcs_emulator(monkeypatch, endpoint)
    store = GcsObjectStore(retry=DEFAULT_RETRY.with_timeout(0.3), timeout=2)

    with pytest.raises(ServiceUnavailableError) as raised:
        call_operation(store, operation, "gs://dropscore-raw/incoming/a.csv")

    assert isinstance(raised.value, TransientError)  # the platform retries it
    assert raised.value.service == "Google Cloud Storage"
    assert raised.value.location == endpoint
    assert "STORAGE_EMULATOR_HOST" in str(raised.value)


def test_gcs_store_needs_no_credentials_with_the_emulator(gcs_bucket_uri: str, gcs_emulator: str) -> None:  # noqa: F811
    store = get_store(gcs_bucket_uri)

    assert isinstance(store, GcsObjectStore)
    assert store.endpoint == gcs_emulator
    assert store.client.project == TEST_PROJECT


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
