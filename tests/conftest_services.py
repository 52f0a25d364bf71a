"""Real storage services on loopback, started and stopped by the tests themselves.

Import the fixtures a test file needs::

    from tests.conftest_services import gcs_bucket_uri, s3_bucket_uri  # noqa: F401

- ``gcs_emulator`` / ``moto_server`` (module scope): a gcp-storage-emulator (in memory)
  and a moto S3 server, each on a free loopback port; they yield the endpoint URL and
  are stopped when the module's tests are done, pass or fail.
- ``gcs_bucket_uri`` / ``s3_bucket_uri`` (function scope): point the environment at the
  service (``STORAGE_EMULATOR_HOST``; ``AWS_ENDPOINT_URL`` plus dummy credentials),
  create a fresh bucket with the vendor client, yield ``gs://NAME`` / ``s3://NAME`` and
  clear the cached storage clients before and after, so no client outlives its service.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.backends.process_cache import reset as reset_clients

TEST_PROJECT = "dropscore-test"
TEST_REGION = "us-east-1"


def closed_port_url() -> str:
    """URL of a loopback port nobody listens on (bound by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def unique_bucket_name() -> str:
    return f"dropscore-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[str]:
    from gcp_storage_emulator.server import create_server

    # Port 0: the OS picks a free port at bind time, so there is no race with other runs.
    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    try:
        # The emulator has no public accessor for the bound port.
        port = server._api._httpd.server_address[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_gcs_emulator(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Point google-cloud-storage (and shared.backends.storage.gcs) at an emulator endpoint."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", TEST_PROJECT)


def use_s3_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str, config_dir: Path) -> None:
    """Point boto3 at an S3 endpoint with dummy credentials and no user configuration."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    # A developer's ~/.aws must not leak into the tests (profiles, SSO, endpoints).
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_dir / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config_dir / "aws-credentials-absent"))
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_S3",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def gcs_bucket_uri(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    use_gcs_emulator(monkeypatch, gcs_emulator)
    reset_clients()
    bucket_name = unique_bucket_name()
    storage.Client(project=TEST_PROJECT, credentials=AnonymousCredentials()).create_bucket(bucket_name)
    try:
        yield f"gs://{bucket_name}"
    finally:
        reset_clients()  # the emulator's buckets go away with the in-memory server


@pytest.fixture
def s3_bucket_uri(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    import boto3

    use_s3_endpoint(monkeypatch, moto_server, tmp_path_factory.mktemp("aws"))
    reset_clients()
    bucket_name = unique_bucket_name()
    boto3.session.Session().client("s3", endpoint_url=moto_server).create_bucket(Bucket=bucket_name)
    try:
        yield f"s3://{bucket_name}"
    finally:
        reset_clients()  # moto's buckets go away with the server
