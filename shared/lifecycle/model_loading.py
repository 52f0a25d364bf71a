"""Load a registered model for scoring, and the model alerts: what the score and clean steps need of the
lifecycle, without the training code (shared.lifecycle.promotion) and the scikit-learn it imports.

A score function's cold start imported promotion for ``load_model`` and paid scikit-learn's import
(~1 s) on its first event; issue 16 measured 2.8-2.9 s against a 2.5 s target.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.errors import ModelIntegrityError
from shared.i18n import message
from shared.model import registered
from shared.model.loaded_model import LoadedModel
from shared.settings import Settings

logger = logging.getLogger(__name__)


def raise_model_alert(
    settings: Settings,
    *,
    alert_key: str,
    severity: str,
    title_es: str,
    title_en: str,
    evidence: dict[str, Any],
    action_es: str,
    action_en: str,
) -> None:
    """An alert about the model (category "model"). Its id derives from ``alert_key``: a retry replaces it."""
    from shared.reporting import alerts

    priority = {"critical": 1, "warning": 2}.get(severity, 3)
    # One finding in the shape the alert message and webhook expect (shared.reporting.alerts.message_text).
    item = {"priority": priority, "severity": severity, "category": "model", "code": alert_key.split(":")[0],
            "what_es": title_es, "what_en": title_en, "action_es": action_es, "action_en": action_en}
    evidence = {**evidence, "items": [item]}
    record = {
        "alert_id": f"model-{hashlib.sha256(alert_key.encode()).hexdigest()[:20]}",
        "created_at": datetime.now(UTC),
        "check_id": None,
        "severity": severity,
        "category": "model",
        "title_es": title_es,
        "title_en": title_en,
        "evidence": json.dumps(evidence, ensure_ascii=False, default=str),
        "action_es": action_es,
        "action_en": action_en,
        "priority": priority,
    }
    try:
        send = getattr(alerts, "record", None) or alerts.raise_alert
        delivery = send(settings, record)
        if delivery is not None and getattr(delivery, "threads", None):
            delivery.finish(settings)
    except Exception:  # an alert that cannot be written must not undo the decision it reports
        logger.exception("could not record model alert %s: %s", record["alert_id"], title_en)


def load_model(settings: Settings, alias_or_version: str = CHAMPION) -> LoadedModel:
    """Load a model for scoring; an artifact that does not match its registered hash alerts and refuses."""
    try:
        return registered.load(services.registry(settings), alias_or_version)
    except ModelIntegrityError as exc:
        alert_integrity(settings, exc, alias_or_version)
        raise


def alert_integrity(settings: Settings, exc: ModelIntegrityError, alias_or_version: str = CHAMPION) -> None:
    """A critical model alert naming the version and the artifacts that do not match their registered hashes."""
    version = getattr(exc, "version", alias_or_version)
    artifacts = list(getattr(exc, "artifacts", None) or ["model.lgb"])
    names = ", ".join(artifacts)
    raise_model_alert(
        settings,
        # One alert per version, tampered set and content: a redelivered event does not alert twice.
        alert_key=f"integrity:{version}:{names}:{getattr(exc, 'actual', '')}",
        severity="critical",
        title_es=message("integrity_alert_title", "es", version=version, names=names),
        title_en=message("integrity_alert_title", "en", version=version, names=names),
        evidence={
            "version": version, "artifacts": artifacts, "expected_sha256": getattr(exc, "expected", None),
            "actual_sha256": getattr(exc, "actual", None), "error": str(exc),
        },
        action_es=message("integrity_alert_action", "es"),
        action_en=message("integrity_alert_action", "en"),
    )


