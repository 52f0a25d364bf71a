"""Unpack CloudEvents: check the type, drop stale events, and name the object or message."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


@dataclass(frozen=True)
class StorageObjectEvent:
    bucket: str
    name: str
    generation: str
    event_id: str
    event_time: datetime | None


@dataclass(frozen=True)
class PubSubMessage:
    message_id: str
    data: dict[str, Any]
    event_time: datetime | None


def _attribute(cloud_event: Any, name: str) -> Any:
    # functions-framework hands a cloudevents.http.CloudEvent; tests may hand a dict-like one.
    try:
        return cloud_event[name]
    except (KeyError, TypeError):
        return None


def _event_time(cloud_event: Any) -> datetime | None:
    raw = _attribute(cloud_event, "time")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_stale(event_time: datetime | None, max_age_seconds: float, now: datetime | None = None) -> bool:
    if event_time is None:
        return False
    age = ((now or datetime.now(UTC)) - event_time).total_seconds()
    return age > max_age_seconds


def storage_object(cloud_event: Any, max_age_seconds: float) -> StorageObjectEvent | None:
    """The finalized object, or None (logged, not retried) for another event type or a stale event."""
    event_type = _attribute(cloud_event, "type")
    if event_type != STORAGE_FINALIZED:
        # Permanent: retrying an event we do not handle would loop forever.
        logger.error("ignoring event %s of unexpected type %r (expected %s)", _attribute(cloud_event, "id"), event_type, STORAGE_FINALIZED)
        return None
    event_time = _event_time(cloud_event)
    if is_stale(event_time, max_age_seconds):
        logger.warning("dropping event %s from %s: older than %.0f s", _attribute(cloud_event, "id"), event_time, max_age_seconds)
        return None
    data = cloud_event.data if hasattr(cloud_event, "data") else _attribute(cloud_event, "data")
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError:
            data = None  # permanent: a body that is not JSON will not become JSON on retry
    if not isinstance(data, dict) or "bucket" not in data or "name" not in data:
        logger.error("ignoring storage event %s without bucket/name", _attribute(cloud_event, "id"))
        return None
    return StorageObjectEvent(
        bucket=str(data["bucket"]),
        name=str(data["name"]),
        generation=str(data.get("generation", "")),
        event_id=str(_attribute(cloud_event, "id") or ""),
        event_time=event_time,
    )


def pubsub_message(cloud_event: Any, max_age_seconds: float) -> PubSubMessage | None:
    event_type = _attribute(cloud_event, "type")
    if event_type != PUBSUB_PUBLISHED:
        logger.error("ignoring event %s of unexpected type %r (expected %s)", _attribute(cloud_event, "id"), event_type, PUBSUB_PUBLISHED)
        return None
    event_time = _event_time(cloud_event)
    if is_stale(event_time, max_age_seconds):
        logger.warning("dropping stale Pub/Sub event %s from %s", _attribute(cloud_event, "id"), event_time)
        return None
    envelope = cloud_event.data if hasattr(cloud_event, "data") else _attribute(cloud_event, "data")
    if isinstance(envelope, (bytes, str)):
        envelope = json.loads(envelope)
    message = (envelope or {}).get("message", {})
    payload: dict[str, Any] = {}
    if message.get("data"):
        try:
            payload = json.loads(base64.b64decode(message["data"]).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            logger.error("Pub/Sub message %s has a body that is not JSON; treating it as empty", message.get("messageId"))
    if not isinstance(payload, dict):  # e.g. a JSON string or list: callers read it with .get()
        logger.error("Pub/Sub message %s has a JSON body that is not an object; treating it as empty", message.get("messageId"))
        payload = {}
    return PubSubMessage(
        message_id=str(message.get("messageId") or message.get("message_id") or _attribute(cloud_event, "id") or ""),
        data=payload,
        event_time=event_time,
    )
