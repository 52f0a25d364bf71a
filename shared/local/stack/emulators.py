"""Object storage for the local stack: gcp-storage-emulator (GCS) or moto in server mode (S3).

Both run as child processes on loopback and are reached only through the vendors' own
clients (google-cloud-storage, boto3) over HTTP, exactly as a deployed function reaches
the real services. The emulator keeps its objects on disk under the stack folder, so a
restarted stack still has yesterday's files; moto keeps them in memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from shared.local.stack.processes import LOOPBACK, ServiceSpec, http_probe

LOCAL_PROJECT = "dropscore-local"
LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
DUMMY_AWS_KEY = "testing"


def gcs_client_environment(endpoint: str) -> dict[str, str]:
    """What a process needs so google-cloud-storage (and shared.backends.storage.gcs) talk to the emulator."""
    return {"STORAGE_EMULATOR_HOST": endpoint, "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT}


def s3_client_environment(endpoint: str, stack_dir: Path) -> dict[str, str]:
    """What a process needs so boto3 talks to moto with dummy credentials and no user profile."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_AWS_KEY,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        # A developer's ~/.aws (profiles, SSO, another endpoint) must not leak into the stack.
        "AWS_CONFIG_FILE": str(stack_dir / "aws-config-absent"),
        "AWS_SHARED_CREDENTIALS_FILE": str(stack_dir / "aws-credentials-absent"),
    }


def gcs_emulator_spec(data_dir: Path, log_path: Path, env: Mapping[str, str]) -> ServiceSpec:
    data_dir.mkdir(parents=True, exist_ok=True)

    def build(port: int) -> tuple[list[str], str]:
        command = [sys.executable, "-m", "gcp_storage_emulator", "-d", str(data_dir), "start", "--host", LOOPBACK, "--port", str(port), "-q"]
        return command, f"http://{LOOPBACK}:{port}"

    return ServiceSpec(
        key="storage",
        name="gcp-storage-emulator",
        build=build,
        probe_for=lambda url: http_probe(f"{url}/storage/v1/b?project={LOCAL_PROJECT}", lambda status: status == 200),
        env=env,
        cwd=data_dir,
        log_path=log_path,
        how_to_fix="It ships with the dev dependencies: `make install`.",
    )


def create_gcs_buckets(endpoint: str, bucket_names: Iterable[str]) -> None:
    """Create the buckets Terraform would create; ones kept from an earlier run are fine as they are."""
    from google.api_core.exceptions import Conflict
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=LOCAL_PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint})
    existing = {bucket.name for bucket in client.list_buckets()}
    for name in bucket_names:
        if name in existing:
            continue
        try:
            client.create_bucket(name)
        except Conflict:
            pass


def moto_server_spec(work_dir: Path, log_path: Path, env: Mapping[str, str]) -> ServiceSpec:
    work_dir.mkdir(parents=True, exist_ok=True)

    def build(port: int) -> tuple[list[str], str]:
        return [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)], f"http://{LOOPBACK}:{port}"

    return ServiceSpec(
        key="storage",
        name="moto S3 server",
        build=build,
        probe_for=lambda url: http_probe(f"{url}/", lambda status: status == 200),
        env=env,
        cwd=work_dir,
        log_path=log_path,
        how_to_fix="moto[server] ships with the dev dependencies: `make install`.",
    )


def create_s3_bucket(endpoint: str, bucket_name: str) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session(
        aws_access_key_id=DUMMY_AWS_KEY, aws_secret_access_key=DUMMY_AWS_KEY, region_name=LOCAL_REGION
    ).client("s3", endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if bucket_name not in existing:
        client.create_bucket(Bucket=bucket_name)
