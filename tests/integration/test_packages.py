"""`make package` output, deployed the way Cloud Functions deploys it: proof that each zip imports and runs.

Each zip is unpacked into an empty folder; functions-framework starts from that folder in
a fresh process with a fresh environment (no PYTHONPATH, no repository on the path: the
``shared`` beside ``main.py`` is the one imported) and gets the event its trigger sends.
The functions use the session stack's emulator and MLflow server, with buckets of their
own that the router does not watch, so nothing else reacts to what they write.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from shared.backends.storage.base import ObjectInfo
from shared.local.event_router import pubsub_push_request, storage_finalized_event, structured
from shared.local.stack import emulators
from shared.local.stack.function_servers import SIGNATURE_TYPES, base_environment
from shared.local.stack.local_stack import LocalStack
from shared.local.stack.processes import (
    LOOPBACK,
    ManagedProcess,
    ServiceSpec,
    http_probe,
    start_services,
    stop_all,
    venv_executable,
)
from shared.settings import load_settings
from tests.conftest import SyntheticFiles
from tests.integration.conftest import Champion
from tests.integration.helpers import gcs_client, log_text

pytestmark = pytest.mark.integration

PACKAGE_STORAGE = "gs://dropscore-pkg"
MONTH_KEY = "incoming/mes_3.csv"
CLEAN_KEY = "incoming/mes_3.csv.parquet"


@dataclass
class Deployed:
    folders: dict[str, Path]
    processes: dict[str, ManagedProcess]
    stack: LocalStack

    def url(self, name: str) -> str:
        return self.processes[name].url

    def log(self, name: str) -> str:
        return log_text(self.processes[name].log_path)

    def bucket(self, area: str) -> str:
        return load_settings({"DROPSCORE_STORAGE": PACKAGE_STORAGE}).area_uri(area).removeprefix("gs://")


def _post(url: str, headers: dict[str, str], body: bytes) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.post(url, data=body, headers=headers, timeout=600)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory, repository_root: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist") / "functions"
    subprocess.run([sys.executable, "-m", "shared.local.packaging", "--out", str(out)], cwd=repository_root, check=True, capture_output=True, timeout=300)
    return {name: out / f"{name}.zip" for name in SIGNATURE_TYPES}


@pytest.fixture(scope="module")
def deployed(
    packages: dict[str, Path], gcs_stack: LocalStack, gcs_champion: Champion, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("deployed")
    emulators.create_gcs_buckets(gcs_stack.storage_endpoint, [f"dropscore-pkg-{area}" for area in ("raw", "clean", "quarantine", "predictions", "reports")])
    # What Terraform sets on a function, pointed at the stack; nothing from this test process.
    function_env = base_environment()
    function_env.update(emulators.gcs_client_environment(gcs_stack.storage_endpoint))
    function_env.update(
        {
            "DROPSCORE_STORAGE": PACKAGE_STORAGE,
            "DROPSCORE_WAREHOUSE": f"duckdb:///{root / 'warehouse.duckdb'}",
            "DROPSCORE_MLFLOW_TRACKING_URI": gcs_stack.tracking_uri,
            "HOME": str(root),
        }
    )
    folders: dict[str, Path] = {}
    specs = []
    for name, zip_path in packages.items():
        folder = root / name
        folder.mkdir()
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(folder)
        folders[name] = folder
        specs.append(
            ServiceSpec(
                key=name,
                name=f"packaged function {name}",
                build=lambda port, name=name: (
                    [venv_executable("functions-framework"), "--target", name, "--source", "main.py",
                     "--signature-type", SIGNATURE_TYPES[name], "--host", LOOPBACK, "--port", str(port)],
                    f"http://{LOOPBACK}:{port}",
                ),  # fmt: skip
                probe_for=lambda url: http_probe(f"{url}/robots.txt", lambda status: status in (404, 405)),
                env={**function_env, "K_SERVICE": name, "FUNCTION_TARGET": name},
                cwd=folder,
                log_path=root / f"{name}.log",
                how_to_fix="see the log",
            )
        )
    processes: dict[str, ManagedProcess] = {}
    try:
        start_services(specs, processes, timeout=180)
        yield Deployed(folders, processes, gcs_stack)
    finally:
        stop_all(list(processes.values()))


@pytest.fixture(scope="module")
def cleaned(deployed: Deployed, synthetic_files: SyntheticFiles) -> ObjectInfo:
    """The packaged clean function, sent the event Eventarc would send for an uploaded CSV."""
    client = gcs_client(deployed.stack.storage_endpoint)
    blob = client.bucket(deployed.bucket("raw")).blob(MONTH_KEY)
    blob.upload_from_filename(str(synthetic_files.months[3]), content_type="text/csv")
    blob.reload()
    info = ObjectInfo(f"gs://{blob.bucket.name}/{blob.name}", int(blob.size), str(blob.generation), blob.updated)
    event = storage_finalized_event(info, event_time=datetime.now(UTC))
    response = _post(deployed.url("clean"), event.headers, event.body)
    assert response.status_code == 200, deployed.log("clean")[-3000:]
    clean = client.bucket(deployed.bucket("clean")).get_blob(CLEAN_KEY)
    assert clean is not None, deployed.log("clean")[-3000:]
    return ObjectInfo(f"gs://{clean.bucket.name}/{clean.name}", int(clean.size), str(clean.generation), clean.updated)


def test_each_zip_holds_main_requirements_and_shared_only(packages: dict[str, Path]) -> None:
    for name, zip_path in packages.items():
        with zipfile.ZipFile(zip_path) as archive:
            names = archive.namelist()
        assert {"main.py", "requirements.txt", "shared/__init__.py", "shared/handlers.py"} <= set(names), name
        assert all(entry in ("main.py", "requirements.txt") or entry.startswith("shared/") for entry in names), name


def test_clean_package_cleans_an_uploaded_file(deployed: Deployed, cleaned: ObjectInfo) -> None:
    assert cleaned.uri == f"gs://{deployed.bucket('clean')}/{CLEAN_KEY}"


def test_score_package_scores_the_clean_batch_from_a_structured_cloudevent(deployed: Deployed, cleaned: ObjectInfo) -> None:
    # Clean got binary content mode (as from Eventarc); score gets structured mode, the other one a sender may use.
    event = structured(storage_finalized_event(cleaned, event_time=datetime.now(UTC)))
    assert event.headers == {"Content-Type": "application/cloudevents+json"}

    response = _post(deployed.url("score"), event.headers, event.body)

    assert response.status_code == 200, deployed.log("score")[-3000:]
    assert gcs_client(deployed.stack.storage_endpoint).bucket(deployed.bucket("predictions")).get_blob("mes_3.csv.predictions.csv") is not None


def test_drift_package_answers_the_scheduler(deployed: Deployed) -> None:
    response = _post(deployed.url("drift"), {"Content-Type": "application/json", "User-Agent": "Google-Cloud-Scheduler"}, json.dumps({"trigger": "cloud-scheduler"}).encode())

    assert response.status_code == 200, deployed.log("drift")[-3000:]
    assert response.json()["report"].startswith(f"gs://{deployed.bucket('reports')}/drift/")


def test_retrain_package_takes_the_pubsub_push(deployed: Deployed) -> None:
    # No labeled data in the package's own buckets: retrain runs, says why it cannot train, and acks.
    event = pubsub_push_request("projects/dropscore-local/topics/dropscore-pkg-retrain", json.dumps({"reason": "package test"}).encode(), message_id="pkg-1")

    response = _post(deployed.url("retrain"), event.headers, event.body)

    assert response.status_code == 200, deployed.log("retrain")[-3000:]
    assert "retrain request pkg-1" in deployed.log("retrain")


def test_every_package_imports_its_own_shared_copy(deployed: Deployed) -> None:
    for name in SIGNATURE_TYPES:
        # main.py imports shared.handlers at start-up; its bytecode lands beside the unzipped
        # sources only if Python took shared from the package folder, not from the repository.
        assert list((deployed.folders[name] / "shared" / "__pycache__").glob("handlers.*.pyc")), name
