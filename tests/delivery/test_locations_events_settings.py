"""Where outputs live, how events are unpacked, and how settings are read from the environment."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from shared.delivery.events import (
    PUBSUB_PUBLISHED,
    STORAGE_FINALIZED,
    is_stale,
    pubsub_message,
    storage_object,
)
from shared.delivery.locations import DroppedFile, event_bucket_and_name, locate, object_uri_from_event
from shared.errors import ObjectNameError
from shared.settings import (
    AREAS,
    DEFAULT_MAX_EVENT_AGE_SECONDS,
    DEFAULT_MODEL_NAME,
    ENVIRONMENT_VARIABLES,
    Settings,
    load_settings,
)

HOUR = 3600.0


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(tmp_path / "home")})


def _gs_settings(tmp_path: Path) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "gs://acme-dropscore"})


def _s3_settings(tmp_path: Path) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "s3://acme-bucket/dropscore"})


# -- DroppedFile ----------------------------------------------------------------------------------


def test_dropped_file_key_derivations() -> None:
    dropped = DroppedFile.from_raw_key("incoming/2026-01/ventas.csv")
    assert dropped == DroppedFile("incoming", "2026-01/ventas.csv")
    assert dropped.name == "ventas"  # generated ids keep starting with the bare name
    assert dropped.clean_key() == "incoming/2026-01/ventas.csv.parquet"
    assert dropped.manifest_key() == "manifests/incoming/2026-01/ventas.csv.json"
    assert dropped.quarantine_key() == "incoming/2026-01/ventas.csv.quarantine.csv"
    assert dropped.report_key() == "incoming/2026-01/ventas.csv.report.json"
    assert dropped.report_key("txt") == "incoming/2026-01/ventas.csv.report.txt"
    assert dropped.predictions_key() == "2026-01/ventas.csv.predictions.csv"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("labels/resultados.CSV", DroppedFile("labels", "resultados.CSV")),
        ("training/2025/historico.csv", DroppedFile("training", "2025/historico.csv")),
        ("incoming/a/b/c.csv", DroppedFile("incoming", "a/b/c.csv")),
        ("otros/ventas.csv", None),
        ("incoming/2026-01/", None),  # a folder placeholder object, not a file
        ("incoming", None),
        ("ventas.csv", None),
    ],
)
def test_dropped_file_from_raw_key(key: str, expected: DroppedFile | None) -> None:
    assert DroppedFile.from_raw_key(key) == expected


def test_clean_key_round_trip() -> None:
    dropped = DroppedFile.from_raw_key("incoming/2026-01/ventas.csv")
    assert DroppedFile.from_clean_key(dropped.clean_key()) == dropped
    assert DroppedFile.from_clean_key("manifests/incoming/2026-01/ventas.csv.json") is None
    assert DroppedFile.from_clean_key("incoming/2026-01/ventas.csv") is None


# -- locate and event URIs ------------------------------------------------------------------------


def test_locate_local(local_settings: Settings) -> None:
    uri = local_settings.object_uri("raw", "incoming/ventas.csv")
    assert uri == local_settings.area_uri("raw") + "/incoming/ventas.csv"
    assert locate(local_settings, uri) == ("raw", "incoming/ventas.csv")
    with pytest.raises(ObjectNameError):  # an absolute key is refused, not quietly made relative
        local_settings.object_uri("clean", "/incoming/x.parquet")
    assert locate(local_settings, "file:///elsewhere/raw/incoming/ventas.csv") is None
    assert locate(local_settings, local_settings.area_uri("raw") + "x/incoming/a.csv") is None  # prefix of a name


def test_object_uri_from_event_local_maps_area_name_to_folder(local_settings: Settings) -> None:
    uri = object_uri_from_event(local_settings, "raw", "incoming/ventas.csv")
    assert uri == local_settings.object_uri("raw", "incoming/ventas.csv")
    assert event_bucket_and_name(local_settings, uri) == ("raw", "incoming/ventas.csv")
    other = object_uri_from_event(local_settings, "otro", "x.csv")
    assert other == local_settings.storage_uri + "/otro/x.csv"
    with pytest.raises(ValueError, match="not inside a configured area"):
        event_bucket_and_name(local_settings, other)


def test_object_uri_from_event_gs(tmp_path: Path) -> None:
    settings = _gs_settings(tmp_path)
    uri = object_uri_from_event(settings, "acme-dropscore-raw", "incoming/ventas.csv")
    assert uri == "gs://acme-dropscore-raw/incoming/ventas.csv"
    assert locate(settings, uri) == ("raw", "incoming/ventas.csv")
    assert event_bucket_and_name(settings, uri) == ("acme-dropscore-raw", "incoming/ventas.csv")
    assert locate(settings, "gs://acme-dropscore-clean/incoming/ventas.parquet") == ("clean", "incoming/ventas.parquet")


def test_object_uri_from_event_s3_single_bucket(tmp_path: Path) -> None:
    settings = _s3_settings(tmp_path)
    uri = object_uri_from_event(settings, "acme-bucket", "dropscore/raw/incoming/ventas.csv")
    assert uri == "s3://acme-bucket/dropscore/raw/incoming/ventas.csv"
    assert locate(settings, uri) == ("raw", "incoming/ventas.csv")
    assert event_bucket_and_name(settings, uri) == ("acme-bucket", "dropscore/raw/incoming/ventas.csv")


# -- storage events -------------------------------------------------------------------------------


def _storage_event(data: object, *, event_type: str = STORAGE_FINALIZED, time: datetime | None = None) -> CloudEvent:
    attributes = {"type": event_type, "source": "//storage.googleapis.com/projects/_/buckets/acme-raw", "id": "evt-1"}
    if time is not None:
        attributes["time"] = time.isoformat().replace("+00:00", "Z")
    return CloudEvent(attributes, data)


def test_storage_object_from_real_cloud_event() -> None:
    now = datetime.now(UTC)
    event = _storage_event({"bucket": "acme-raw", "name": "incoming/ventas.csv", "generation": 1712}, time=now)
    found = storage_object(event, HOUR)
    assert found is not None
    assert (found.bucket, found.name, found.generation, found.event_id) == ("acme-raw", "incoming/ventas.csv", "1712", "evt-1")
    assert found.event_time is not None and abs((found.event_time - now).total_seconds()) < 1
    assert found.event_time.tzinfo is not None


def test_storage_object_data_as_bytes() -> None:
    body = json.dumps({"bucket": "b", "name": "labels/x.csv"}).encode()
    found = storage_object(_storage_event(body), HOUR)
    assert found is not None
    assert (found.bucket, found.name, found.generation) == ("b", "labels/x.csv", "")


def test_storage_object_wrong_type_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    event = _storage_event({"bucket": "b", "name": "x"}, event_type="google.cloud.storage.object.v1.deleted")
    with caplog.at_level(logging.ERROR, logger="shared.delivery.events"):
        assert storage_object(event, HOUR) is None
    assert "unexpected type" in caplog.text


def test_storage_object_stale_event_is_dropped() -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    event = _storage_event({"bucket": "b", "name": "x"}, time=old)
    assert storage_object(event, HOUR) is None
    assert storage_object(event, 3 * HOUR) is not None


@pytest.mark.parametrize("data", [{"bucket": "b"}, b"not json", None, ["b", "x"]])
def test_storage_object_without_bucket_and_name_is_ignored(data: object) -> None:
    assert storage_object(_storage_event(data), HOUR) is None


def test_storage_object_accepts_a_plain_mapping() -> None:
    event = {"type": STORAGE_FINALIZED, "id": "e2", "time": "2020-01-01T00:00:00Z", "data": {"bucket": "b", "name": "n"}}
    found = storage_object(event, 1e12)
    assert found is not None
    assert found.event_time == datetime(2020, 1, 1, tzinfo=UTC)


def test_is_stale() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert is_stale(now - timedelta(seconds=61), 60, now=now)
    assert not is_stale(now - timedelta(seconds=59), 60, now=now)
    assert not is_stale(None, 60, now=now)  # no time: process it


# -- Pub/Sub --------------------------------------------------------------------------------------


def _pubsub_event(message: dict[str, object], *, event_type: str = PUBSUB_PUBLISHED, time: datetime | None = None) -> CloudEvent:
    attributes = {"type": event_type, "source": "//pubsub.googleapis.com/projects/p/topics/retrain", "id": "evt-9"}
    if time is not None:
        attributes["time"] = time.isoformat()
    return CloudEvent(attributes, {"message": message, "subscription": "projects/p/subscriptions/s"})


def test_pubsub_message_decodes_base64_json() -> None:
    body = base64.b64encode(json.dumps({"reason": "deriva en ventas", "n": 3}).encode()).decode()
    message = pubsub_message(_pubsub_event({"data": body, "messageId": "m-42"}), HOUR)
    assert message is not None
    assert message.message_id == "m-42"
    assert message.data == {"reason": "deriva en ventas", "n": 3}


def test_pubsub_message_without_body_or_id() -> None:
    message = pubsub_message(_pubsub_event({}), HOUR)
    assert message is not None
    assert message.data == {}
    assert message.message_id == "evt-9"  # falls back to the event id, still a stable key


@pytest.mark.parametrize("raw", [b"not json", b'"just a string"', b"[1, 2]"])
def test_pubsub_message_body_that_is_not_a_json_object_is_empty(raw: bytes) -> None:
    message = pubsub_message(_pubsub_event({"data": base64.b64encode(raw).decode(), "messageId": "m"}), HOUR)
    assert message is not None
    assert message.data == {}


def test_pubsub_message_wrong_type_and_stale() -> None:
    assert pubsub_message(_pubsub_event({}, event_type=STORAGE_FINALIZED), HOUR) is None
    old = datetime.now(UTC) - timedelta(days=2)
    assert pubsub_message(_pubsub_event({"messageId": "m"}, time=old), HOUR) is None


# -- settings -------------------------------------------------------------------------------------


def test_defaults_live_under_dropscore_home(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path)})
    home = tmp_path.resolve()
    assert settings.home == home
    assert settings.storage_uri == (home / "buckets").as_uri()
    assert settings.embedded is True
    assert set(settings.area_uris) == set(AREAS)
    for area in AREAS:
        assert settings.area_uri(area) == (home / "buckets" / area).as_uri()
    assert settings.tracking_uri == f"sqlite:///{home / 'mlflow.db'}"
    assert settings.warehouse_uri == f"duckdb:///{home / 'warehouse.duckdb'}"
    assert settings.model_name == DEFAULT_MODEL_NAME
    assert settings.language == "es"
    assert settings.max_event_age_seconds == DEFAULT_MAX_EVENT_AGE_SECONDS
    assert settings.retrain_topic is None and settings.alert_webhook is None and settings.alert_topic is None
    assert settings.pii_key is None


def test_default_home_is_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).home == (tmp_path / ".dropscore").resolve()


def test_gs_prefix_gives_one_bucket_per_area(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "gs://acme/"})
    assert settings.area_uris == {area: f"gs://acme-{area}" for area in AREAS}
    assert settings.embedded is False
    assert settings.object_uri("raw", "incoming/a.csv") == "gs://acme-raw/incoming/a.csv"


def test_s3_single_bucket_with_prefixes(tmp_path: Path) -> None:
    settings = _s3_settings(tmp_path)
    assert settings.area_uris == {area: f"s3://acme-bucket/dropscore/{area}" for area in AREAS}


def test_explicit_bucket_override(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DROPSCORE_HOME": str(tmp_path),
            "DROPSCORE_STORAGE": "gs://acme",
            "DROPSCORE_BUCKET_RAW": "gs://uploads-from-erp/",
            "DROPSCORE_BUCKET_REPORTS": "  ",  # blank means unset
        }
    )
    assert settings.area_uri("raw") == "gs://uploads-from-erp"
    assert settings.area_uri("clean") == "gs://acme-clean"
    assert settings.area_uri("reports") == "gs://acme-reports"


def test_other_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DROPSCORE_HOME": str(tmp_path),
            "DROPSCORE_LANG": "EN_us",
            "DROPSCORE_MODEL_NAME": "churn",
            "DROPSCORE_MAX_EVENT_AGE_SECONDS": "600",
            "DROPSCORE_MLFLOW_TRACKING_URI": "https://mlflow.example",
            "DROPSCORE_WAREHOUSE": "bigquery://proj/ds",
            "DROPSCORE_RETRAIN_TOPIC": "projects/p/topics/retrain",
        }
    )
    assert settings.language == "en"
    assert settings.model_name == "churn"
    assert settings.max_event_age_seconds == 600.0
    assert settings.tracking_uri == "https://mlflow.example"
    assert settings.warehouse_uri == "bigquery://proj/ds"
    assert settings.retrain_topic == "projects/p/topics/retrain"


@pytest.mark.parametrize("language", ["fr", "pt-BR", "x"])
def test_unsupported_language_falls_back_to_spanish(tmp_path: Path, language: str) -> None:
    assert load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_LANG": language}).language == "es"


def test_settings_never_show_the_pii_key(tmp_path: Path) -> None:
    secret = "s3cr3t-hmac-key-value"
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_PII_KEY": secret})
    assert settings.pii_key == secret
    assert secret not in repr(settings)
    assert secret not in str(settings)
    assert "pii_key" not in repr(settings)


def test_settings_are_frozen(local_settings: Settings) -> None:
    with pytest.raises(AttributeError):
        local_settings.language = "en"  # type: ignore[misc]


def test_every_variable_read_is_documented() -> None:
    names = {f"DROPSCORE_BUCKET_{area.upper()}" for area in AREAS} | {
        "DROPSCORE_HOME",
        "DROPSCORE_STORAGE",
        "DROPSCORE_WAREHOUSE",
        "DROPSCORE_MLFLOW_TRACKING_URI",
        "DROPSCORE_MODEL_NAME",
        "DROPSCORE_LANG",
        "DROPSCORE_MAX_EVENT_AGE_SECONDS",
        "DROPSCORE_PII_KEY",
    }
    assert names <= set(ENVIRONMENT_VARIABLES)
