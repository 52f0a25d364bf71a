"""The S3 fallback on Google Cloud authenticates with the runtime's Google ID token (issue 14, item 4).

A moto server stands in for AWS (it implements STS AssumeRoleWithWebIdentity and S3); the
Google metadata server cannot run here, so a small loopback server answers its identity endpoint
the way Cloud Run's does (``Metadata-Flavor: Google`` required), and records what it was asked.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from shared.backends.process_cache import reset as reset_clients
from shared.backends.storage import aws_credentials
from shared.backends.storage.s3 import S3ObjectStore
from shared.errors import TransientError
from tests.conftest_services import closed_port_url, moto_server, unique_bucket_name  # noqa: F401

ROLE_ARN = "arn:aws:iam::123456789012:role/acme-dropscore-functions"


class FakeMetadataServer:
    """GET /computeMetadata/v1/instance/service-accounts/default/identity?audience=... -> a JWT."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                audience = parse_qs(url.query).get("audience", [""])[0]
                recorded.append({"path": url.path, "audience": audience, "flavor": self.headers.get("Metadata-Flavor", "")})
                if self.headers.get("Metadata-Flavor") != "Google" or url.path != aws_credentials.IDENTITY_PATH:
                    self.send_response(403)
                    self.end_headers()
                    return
                claims = {"aud": audience, "azp": "112233445566778899000", "sub": "112233445566778899000", "n": len(recorded)}
                payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
                body = f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metadata_server() -> Iterator[FakeMetadataServer]:
    server = FakeMetadataServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cloud_run_with_only_a_role(
    moto_server: str,  # noqa: F811
    metadata_server: FakeMetadataServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    """What a function on Cloud Run gets with storage_backend = "s3": AWS_ROLE_ARN and a region, no keys."""
    bucket_name = unique_bucket_name()
    boto3.session.Session(aws_access_key_id="admin", aws_secret_access_key="admin", region_name="us-east-1").client(
        "s3", endpoint_url=moto_server
    ).create_bucket(Bucket=bucket_name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("GCE_METADATA_HOST", metadata_server.host)
    monkeypatch.setenv("K_SERVICE", "acme-dropscore-clean")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    reset_clients()
    return f"s3://{bucket_name}"


def test_s3_store_on_cloud_run_assumes_the_role_with_a_google_id_token(
    cloud_run_with_only_a_role: str, metadata_server: FakeMetadataServer
) -> None:
    uri = f"{cloud_run_with_only_a_role}/dropscore/raw/incoming/2026-01/ventas.csv"
    store = S3ObjectStore()
    store.write_bytes(uri, "cliente_id;monto\n1;10,5\n".encode("cp1252"), "text/csv")

    assert store.read_bytes(uri) == "cliente_id;monto\n1;10,5\n".encode("cp1252")
    # One token, for the role's ARN as audience (the trust policy pins accounts.google.com:oaud to it).
    assert metadata_server.requests == [{"path": aws_credentials.IDENTITY_PATH, "audience": ROLE_ARN, "flavor": "Google"}]
    credentials = store.client._request_signer._credentials
    assert credentials.method == "google-web-identity"
    assert credentials.get_frozen_credentials().token, "temporary credentials from STS carry a session token"


def test_expiring_credentials_are_renewed_with_a_fresh_token(
    cloud_run_with_only_a_role: str, metadata_server: FakeMetadataServer
) -> None:
    credentials = aws_credentials.web_identity_credentials(ROLE_ARN)
    first = credentials.get_frozen_credentials()
    # What botocore does near the expiry: call refresh_using again (a new token, new keys).
    renewed = credentials._refresh_using()  # noqa: SLF001 - the callback botocore calls on expiry

    assert len(metadata_server.requests) == 2
    assert renewed["access_key"] and renewed["token"] and renewed["expiry_time"]
    assert renewed["token"] != first.token


def test_unreachable_metadata_server_is_transient(
    cloud_run_with_only_a_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GCE_METADATA_HOST", closed_port_url().removeprefix("http://"))

    with pytest.raises(TransientError, match="metadata server"):
        S3ObjectStore()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_ROLE_ARN": ROLE_ARN}, True),
        ({}, False),
        ({"AWS_ROLE_ARN": ROLE_ARN, "AWS_ACCESS_KEY_ID": "AKIA..."}, False),
        ({"AWS_ROLE_ARN": ROLE_ARN, "AWS_PROFILE": "laptop"}, False),
        ({"AWS_ROLE_ARN": ROLE_ARN, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}, False),
    ],
)
def test_web_identity_only_fills_the_gap_when_no_credentials_are_configured(
    environment: dict[str, str], expected: bool, tmp_path: Path
) -> None:
    environment = {**environment, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent")}
    assert aws_credentials.uses_google_web_identity(environment) is expected


def test_a_shared_credentials_file_wins_over_web_identity(tmp_path: Path) -> None:
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[default]\naws_access_key_id = x\naws_secret_access_key = y\n", encoding="utf-8")
    environment = {"AWS_ROLE_ARN": ROLE_ARN, "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file)}
    assert aws_credentials.uses_google_web_identity(environment) is False
