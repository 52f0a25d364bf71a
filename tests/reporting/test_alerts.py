"""Alerts: one grouped record per check, in Spanish and English, delivered to a real local webhook receiver."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared.backends import pubsub, services
from shared.monitor.results import DriftCheckResult, Finding
from shared.reporting import alerts
from shared.settings import Settings, load_settings
from tests.conftest_services import closed_port_url

CHECKED_AT = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


class Receiver:
    """A webhook receiver on a free loopback port that answers ``status``.

    With ``held=True`` it answers only once :meth:`release` is called: a test can then see
    what the sender does while the receiver has not answered yet, with no clock involved.
    """

    def __init__(self, status: int = 200, *, held: bool = False) -> None:
        self.status = status
        self.bodies: list[dict] = []
        self.hits = 0
        self.answered = 0
        self.received = threading.Event()
        self._answer = threading.Event()
        if not held:
            self._answer.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                receiver.hits += 1
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                receiver.received.set()
                receiver._answer.wait(timeout=60)  # bounded only so a broken test cannot hang the run
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"{}")
                    receiver.answered += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting, as it should

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def release(self) -> None:
        """Let the held receiver answer (this request and every later one)."""
        self._answer.set()

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "WEBHOOK_BACKOFF_SECONDS", 0.01)


def settings_for(tmp_path: Path, **environment: str) -> Settings:
    return load_settings({"DROPSCORE_HOME": str(tmp_path / "home"), **environment})


def finding(code: str, severity: str, category: str = "drift", features: list[str] | None = None) -> Finding:
    return Finding(
        code, severity, category, features or ["ventas_mensuales"],
        f"Hallazgo {code} en {', '.join(features or ['ventas_mensuales'])}.", f"Finding {code} in {', '.join(features or ['ventas_mensuales'])}.",
        f"Acción para {code}.", f"Action for {code}.", {"effect_size": 0.42},
    )  # fmt: skip


def check_result(triggers: list[Finding], warnings: list[Finding], check_id: str = "drift-20250301T060000000000") -> DriftCheckResult:
    return DriftCheckResult(
        check_id=check_id, checked_at=CHECKED_AT, model_version="3", window_start=None, window_end=CHECKED_AT,
        rows_current=2000, features=[], drifted_features=["ventas_mensuales"], retrain_requested=bool(triggers),
        reason_es="", reason_en="", status="retrain" if triggers else "warning", triggers=triggers, warnings=warnings,
        report_html="file:///reports/drift/latest.html",
    )  # fmt: skip


def stored_alerts(settings: Settings):
    return services.warehouse(settings).read("alerts")


# --------------------------------------------------------------------------- the record


def test_one_grouped_record_per_check_ordered_by_criticality() -> None:
    result = check_result([finding("key_feature_high", "critical")], [finding("gradual_trend", "info", features=["horas_semana"]), finding("performance_watch", "warning", "performance")])
    record = alerts.build_check_alert(result)
    assert record["alert_id"] == "drift-20250301T060000000000-alert"
    assert record["severity"] == "critical" and record["priority"] == 1
    assert record["category"] == "drift,performance"
    items = json.loads(record["evidence"])["items"]
    assert [item["code"] for item in items] == ["key_feature_high", "performance_watch", "gradual_trend"]
    assert [item["priority"] for item in items] == [1, 2, 3]
    assert {"what_es", "what_en", "action_es", "action_en", "evidence", "severity"} <= set(items[0])
    assert record["title_es"].startswith("Modelo v3: Hallazgo key_feature_high") and "Se solicita reentrenar." in record["title_es"]
    assert "(+2 more findings)" in record["title_en"]
    assert record["action_es"] == "Acción para key_feature_high." and record["action_en"] == "Action for key_feature_high."


def test_nothing_to_say_means_no_alert() -> None:
    assert alerts.build_check_alert(check_result([], [])) is None


def test_message_text_in_spanish_by_default_and_english_on_request() -> None:
    record = alerts.build_check_alert(check_result([finding("score_high", "critical")], [finding("drift_warning", "warning")]))
    spanish, english = alerts.message_text(record, "es"), alerts.message_text(record, "en")
    assert spanish.splitlines()[0].startswith("*[dropscore] CRÍTICA*")
    assert spanish.index("Hallazgo score_high") < spanish.index("Hallazgo drift_warning")
    assert "→ Acción para score_high." in spanish and "Informe: file:///reports/drift/latest.html" in spanish
    assert english.splitlines()[0].startswith("*[dropscore] CRITICAL*") and "Finding drift_warning" in english


def test_google_chat_gets_only_the_text_it_accepts() -> None:
    record = alerts.build_check_alert(check_result([finding("score_high", "critical")], []))
    chat = alerts.webhook_body("https://chat.googleapis.com/v1/spaces/AAA/messages?key=k", record, "es")
    slack = alerts.webhook_body("https://hooks.slack.com/services/T/B/X", record, "es")
    assert set(chat) == {"text"}
    assert set(slack) == {"text", "dropscore_alert"} and slack["dropscore_alert"]["evidence"]["items"][0]["code"] == "score_high"


# --------------------------------------------------------------------------- delivery to a real receiver


def test_webhook_delivery_to_a_local_receiver(tmp_path: Path) -> None:
    with Receiver() as receiver:
        settings = settings_for(tmp_path, DROPSCORE_ALERT_WEBHOOK=receiver.url)
        result = check_result([finding("key_feature_high", "critical")], [finding("drift_warning", "warning", features=["sector"])])
        delivery = alerts.raise_check_alert(settings, result)
        outcome = delivery.finish(settings)
    assert outcome == {"webhook": "delivered"}
    assert receiver.hits == 1, "one message per check, not one per feature"
    body = receiver.bodies[0]
    assert "Hallazgo key_feature_high" in body["text"] and "Hallazgo drift_warning en sector" in body["text"]
    assert body["dropscore_alert"]["alert_id"] == result.check_id + "-alert"
    rows = stored_alerts(settings)
    assert len(rows) == 1 and json.loads(rows.loc[0, "delivery"]) == {"webhook": "delivered"}
    assert rows.loc[0, "severity"] == "critical" and rows.loc[0, "priority"] == 1


def test_raising_the_alert_hands_back_before_the_receiver_answers(tmp_path: Path, fast_retries: None) -> None:
    # Were delivery done inline, raise_check_alert would return only after every attempt at
    # the held receiver timed out, with the outcome "failed" instead of "pending".
    with Receiver(held=True) as receiver:
        settings = settings_for(tmp_path, DROPSCORE_ALERT_WEBHOOK=receiver.url)
        delivery = alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], []))
        assert delivery.outcome == {"webhook": "pending"} and receiver.answered == 0
        assert json.loads(stored_alerts(settings).loc[0, "delivery"]) == {"webhook": "pending"}
        assert receiver.received.wait(timeout=30), "the delivery runs on in the background"
        receiver.release()
        outcome = delivery.finish(settings)
    assert outcome == {"webhook": "delivered"} and receiver.answered >= 1


def test_a_failing_receiver_is_retried_and_never_fails_the_check(tmp_path: Path, fast_retries: None, caplog: pytest.LogCaptureFixture) -> None:
    with Receiver(status=500) as receiver:
        settings = settings_for(tmp_path, DROPSCORE_ALERT_WEBHOOK=receiver.url)
        delivery = alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], []))
        outcome = delivery.finish(settings)
    assert outcome == {"webhook": "failed"}
    assert receiver.hits == alerts.WEBHOOK_ATTEMPTS
    assert json.loads(stored_alerts(settings).loc[0, "delivery"]) == {"webhook": "failed"}
    assert "not delivered to the webhook" in caplog.text


def test_a_refusing_receiver_is_not_retried(tmp_path: Path, fast_retries: None) -> None:
    with Receiver(status=400) as receiver:
        record = alerts.build_check_alert(check_result([finding("score_high", "critical")], []))
        assert alerts.post_webhook(receiver.url, record, "es") is False
    assert receiver.hits == 1, "a 4xx will not get better by sending again"


def test_an_unreachable_webhook_is_logged_not_raised(tmp_path: Path, fast_retries: None) -> None:
    settings = settings_for(tmp_path, DROPSCORE_ALERT_WEBHOOK=closed_port_url() + "/hook")
    delivery = alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], []))
    assert delivery.finish(settings) == {"webhook": "failed"}


def test_a_hanging_receiver_holds_the_check_no_longer_than_its_wait(tmp_path: Path) -> None:
    # The receiver never answers while the check waits: finish() comes back on its own bound,
    # says the delivery is still pending and records that. Waiting for the receiver instead
    # would never return before release() (or would end "failed" on the webhook timeout).
    with Receiver(held=True) as receiver:
        settings = settings_for(tmp_path, DROPSCORE_ALERT_WEBHOOK=receiver.url)
        delivery = alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], []))
        assert receiver.received.wait(timeout=30)
        outcome = delivery.finish(settings, timeout=0.05)
        assert outcome == {"webhook": "pending"} and receiver.answered == 0
        assert json.loads(stored_alerts(settings).loc[0, "delivery"]) == {"webhook": "pending"}


def test_a_rerun_of_the_same_check_replaces_its_alert(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for _ in range(2):
        alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], [])).finish(settings)
    alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], [], check_id="drift-other")).finish(settings)
    rows = stored_alerts(settings)
    assert sorted(rows["alert_id"]) == ["drift-20250301T060000000000-alert", "drift-other-alert"]
    assert json.loads(rows.loc[0, "delivery"]) == {"channels": "none"}


def test_the_log_carries_the_structured_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path)
    with caplog.at_level("INFO", logger="shared.reporting.alerts"):
        alerts.raise_check_alert(settings, check_result([finding("key_feature_high", "critical")], [])).finish(settings)
    headline = next(r for r in caplog.records if r.getMessage().startswith("ALERT critical"))
    assert headline.levelname == "WARNING" and "Model v3: Finding key_feature_high" in headline.getMessage()
    full = next(r for r in caplog.records if r.getMessage().startswith("alert record "))
    logged = json.loads(full.getMessage().removeprefix("alert record "))
    assert logged["alert_id"] == "drift-20250301T060000000000-alert"
    assert json.loads(logged["evidence"])["items"][0]["action_es"] == "Acción para key_feature_high."


# --------------------------------------------------------------------------- Pub/Sub, at our seam


class FakePublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, **attributes: str):  # noqa: ANN201 - a future
        self.messages.append((topic, data, attributes))

        class Future:
            def result(self, timeout: float | None = None) -> str:
                return "message-1"

        return Future()


def test_the_alert_topic_gets_the_structured_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publisher = FakePublisher()
    monkeypatch.setattr(pubsub, "publisher", lambda: publisher)
    settings = settings_for(tmp_path, DROPSCORE_ALERT_TOPIC="projects/p/topics/dropscore-alerts")
    delivery = alerts.raise_check_alert(settings, check_result([finding("performance_decay", "critical", "performance")], []))
    assert delivery.finish(settings) == {"pubsub": "delivered"}
    [(topic, data, attributes)] = publisher.messages
    payload = json.loads(data)
    assert topic == "projects/p/topics/dropscore-alerts"
    assert attributes == {"severity": "critical", "check_id": "drift-20250301T060000000000", "alert_id": "drift-20250301T060000000000-alert"}
    assert payload["evidence"]["items"][0]["code"] == "performance_decay" and payload["title_es"].startswith("Modelo v3")


def test_a_broken_publisher_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken():  # noqa: ANN202
        raise RuntimeError("no credentials")

    monkeypatch.setattr(pubsub, "publisher", broken)
    settings = settings_for(tmp_path, DROPSCORE_ALERT_TOPIC="projects/p/topics/t")
    delivery = alerts.raise_check_alert(settings, check_result([finding("score_high", "critical")], []))
    assert delivery.finish(settings) == {"pubsub": "failed: RuntimeError"}
