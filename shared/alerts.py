"""Alert records: one grouped message per check, kept in the warehouse and the log, pushed to a webhook.

Delivery never blocks the check: the webhook gets a few quick tries and a failure is logged.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared import services
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.monitoring import DriftCheckResult

logger = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_SECONDS = 5.0


def drift_alert(settings: Settings, result: DriftCheckResult) -> dict[str, Any] | None:
    """Build, record and deliver the alert for a drift check, or None when there is nothing to say."""
    drifted = [f for f in result.features if f.drifted]
    if not drifted:
        return None
    severity = "high" if result.retrain_requested else "medium"
    top = sorted(drifted, key=lambda f: (f.severity != "high", -f.importance))[:10]
    evidence = [
        {"feature": f.feature, "kind": f.kind, "method": f.method, "effect_size": f.effect_size, "severity": f.severity, "p_value_adjusted": f.p_value_adjusted}
        for f in top
    ]
    names = ", ".join(sorted({f.feature for f in top}))
    alert = {
        "alert_id": f"{result.check_id}-drift",  # one alert per check: a retried check replaces it
        "created_at": result.checked_at,
        "check_id": result.check_id,
        "severity": severity,
        "category": "drift",
        "title_es": f"Deriva de datos ({severity}) en {len({f.feature for f in drifted})} variables: {names}",
        "title_en": f"Data drift ({severity}) in {len({f.feature for f in drifted})} features: {names}",
        "evidence": json.dumps(evidence, ensure_ascii=False, default=float),
        "action_es": "Se solicitó reentrenar el modelo; revise el informe de deriva." if result.retrain_requested else "Revise el informe de deriva y el origen de los datos.",
        "action_en": "Retraining was requested; read the drift report." if result.retrain_requested else "Read the drift report and check where the data comes from.",
    }
    record(settings, alert)
    return alert | {"created_at": result.checked_at.isoformat()}


def record(settings: Settings, alert: dict[str, Any]) -> None:
    services.warehouse(settings).write_batch("alerts", pd.DataFrame([alert]), batch_key=alert["alert_id"])
    logger.warning("ALERT %s: %s", alert["severity"], alert["title_en"])
    if settings.alert_webhook:
        post_webhook(settings.alert_webhook, alert, settings.language)


def post_webhook(url: str, alert: dict[str, Any], language: str) -> bool:
    """Google Chat / Slack style {"text": ...}; Teams accepts the same for simple incoming webhooks."""
    import requests

    title = alert["title_es"] if language == "es" else alert["title_en"]
    action = alert["action_es"] if language == "es" else alert["action_en"]
    body = {"text": f"[dropscore] {title}\n{action}", "alert": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in alert.items()}}
    for attempt in range(WEBHOOK_ATTEMPTS):
        try:
            response = requests.post(url, json=body, timeout=WEBHOOK_TIMEOUT_SECONDS)
            if response.status_code < 300:
                return True
            logger.warning("alert webhook answered %s (attempt %d)", response.status_code, attempt + 1)
        except requests.RequestException as exc:
            logger.warning("alert webhook failed (attempt %d): %s", attempt + 1, exc)
        time.sleep(0.5 * (2**attempt))
    logger.error("alert %s not delivered to the webhook after %d attempts", alert["alert_id"], WEBHOOK_ATTEMPTS)
    return False

