"""Retraining as a Cloud Run job (issue 14, item 5): started once per request, trained once per request.

The Cloud Run Admin API cannot run here; its local stand-in (shared/local/stack/run_api.py, the one
`dropscore serve` uses) answers the same ``jobs:run`` request over loopback and starts real
processes, so the start path is exercised end to end. Training itself is replaced at our own
seam (shared.lifecycle.promotion.run_retrain) where only the exactly-once bookkeeping is under test; the
local-stack integration test (tests/integration/test_local_stack_gcs.py) runs the real training.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ClaimInProgressError, ModelNotFoundError, RetrainJobStartError
from shared.lifecycle import promotion as lifecycle
from shared.local.stack.processes import free_loopback_port
from shared.local.stack.run_api import LocalJob, LocalRunApi, RunApiConfig, job_url
from shared.settings import Settings, load_settings
from shared.steps import retrain as retrain_job
from tests.conftest_services import closed_port_url

# The job's command for these tests: record which request and attempt ran, then exit as told.
RECORDING_JOB = (
    "import os, pathlib, sys\n"
    "out = pathlib.Path(os.environ['RUNS_DIR'])\n"
    "name = os.environ['DROPSCORE_RETRAIN_REQUEST_ID'] + '-' + os.environ['CLOUD_RUN_TASK_ATTEMPT']\n"
    "(out / name).write_text(os.environ['DROPSCORE_RETRAIN_REASON'] + '|' + os.environ['CLOUD_RUN_EXECUTION'])\n"
    "sys.exit(int(os.environ.get('FAIL_ATTEMPTS', '0')) > int(os.environ['CLOUD_RUN_TASK_ATTEMPT']))\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(tmp_path / "home")})


def local_api(tmp_path: Path, environment: dict[str, str], max_retries: int = 1) -> LocalRunApi:
    config = RunApiConfig(
        port=free_loopback_port(),
        log_dir=tmp_path / "logs",
        jobs={"acme-retrain": LocalJob([sys.executable, "-c", RECORDING_JOB], max_retries=max_retries)},
    )
    api = LocalRunApi(config, environment={"PATH": "/usr/bin:/bin", **environment})
    api.start_serving()
    return api


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


@pytest.fixture
def api(tmp_path: Path, runs_dir: Path) -> Iterator[LocalRunApi]:
    started = local_api(tmp_path, {"RUNS_DIR": str(runs_dir)})
    try:
        yield started
    finally:
        started.stop()


def wait_for_executions(api: LocalRunApi) -> None:
    deadline = time.monotonic() + 60
    while any(thread.is_alive() for thread in api.executions):
        assert time.monotonic() < deadline, "the job process did not finish"
        time.sleep(0.05)


def with_job(settings: Settings, api: LocalRunApi) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(settings.home), "DROPSCORE_RETRAIN_JOB": job_url(api.config.port, "acme-retrain")})


# ----------------------------------------------------------------------------- starting


def test_run_request_carries_the_request_as_environment_overrides() -> None:
    body = retrain_job.run_request_body("1234567890", "drift: ingreso_mensual")
    assert body == {
        "overrides": {
            "containerOverrides": [
                {"env": [{"name": "DROPSCORE_RETRAIN_REQUEST_ID", "value": "1234567890"}, {"name": "DROPSCORE_RETRAIN_REASON", "value": "drift: ingreso_mensual"}]}
            ]
        }
    }
    assert retrain_job.run_url("projects/p/locations/us-central1/jobs/acme-retrain") == (
        "https://run.googleapis.com/v2/projects/p/locations/us-central1/jobs/acme-retrain:run"
    )


def test_a_redelivered_request_starts_one_execution(settings: Settings, api: LocalRunApi, runs_dir: Path) -> None:
    cloud = with_job(settings, api)

    first = retrain_job.start_retrain(cloud, "msg-1", "drift")
    second = retrain_job.start_retrain(cloud, "msg-1", "drift")
    wait_for_executions(api)

    assert first.status == "started" and "/executions/acme-retrain-" in first.execution
    assert second.status == "duplicate" and second.execution == first.execution
    assert sorted(path.name for path in runs_dir.iterdir()) == ["msg-1-0"]
    reason, execution = (runs_dir / "msg-1-0").read_text().split("|")
    assert reason == "drift" and first.execution.endswith(execution)


def test_a_failed_start_is_retried_by_the_next_delivery(settings: Settings, api: LocalRunApi, runs_dir: Path) -> None:
    unreachable = load_settings({"DROPSCORE_HOME": str(settings.home), "DROPSCORE_RETRAIN_JOB": closed_port_url() + "/v2/projects/local/locations/local/jobs/acme-retrain"})
    with pytest.raises(RetrainJobStartError):
        retrain_job.start_retrain(unreachable, "msg-2", "manual")

    started = retrain_job.start_retrain(with_job(settings, api), "msg-2", "manual")
    wait_for_executions(api)

    assert started.status == "started"
    assert [path.name for path in runs_dir.iterdir()] == ["msg-2-0"]


def test_an_unknown_job_is_refused_so_the_message_is_redelivered(settings: Settings, api: LocalRunApi) -> None:
    wrong = load_settings({"DROPSCORE_HOME": str(settings.home), "DROPSCORE_RETRAIN_JOB": job_url(api.config.port, "no-such-job")})
    with pytest.raises(RetrainJobStartError, match="404"):
        retrain_job.start_retrain(wrong, "msg-3", "manual")


def test_a_failing_task_is_retried_in_the_same_execution(tmp_path: Path, runs_dir: Path) -> None:
    api = local_api(tmp_path, {"RUNS_DIR": str(runs_dir), "FAIL_ATTEMPTS": "1"}, max_retries=1)
    try:
        api.start("projects/local/locations/local/jobs/acme-retrain", "acme-retrain", {"DROPSCORE_RETRAIN_REQUEST_ID": "msg-4", "DROPSCORE_RETRAIN_REASON": "r"})
        wait_for_executions(api)
    finally:
        api.stop()
    executions = {(runs_dir / name).read_text().split("|")[1] for name in ("msg-4-0", "msg-4-1")}
    assert len(executions) == 1, "a retry runs in the same execution"


# ----------------------------------------------------------------------------- the job


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    class Outcome:
        def __init__(self, trigger: str) -> None:
            self.trigger = trigger

        def to_dict(self) -> dict[str, Any]:
            return {"model_version": str(len(calls)), "promoted": False, "metrics": {}, "reason": f"retrain:{self.trigger}"}

    def fake_run_retrain(settings: Settings, *, reason: str = "", trigger: str = "manual", **_: Any) -> Outcome:
        calls.append({"reason": reason, "trigger": trigger})
        if reason == "explode":
            raise RuntimeError("out of memory, say")
        if reason == "nothing":
            raise ModelNotFoundError("no labeled data to retrain on / no hay datos etiquetados para reentrenar")
        if reason in ("denied", "throttled"):
            from botocore.exceptions import ClientError

            code, status = ("AccessDenied", 403) if reason == "denied" else ("SlowDown", 503)
            raise ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "ListObjectsV2")
        return Outcome(trigger)

    monkeypatch.setattr(lifecycle, "run_retrain", fake_run_retrain)
    return calls


def test_the_job_trains_once_per_request_id(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    first = retrain_job.run_requested_retrain(settings, "msg-10", "drift", execution="ex-1", attempt=0)
    again = retrain_job.run_requested_retrain(settings, "msg-10", "drift", execution="ex-2", attempt=0)

    assert trainings == [{"reason": "drift", "trigger": "msg-10"}]
    assert first["status"] == "trained" and first["model_version"] == "1"
    assert again["status"] == "duplicate" and again["model_version"] == "1"


def test_a_retry_of_the_same_execution_takes_over_a_dead_attempt(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    # Attempt 0 was killed mid-training (OOM, timeout): its claim still says "running".
    claims = retrain_job._claims(settings, "retrain", "msg-11", retrain_job.TRAINING_CLAIM_TTL_SECONDS)
    claims.acquire(extra={"execution": "ex-1", "task_attempt": 0})

    with pytest.raises(ClaimInProgressError):
        retrain_job.run_requested_retrain(settings, "msg-11", "drift", execution="ex-other", attempt=0)
    record = retrain_job.run_requested_retrain(settings, "msg-11", "drift", execution="ex-1", attempt=1)

    assert record["status"] == "trained"
    assert len(trainings) == 1


def test_a_failed_training_releases_the_request_for_the_retry(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    with pytest.raises(RuntimeError):
        retrain_job.run_requested_retrain(settings, "msg-12", "explode", execution="ex-1", attempt=0)
    with pytest.raises(RuntimeError):
        retrain_job.run_requested_retrain(settings, "msg-12", "explode", execution="ex-1", attempt=1)
    assert len(trainings) == 2


def test_nothing_to_retrain_is_recorded_and_not_retried(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    record = retrain_job.run_requested_retrain(settings, "msg-13", "nothing", execution="ex-1", attempt=0)
    again = retrain_job.run_requested_retrain(settings, "msg-13", "nothing", execution="ex-1", attempt=1)

    assert record["status"] == "not_run" and "etiquetados" in record["reason"]
    assert again["status"] == "duplicate"
    assert len(trainings) == 1


def test_job_entry_point_exit_codes(settings: Settings, trainings: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    environment = {"DROPSCORE_HOME": str(settings.home), "CLOUD_RUN_EXECUTION": "ex-1", "CLOUD_RUN_TASK_ATTEMPT": "0"}

    assert retrain_job.main(environment) == 2, "no request id: nothing to claim"
    assert retrain_job.main({**environment, "DROPSCORE_RETRAIN_REQUEST_ID": "msg-14", "DROPSCORE_RETRAIN_REASON": "drift"}) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["status"] == "trained" and printed["request_id"] == "msg-14"


# ----------------------------------------------------------------------------- the Pub/Sub entry point


def test_retrain_function_starts_the_job_once_for_a_message_delivered_twice(
    settings: Settings, api: LocalRunApi, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """functions/retrain/main.py under functions-framework, fed the same push message twice."""
    import base64

    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent
    from functions_framework import create_app

    monkeypatch.setenv("DROPSCORE_HOME", str(settings.home))
    monkeypatch.setenv("DROPSCORE_RETRAIN_JOB", job_url(api.config.port, "acme-retrain"))
    client = create_app(
        target="retrain", source=str(Path(__file__).resolve().parents[2] / "functions" / "retrain" / "main.py"), signature_type="cloudevent"
    ).test_client()
    payload = base64.b64encode(json.dumps({"reason": "drift alta", "check_id": "drift-x"}).encode()).decode()
    for _ in range(2):
        event = CloudEvent(
            {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub.googleapis.com/projects/p/topics/retrain"},
            {"message": {"data": payload, "messageId": "777"}, "subscription": "projects/p/subscriptions/retrain"},
        )
        headers, body = to_binary(event)
        assert client.post("/", headers=headers, data=body).status_code == 200
    wait_for_executions(api)

    assert [path.name for path in runs_dir.iterdir()] == ["777-0"]
    assert (runs_dir / "777-0").read_text().startswith("drift alta|")


def test_a_training_refused_for_good_is_recorded_with_an_alert_and_not_retried(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    """The labeled data's bucket refuses the job's role (S3 AccessDenied): a retry would be refused the same way."""
    from shared.backends import services

    record = retrain_job.run_requested_retrain(settings, "msg-16", "denied", execution="ex-1", attempt=0)
    again = retrain_job.run_requested_retrain(settings, "msg-16", "denied", execution="ex-1", attempt=1)

    assert record["status"] == "not_run" and "AccessDenied" in record["reason"]
    assert again["status"] == "duplicate" and len(trainings) == 1
    alerts = services.warehouse(settings).read("alerts")
    assert alerts["title_en"].str.startswith("The requested retraining (msg-16) could not run").sum() == 1


def test_a_throttled_training_releases_the_request_for_the_retry(settings: Settings, trainings: list[dict[str, Any]]) -> None:
    from botocore.exceptions import ClientError

    for attempt in (0, 1):
        with pytest.raises(ClientError):
            retrain_job.run_requested_retrain(settings, "msg-17", "throttled", execution="ex-1", attempt=attempt)
    assert len(trainings) == 2
