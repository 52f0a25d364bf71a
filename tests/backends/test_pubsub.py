"""One Pub/Sub publisher per process (shared.backends.pubsub), against a real gRPC Publish server
(the local stack's, shared/local/stack/pubsub.py) reached by google-cloud-pubsub through PUBSUB_EMULATOR_HOST."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.backends import process_cache, pubsub
from shared.local.stack.pubsub import LocalPubSub, PublishedMessage
from shared.reporting import alerts
from shared.settings import load_settings
from shared.steps import drift


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[PublishedMessage]]:
    received: list[PublishedMessage] = []
    server = LocalPubSub("127.0.0.1", 0, received.append)
    server.start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", server.address)
    process_cache.reset()
    try:
        yield received
    finally:
        process_cache.reset()
        server.stop()


def test_publish_waits_for_the_message_id_and_keeps_the_attributes(published: list[PublishedMessage]) -> None:
    message_id = pubsub.publish("projects/p/topics/alerts", b'{"a": 1}', timeout=30, severity="high")

    assert [(m.topic, m.message_id, m.data, m.attributes) for m in published] == [
        ("projects/p/topics/alerts", message_id, b'{"a": 1}', {"severity": "high"})
    ]


def test_alerts_and_retrain_requests_share_one_publisher(published: list[PublishedMessage], tmp_path: Path) -> None:
    """Before, the drift step built a new PublisherClient (a gRPC channel and its threads) per request."""
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_RETRAIN_TOPIC": "projects/p/topics/retrain"})
    alert = {"alert_id": "a-1", "severity": "critical", "check_id": "c-1", "evidence": json.dumps({"psi": 0.4})}

    assert alerts.publish_alert("projects/p/topics/alerts", alert)
    first = drift.request_retrain(settings, reason="drift", check_id="c-1")
    second = drift.request_retrain(settings, reason="drift", check_id="c-2")

    assert first["published"] and second["published"]
    assert [m.topic for m in published] == ["projects/p/topics/alerts", "projects/p/topics/retrain", "projects/p/topics/retrain"]
    assert json.loads(published[1].data) == {"reason": "drift", "check_id": "c-1"}
    assert published[2].attributes == {"check_id": "c-2"}
    assert len(pubsub.publisher) == 1  # one client built, for the three messages
