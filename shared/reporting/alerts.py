"""Alert records: one grouped message per check, kept in the warehouse and the log, pushed out.

A check that finds something writes one record (its id derives from the check id, so a
re-run of the same check replaces it) holding every finding in order of criticality:
severity, what happened, the evidence, and the recommended action, in Spanish and English.

Delivery never blocks the check and never fails it. The webhook (Google Chat / Slack / Teams
style JSON POST) and, in the cloud, the Pub/Sub topic are served from a background thread
while the check goes on (retraining, reports); the check waits for them at the end at most
:data:`DELIVERY_WAIT_SECONDS`, then records how delivery went (``delivery`` column) and
returns whatever happened. Failures are logged, never raised.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pandas as pd

from shared.backends import pubsub, services
from shared.i18n import both, message
from shared.i18n.monitoring import SEVERITY_WORDS
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.monitor.results import DriftCheckResult, Finding

logger = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_BACKOFF_SECONDS = 0.5
"""Wait before the second attempt; doubled before each later one."""
PUBSUB_TIMEOUT_SECONDS = 10.0
DELIVERY_WAIT_SECONDS = 20.0
"""The longest a check waits at its end for the deliveries still under way."""

SEVERITY_PRIORITY = {"critical": 1, "warning": 2, "info": 3}
_LOG_LEVELS = {"critical": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO}
# Google Chat rejects fields it does not know; the others ignore them.
_TEXT_ONLY_HOSTS = ("chat.googleapis.com",)


def build_check_alert(result: DriftCheckResult) -> dict[str, Any] | None:
    """The grouped alert record of a drift check, or None when the check has nothing to say."""
    findings: list[Finding] = sorted(
        [*result.triggers, *result.warnings], key=lambda finding: SEVERITY_PRIORITY.get(finding.severity, 9)
    )
    if not findings:
        return None
    top = findings[0]
    severity = top.severity
    categories = sorted({finding.category for finding in findings})
    items = [
        {
            "priority": SEVERITY_PRIORITY.get(finding.severity, 9),
            "severity": finding.severity,
            "category": finding.category,
            "code": finding.code,
            "features": finding.features,
            "what_es": finding.text_es,
            "what_en": finding.text_en,
            "action_es": finding.action_es,
            "action_en": finding.action_en,
            "evidence": finding.evidence,
        }
        for finding in findings
    ]
    if getattr(result, "retrain_withheld", False):  # `drift --no-retrain`: warranted, not requested
        decision = "retrain_withheld"
    else:
        decision = "retrain_requested" if result.retrain_requested else "no_retraining_yet"
    decision_es, decision_en = both(decision)
    more_es, more_en = (" " + text for text in both("more_findings", count=len(findings) - 1)) if len(findings) > 1 else ("", "")
    return {
        "alert_id": f"{result.check_id}-alert",  # one per check: a re-run of the check replaces it
        "created_at": result.checked_at,
        "check_id": result.check_id,
        "severity": severity,
        "priority": SEVERITY_PRIORITY.get(severity, 9),
        "category": ",".join(categories),
        "title_es": message("alert_title", "es", version=result.model_version, what=top.text_es, more=more_es, decision=decision_es),
        "title_en": message("alert_title", "en", version=result.model_version, what=top.text_en, more=more_en, decision=decision_en),
        "evidence": json.dumps(
            {
                "items": items,
                "model_version": result.model_version,
                "window_start": result.window_start.isoformat() if result.window_start else None,
                "window_end": result.window_end.isoformat(),
                "rows": result.rows_current,
                "status": result.status,
                "retrain_requested": result.retrain_requested,
                "report": result.report_html,
            },
            ensure_ascii=False,
            default=_json_default,
        ),
        "action_es": top.action_es,
        "action_en": top.action_en,
    }


def message_text(alert: dict[str, Any], language: str) -> str:
    """The chat message: the headline, then every finding in order of criticality, then the report."""
    language = language if language in ("es", "en") else "es"
    words = SEVERITY_WORDS[language]
    evidence = json.loads(alert["evidence"]) if isinstance(alert.get("evidence"), str) else alert.get("evidence") or {}
    lines = [f"*[dropscore] {words.get(alert['severity'], alert['severity'])}* — {alert[f'title_{language}']}"]
    for item in evidence.get("items", []):
        lines.append(f"{item['priority']}. [{words.get(item['severity'], item['severity'])}] {item[f'what_{language}']}")
        lines.append(f"   → {item[f'action_{language}']}")
    if evidence.get("report"):
        lines.append(message("alert_report_link", language, uri=str(evidence["report"])))
    return "\n".join(lines)


# --------------------------------------------------------------------------- delivery


@dataclass
class AlertDelivery:
    """An alert written to the warehouse whose outside deliveries may still be running."""

    record: dict[str, Any]
    outcome: dict[str, str] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def wait(self, timeout: float = DELIVERY_WAIT_SECONDS) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for thread in self.threads:
            if thread.is_alive():
                logger.error("alert %s: %s delivery still running after %.0f s; the check goes on", self.record["alert_id"], thread.name, timeout)
        return dict(self.outcome)

    def finish(self, settings: Settings, timeout: float = DELIVERY_WAIT_SECONDS) -> dict[str, str]:
        """Wait (bounded) for the deliveries and record how they went on the alert row."""
        outcome = self.wait(timeout)
        self.record["delivery"] = json.dumps(outcome or {"channels": "none"}, sort_keys=True)
        try:
            _write(settings, self.record)
        except Exception:  # the alert row is already there; only its delivery note is lost
            logger.exception("could not record the delivery outcome of alert %s", self.record["alert_id"])
        return outcome


def raise_check_alert(settings: Settings, result: DriftCheckResult) -> AlertDelivery | None:
    """Build, record, log and start delivering the alert of a check; None when there is nothing to say."""
    record = build_check_alert(result)
    if record is None:
        return None
    return raise_alert(settings, record)


def raise_alert(settings: Settings, record: dict[str, Any]) -> AlertDelivery:
    """Record ``record`` (warehouse + log) and start its deliveries in the background."""
    record = dict(record)
    outcome: dict[str, str] = {}
    if settings.alert_webhook:
        outcome["webhook"] = "pending"
    if settings.alert_topic:
        outcome["pubsub"] = "pending"
    record["delivery"] = json.dumps(outcome or {"channels": "none"}, sort_keys=True)
    _write(settings, record)
    # One readable line for people watching a terminal, the whole record for the log explorer.
    logger.log(_LOG_LEVELS.get(record["severity"], logging.WARNING), "ALERT %s %s: %s", record["severity"], record["alert_id"], record["title_en"])
    logger.info("alert record %s", json.dumps(record, ensure_ascii=False, default=_json_default))
    delivery = AlertDelivery(record, outcome)
    if settings.alert_webhook:
        url, language = settings.alert_webhook, settings.language
        delivery.threads.append(_start("webhook", lambda: post_webhook(url, record, language), outcome))
    if settings.alert_topic:
        topic = settings.alert_topic
        delivery.threads.append(_start("pubsub", lambda: publish_alert(topic, record), outcome))
    return delivery


def _start(channel: str, send, outcome: dict[str, str]) -> threading.Thread:  # noqa: ANN001 - a no-argument callable returning bool
    def run() -> None:
        try:
            outcome[channel] = "delivered" if send() else "failed"
        except Exception as exc:  # delivery must never take the check down
            logger.exception("alert %s delivery raised", channel)
            outcome[channel] = f"failed: {type(exc).__name__}"

    thread = threading.Thread(target=run, name=channel, daemon=True)
    thread.start()
    return thread


def _write(settings: Settings, record: dict[str, Any]) -> None:
    services.warehouse(settings).write_batch("alerts", pd.DataFrame([record]), batch_key=record["alert_id"])


def webhook_body(url: str, alert: dict[str, Any], language: str) -> dict[str, Any]:
    """``{"text": ...}`` works for Google Chat, Slack and Teams incoming webhooks; the record rides along where allowed."""
    body: dict[str, Any] = {"text": message_text(alert, language)}
    if urlsplit(url).hostname not in _TEXT_ONLY_HOSTS:
        body["dropscore_alert"] = {k: v for k, v in alert.items() if k != "delivery"} | {
            "evidence": json.loads(alert["evidence"]) if isinstance(alert.get("evidence"), str) else alert.get("evidence")
        }
    return json.loads(json.dumps(body, ensure_ascii=False, default=_json_default))


def post_webhook(url: str, alert: dict[str, Any], language: str) -> bool:
    """POST the alert, retrying timeouts, connection errors, 408, 429 and 5xx; True once delivered."""
    import requests

    body = webhook_body(url, alert, language)
    for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
        try:
            response = requests.post(url, json=body, timeout=WEBHOOK_TIMEOUT_SECONDS)
            if response.status_code < 300:
                return True
            logger.warning("alert webhook answered %s (attempt %d of %d)", response.status_code, attempt, WEBHOOK_ATTEMPTS)
            if response.status_code < 500 and response.status_code not in (408, 429):
                break  # the receiver refuses this message; sending it again will not help
        except requests.RequestException as exc:
            logger.warning("alert webhook failed (attempt %d of %d): %s", attempt, WEBHOOK_ATTEMPTS, exc)
        if attempt < WEBHOOK_ATTEMPTS:
            time.sleep(WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))
    logger.error("alert %s not delivered to the webhook", alert["alert_id"])
    return False


def publish_alert(topic: str, alert: dict[str, Any]) -> bool:
    """Publish the record on the alert topic (JSON), with severity and check id as attributes."""
    data = json.dumps(
        {k: v for k, v in alert.items() if k != "delivery"} | {"evidence": json.loads(alert["evidence"])},
        ensure_ascii=False,
        default=_json_default,
    ).encode("utf-8")
    attributes = {"severity": str(alert["severity"]), "check_id": str(alert.get("check_id") or ""), "alert_id": str(alert["alert_id"])}
    pubsub.publish(topic, data, timeout=PUBSUB_TIMEOUT_SECONDS, **attributes)
    return True


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
