"""Exactly-once work on at-least-once delivery: claim an object version before working on it.

Eventarc and Pub/Sub deliver every event at least once: the same finalize event may come
2-5 times, sometimes at the same moment on two instances. Each handler therefore claims
the work, keyed on what the event names — bucket, object, generation — with a
create-only write (GCS ``if_generation_match=0``, S3 ``If-None-Match: *``, ``link()``
locally; see :meth:`shared.backends.storage.ObjectStore.create_if_absent`). Exactly one delivery
creates the claim and does the work; the others find it:

- finished (``done.json``): return the recorded result at once, nothing is redone;
- running and not expired: raise :class:`ClaimInProgressError` (transient), so the
  platform redelivers later and that delivery finds it finished;
- expired (the run crashed or was killed) or released (the run failed and said so):
  take it over with the next attempt number, again create-only, so of two retries only
  one takes over.

The expiry (:data:`DEFAULT_TTL_SECONDS`, 10 minutes) is longer than a function may run
(540 s), so a live run is never taken over. Outputs are named after the input and
written whole (atomically), so even a taken-over run that was still alive would only
overwrite equal objects; the warehouse replaces per batch key.

A step works under a claim with :func:`once`, visibly::

    with claims.once(settings, ClaimKey.of(settings, "score", uri, generation)) as claim:
        if claim.done is not None:
            return <the first run's result, claim.record()>
        result = <the work>
        claim.finish(result.to_dict())

Leaving the block by an exception releases the claim (the retry runs at once); leaving it
without :meth:`Claim.finish` releases it too, so nothing waits for an expiry by mistake.

Claims live in the reports area under ``claims/<step>/<bucket>/<object>/<generation hash>/``,
where both functions may write and no trigger listens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.backends import services
from shared.delivery.locations import event_bucket_and_name
from shared.errors import ClaimInProgressError, DropscoreError, ObjectNotFoundError
from shared.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0
# Object names longer than this (or with a folder name over half of it) are claimed under their hash.
CLAIM_NAME_BYTES = 400
DONE = "done.json"
ATTEMPT_PREFIX = "attempt-"

R = TypeVar("R")
Clock = Callable[[], datetime]
# Says whether a running, unexpired claim's holder is known dead (its body is what it recorded).
TakeOver = Callable[[dict[str, Any]], bool]


def utc_now() -> datetime:
    """The clock claims expire by (tests move it instead of sleeping)."""
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class ClaimKey:
    step: str          # "clean" | "score" | "assemble" | "retrain" ...
    bucket: str
    name: str
    generation: str

    @classmethod
    def of(cls, settings: Settings, step: str, uri: str, generation: str) -> ClaimKey:
        """The key of ``step`` for one version of the object at ``uri``, named as its event names it."""
        bucket, name = event_bucket_and_name(settings, uri)
        return cls(step, bucket, name, generation)

    def base_key(self) -> str:
        # The generation is hashed: on S3 it is an ETag plus a time, with characters keys should not carry.
        digest = hashlib.sha256(self.generation.encode("utf-8")).hexdigest()[:20]
        name = self.name
        if len(name.encode("utf-8")) > CLAIM_NAME_BYTES or any(len(part.encode("utf-8")) > CLAIM_NAME_BYTES // 2 for part in name.split("/")):
            # A name near the platform's limits (1,024 bytes; 255 per local folder name) would make the
            # claim's own key too long: claim it under a hash of the name instead, so that its refusal
            # (shared.steps.refused_names) still runs exactly once.
            name = "_long/" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return f"claims/{self.step}/{self.bucket}/{name}/{digest}"


def current_generation(uri: str) -> str | None:
    """The generation of the object at ``uri`` now (None: it no longer exists), for events that do not carry one."""
    try:
        return services.store(uri).stat(uri).generation
    except ObjectNotFoundError:
        return None


class Claim:
    """What :meth:`Claims.acquire` found: the work is this process's to do, or it was done already.

    ``done`` is None while this process holds the claim (work, then :meth:`finish`); otherwise it
    is the record another delivery finished with, and there is nothing to do.
    """

    def __init__(self, claims: Claims, uri: str, attempt: int, body: dict[str, Any], *, done: dict[str, Any] | None = None) -> None:
        self.claims = claims
        self.uri = uri
        self.attempt = attempt
        self.body = body
        self.done = done
        self.finished = False

    def record(self) -> dict[str, Any]:
        """The result the finished run recorded (empty while this process holds the claim)."""
        return dict((self.done or {}).get("result") or {})

    def replay(self, result_type: type[R]) -> R:
        """The finished run's result rebuilt as ``result_type`` (a dataclass), for a duplicate delivery."""
        names = {f.name for f in dataclasses.fields(result_type)}  # type: ignore[arg-type]
        return result_type(**{k: v for k, v in self.record().items() if k in names})

    def finish(self, record: dict[str, Any]) -> None:
        if self.done is not None:
            raise RuntimeError(f"claim {self.claims.base_uri} was finished by another delivery; this one has nothing to finish")
        body = {**self.body, "state": "done", "finished_at": self.claims.clock().isoformat(), "result": record}
        done_uri = self.claims.uri(DONE)
        services.store(done_uri).write_bytes(done_uri, json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"), "application/json")
        self.finished = True

    def release(self, reason: str) -> None:
        """Say the run failed so a retry need not wait for the expiry. Best effort: the expiry covers a failure here."""
        if self.done is not None:
            return
        body = {**self.body, "state": "released", "released_at": self.claims.clock().isoformat(), "reason": reason[:500]}
        try:
            services.store(self.uri).write_bytes(self.uri, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json")
        except DropscoreError as exc:
            logger.warning("could not release claim %s (it will expire): %s", self.uri, exc)


class Claims:
    def __init__(self, settings: Settings, key: ClaimKey, *, ttl_seconds: float | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.key = key
        self.ttl = timedelta(seconds=DEFAULT_TTL_SECONDS if ttl_seconds is None else ttl_seconds)
        self.clock: Clock = clock if clock is not None else utc_now
        self.base_uri = settings.object_uri("reports", key.base_key())

    def uri(self, leaf: str) -> str:
        return f"{self.base_uri}/{leaf}"

    def finished(self) -> dict[str, Any] | None:
        uri = self.uri(DONE)
        try:
            return json.loads(services.store(uri).read_bytes(uri))
        except ObjectNotFoundError:
            return None

    def _attempts(self) -> list[int]:
        store = services.store(self.base_uri)
        found = []
        for info in store.list(self.base_uri + "/"):
            leaf = info.uri.rsplit("/", 1)[-1]
            if leaf.startswith(ATTEMPT_PREFIX) and leaf.endswith(".json"):
                try:
                    found.append(int(leaf[len(ATTEMPT_PREFIX) : -len(".json")]))
                except ValueError:
                    continue
        return sorted(found)

    def _attempt_uri(self, attempt: int) -> str:
        return self.uri(f"{ATTEMPT_PREFIX}{attempt:04d}.json")

    def _done(self, record: dict[str, Any]) -> Claim:
        return Claim(self, self.uri(DONE), int(record.get("attempt") or 0), record, done=record)

    def acquire(self, *, take_over: TakeOver | None = None, extra: dict[str, Any] | None = None) -> Claim:
        """The claim to work under, or (``claim.done``) the finished record. Raises ClaimInProgressError.

        ``take_over(body)`` may say that a running, unexpired claim is known dead (a Cloud Run
        job retry takes over its own execution's failed attempt); ``extra`` is recorded in the claim.
        """
        record = self.finished()
        if record is not None:
            return self._done(record)
        attempts = self._attempts()
        latest = attempts[-1] if attempts else 0
        if latest:
            uri = self._attempt_uri(latest)
            try:
                body = json.loads(services.store(uri).read_bytes(uri))
            except (ObjectNotFoundError, ValueError):
                body = {}
            expires = datetime.fromisoformat(body["expires_at"]) if body.get("expires_at") else None
            alive = body.get("state") == "running" and expires is not None and expires > self.clock()
            if alive and not (take_over is not None and take_over(body)):
                raise ClaimInProgressError(
                    f"{self.key.step} of {self.key.bucket}/{self.key.name}@{self.key.generation} is being done by "
                    f"{body.get('owner')} since {body.get('claimed_at')}; retry later"
                )
            logger.warning(
                "taking over %s claim %s (state %s, expired %s)", self.key.step, uri, body.get("state"), body.get("expires_at")
            )
        attempt = latest + 1
        now = self.clock()
        body = {
            "step": self.key.step,
            "bucket": self.key.bucket,
            "object": self.key.name,
            "generation": self.key.generation,
            "attempt": attempt,
            "state": "running",
            "owner": f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            "claimed_at": now.isoformat(),
            "expires_at": (now + self.ttl).isoformat(),
            **(extra or {}),
        }
        uri = self._attempt_uri(attempt)
        if not services.store(uri).create_if_absent(uri, json.dumps(body).encode("utf-8")):
            record = self.finished()
            if record is not None:
                return self._done(record)
            raise ClaimInProgressError(f"another delivery claimed {self.key.step} of {self.key.name}@{self.key.generation} first; retry later")
        return Claim(self, uri, attempt, body)


@contextmanager
def once(
    settings: Settings,
    key: ClaimKey,
    *,
    ttl_seconds: float | None = None,
    take_over: TakeOver | None = None,
    extra: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> Iterator[Claim]:
    """Work on ``key`` once however often its event is delivered (see the module docstring).

    Yields the :class:`Claim`: ``claim.done`` is the finished record of an earlier delivery (a
    duplicate: do nothing), else do the work and :meth:`Claim.finish` with its result. Raises
    :class:`ClaimInProgressError` while another delivery holds a live claim. An exception out of the
    block releases the claim and propagates; so does (with a warning) a block that ends unfinished.
    """
    claim = Claims(settings, key, ttl_seconds=ttl_seconds, clock=clock).acquire(take_over=take_over, extra=extra)
    if claim.done is not None:
        logger.info("%s of %s (generation %s) already done: duplicate delivery, nothing redone", key.step, key.name, key.generation)
        yield claim
        return
    try:
        yield claim
    except BaseException as exc:
        claim.release(f"{type(exc).__name__}: {exc}")
        raise
    if not claim.finished:
        logger.warning("%s of %s ended without recording a result: claim released", key.step, key.name)
        claim.release("ended without a result")
