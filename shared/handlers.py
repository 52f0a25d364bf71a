"""What each Cloud Function does with its event, and the one error boundary around all four.

``functions/*/main.py`` only delegate here. Every handler runs inside :func:`error_boundary`, which
makes the rule of DESIGN.md true in one place:

- a **transient** fault (shared.errors.TransientError, a vendor error that may pass): raised, so the
  platform retries the delivery (Eventarc for clean/score, Pub/Sub for retrain, Cloud Scheduler for drift);
- a **permanent** one (shared.errors.PermanentError, a vendor refusal such as S3 AccessDenied or a 403
  from Google): reported where its reader looks — the file's report for clean and score, an alert
  (a warehouse row) for drift and retrain, and a log line with severity ERROR for all — and the
  handler returns normally (2xx), because a retry would only fail the same way for 24 hours;
- anything nobody classified (a bug): logged with its traceback and raised, like a transient fault.

Vendor errors are classified by one table, shared.errors.VENDOR_ERRORS.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.delivery import events
from shared.delivery.locations import object_uri_from_event
from shared.errors import (
    BadInputError,
    ContractError,
    ModelIntegrityError,
    ModelNotFoundError,
    ObjectNameError,
    PermanentError,
    PiiKeyError,
    SettingsError,
    TransientError,
    as_dropscore_error,
)
from shared.i18n import both
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

# The flows (pandas, pyarrow, LightGBM, MLflow) are imported inside each handler, not here:
# importing main.py must stay cheap so a cold start answers quickly.

logger = logging.getLogger("dropscore")

JSON_HEADERS = {"Content-Type": "application/json"}
R = TypeVar("R")


# ----------------------------------------------------------------------------- the boundary


@dataclass
class Delivery:
    """What one delivery is about, filled in by the handler as it learns it; the boundary reports against it."""

    function: str
    settings: Settings | None = None
    uri: str | None = None        # clean, score: the object the event names
    generation: str = ""
    request_id: str = ""          # retrain: the Pub/Sub message id; drift: the scheduler's slot

    def subject(self) -> str:
        return self.uri or self.request_id or "(event not read)"


def refusal_for(error: PermanentError) -> BadInputError:
    """The permanent error as a file-level refusal: a stable code and what the user reads, in both languages."""
    if isinstance(error, BadInputError):  # a bad file, a refused name: already worded for the user
        return error
    if isinstance(error, SettingsError):
        return BadInputError("settings_invalid", error.message_es, error.message_en)
    if isinstance(error, ModelNotFoundError):
        return BadInputError("no_champion", *both("no_champion"))
    if isinstance(error, ModelIntegrityError):
        return BadInputError("model_integrity", *both("refused_model_integrity", version=getattr(error, "version", "?")))
    if isinstance(error, ContractError):
        return BadInputError(
            "contract_invalid",
            both("refused_contract", detail=error.message_es)[0],
            both("refused_contract", detail=error.message_en)[1],
        )
    if isinstance(error, PiiKeyError):
        return BadInputError("pii_key_invalid", *both("refused_pii_key", detail=str(error)))
    # Storage or warehouse permissions, a registry refusal, a setting that cannot work.
    return BadInputError("configuration", *both("refused_configuration", detail=str(error)))


Reporter = Callable[[Delivery, BadInputError, PermanentError], Any]


def error_boundary(function: str, report: Reporter) -> Callable[[Callable[[Any, Delivery], R]], Callable[[Any], Any]]:
    """Run a handler ``(event, delivery)`` as ``(event)``: transient faults raise, permanent ones are reported."""

    def decorate(handler: Callable[[Any, Delivery], R]) -> Callable[[Any], Any]:
        @functools.wraps(handler)
        def handle(event: Any) -> Any:
            configure_logging()
            delivery = Delivery(function)
            try:
                return handler(event, delivery)
            except Exception as exc:
                error = as_dropscore_error(exc)
                if isinstance(error, TransientError):
                    logger.warning("%s: transient fault on %s, raised so the platform retries: %s", function, delivery.subject(), error)
                    raise
                if error is None:
                    logger.exception("%s: unexpected failure on %s, raised so the platform retries", function, delivery.subject())
                    raise
                assert isinstance(error, PermanentError)
                refusal = refusal_for(error)
                # Permanent: retrying fails the same way all day. Reported below, answered 2xx.
                logger.error("%s: %s refused for good (%s): %s", function, delivery.subject(), refusal.code, error)
                return _report(report, delivery, refusal, error)

        return handle

    return decorate


def _report(report: Reporter, delivery: Delivery, refusal: BadInputError, error: PermanentError) -> Any:
    try:
        return report(delivery, refusal, error)
    except Exception as exc:
        problem = as_dropscore_error(exc)
        if isinstance(problem, PermanentError):
            # The report cannot be written either (the same missing permission, most often): the log
            # line above is all that can be said, and a retry would fail at the same two places.
            logger.critical("%s: could not report %s (%s): %s", delivery.function, delivery.subject(), refusal.code, problem)
            return None
        raise  # a transient fault while reporting: the retry reports


# ----------------------------------------------------------------------------- where each function reports


def _report_file(delivery: Delivery, refusal: BadInputError, error: PermanentError) -> dict[str, Any] | None:
    """clean: the file's own report in quarantine/, as for any rejected file."""
    if delivery.settings is None or delivery.uri is None:
        return None
    from shared.steps.clean import reject_file

    result = reject_file(delivery.settings, delivery.uri, refusal, generation=delivery.generation)
    return None if result is None else result.to_dict()


def _report_batch(delivery: Delivery, refusal: BadInputError, error: PermanentError) -> dict[str, Any] | None:
    """score: the report of the file the clean batch came from, saying it was cleaned but not scored."""
    if delivery.settings is None or delivery.uri is None:
        return None
    from shared.steps.score import refuse_scoring

    version = getattr(error, "version", None)
    artifacts = getattr(error, "artifacts", None)  # a model that failed its integrity check: which files
    details = {"artifacts": list(artifacts)} if artifacts else None
    return refuse_scoring(delivery.settings, delivery.uri, refusal, model_version=str(version) if version else None, details=details).to_dict()


def _alert_refusal(delivery: Delivery, refusal: BadInputError, error: PermanentError, *, title: str, **values: str) -> None:
    """An alert for the people who run dropscore (a row of the warehouse's alerts table, and its channels)."""
    if delivery.settings is None:
        return
    from shared.lifecycle.model_loading import raise_model_alert

    title_es = both(title, reason=refusal.message_es, **values)[0]
    title_en = both(title, reason=refusal.message_en, **values)[1]
    action_es, action_en = both("refused_action")
    raise_model_alert(
        delivery.settings,
        alert_key=f"{delivery.function}-refused:{delivery.request_id}:{refusal.code}",  # a redelivery replaces it
        severity="warning" if isinstance(error, ModelNotFoundError) else "critical",
        title_es=title_es, title_en=title_en,
        evidence={"code": refusal.code, "error": str(error), "request": delivery.request_id},
        action_es=action_es, action_en=action_en,
    )


def _report_check(delivery: Delivery, refusal: BadInputError, error: PermanentError) -> tuple[str, int, dict[str, str]]:
    """drift: 200 with what stopped the check (a non-2xx would make Cloud Scheduler retry it), and an alert."""
    if isinstance(error, ModelNotFoundError):
        # Nothing to check until someone trains a model: said in the answer, no alert every month.
        body = {"status": "no_champion", "message": str(error)}
    else:
        _alert_refusal(delivery, refusal, error, title="check_refused_title")
        body = {"status": "refused", "code": refusal.code, "message_es": refusal.message_es, "message_en": refusal.message_en}
    return json.dumps(body, ensure_ascii=False), 200, JSON_HEADERS


def _report_retrain(delivery: Delivery, refusal: BadInputError, error: PermanentError) -> dict[str, Any]:
    """retrain: an alert (no labeled data yet is a warning, anything else critical); Pub/Sub gets its ack."""
    logger.error("retrain request %s cannot run: %s", delivery.request_id, error)
    _alert_refusal(delivery, refusal, error, title="retrain_refused_title", request=delivery.request_id)
    return {"status": "not_run", "request_id": delivery.request_id, "code": refusal.code, "reason": str(error)}


# ----------------------------------------------------------------------------- the four functions


def _storage_event(cloud_event: Any, delivery: Delivery) -> events.StorageObjectEvent | None:
    """The storage event worth handling, or None (logged, no retry); fills in the delivery's settings."""
    delivery.settings = load_settings()
    return events.storage_object(cloud_event, delivery.settings.max_event_age_seconds)


@error_boundary("clean", _report_file)
def handle_clean_event(cloud_event: Any, delivery: Delivery) -> dict[str, Any] | None:
    storage_event = _storage_event(cloud_event, delivery)
    if storage_event is None or delivery.settings is None:
        return None
    settings, name = delivery.settings, storage_event.name
    try:
        delivery.uri = object_uri_from_event(settings, storage_event.bucket, name)
    except ObjectNameError as problem:
        from shared.steps.refused_names import kind_of, refuse_name

        if kind_of(name) is None:  # not a drop (outside incoming/, labels/, training/): nothing to tell anyone
            logger.error("ignoring object with a refused name %r: %s", name[:200], problem.message_en)
            return None
        # Permanent, and its report cannot be named after the file: under a short key of its own.
        return refuse_name(settings, storage_event.bucket, name, problem).to_dict()
    delivery.generation = storage_event.generation
    from shared.steps.clean import clean_object

    return clean_object(settings, delivery.uri, generation=delivery.generation).to_dict()


@error_boundary("score", _report_batch)
def handle_score_event(cloud_event: Any, delivery: Delivery) -> dict[str, Any] | None:
    storage_event = _storage_event(cloud_event, delivery)
    if storage_event is None or delivery.settings is None:
        return None
    try:
        delivery.uri = object_uri_from_event(delivery.settings, storage_event.bucket, storage_event.name)
    except ObjectNameError as problem:
        # Only the clean step names clean objects, and only after checking the name: not ours. No retry.
        logger.error("ignoring clean object with a refused name %r: %s", storage_event.name[:200], problem.message_en)
        return None
    delivery.generation = storage_event.generation
    from shared.steps.score import score_object

    return score_object(delivery.settings, delivery.uri, generation=delivery.generation).to_dict()


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


@error_boundary("drift", _report_check)
def handle_drift_request(request: Any, delivery: Delivery) -> tuple[str, int, dict[str, str]]:
    """HTTP: Cloud Scheduler POSTs here. 200 with the summary; 200 with what stopped it; 5xx to be retried."""
    delivery.settings = load_settings()
    slot = scheduled_time(request)
    delivery.request_id = slot.isoformat() if slot else datetime.now(UTC).strftime("%Y-%m-%d")
    from shared.steps.drift import run_drift_check

    result = run_drift_check(delivery.settings, now=slot)
    return json.dumps(result.summary(), ensure_ascii=False, default=str), 200, JSON_HEADERS


@error_boundary("retrain", _report_retrain)
def handle_retrain_event(cloud_event: Any, delivery: Delivery) -> dict[str, Any] | None:
    delivery.settings = settings = load_settings()
    message = events.pubsub_message(cloud_event, settings.max_event_age_seconds)
    if message is None:
        return None
    delivery.request_id = message.message_id
    reason = str(message.data.get("reason", ""))
    if settings.retrain_job:
        # In the cloud, retraining runs as a Cloud Run job (no 540 s / memory cap): start it,
        # once per message id. A failed start raises, so Pub/Sub redelivers.
        from shared.steps.retrain import start_retrain

        return start_retrain(settings, message.message_id, reason).to_dict()
    from shared.lifecycle.promotion import run_retrain

    return run_retrain(settings, reason=reason, trigger=message.message_id).to_dict()
