"""Fixtures of the storage tests: an empty bucket on each backend, and fresh clients around every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.backends import process_cache
from shared.backends.storage import ObjectStore, get_store
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
def fresh_clients() -> Iterator[None]:
    process_cache.reset()
    yield
    process_cache.reset()


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
