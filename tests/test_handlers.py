"""The four Cloud Functions through functions-framework's test client, with real CloudEvents."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from functions_framework import create_app

from shared.backends import services
from shared.backends.storage import get_store
from shared.settings import Settings
from tests.conftest import MONTH_ROWS, SyntheticFiles

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


def _app(name: str, signature: str):
    return create_app(target=name, source=str(FUNCTIONS / name / "main.py"), signature_type=signature).test_client()


def _storage_event(bucket: str, name: str, *, event_type: str = "google.cloud.storage.object.v1.finalized", age: timedelta = timedelta(0)) -> CloudEvent:
    return CloudEvent(
        {
            "type": event_type,
            "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            "subject": f"objects/{name}",
            "time": (datetime.now(UTC) - age).isoformat(),
        },
        {"bucket": bucket, "name": name, "generation": "1", "contentType": "text/csv"},
    )


def _post(client, event: CloudEvent, *, structured: bool = False):
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=headers, data=body)


def _put_raw(settings: Settings, source: Path, key: str) -> None:
    uri = settings.object_uri("raw", key)
    get_store(uri).upload_file(uri, source)


@pytest.mark.parametrize("structured", [False, True], ids=["binary", "structured"])
def test_clean_then_score_through_cloudevents(champion_home: Settings, synthetic_files: SyntheticFiles, structured: bool) -> None:
    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")
    clean = _app("clean", "cloudevent")
    response = _post(clean, _storage_event("raw", "incoming/mes_1.csv"), structured=structured)
    assert response.status_code == 200

    clean_uri = champion_home.object_uri("clean", "incoming/mes_1.csv.parquet")
    assert get_store(clean_uri).exists(clean_uri)
    score = _app("score", "cloudevent")
    response = _post(score, _storage_event("clean", "incoming/mes_1.csv.parquet"), structured=structured)
    assert response.status_code == 200

    predictions_uri = champion_home.object_uri("predictions", "mes_1.csv.predictions.csv")
    lines = get_store(predictions_uri).read_bytes(predictions_uri).decode("utf-8-sig").splitlines()
    assert len(lines) == MONTH_ROWS + 1
    assert len(services.warehouse(champion_home).read("predictions")) == MONTH_ROWS


def test_unexpected_event_type_is_logged_and_not_retried(champion_home: Settings, caplog: pytest.LogCaptureFixture) -> None:
    clean = _app("clean", "cloudevent")
    with caplog.at_level(logging.ERROR):
        response = _post(clean, _storage_event("raw", "incoming/x.csv", event_type="google.cloud.storage.object.v1.deleted"))
    assert response.status_code == 200  # a 2xx tells the platform not to retry
    assert "unexpected type" in caplog.text


def test_stale_event_is_dropped(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPSCORE_MAX_EVENT_AGE_SECONDS", "60")
    _put_raw(champion_home, synthetic_files.months[1], "incoming/viejo.csv")
    response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/viejo.csv", age=timedelta(minutes=5)))
    assert response.status_code == 200
    clean_uri = champion_home.object_uri("clean", "incoming/viejo.csv.parquet")
    assert not get_store(clean_uri).exists(clean_uri)


def test_permanent_bad_file_returns_normally_with_a_report(champion_home: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "malo.csv"
    bad.write_bytes(b"\x00\x01\x02 not a csv")
    _put_raw(champion_home, bad, "incoming/malo.csv")
    response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/malo.csv"))
    assert response.status_code == 200
    report_uri = champion_home.object_uri("quarantine", "incoming/malo.csv.report.json")
    assert json.loads(get_store(report_uri).read_bytes(report_uri))["details"]["error_code"] == "not_text"


def test_transient_storage_fault_raises_so_the_platform_retries(champion_home: Settings, monkeypatch: pytest.MonkeyPatch, synthetic_files: SyntheticFiles) -> None:
    from shared.backends.storage.local import LocalObjectStore
    from shared.errors import TransientError

    _put_raw(champion_home, synthetic_files.months[1], "incoming/mes_1.csv")

    def failing_write(self, uri, content_type="application/octet-stream"):
        raise TransientError("storage answered 503")

    monkeypatch.setattr(LocalObjectStore, "open_write", failing_write)
    response = _post(_app("clean", "cloudevent"), _storage_event("raw", "incoming/mes_1.csv"))
    assert response.status_code == 500  # functions-framework answers 500: Eventarc retries


def test_drift_http_function(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    from shared.local.chain import drop_file

    for month in (1, 2):
        drop_file(champion_home, synthetic_files.months[month])
    response = _app("drift", "http").post("/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["rows_current"] == 2 * MONTH_ROWS
    assert body["retrain_requested"] is False
    assert body["drifted_features"] == []
    assert get_store(body["report"]).exists(body["report"])


def test_drift_without_champion_is_reported_not_retried(home: Settings) -> None:
    response = _app("drift", "http").post("/")
    assert response.status_code == 200  # permanent: a non-2xx would make Cloud Scheduler retry
    assert response.get_json()["status"] == "no_champion"


def test_a_retried_scheduler_attempt_is_the_same_check(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    from shared.local.chain import drop_file

    drop_file(champion_home, synthetic_files.months[1])
    headers = {"X-CloudScheduler-ScheduleTime": "2026-12-01T11:00:00Z"}
    first = _app("drift", "http").post("/", headers=headers).get_json()
    second = _app("drift", "http").post("/", headers=headers).get_json()
    assert first["check_id"] == second["check_id"]
    checks = services.warehouse(champion_home).read("drift_results")["check_id"].unique()
    assert list(checks) == [first["check_id"]]


def test_retrain_from_a_pubsub_message(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    from shared.local.chain import drop_file

    for month in (1, 2, 3):
        drop_file(champion_home, synthetic_files.months[month])
        drop_file(champion_home, synthetic_files.labels[month], "labels")
    payload = base64.b64encode(json.dumps({"reason": "drift alta", "check_id": "drift-x"}).encode()).decode()
    event = CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub.googleapis.com/projects/p/topics/retrain"},
        {"message": {"data": payload, "messageId": "42"}, "subscription": "projects/p/subscriptions/retrain"},
    )
    response = _post(_app("retrain", "cloudevent"), event)
    assert response.status_code == 200
    events = services.warehouse(champion_home).read("model_events")
    assert "trained" in set(events["event"])
    decision = events[events["event"].isin(["promoted", "kept"])].iloc[-1]
    assert decision["version"] == "2" and "ROC-AUC" in decision["reason"]
