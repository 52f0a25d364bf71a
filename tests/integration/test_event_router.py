"""The event router against a real HTTP server on loopback: event shapes, retries, dead letters, the ledger."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.http import from_http

from shared.backends.storage import get_store
from shared.backends.storage.base import ObjectInfo
from shared.delivery import events
from shared.local.event_router import (
    EventRouter,
    RetryPolicy,
    Route,
    RouterConfig,
    deliver,
    pubsub_push_request,
    storage_finalized_event,
    structured,
)

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_seconds=2.0, initial_backoff_seconds=0.1, max_backoff_seconds=0.4, request_timeout_seconds=10)
# Only a guard against a hang: the tests wait for a condition, never assert how long it took.
HANG_GUARD_SECONDS = 60.0


class VirtualTime:
    """The retry loop's clock and sleep: each sleep moves the clock, so the whole schedule runs without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Receiver:
    """An HTTP server that records requests and answers with the statuses it is told, in order."""

    def __init__(self, statuses: Callable[[int], int]) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = statuses(len(receiver.requests))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if status >= 300 else b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[Callable[[int], int]], Receiver]]:
    started: list[Receiver] = []

    def make(statuses: Callable[[int], int]) -> Receiver:
        started.append(Receiver(statuses))
        return started[-1]

    yield make
    for receiver in started:
        receiver.close()


def an_object(name: str = "incoming/ventas.csv", bucket: str = "empresa-raw") -> ObjectInfo:
    return ObjectInfo(f"gs://{bucket}/{name}", 1234, "1700000000000001", datetime(2026, 1, 5, 12, 0, tzinfo=UTC))


def test_storage_event_is_binary_mode_like_eventarc_and_unpacks_in_both_modes() -> None:
    event = storage_finalized_event(an_object(), event_id="e-1", event_time=datetime.now(UTC))

    assert event.headers["ce-type"] == events.STORAGE_FINALIZED
    assert event.headers["ce-source"] == "//storage.googleapis.com/projects/_/buckets/empresa-raw"
    assert event.headers["ce-subject"] == "objects/incoming/ventas.csv"
    assert event.headers["Content-Type"] == "application/json"
    for shaped in (event, structured(event)):
        parsed = events.storage_object(from_http(shaped.headers, shaped.body), max_age_seconds=3600)
        assert parsed is not None
        assert (parsed.bucket, parsed.name, parsed.generation, parsed.event_id) == ("empresa-raw", "incoming/ventas.csv", "1700000000000001", "e-1")


def test_a_stale_event_unpacks_to_nothing() -> None:
    event = storage_finalized_event(an_object(), event_time=datetime.now(UTC) - timedelta(hours=2))
    assert events.storage_object(from_http(event.headers, event.body), max_age_seconds=3600) is None


def test_pubsub_push_goes_to_the_topic_path_with_the_raw_envelope() -> None:
    event = pubsub_push_request("projects/p/topics/t", b'{"reason": "drift"}', message_id="42")

    body = json.loads(event.body)
    assert event.path == "projects/p/topics/t" and event.id == "42"
    assert body["message"]["messageId"] == "42" and body["subscription"] == "projects/p/subscriptions/t-push"
    assert "ce-type" not in event.headers  # functions-framework makes the CloudEvent from the raw push


def test_deliver_retries_5xx_with_backoff_until_it_succeeds(receiver_factory, tmp_path: Path) -> None:
    receiver = receiver_factory(lambda attempt: 503 if attempt < 3 else 200)
    event = storage_finalized_event(an_object())

    virtual = VirtualTime()

    result = deliver(receiver.url, event, target_name="clean", policy=FAST_RETRY, dead_letter_dir=tmp_path, sleep=virtual.sleep, clock=virtual.clock)

    assert result.delivered and result.attempts == 3 and result.dead_letter is None
    assert virtual.sleeps == [0.1, 0.2]  # the backoff doubles between attempts
    assert all(request[2] == event.body for request in receiver.requests)
    assert not list(tmp_path.iterdir())


def test_deliver_gives_up_after_the_bounded_time_and_writes_a_dead_letter(receiver_factory, tmp_path: Path) -> None:
    receiver = receiver_factory(lambda attempt: 500)
    event = storage_finalized_event(an_object(), event_id="always-fails")

    virtual = VirtualTime()

    result = deliver(receiver.url, event, target_name="score", policy=FAST_RETRY, dead_letter_dir=tmp_path, sleep=virtual.sleep, clock=virtual.clock)

    # Backoff doubles up to its cap; it gives up when the next wait would run past the budget, never after it.
    assert virtual.sleeps == [0.1, 0.2, 0.4, 0.4, 0.4, 0.4]
    assert sum(virtual.sleeps) <= FAST_RETRY.max_seconds < sum(virtual.sleeps) + FAST_RETRY.max_backoff_seconds
    assert not result.delivered and result.attempts == len(receiver.requests) == len(virtual.sleeps) + 1
    assert result.dead_letter is not None and result.dead_letter.parent == tmp_path
    record = json.loads(result.dead_letter.read_text(encoding="utf-8"))
    assert record["target"] == "score" and record["last_status"] == 500 and record["attempts"] == result.attempts
    assert record["headers"]["ce-id"] == "always-fails" and record["body"]["name"] == "incoming/ventas.csv"


def test_deliver_does_not_retry_a_request_the_function_calls_bad(receiver_factory, tmp_path: Path) -> None:
    receiver = receiver_factory(lambda attempt: 400)

    result = deliver(receiver.url, storage_finalized_event(an_object()), target_name="clean", policy=FAST_RETRY, dead_letter_dir=tmp_path)

    assert not result.delivered and result.attempts == 1 and len(receiver.requests) == 1
    assert json.loads(result.dead_letter.read_text())["reason"] == "not retryable"


def test_deliver_retries_a_function_that_is_not_listening(tmp_path: Path) -> None:
    from tests.conftest_services import closed_port_url

    virtual = VirtualTime()

    result = deliver(closed_port_url(), storage_finalized_event(an_object()), target_name="clean", policy=FAST_RETRY, dead_letter_dir=tmp_path, sleep=virtual.sleep, clock=virtual.clock)

    # A refused connection is retried like a 5xx, for the whole budget.
    assert not result.delivered and result.attempts == len(virtual.sleeps) + 1 == 7 and result.status is None
    assert "ConnectionError" in json.loads(result.dead_letter.read_text())["last_error"]


def test_router_delivers_each_object_version_once_across_restarts(receiver_factory, tmp_path: Path) -> None:
    receiver = receiver_factory(lambda attempt: 200)
    raw = (tmp_path / "buckets" / "raw").as_uri()
    store = get_store(raw)
    config = RouterConfig(
        routes=[Route(raw, "clean", receiver.url)],
        dead_letter_dir=tmp_path / "dead",
        ledger_path=tmp_path / "ledger.jsonl",
        retry=FAST_RETRY,
    )

    def run_once() -> None:
        router = EventRouter(config)
        router.start_workers()
        router.poll_once()
        _wait_idle(router)

    store.write_bytes(f"{raw}/incoming/a.csv", b"a")
    store.write_bytes(f"{raw}/incoming/b.csv", b"b")
    run_once()
    run_once()  # a restarted router reads the ledger: nothing again
    store.write_bytes(f"{raw}/incoming/a.csv", b"a, second version")
    run_once()

    names = [json.loads(body)["name"].rsplit("/", 1)[-1] for _, _, body in receiver.requests]
    assert sorted(names[:2]) == ["a.csv", "b.csv"] and names[2:] == ["a.csv"]


def _wait_idle(router: EventRouter) -> None:
    """Wait until the router has nothing queued or in flight (the guard only stops a hung test)."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not router.idle():
        if time.monotonic() > deadline:
            pytest.fail(f"the router was still busy after {HANG_GUARD_SECONDS:.0f} s: a hang, not a slow run")
        time.sleep(0.05)
