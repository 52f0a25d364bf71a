"""``dropscore serve tick``: what Cloud Scheduler and the retrain push subscription do, on demand.

- ``tick drift`` POSTs to the drift function the request the scheduler job in infra/
  sends (JSON body, one attempt, the function's whole timeout to answer);
- ``tick retrain`` pushes a retrain request to the retrain function in the shape of the
  push subscription (raw Pub/Sub envelope to ``/projects/P/topics/T``), with the router's
  retries and dead letter.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from shared.errors import ServiceUnavailableError
from shared.local.event_router import RetryPolicy, deliver, pubsub_push_request
from shared.local.stack.function_servers import FUNCTION_TIMEOUT_SECONDS
from shared.local.stack.local_stack import StackState

SCHEDULER_BODY = {"trigger": "cloud-scheduler"}
HOW_TO_START = "Start the local stack with `dropscore serve` (in another shell, with the same DROPSCORE_HOME)."


def _function_url(state: StackState, name: str) -> str:
    url = state.functions.get(name)
    if not url:
        raise ServiceUnavailableError(f"the {name} function", "the local stack's state", HOW_TO_START)
    return url


def tick_drift(home: Path) -> dict[str, Any]:
    """Call the drift function as the monthly scheduler job does; return its status and JSON answer."""
    import requests

    state = StackState.read(home)
    url = _function_url(state, "drift")
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy in between
    try:
        response = session.post(
            url,
            json=SCHEDULER_BODY,
            headers={"User-Agent": "Google-Cloud-Scheduler"},
            timeout=FUNCTION_TIMEOUT_SECONDS + 30,
        )
    except requests.ConnectionError as exc:
        raise ServiceUnavailableError("the drift function", url, HOW_TO_START, detail=str(exc)) from exc
    try:
        body: Any = response.json()
    except ValueError:
        body = {"text": response.text[:2000]}
    return {"function": "drift", "url": url, "status": response.status_code, "response": body}


def tick_retrain(home: Path, reason: str = "manual retrain (tick)", *, retry: RetryPolicy | None = None) -> dict[str, Any]:
    """Push a retrain request to the retrain function as the Pub/Sub push subscription would."""
    state = StackState.read(home)
    url = _function_url(state, "retrain")
    check_id = f"tick-{uuid.uuid4().hex[:12]}"
    event = pubsub_push_request(state.retrain_topic, json.dumps({"reason": reason, "check_id": check_id}).encode("utf-8"))
    result = deliver(
        url,
        event,
        target_name="retrain",
        policy=retry or RetryPolicy(),
        dead_letter_dir=Path(state.dead_letter_dir),
    )
    if not result.delivered and result.status is None:
        raise ServiceUnavailableError("the retrain function", url, HOW_TO_START, detail=result.error or "")
    return {
        "function": "retrain",
        "url": url,
        "message_id": event.id,
        "delivered": result.delivered,
        "status": result.status,
        "attempts": result.attempts,
        "dead_letter": str(result.dead_letter) if result.dead_letter else None,
    }
