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

Claims live in the reports area under ``claims/<step>/<bucket>/<object>/<generation hash>/``,
where both functions may write and no trigger listens.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
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


@dataclasses.dataclass(frozen=True)
class ClaimKey:
    step: str          # "clean" | "score"
    bucket: str
    name: str
    generation: str

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


def _now() -> datetime:
    return datetime.now(UTC)


class Claim:
    """One claim attempt this process holds."""

    def __init__(self, claims: Claims, uri: str, attempt: int, body: dict[str, Any]) -> None:
        self.claims = claims
        self.uri = uri
        self.attempt = attempt
        self.body = body

    def finish(self, record: dict[str, Any]) -> None:
        body = {**self.body, "state": "done", "finished_at": _now().isoformat(), "result": record}
        done_uri = self.claims.uri(DONE)
        services.store(done_uri).write_bytes(done_uri, json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"), "application/json")

    def release(self, reason: str) -> None:
        """Say the run failed so a retry need not wait for the expiry. Best effort: the expiry covers a failure here."""
        body = {**self.body, "state": "released", "released_at": _now().isoformat(), "reason": reason[:500]}
        try:
            services.store(self.uri).write_bytes(self.uri, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json")
        except DropscoreError as exc:
            logger.warning("could not release claim %s (it will expire): %s", self.uri, exc)


class Claims:
    def __init__(self, settings: Settings, key: ClaimKey, *, ttl_seconds: float | None = None) -> None:
        self.settings = settings
        self.key = key
        self.ttl = timedelta(seconds=DEFAULT_TTL_SECONDS if ttl_seconds is None else ttl_seconds)
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

    def acquire(
        self, *, take_over: Callable[[dict[str, Any]], bool] | None = None, extra: dict[str, Any] | None = None
    ) -> Claim | dict[str, Any]:
        """A :class:`Claim` to work under, or the finished record. Raises ClaimInProgressError.

        ``take_over(body)`` may say that a running, unexpired claim is known dead (a Cloud Run
        job retry takes over its own execution's failed attempt); ``extra`` is recorded in the claim.
        """
        record = self.finished()
        if record is not None:
            return record
        attempts = self._attempts()
        latest = attempts[-1] if attempts else 0
        if latest:
            uri = self._attempt_uri(latest)
            try:
                body = json.loads(services.store(uri).read_bytes(uri))
            except (ObjectNotFoundError, ValueError):
                body = {}
            expires = datetime.fromisoformat(body["expires_at"]) if body.get("expires_at") else None
            alive = body.get("state") == "running" and expires is not None and expires > _now()
            if alive and not (take_over is not None and take_over(body)):
                raise ClaimInProgressError(
                    f"{self.key.step} of {self.key.bucket}/{self.key.name}@{self.key.generation} is being done by "
                    f"{body.get('owner')} since {body.get('claimed_at')}; retry later"
                )
            logger.warning(
                "taking over %s claim %s (state %s, expired %s)", self.key.step, uri, body.get("state"), body.get("expires_at")
            )
        attempt = latest + 1
        now = _now()
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
                return record
            raise ClaimInProgressError(f"another delivery claimed {self.key.step} of {self.key.name}@{self.key.generation} first; retry later")
        return Claim(self, uri, attempt, body)


def _rebuild(result_type: type, record: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(result_type)}
    return result_type(**{k: v for k, v in record.items() if k in names})


def exactly_once(
    step: str,
    result_type: type,
    *,
    claim_if: Callable[[Settings, str], bool],
    passes_generation: bool = False,
    on_missing: Callable[[str], Any] | None = None,
) -> Callable:
    """Decorate ``fn(settings, uri, ...)`` so each (bucket, object, generation) is worked on once.

    The wrapped function takes ``generation=`` (from the event); without one, the object's
    current generation is used. A duplicate returns the first run's result with
    ``status="duplicate"``. ``claim_if`` says which URIs are worth a claim (not the ones the
    function ignores anyway); ``on_missing(uri)`` is returned for an object that no longer
    exists (deleted after the event: permanent, so no retry).
    """

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def run(settings: Settings, uri: str, *args: Any, generation: str = "", **kwargs: Any) -> R:
            if passes_generation:
                kwargs["generation"] = generation
            if not claim_if(settings, uri):
                return fn(settings, uri, *args, **kwargs)
            if not generation:
                try:
                    generation = services.store(uri).stat(uri).generation
                except ObjectNotFoundError:
                    if on_missing is not None:
                        logger.warning("%s: %s no longer exists; nothing to do", step, uri)  # permanent: no retry
                        return on_missing(uri)
                    return fn(settings, uri, *args, **kwargs)  # gone: the function reports it as it always did
                if passes_generation:
                    kwargs["generation"] = generation
            bucket, name = event_bucket_and_name(settings, uri)
            claims = Claims(settings, ClaimKey(step, bucket, name, generation))
            acquired = claims.acquire()
            if isinstance(acquired, dict):
                logger.info("%s of %s (generation %s) already done: duplicate delivery, nothing redone", step, uri, generation)
                result = _rebuild(result_type, acquired.get("result") or {})
                if hasattr(result, "status"):
                    result.status = "duplicate"
                return result
            try:
                result = fn(settings, uri, *args, **kwargs)
            except ObjectNotFoundError as exc:
                if on_missing is None or services.store(uri).exists(uri):
                    acquired.release(f"{type(exc).__name__}: {exc}")
                    raise
                logger.warning("%s: %s no longer exists; nothing to do", step, uri)  # permanent: no retry
                result = on_missing(uri)
            except BaseException as exc:
                acquired.release(f"{type(exc).__name__}: {exc}")
                raise
            acquired.finish(result.to_dict() if hasattr(result, "to_dict") else dataclasses.asdict(result))
            return result

        return run

    return decorate
