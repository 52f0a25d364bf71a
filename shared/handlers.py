"""What each Cloud Function does with its event, in one call; ``functions/*/main.py`` only delegate here."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from shared.delivery import events
from shared.delivery.locations import object_uri_from_event
from shared.errors import ModelNotFoundError, ObjectNameError
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

# The flows (pandas, pyarrow, LightGBM, MLflow) are imported inside each handler, not here:
# importing main.py must stay cheap so a cold start answers quickly.

logger = logging.getLogger("dropscore")


def _storage_event(cloud_event: Any) -> tuple[Settings, events.StorageObjectEvent] | None:
    """(settings, event) of a storage event worth handling, or None (logged, no retry)."""
    configure_logging()
    settings = load_settings()
    storage_event = events.storage_object(cloud_event, settings.max_event_age_seconds)
    return None if storage_event is None else (settings, storage_event)


def handle_clean_event(cloud_event: Any) -> dict[str, Any] | None:
    found = _storage_event(cloud_event)
    if found is None:
        return None
    settings, storage_event = found
    name = storage_event.name
    try:
        uri = object_uri_from_event(settings, storage_event.bucket, name)
    except ObjectNameError as problem:
        from shared.steps.refused_names import kind_of, refuse_name

        if kind_of(name) is None:  # not a drop (outside incoming/, labels/, training/): nothing to tell anyone
            logger.error("ignoring object with a refused name %r: %s", name[:200], problem.message_en)
            return None
        # Permanent: the name stays what it is on every retry. Reported (under a short key) and answered 2xx.
        return refuse_name(settings, storage_event.bucket, name, problem).to_dict()
    from shared.steps.clean import clean_object

    return clean_object(settings, uri, generation=storage_event.generation).to_dict()


def handle_score_event(cloud_event: Any) -> dict[str, Any] | None:
    found = _storage_event(cloud_event)
    if found is None:
        return None
    settings, storage_event = found
    try:
        uri = object_uri_from_event(settings, storage_event.bucket, storage_event.name)
    except ObjectNameError as problem:
        # Only the clean step names clean objects, and only after checking the name: not ours. No retry.
        logger.error("ignoring clean object with a refused name %r: %s", storage_event.name[:200], problem.message_en)
        return None
    from shared.steps.score import score_event

    return score_event(settings, uri, generation=storage_event.generation).to_dict()


def scheduled_time(request: Any) -> datetime | None:
    """The slot Cloud Scheduler fired for. A retried attempt carries the same one, so it is the same check."""
    raw = (getattr(request, "headers", None) or {}).get("X-CloudScheduler-ScheduleTime")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        logger.warning("ignoring unreadable X-CloudScheduler-ScheduleTime %r", raw)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def handle_drift_request(request: Any) -> tuple[str, int, dict[str, str]]:
    """HTTP: Cloud Scheduler POSTs here. 200 with the summary, or 200 with status "no_champion"."""
    configure_logging()
    settings = load_settings()
    from shared.steps.drift import run_drift_check

    try:
        result = run_drift_check(settings, now=scheduled_time(request))
    except ModelNotFoundError as exc:
        # Permanent until someone trains a model: a 2xx, so the scheduler does not retry it all day.
        logger.error("drift check skipped: %s", exc)
        body = {"status": "no_champion", "message": str(exc)}
        return json.dumps(body), 200, {"Content-Type": "application/json"}
    return json.dumps(result.summary(), ensure_ascii=False, default=str), 200, {"Content-Type": "application/json"}


def handle_retrain_event(cloud_event: Any) -> dict[str, Any] | None:
    configure_logging()
    settings = load_settings()
    message = events.pubsub_message(cloud_event, settings.max_event_age_seconds)
    if message is None:
        return None
    reason = str(message.data.get("reason", ""))
    if settings.retrain_job:
        # In the cloud, retraining runs as a Cloud Run job (no 540 s / memory cap): start it,
        # once per message id. A failed start raises, so Pub/Sub redelivers.
        from shared.steps.retrain import start_retrain

        return start_retrain(settings, message.message_id, reason).to_dict()
    from shared.lifecycle.promotion import run_retrain

    try:
        return run_retrain(settings, reason=reason, trigger=message.message_id).to_dict()
    except ModelNotFoundError as exc:
        logger.error("retrain request %s cannot run: %s", message.message_id, exc)  # permanent: no retry
        return None
