"""The one error boundary (shared.handlers), through functions-framework with real CloudEvents.

Each class of failure is provoked as it happens in production, and the answer checked the way the
platform reads it: a 2xx means "done, do not retry" (Eventarc's RETRY_POLICY_RETRY would otherwise
retry for 24 hours), a 5xx means "retry". A permanent failure must also leave a report the user
can read; a transient one must leave nothing that says the file was handled.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from shared.backends import services
from shared.backends.storage import get_store
from shared.errors import ContractError, ServiceUnavailableError
from shared.settings import Settings
from shared.steps import clean as clean_step
from tests.conftest import SyntheticFiles
from tests.conftest_services import closed_port_url
from tests.test_handlers import _app, _post, _put_raw, _storage_event


def _access_denied(operation: str) -> Exception:
    """What boto3 raises when the bucket policy refuses the function's role (S3's own 403)."""
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)


def _report(settings: Settings, key: str) -> tuple[dict[str, Any], str]:
    json_uri = settings.object_uri("quarantine", f"{key}.report.json")
    text_uri = settings.object_uri("quarantine", f"{key}.report.txt")
    store = get_store(json_uri)
    return json.loads(store.read_bytes(json_uri)), store.read_bytes(text_uri).decode("utf-8-sig")


def _alerts(settings: Settings):  # noqa: ANN202 - a DataFrame
    return services.warehouse(settings).read("alerts")


def _mlflow_down(monkeypatch: pytest.MonkeyPatch) -> str:
    url = closed_port_url()
    monkeypatch.setenv("DROPSCORE_MLFLOW_TRACKING_URI", url)
    clean_step._CONTRACTS.clear()  # a warm instance's cache would hide the outage
    services.reset()
    return url


def _retrain_event(message_id: str) -> CloudEvent:
    payload = base64.b64encode(json.dumps({"reason": "drift alta"}).encode()).decode()
    return CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub.googleapis.com/projects/p/topics/retrain"},
        {"message": {"data": payload, "messageId": message_id}, "subscription": "projects/p/subscriptions/retrain"},
    )


# ----------------------------------------------------------------------------- clean: permanent -> 2xx + report


def test_a_broken_contract_is_reported_on_the_file_and_not_retried(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(text: str) -> None:
        raise ContractError(
            "columns.edad.type: «numero» no es uno de numeric, categorical, date, text",
            "columns.edad.type: 'numero' is not one of numeric, categorical, date, text",
        )

    monkeypatch.setattr(clean_step.Contract, "from_yaml", staticmethod(unreadable))
    clean_step._CONTRACTS.clear()
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")

    response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv"))

    assert response.status_code == 200
    report, text = _report(champion_home, "incoming/mes_1.csv")
    assert report["status"] == "rejected" and report["details"]["error_code"] == "contract_invalid"
    assert "contrato de datos" in report["message_es"] and "data contract" in report["message_en"]
    assert "«numero» no es uno de" in report["message_es"] and "'numero' is not one of" in report["message_en"]
    # The file is not at fault: the user is told to upload it again once it is fixed, not to "fix" it.
    assert "El archivo no tiene ningún problema" in text and "Nothing is wrong with the file" in text


def test_storage_access_denied_is_reported_on_the_file_and_not_retried(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    store_class = type(get_store(champion_home.area_uri("clean")))

    def denied(self, uri, content_type="application/octet-stream"):  # noqa: ANN001, ANN202 - ObjectStore.open_write
        raise _access_denied("PutObject")

    monkeypatch.setattr(store_class, "open_write", denied)  # the clean bucket refuses our writes
    with caplog.at_level(logging.ERROR, logger="dropscore"):
        response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv"))

    assert response.status_code == 200
    report, text = _report(champion_home, "incoming/mes_1.csv")
    assert report["details"]["error_code"] == "configuration"
    assert "AccessDenied" in report["message_en"] and "permiso" in report["message_es"]
    assert "(code: configuration)" in text
    # One line with severity ERROR for the log explorer, naming the object.
    assert any(record.levelname == "ERROR" and "incoming/mes_1.csv" in record.getMessage() for record in caplog.records)


def test_a_model_failing_its_checksum_is_reported_on_the_file_with_an_alert(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    from tests.model.test_artifact_integrity import _version_folder

    contract_file = _version_folder(champion_home) / "dropscore" / "contract.yaml"
    original = contract_file.read_bytes()
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    try:
        contract_file.write_bytes(original + b"\n# edited in the artifact store\n")
        clean_step._CONTRACTS.clear()
        services.reset()
        response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv"))
    finally:
        contract_file.write_bytes(original)
        clean_step._CONTRACTS.clear()
        services.reset()

    assert response.status_code == 200
    report, _ = _report(champion_home, "incoming/mes_1.csv")
    assert report["details"]["error_code"] == "model_integrity"
    alerts = _alerts(champion_home)
    assert (alerts["severity"] == "critical").any() and alerts["title_en"].str.contains("contract.yaml").any()


# ----------------------------------------------------------------------------- transient -> 5xx (the platform retries)


def test_mlflow_down_makes_clean_and_score_answer_5xx(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    assert _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv")).status_code == 200
    _mlflow_down(monkeypatch)
    _put_raw(champion_home, synthetic_files.months[2], "incoming/mes_2.csv")

    assert _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_2.csv")).status_code == 500
    assert _post(_app("score", "cloudevent"), _storage_event("clean", "incoming/mes_1.csv.parquet")).status_code == 500
    for key in ("incoming/mes_2.csv.report.json", "incoming/mes_1.csv.report.json"):
        uri = champion_home.object_uri("quarantine", key)
        assert not get_store(uri).exists(uri)  # nothing tells the user the file failed: the retry will handle it


def test_storage_unavailable_makes_clean_answer_5xx(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    store_class = type(get_store(champion_home.area_uri("clean")))

    def unavailable(self, uri, content_type="application/octet-stream"):  # noqa: ANN001, ANN202
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")

    monkeypatch.setattr(store_class, "open_write", unavailable)
    assert _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv")).status_code == 500


# ----------------------------------------------------------------------------- score: permanent -> 2xx + report


def test_score_refused_by_the_warehouse_is_reported_on_the_file(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.api_core.exceptions import Forbidden

    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    assert _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv")).status_code == 200
    warehouse = services.warehouse(champion_home)

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise Forbidden("Access Denied: Table p:dropscore.predictions: Permission bigquery.tables.updateData denied")

    monkeypatch.setattr(warehouse, "write_batch", forbidden)
    monkeypatch.setattr(warehouse, "replace_batch", forbidden, raising=False)
    response = _post(_app("score", "cloudevent"), _storage_event("clean", "incoming/mes_1.csv.parquet"))

    assert response.status_code == 200
    report, text = _report(champion_home, "incoming/mes_1.csv")
    assert report["status"] == "refused" and report["details"]["error_code"] == "configuration"
    assert report["message_es"].startswith("El archivo se limpió pero no se puntuó.")
    assert "bigquery.tables.updateData" in report["message_en"] and "(code: configuration)" in text


# ----------------------------------------------------------------------------- shadow review (labels) during an outage


def _labels_batch(settings: Settings, synthetic_files: SyntheticFiles) -> str:
    from shared.local.chain import drop_file

    drop_file(settings, synthetic_files.labels[1], "labels")  # cleaned and stored, as the clean function does
    return f"labels/{synthetic_files.labels[1].name}.parquet"


def test_the_model_review_during_an_mlflow_outage_is_retried_not_skipped(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _labels_batch(champion_home, synthetic_files)
    _mlflow_down(monkeypatch)
    response = _post(_app("score", "cloudevent"), _storage_event("clean", key))
    assert response.status_code == 500  # was 200 with "no_champion": the rollback watch silently skipped


def _outcomes_listing_fails(settings: Settings, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The review lists the outcomes under clean/labels/ first: make the clean bucket answer ``error``."""
    store_class = type(get_store(settings.area_uri("clean")))

    def failing(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(store_class, "list", failing)


def test_the_model_review_with_storage_throttling_is_retried(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    key = _labels_batch(champion_home, synthetic_files)
    _outcomes_listing_fails(champion_home, monkeypatch, ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "ListObjectsV2"))
    assert _post(_app("score", "cloudevent"), _storage_event("clean", key)).status_code == 500


def test_a_permanent_failure_of_the_model_review_is_reported_with_an_alert(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _labels_batch(champion_home, synthetic_files)
    _outcomes_listing_fails(champion_home, monkeypatch, _access_denied("ListObjectsV2"))
    response = _post(_app("score", "cloudevent"), _storage_event("clean", key))

    assert response.status_code == 200  # the labels are kept; a retry would be refused the same way
    alerts = _alerts(champion_home)
    review = alerts[alerts["title_en"].str.startswith("The model review on the outcomes received could not run")]
    assert len(review) == 1 and review.iloc[0]["severity"] == "critical" and "AccessDenied" in review.iloc[0]["title_en"]
    assert review.iloc[0]["title_es"].startswith("La revisión del modelo")


# ----------------------------------------------------------------------------- drift and retrain


def test_a_drift_check_refused_for_good_answers_200_with_an_alert(champion_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.api_core.exceptions import Forbidden

    warehouse = services.warehouse(champion_home)

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise Forbidden("Access Denied: Table p:dropscore.predictions")

    monkeypatch.setattr(warehouse, "read", forbidden)
    response = _app("drift", "http").post("/", headers={"X-CloudScheduler-ScheduleTime": "2026-12-01T11:00:00Z"})
    monkeypatch.undo()  # read the alerts back

    assert response.status_code == 200  # a non-2xx makes Cloud Scheduler retry a check that cannot pass
    body = response.get_json()
    assert body["status"] == "refused" and body["code"] == "configuration"
    assert "permiso" in body["message_es"] and "Access Denied" in body["message_en"]
    alerts = _alerts(champion_home)
    assert alerts["title_en"].str.startswith("The monthly drift check could not run").any()


def test_a_drift_check_with_mlflow_down_answers_5xx(champion_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _mlflow_down(monkeypatch)
    assert _app("drift", "http").post("/").status_code == 500


def test_a_retrain_request_refused_for_good_is_acknowledged_with_an_alert(home: Settings) -> None:
    """No model to retrain yet: nothing changes that by retrying. Pub/Sub gets its ack, the data person an alert."""
    response = _post(_app("retrain", "cloudevent"), _retrain_event("77"))

    assert response.status_code == 200
    alerts = _alerts(home)
    refused = alerts[alerts["title_en"].str.startswith("The requested retraining (77) could not run")]
    assert len(refused) == 1 and refused.iloc[0]["severity"] == "warning"


def test_a_retrain_request_with_mlflow_down_is_redelivered(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    _mlflow_down(monkeypatch)
    assert _post(_app("retrain", "cloudevent"), _retrain_event("78")).status_code == 500


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(lambda: _access_denied("GetObject"), 200, id="s3-access-denied"),
        pytest.param(lambda: ServiceUnavailableError("MLflow tracking server", "http://mlflow", "start it"), 500, id="ours-unavailable"),
        pytest.param(lambda: ConnectionResetError("connection reset by peer"), 500, id="connection-reset"),
    ],
)
def test_whatever_raises_inside_the_step_the_answer_follows_its_class(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, error: Any, status: int
) -> None:
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")

    def failing(*args: Any, **kwargs: Any) -> None:
        raise error()

    monkeypatch.setattr(clean_step, "clean_file", failing)
    assert _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv")).status_code == status


def test_the_answer_when_even_the_report_cannot_be_written(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every bucket refuses us: the log line (CRITICAL) is all that can be said, and a retry would not change it."""
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    store_class = type(get_store(champion_home.area_uri("clean")))

    def denied(self, uri, *args: Any, **kwargs: Any):  # noqa: ANN001, ANN202
        raise _access_denied("PutObject")

    monkeypatch.setattr(store_class, "open_write", denied)
    monkeypatch.setattr(store_class, "write_bytes", denied)
    with caplog.at_level(logging.ERROR, logger="dropscore"):
        response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv"))
    assert response.status_code == 200
    assert any(record.levelname == "CRITICAL" and "could not report" in record.getMessage() for record in caplog.records)
