"""A small local Eventarc: notice new objects in storage and POST CloudEvents to the functions.

The router lists the watched areas (the raw and clean buckets of the emulator, or the raw/
and clean/ prefixes of the S3 bucket) every ``poll_seconds``, and for every object it has
not delivered yet, in this version, POSTs a ``google.cloud.storage.object.v1.finalized``
CloudEvent in binary content mode, as Eventarc does. A function that answers 5xx (or 429,
or does not answer) gets the event again with exponential backoff until a bounded time has
passed; then the event is written to the dead-letter folder with the last error.

What was delivered is remembered in a ledger file keyed by object URI and version
(generation on GCS, ETag and time on S3), so a restarted router delivers what arrived
while it was down and nothing twice, apart from the at-least-once duplicates Eventarc
also allows (a delivery cut short by a stop is repeated).

Run it as ``python -m shared.local.event_router --config router.json`` (``dropscore serve`` does).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import queue
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.backends.storage import get_store
from shared.backends.storage.base import ObjectInfo
from shared.delivery.events import STORAGE_FINALIZED
from shared.object_names import split_uri

logger = logging.getLogger("dropscore.router")

READY_LINE = "event router ready"
DEFAULT_POLL_SECONDS = 0.5
DEFAULT_WORKERS = 4
# Eventarc waits as long as the function may run (540 s) before it counts a timeout.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 570.0


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class OutgoingEvent:
    """A CloudEvent ready to POST: HTTP headers and body."""

    headers: dict[str, str]
    body: bytes
    path: str = ""  # appended to the function's URL (the push subscription's /projects/P/topics/T)
    message_id: str = ""  # raw Pub/Sub pushes carry no ce-id

    @property
    def id(self) -> str:
        return self.headers.get("ce-id", "") or self.message_id

    @property
    def type(self) -> str:
        return self.headers.get("ce-type", "")


def binary_event(attributes: Mapping[str, str], data: Mapping[str, Any]) -> OutgoingEvent:
    """Binary content mode: attributes as ``ce-*`` headers, the data as the JSON body (what Eventarc sends)."""
    headers = {f"ce-{name}": str(value) for name, value in attributes.items()}
    headers["Content-Type"] = "application/json"
    return OutgoingEvent(headers, json.dumps(data).encode("utf-8"))


def structured(event: OutgoingEvent) -> OutgoingEvent:
    """The same event in structured content mode: one JSON document with attributes and data."""
    document: dict[str, Any] = {name[3:]: value for name, value in event.headers.items() if name.startswith("ce-")}
    document["datacontenttype"] = "application/json"
    document["data"] = json.loads(event.body)
    return OutgoingEvent({"Content-Type": "application/cloudevents+json"}, json.dumps(document).encode("utf-8"))


def object_version(info: ObjectInfo) -> str:
    """What makes a new event: a new GCS generation; on S3 (ETags repeat for equal bytes) ETag and time."""
    if info.uri.startswith("gs://"):
        return info.generation
    return f"{info.generation}@{info.updated.isoformat()}"


def storage_finalized_event(info: ObjectInfo, *, event_id: str | None = None, event_time: datetime | None = None) -> OutgoingEvent:
    """The event Eventarc sends when ``info``'s object is finalized (gs:// or, for the S3 fallback, s3://)."""
    _, bucket, name = split_uri(info.uri)
    when = event_time or info.updated
    # Handlers claim work per (bucket, object, generation). An S3 ETag repeats when the same bytes
    # are uploaded again, which is still a new upload: give S3 objects their ETag-and-time version.
    generation = object_version(info)
    data = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": "1",
        "size": str(info.size),
        "timeCreated": _rfc3339(info.updated),
        "updated": _rfc3339(info.updated),
        "storageClass": "STANDARD",
    }
    attributes = {
        "specversion": "1.0",
        "id": event_id or uuid.uuid4().hex,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": STORAGE_FINALIZED,
        "subject": f"objects/{name}",
        "time": _rfc3339(when),
        "bucket": bucket,  # Eventarc's extension attribute, used by trigger filters
    }
    return binary_event(attributes, data)


def pubsub_push_request(
    topic: str,
    data: bytes,
    *,
    message_id: str | None = None,
    subscription: str | None = None,
    publish_time: datetime | None = None,
    attributes: Mapping[str, str] | None = None,
) -> OutgoingEvent:
    """What the retrain push subscription (infra/pubsub.tf) POSTs: the raw push envelope to ``/<topic>``.

    functions-framework turns it into a ``messagePublished`` CloudEvent and reads the topic
    from the path, so the function sees what an Eventarc Pub/Sub trigger would give it.
    """
    message_id = message_id or str(uuid.uuid4().int % 10**16)
    envelope = {
        "message": {
            "data": base64.b64encode(data).decode("ascii"),
            "messageId": message_id,
            "publishTime": _rfc3339(publish_time or datetime.now(UTC)),
            "attributes": dict(attributes or {}),
        },
        "subscription": subscription or f"{topic.replace('/topics/', '/subscriptions/')}-push",
    }
    headers = {"Content-Type": "application/json", "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"}
    return OutgoingEvent(headers, json.dumps(envelope).encode("utf-8"), path=topic, message_id=message_id)


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failing event is retried. Eventarc keeps trying for 24 h; locally minutes are plenty."""

    max_seconds: float = 60.0
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 10.0
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS


@dataclass
class DeliveryResult:
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    dead_letter: Path | None = None
    seconds: float = 0.0


def _retryable(status: int) -> bool:
    # 5xx: the function raised (a transient fault, by our convention). 429/408: overloaded.
    # Any other 4xx says the request itself is wrong; resending it cannot help.
    return status >= 500 or status in (408, 429)


def _session() -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the user's environment in between
    return session


def deliver(
    url: str,
    event: OutgoingEvent,
    *,
    target_name: str,
    policy: RetryPolicy,
    dead_letter_dir: Path,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """POST ``event`` to ``url`` until a 2xx, retrying with backoff; dead-letter it when time is up.

    ``sleep`` and ``clock`` are the waiting and the time the retry budget is measured in (a test
    passes virtual ones to follow the whole schedule without waiting it out).
    """
    import requests

    session = session or _session()
    started = clock()
    first_attempt_at = datetime.now(UTC)
    backoff = policy.initial_backoff_seconds
    attempts = 0
    status: int | None = None
    error: str | None = None
    while True:
        attempts += 1
        try:
            response = session.post(url.rstrip("/") + "/" + event.path if event.path else url, data=event.body, headers=event.headers, timeout=policy.request_timeout_seconds)
            status, error = response.status_code, None if response.ok else response.text[:500]
        except requests.RequestException as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        elapsed = clock() - started
        if status is not None and 200 <= status < 300:
            return DeliveryResult(True, attempts, status, None, None, elapsed)
        retry = status is None or _retryable(status)
        if not retry or elapsed + backoff > policy.max_seconds:
            reason = "not retryable" if not retry else f"gave up after {elapsed:.0f} s"
            path = write_dead_letter(
                dead_letter_dir, url=url, target_name=target_name, event=event, attempts=attempts,
                status=status, error=error, reason=reason, first_attempt_at=first_attempt_at,
            )  # fmt: skip
            logger.error(
                "dead letter: event %s for %s (%s) %s after %d attempt(s), last %s; written to %s",
                event.id, target_name, url, reason, attempts, status or error, path,
            )  # fmt: skip
            return DeliveryResult(False, attempts, status, error, path, elapsed)
        logger.warning("event %s for %s: attempt %d got %s; retrying in %.1f s", event.id, target_name, attempts, status or error, backoff)
        sleep(backoff)
        backoff = min(backoff * 2, policy.max_backoff_seconds)


def write_dead_letter(
    folder: Path,
    *,
    url: str,
    target_name: str,
    event: OutgoingEvent,
    attempts: int,
    status: int | None,
    error: str | None,
    reason: str,
    first_attempt_at: datetime,
) -> Path:
    """Keep the undeliverable event with everything needed to inspect and resend it."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    path = folder / f"{now:%Y%m%dT%H%M%S%f}-{target_name}-{event.id[:40]}.json"
    try:
        body: Any = json.loads(event.body)
    except ValueError:
        body = event.body.decode("utf-8", errors="replace")
    record = {
        "target": target_name,
        "url": url,
        "reason": reason,
        "attempts": attempts,
        "last_status": status,
        "last_error": error,
        "first_attempt_at": first_attempt_at.isoformat(),
        "gave_up_at": now.isoformat(),
        "headers": event.headers,
        "body": body,
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)
    return path


# ----------------------------------------------------------------------------- router


@dataclass(frozen=True)
class Route:
    """Objects under ``watch_uri`` become finalized events for the function at ``target_url``."""

    watch_uri: str
    target_name: str
    target_url: str


@dataclass(frozen=True)
class PushSubscription:
    """Messages published on ``topic`` (to the local Pub/Sub on ``port``) are pushed to ``target_url``."""

    topic: str
    port: int
    target_name: str
    target_url: str


@dataclass
class RouterConfig:
    routes: list[Route]
    dead_letter_dir: Path
    ledger_path: Path
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = DEFAULT_POLL_SECONDS
    workers: int = DEFAULT_WORKERS
    push: PushSubscription | None = None
    run_api: dict[str, Any] | None = None  # shared.local.stack.run_api.RunApiConfig.to_dict(): jobs run as processes

    def to_json(self) -> str:
        return json.dumps(
            {
                "routes": [asdict(route) for route in self.routes],
                "dead_letter_dir": str(self.dead_letter_dir),
                "ledger_path": str(self.ledger_path),
                "retry": asdict(self.retry),
                "poll_seconds": self.poll_seconds,
                "workers": self.workers,
                "push": asdict(self.push) if self.push else None,
                "run_api": self.run_api,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> RouterConfig:
        raw = json.loads(text)
        return cls(
            routes=[Route(**route) for route in raw["routes"]],
            dead_letter_dir=Path(raw["dead_letter_dir"]),
            ledger_path=Path(raw["ledger_path"]),
            retry=RetryPolicy(**raw.get("retry", {})),
            poll_seconds=float(raw.get("poll_seconds", DEFAULT_POLL_SECONDS)),
            workers=int(raw.get("workers", DEFAULT_WORKERS)),
            push=PushSubscription(**raw["push"]) if raw.get("push") else None,
            run_api=raw.get("run_api"),
        )


class Ledger:
    """Object URI -> last version handled, kept in an append-only JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self._versions[entry["uri"]] = entry["version"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash; at worst that object is delivered again

    def handled(self, uri: str, version: str) -> bool:
        with self._lock:
            return self._versions.get(uri) == version

    def record(self, uri: str, version: str) -> None:
        with self._lock:
            self._versions[uri] = version
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"uri": uri, "version": version}) + "\n")


@dataclass(frozen=True)
class _Job:
    target_name: str
    url: str
    event: OutgoingEvent
    description: str
    key: tuple[str, str] | None = None  # (object URI, version) for storage events, None for pushes


class EventRouter:
    """Polls the watched areas, hands new objects to worker threads that deliver them."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.ledger = Ledger(config.ledger_path)
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._in_flight: set[tuple[str, str]] = set()
        self._pending = 0
        self._lock = threading.Lock()
        self._listing_failures: dict[str, int] = {}
        self._workers: list[threading.Thread] = []

    def start_workers(self) -> None:
        for number in range(self.config.workers):
            # Daemon threads: a stop must not wait for a slow function; an interrupted delivery
            # is not in the ledger, so the next start delivers it again (at least once).
            worker = threading.Thread(target=self._work, name=f"router-worker-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def submit(self, job: _Job) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(job)

    def poll_once(self) -> int:
        """List every watched area once and queue what is new. Returns how many events were queued."""
        queued = 0
        for route in self.config.routes:
            for info in self._list(route):
                key = (info.uri, object_version(info))
                if self.ledger.handled(*key):
                    continue
                with self._lock:
                    if key in self._in_flight:
                        continue
                    self._in_flight.add(key)
                self.submit(_Job(route.target_name, route.target_url, storage_finalized_event(info), info.uri, key))
                queued += 1
        return queued

    def push_message(self, topic: str, message_id: str, data: bytes, attributes: dict[str, str], publish_time: datetime) -> None:
        """Queue the push of a published message to the subscribed function."""
        push = self.config.push
        if push is None or topic != push.topic:
            logger.warning("message %s on %s has no push subscription here; dropped", message_id, topic)
            return
        event = pubsub_push_request(topic, data, message_id=message_id, publish_time=publish_time, attributes=attributes)
        self.submit(_Job(push.target_name, push.target_url, event, f"message {message_id} on {topic}"))

    def _list(self, route: Route) -> Iterable[ObjectInfo]:
        try:
            found = get_store(route.watch_uri).list(route.watch_uri)
        except Exception as exc:  # noqa: BLE001 - the storage service may come and go; keep polling
            failures = self._listing_failures.get(route.watch_uri, 0) + 1
            self._listing_failures[route.watch_uri] = failures
            if failures == 1 or failures % 60 == 0:
                logger.warning("cannot list %s (%d time(s) so far): %s", route.watch_uri, failures, exc)
            return []
        if self._listing_failures.pop(route.watch_uri, 0):
            logger.info("listing %s works again", route.watch_uri)
        return found

    def _work(self) -> None:
        session = _session()
        while True:
            job = self._queue.get()
            try:
                result = deliver(
                    job.url, job.event, target_name=job.target_name, policy=self.config.retry,
                    dead_letter_dir=self.config.dead_letter_dir, session=session,
                )  # fmt: skip
                if job.key is not None:
                    # Delivered or dead-lettered, the event is handled: Eventarc does not resend either.
                    self.ledger.record(*job.key)
                if result.delivered:
                    logger.info(
                        "%s -> %s: %s in %.1f s (%d attempt(s))",
                        job.description, job.target_name, result.status, result.seconds, result.attempts,
                    )  # fmt: skip
            except Exception:  # noqa: BLE001 - one bad event must not kill the worker
                logger.exception("delivering %s to %s failed unexpectedly", job.description, job.target_name)
            finally:
                with self._lock:
                    if job.key is not None:
                        self._in_flight.discard(job.key)
                    self._pending -= 1

    def idle(self) -> bool:
        with self._lock:
            return self._pending == 0

    def run(self, stop: threading.Event) -> None:
        self.start_workers()
        pubsub = None
        if self.config.push is not None:
            from shared.local.stack.pubsub import LocalPubSub

            pubsub = LocalPubSub(
                "127.0.0.1",
                self.config.push.port,
                lambda message: self.push_message(message.topic, message.message_id, message.data, message.attributes, message.publish_time),
            )
            pubsub.start()
        run_api = None
        if self.config.run_api is not None:
            # Cloud Run's jobs.run, locally: the retrain function starts the retrain job through it.
            from shared.local.stack.run_api import LocalRunApi, RunApiConfig

            run_api = LocalRunApi(RunApiConfig.from_dict(self.config.run_api))
            run_api.start_serving()
        watched = ", ".join(f"{route.watch_uri} -> {route.target_name}" for route in self.config.routes)
        if self.config.push is not None:
            watched += f", {self.config.push.topic} -> {self.config.push.target_name}"
        logger.info("%s: %s", READY_LINE, watched)
        try:
            while not stop.is_set():
                self.poll_once()
                stop.wait(self.config.poll_seconds)
        finally:
            if pubsub is not None:
                pubsub.stop()
            if run_api is not None:
                run_api.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.local.event_router", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="router configuration (JSON) written by dropscore serve")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("botocore", "boto3", "urllib3", "google"):
        logging.getLogger(chatty).setLevel(logging.WARNING)  # one line per delivery is the useful part
    config = RouterConfig.from_json(args.config.read_text(encoding="utf-8"))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    EventRouter(config).run(stop)
    logger.info("event router stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
