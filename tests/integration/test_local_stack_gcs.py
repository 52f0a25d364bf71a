"""The whole chain on the local stack with GCS: emulator, MLflow server, function servers, router.

Everything goes through the real clients over loopback: google-cloud-storage uploads the
CSV, the router delivers Eventarc-shaped CloudEvents, the functions talk to the emulator
and to MLflow over HTTP, the CLI trains and fires the scheduler in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from shared.delivery.events import STORAGE_FINALIZED
from shared.local.event_router import binary_event
from shared.local.stack.local_stack import LocalStack
from shared.local.synthetic import ID_COLUMN
from tests.conftest import MONTH_ROWS, SyntheticFiles
from tests.integration.conftest import Champion
from tests.integration.helpers import cli_json, gcs_client, log_text, logs_of, wait_for, wait_for_log_line

pytestmark = pytest.mark.integration

MONTH_KEY = "incoming/2024-01/mes_1.csv"
PREDICTIONS_KEY = "2024-01/mes_1.csv.predictions.csv"
CLEAN_KEY = "incoming/2024-01/mes_1.csv.parquet"


def bucket_of(stack: LocalStack, area: str) -> str:
    return stack.settings.area_uri(area).removeprefix("gs://")


def blob_or_none(stack: LocalStack, area: str, key: str):
    return gcs_client(stack.storage_endpoint).bucket(bucket_of(stack, area)).get_blob(key)


def post(url: str, headers: dict[str, str], body: bytes) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.post(url, data=body, headers=headers, timeout=300)


@pytest.fixture(scope="module")
def scored_month(gcs_stack: LocalStack, gcs_champion: Champion, synthetic_files: SyntheticFiles) -> bytes:
    """Upload one month with google-cloud-storage and wait for its predictions: no other command."""
    client = gcs_client(gcs_stack.storage_endpoint)
    client.bucket(bucket_of(gcs_stack, "raw")).blob(MONTH_KEY).upload_from_filename(str(synthetic_files.months[1]), content_type="text/csv")
    predictions = wait_for(
        lambda: blob_or_none(gcs_stack, "predictions", PREDICTIONS_KEY),
        f"gs://{bucket_of(gcs_stack, 'predictions')}/{PREDICTIONS_KEY}",
        on_timeout=lambda: logs_of(gcs_stack),
    )
    return predictions.download_as_bytes()


def test_training_goes_through_the_mlflow_server(gcs_stack: LocalStack, gcs_champion: Champion, gcs_cli_env: dict[str, str]) -> None:
    from mlflow import MlflowClient

    models = cli_json(["models"], gcs_cli_env)

    assert models["tracking_uri"] == gcs_stack.tracking_uri and gcs_stack.tracking_uri.startswith("http://127.0.0.1:")
    champion = [v for v in models["versions"] if "champion" in v["aliases"]]
    assert [v["version"] for v in champion] == [gcs_champion.version]
    # The client logged artifacts through the server's proxy; the server alone wrote the files.
    source = MlflowClient(tracking_uri=gcs_stack.tracking_uri).get_model_version("dropscore", gcs_champion.version).source
    assert source.startswith("mlflow-artifacts:/"), source
    artifacts = gcs_stack.folder / "mlflow" / "mlartifacts"
    assert list(artifacts.rglob("model.lgb")), f"no model file under {artifacts}"


def test_csv_uploaded_to_the_emulator_comes_back_scored(gcs_stack: LocalStack, gcs_champion: Champion, scored_month: bytes) -> None:
    manifest = json.loads(blob_or_none(gcs_stack, "clean", "manifests/" + MONTH_KEY + ".json").download_as_bytes())
    rows = list(csv.DictReader(io.StringIO(scored_month.decode("utf-8-sig")), delimiter=";"))

    assert manifest["rows_in"] == MONTH_ROWS
    assert len(rows) == manifest["rows_clean"] > 0
    assert list(rows[0])[:2] == [ID_COLUMN, "score"]
    assert {row["model_version"] for row in rows} == {gcs_champion.version}
    # The router logs a delivery when the function answers, a moment after the outputs appear.
    wait_for_log_line(gcs_stack.logs / "router.log", f"gs://{bucket_of(gcs_stack, 'raw')}/{MONTH_KEY} -> clean: 200")
    wait_for_log_line(gcs_stack.logs / "router.log", f"gs://{bucket_of(gcs_stack, 'clean')}/{CLEAN_KEY} -> score: 200")


def test_drift_tick_calls_the_function_and_writes_the_report(gcs_stack: LocalStack, gcs_cli_env: dict[str, str], scored_month: bytes) -> None:
    result = cli_json(["serve", "tick", "drift"], gcs_cli_env)

    assert result["status"] == 200, result
    report_uri = result["response"]["report"]
    prefix = f"gs://{bucket_of(gcs_stack, 'reports')}/"
    assert report_uri.startswith(prefix + "drift/")
    report = json.loads(blob_or_none(gcs_stack, "reports", report_uri.removeprefix(prefix)).download_as_bytes())
    assert report["model_version"] == result["response"]["model_version"]
    assert report["rows_current"] > 0


def _purpose_tags(gcs_stack: LocalStack) -> list[str]:
    """The purpose tag of every registered version; a retrain records the message id that asked for it."""
    from mlflow import MlflowClient

    versions = MlflowClient(tracking_uri=gcs_stack.tracking_uri).search_model_versions("name = 'dropscore'")
    return [version.tags.get("purpose", "") for version in versions]


def _purposes(gcs_stack: LocalStack) -> set[str]:
    return set(_purpose_tags(gcs_stack))


def _wait_for_retrain(gcs_stack: LocalStack, message_id: str) -> None:
    """The retrain function only starts the job (as in the cloud); the job registers the version."""
    wait_for(
        lambda: f"retrain:{message_id}" in _purposes(gcs_stack),
        f"a model version trained for request {message_id}",
        timeout=300,
        on_timeout=lambda: logs_of(gcs_stack),
    )


def test_retrain_request_published_on_pubsub_is_pushed_to_retrain(
    gcs_stack: LocalStack, gcs_champion: Champion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What drift does when it asks for retraining: publish with google-cloud-pubsub; the push reaches retrain."""
    from google.cloud import pubsub_v1

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", gcs_stack.pubsub_address)
    publisher = pubsub_v1.PublisherClient()
    message_id = publisher.publish(gcs_stack.retrain_topic, json.dumps({"reason": "integration test", "check_id": "it-1"}).encode()).result(timeout=60)

    wait_for_log_line(gcs_stack.logs / "router.log", f"message {message_id} on {gcs_stack.retrain_topic} -> retrain: 200", timeout=300)
    _wait_for_retrain(gcs_stack, message_id)


def test_tick_retrain_pushes_like_the_subscription(gcs_stack: LocalStack, gcs_champion: Champion, gcs_cli_env: dict[str, str]) -> None:
    result = cli_json(["serve", "tick", "retrain", "--reason", "tick from the tests"], gcs_cli_env)

    assert result["delivered"] and result["status"] == 200, result
    _wait_for_retrain(gcs_stack, result["message_id"])


def test_retrain_message_delivered_twice_runs_the_job_process_once(gcs_stack: LocalStack, gcs_champion: Champion) -> None:
    """Issue 14, item 5: the push starts the retrain job (a process the router starts, as Cloud Run
    would start an execution); a redelivery of the same message neither starts nor trains again."""
    from shared.local.event_router import RetryPolicy, deliver, pubsub_push_request

    message_id = "it-twice-1"
    body = json.dumps({"reason": "delivered twice", "check_id": "it-twice"}).encode()
    logs_before = set(gcs_stack.logs.glob("job-*.log"))
    for _ in range(2):
        event = pubsub_push_request(gcs_stack.retrain_topic, body, message_id=message_id)
        result = deliver(gcs_stack.functions["retrain"], event, target_name="retrain", policy=RetryPolicy(), dead_letter_dir=gcs_stack.dead_letter_dir)
        assert result.delivered and result.status == 200, result
    _wait_for_retrain(gcs_stack, message_id)
    # The job prints its record when it is done (after the version is registered).
    finished = f'"request_id": "{message_id}"'
    wait_for(
        lambda: [path for path in set(gcs_stack.logs.glob("job-*.log")) - logs_before if finished in log_text(path)],
        f"the job of request {message_id} to finish",
        timeout=300,
        on_timeout=lambda: logs_of(gcs_stack),
    )

    executions = sorted(set(gcs_stack.logs.glob("job-*.log")) - logs_before)
    assert len(executions) == 1, [path.name for path in executions]
    assert '"status": "trained"' in log_text(executions[0])
    assert _purpose_tags(gcs_stack).count(f"retrain:{message_id}") == 1
    assert "already started" in log_text(gcs_stack.logs / "function-retrain.log")


def _event(stack: LocalStack, key: str, *, event_type: str = STORAGE_FINALIZED, age: timedelta = timedelta(0), event_id: str):
    bucket = bucket_of(stack, "raw")
    attributes = {
        "specversion": "1.0",
        "id": event_id,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": event_type,
        "subject": f"objects/{key}",
        "time": (datetime.now(UTC) - age).isoformat().replace("+00:00", "Z"),
    }
    return binary_event(attributes, {"bucket": bucket, "name": key, "generation": "1"})


def test_unexpected_event_type_is_refused_with_a_log_line_and_no_retry(gcs_stack: LocalStack) -> None:
    event = _event(gcs_stack, "incoming/nunca.csv", event_type="google.cloud.storage.object.v1.deleted", event_id="it-unexpected-type")

    response = post(gcs_stack.functions["clean"], event.headers, event.body)

    assert response.status_code == 200  # a 2xx: Eventarc must not retry what will never be handled
    line = wait_for_log_line(gcs_stack.logs / "function-clean.log", "it-unexpected-type")
    assert "unexpected type" in line and "google.cloud.storage.object.v1.deleted" in line


def test_event_older_than_the_maximum_age_is_dropped(gcs_stack: LocalStack) -> None:
    # The object does not exist: any attempt to process it would fail with a 500.
    event = _event(gcs_stack, "incoming/viejo.csv", age=timedelta(hours=2), event_id="it-stale-event")

    response = post(gcs_stack.functions["clean"], event.headers, event.body)

    assert response.status_code == 200, response.text
    wait_for_log_line(gcs_stack.logs / "function-clean.log", "it-stale-event", "dropping")


def test_failing_event_is_retried_with_backoff_then_dead_lettered(gcs_stack: LocalStack, gcs_champion: Champion) -> None:
    key = "incoming/2024-02/roto.csv.parquet"
    gcs_client(gcs_stack.storage_endpoint).bucket(bucket_of(gcs_stack, "clean")).blob(key).upload_from_string(b"not parquet at all")

    def dead_letter() -> dict | None:
        for path in Path(gcs_stack.dead_letter_dir).glob("*-score-*.json"):
            record = json.loads(path.read_text(encoding="utf-8"))
            if record["body"]["name"] == key:
                return record
        return None

    record = wait_for(dead_letter, "the dead letter", on_timeout=lambda: logs_of(gcs_stack))

    assert record["target"] == "score" and record["last_status"] == 500
    assert record["attempts"] >= 2 and record["reason"].startswith("gave up after")
    assert record["headers"]["ce-type"] == STORAGE_FINALIZED
    event_id = record["headers"]["ce-id"]
    wait_for_log_line(gcs_stack.logs / "router.log", "dead letter", event_id)
    assert any(event_id in line and "retrying in" in line for line in log_text(gcs_stack.logs / "router.log").splitlines())
