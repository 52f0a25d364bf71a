"""Retraining as a Cloud Run job: started once per retrain request, trains once per request id.

A function may run 540 s and retraining loads every labeled row, so in the cloud the retrain
function only *starts* the job ``DROPSCORE_RETRAIN_JOB`` (infra/retrain_job.tf) through the
Cloud Run Admin API ``jobs.run``, with an environment override carrying the request id
(the Pub/Sub message id) and the reason. The job's container runs ``python -m
shared.steps.retrain``, the same code as the function (its image is built from the function's zip).

Both halves are idempotent per request id, with the claims of :mod:`shared.delivery.claims`:

- starting: a redelivered message (Pub/Sub delivers at least once) finds the start claim
  finished and does not start a second execution; a start that failed releases its claim so
  the redelivery starts it;
- training: an execution that finds the request already trained exits without training, and a
  Cloud Run retry of a failed attempt (same execution, next ``CLOUD_RUN_TASK_ATTEMPT``) takes
  the claim over from the dead attempt instead of waiting for it to expire.

``DROPSCORE_RETRAIN_JOB`` is either a job name ``projects/P/locations/R/jobs/J`` (called at
``https://run.googleapis.com/v2/<name>:run`` with the runtime's Google credentials) or, in the
local stack (``dropscore serve``), the ``http://127.0.0.1:PORT/v2/<name>`` URL of the router's
stand-in for that API, which starts the same command as a process (shared/local/stack/run_api.py).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.delivery.claims import Claim, ClaimKey, Claims
from shared.errors import (
    DropscoreError,
    ModelNotFoundError,
    PermanentError,
    RetrainJobStartError,
    RetrainRequestError,
    as_dropscore_error,
)
from shared.i18n import both, message
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

logger = logging.getLogger("dropscore.retrain_job")

REQUEST_ID_VARIABLE = "DROPSCORE_RETRAIN_REQUEST_ID"
REASON_VARIABLE = "DROPSCORE_RETRAIN_REASON"
# Set by Cloud Run in every job task (and by the local run API): which execution, which attempt.
EXECUTION_VARIABLE = "CLOUD_RUN_EXECUTION"
TASK_ATTEMPT_VARIABLE = "CLOUD_RUN_TASK_ATTEMPT"

RUN_API_ROOT = "https://run.googleapis.com/v2/"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
START_TIMEOUT_SECONDS = 60.0
# Starting is one API call: a start claim older than this belongs to a crashed function.
START_CLAIM_TTL_SECONDS = 300.0
# Longer than any task may run (Cloud Run jobs: 168 h); a retry of the same execution takes the
# claim over explicitly, so only a foreign execution ever waits for this.
TRAINING_CLAIM_TTL_SECONDS = 169 * 3600.0

REQUESTS_BUCKET = "requests"  # claims/<step>/requests/<request id>/...: not a bucket, a namespace


@dataclass(frozen=True)
class StartedRetrain:
    request_id: str
    execution: str
    status: str  # "started" | "duplicate"

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "execution": self.execution, "status": self.status}


def _claims(settings: Settings, step: str, request_id: str, ttl_seconds: float) -> Claims:
    # generation "1": a request id names one request, there are no versions of it.
    return Claims(settings, ClaimKey(step, REQUESTS_BUCKET, request_id, "1"), ttl_seconds=ttl_seconds)


# ----------------------------------------------------------------------------- starting


def run_url(job: str) -> str:
    """The ``:run`` URL of ``DROPSCORE_RETRAIN_JOB`` (a job name, or the local stack's URL)."""
    job = job.strip().rstrip("/")
    if job.startswith(("http://", "https://")):
        return f"{job}:run"
    if not job.startswith("projects/") or "/jobs/" not in job:
        raise PermanentError(f"DROPSCORE_RETRAIN_JOB={job!r} is neither projects/P/locations/R/jobs/J nor an http(s) URL")
    return f"{RUN_API_ROOT}{job}:run"


def run_request_body(request_id: str, reason: str) -> dict[str, Any]:
    """Cloud Run Admin API v2 RunJobRequest: the request travels as container environment overrides."""
    env = [{"name": REQUEST_ID_VARIABLE, "value": request_id}, {"name": REASON_VARIABLE, "value": reason}]
    return {"overrides": {"containerOverrides": [{"env": env}]}}


def _session(url: str) -> Any:
    """An authorized session for Google's API; a plain one for the local stack's loopback API."""
    if url.startswith(RUN_API_ROOT):
        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        return AuthorizedSession(credentials)
    import requests

    return requests.Session()


def start_execution(job: str, request_id: str, reason: str, *, session: Any = None) -> str:
    """Start one execution of ``job`` for this request; returns the execution's name."""
    url = run_url(job)
    session = session or _session(url)
    try:
        response = session.post(url, json=run_request_body(request_id, reason), timeout=START_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any network fault: the platform redelivers
        raise RetrainJobStartError(f"could not reach {url}: {exc}") from exc
    if response.status_code >= 300:
        # Every refusal raises, 403 and 404 included: after the subscription's delivery attempts the
        # request lands in the dead-letter topic, kept, instead of being dropped here.
        raise RetrainJobStartError(f"{url} answered {response.status_code}: {response.text[:500]}")
    operation = response.json()
    metadata = operation.get("metadata") or {}
    return str(metadata.get("name") or operation.get("name") or "")


def start_retrain(settings: Settings, request_id: str, reason: str, *, session: Any = None) -> StartedRetrain:
    """Start the retrain job for one request, once however often the request is delivered."""
    if not settings.retrain_job:
        raise PermanentError("DROPSCORE_RETRAIN_JOB is not set: there is no job to start")
    if not request_id:
        raise RetrainRequestError("a retrain request without a message id cannot be started exactly once")
    acquired = _claims(settings, "retrain-start", request_id, START_CLAIM_TTL_SECONDS).acquire()
    if acquired.done is not None:
        execution = str(acquired.record().get("execution", ""))
        logger.info("retrain request %s already started (%s): duplicate delivery, nothing started", request_id, execution)
        return StartedRetrain(request_id, execution, "duplicate")
    try:
        execution = start_execution(settings.retrain_job, request_id, reason, session=session)
    except BaseException as exc:
        acquired.release(f"{type(exc).__name__}: {exc}")
        raise
    started = StartedRetrain(request_id, execution, "started")
    acquired.finish(started.to_dict())
    logger.info("retrain request %s started execution %s", request_id, execution)
    return started


# ----------------------------------------------------------------------------- the job


def _same_execution_retry(execution: str, attempt: int) -> Any:
    """take_over for Claims.acquire: an earlier attempt of this very execution is dead by now."""

    def take_over(body: dict[str, Any]) -> bool:
        earlier = body.get("execution") == execution and int(body.get("task_attempt", -1)) < attempt
        return bool(execution) and earlier

    return take_over


def run_requested_retrain(
    settings: Settings, request_id: str, reason: str, *, execution: str = "", attempt: int = 0
) -> dict[str, Any]:
    """Train for one request unless it was trained already. Returns the recorded outcome."""
    from shared.lifecycle.promotion import run_retrain

    if not request_id:
        raise RetrainRequestError(f"{REQUEST_ID_VARIABLE} is not set: the job runs only for a retrain request")
    claims = _claims(settings, "retrain", request_id, TRAINING_CLAIM_TTL_SECONDS)
    acquired = claims.acquire(
        take_over=_same_execution_retry(execution, attempt), extra={"execution": execution, "task_attempt": attempt}
    )
    if acquired.done is not None:
        logger.info("retrain request %s was already handled: nothing retrained", request_id)
        return {**acquired.record(), "status": "duplicate", "request_id": request_id}
    claim: Claim = acquired
    try:
        outcome = run_retrain(settings, reason=reason, trigger=request_id).to_dict()
    except BaseException as exc:
        error = as_dropscore_error(exc) if isinstance(exc, Exception) else None
        if not isinstance(error, PermanentError):
            claim.release(f"{type(exc).__name__}: {exc}")
            raise  # a fault that may pass (or a bug): the task fails, Cloud Run retries it
        # Permanent (no labeled data yet, a broken contract, a refused permission): record it, so
        # neither a retry nor a duplicate tries again, tell the administrator, and end successfully.
        return _not_run(settings, claim, request_id, error)
    record = {**outcome, "status": "trained", "request_id": request_id}
    claim.finish(record)
    return record


def _not_run(settings: Settings, claim: Claim, request_id: str, error: PermanentError) -> dict[str, Any]:
    from shared.lifecycle.model_loading import raise_model_alert

    logger.error("retrain request %s cannot run: %s", request_id, error)
    record = {"status": "not_run", "reason": str(error), "code": type(error).__name__, "request_id": request_id}
    claim.finish(record)
    action_es, action_en = both("refused_action")
    raise_model_alert(
        settings, alert_key=f"retrain-refused:{request_id}:{type(error).__name__}",
        severity="warning" if isinstance(error, ModelNotFoundError) else "critical",
        title_es=message("retrain_refused_title", "es", request=request_id, reason=str(error)),
        title_en=message("retrain_refused_title", "en", request=request_id, reason=str(error)),
        evidence=record, action_es=action_es, action_en=action_en,
    )
    return record


def main(environ: Mapping[str, str] | None = None) -> int:
    """The job's entry point. Exit 0: trained, duplicate or not runnable (recorded); 1: failed, retry."""
    environ = os.environ if environ is None else environ
    configure_logging()
    settings = load_settings(environ)
    request_id = environ.get(REQUEST_ID_VARIABLE, "")
    reason = environ.get(REASON_VARIABLE, "")
    execution = environ.get(EXECUTION_VARIABLE, "")
    attempt_text = environ.get(TASK_ATTEMPT_VARIABLE, "0")
    attempt = int(attempt_text) if attempt_text.isdigit() else 0
    try:
        record = run_requested_retrain(settings, request_id, reason, execution=execution, attempt=attempt)
    except RetrainRequestError as exc:
        logger.error("%s", exc)
        return 2
    except DropscoreError as exc:
        logger.error("retrain request %s failed (Cloud Run retries the task): %s", request_id, exc)
        return 1
    print(json.dumps(record, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
