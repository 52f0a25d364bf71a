"""The scheduled drift check: the last window of scored rows against the champion's reference sample.

One check, in order:

1. the window: rows scored since the previous check's window end (a window too small to
   judge is carried over: the next check starts where it started);
2. every feature's values and missing rate, and the score, against the reference
   (Benjamini–Hochberg over all of them together), and against the previous window
   (a jump there is *sudden* drift);
3. the history of earlier checks: rising effect sizes (*gradual* drift, with a projection
   of when the retraining line is crossed) and medium drift that persists;
4. measured performance from the labels that have arrived;
5. the decision (:func:`shared.monitor.decision.decide`: where drift is decided), one
   grouped alert, the reports, a retrain request when warranted, and a refreshed dashboard.

The check id derives from the time the check runs for (``now``): running the check again
for the same time replaces its rows, its alert and its reports instead of adding new ones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shared import progress
from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.errors import PermanentError
from shared.i18n import both, message
from shared.model import registered
from shared.monitor import drift_history, performance
from shared.monitor.comparison import attach_history, attach_previous, compare_windows, kinds_of
from shared.monitor.decision import decide, drifted_names, retrain_requested_suffix
from shared.monitor.results import DriftCheckResult
from shared.monitor.windows import current_window, window_bounds
from shared.reporting import alerts
from shared.reporting.reports import drift_report_html
from shared.settings import Settings

logger = logging.getLogger(__name__)


def check_id_for(checked_at: datetime) -> str:
    return f"drift-{checked_at.astimezone(UTC):%Y%m%dT%H%M%S%f}"


def run_drift_check(settings: Settings, *, now: datetime | None = None, allow_retrain: bool = True) -> DriftCheckResult:
    checked_at = now or datetime.now(UTC)
    if checked_at.tzinfo is None:
        checked_at = checked_at.replace(tzinfo=UTC)
    check_id = check_id_for(checked_at)
    warehouse = services.warehouse(settings)
    model = registered.load(services.registry(settings), CHAMPION)

    history = drift_history.load_history(warehouse, before=checked_at, exclude_check=check_id)
    checks = drift_history.past_checks(history)
    window_start, previous_check = window_bounds(checks)
    with progress.phase("drift_window", unit="rows") as step:
        current = current_window(settings, model, window_start, checked_at)
        step.advance(len(current))
    skipped_batches = [
        entry | dict(zip(("message_es", "message_en"), both("clean_rows_gone"), strict=True))
        for entry in current.attrs.get("skipped_batches", [])
    ]
    kinds = kinds_of(model.reference_sample, model.contract, model.features)
    with progress.phase("drift_compare", total=len(model.features), unit="features") as step:
        features = compare_windows(model.reference_sample, current, model.contract, model.features, model.feature_importance, kinds=kinds)
        step.advance(len(model.features))

    previous_rows = 0
    if previous_check is not None:
        previous = current_window(settings, model, previous_check.window_start, previous_check.window_end or checked_at)
        previous_rows = len(previous)
        if len(previous) and len(current):
            against_previous = compare_windows(previous, current, model.contract, model.features, model.feature_importance, kinds=kinds)
            attach_previous(features, against_previous)
    attach_history(
        features, history, [check.check_id for check in checks], checked_at, had_previous_window=previous_rows > 0
    )

    measured = None
    try:
        measured = performance.evaluate(settings, model.contract, model.version, now=checked_at)
    except PermanentError as exc:  # unreadable labels must not stop the drift check; say so
        logger.error("measured performance skipped: %s", exc)
    decision = decide(features, measured, window_rows=len(current))
    drifted = drifted_names(features)
    result = DriftCheckResult(
        check_id=check_id,
        checked_at=checked_at,
        model_version=model.version,
        window_start=window_start,
        window_end=checked_at,
        rows_current=len(current),
        features=features,
        drifted_features=drifted,
        retrain_requested=decision.retrain_requested,
        reason_es=decision.reason_es,
        reason_en=decision.reason_en,
        status=decision.status,
        triggers=decision.triggers,
        warnings=decision.warnings,
        weighted_drift_share=decision.weighted_drift_share,
        previous_check_id=previous_check.check_id if previous_check else None,
        previous_window_rows=previous_rows,
        skipped_batches=skipped_batches,
        performance=measured.to_dict() if measured else None,
    )
    if decision.retrain_requested and not allow_retrain:
        # `drift --no-retrain`: the check warrants retraining (retrain_requested keeps the check's
        # decision, as recorded in the warehouse) but nothing is sent; every text says exactly that.
        result.retrain_withheld = True
        result.reason_es = decision.reason_es.removesuffix(retrain_requested_suffix("es")) + " " + message("retrain_withheld", "es")
        result.reason_en = decision.reason_en.removesuffix(retrain_requested_suffix("en")) + " " + message("retrain_withheld", "en")
    result.report, result.report_html = _report_uris(settings, result)
    delivery = alerts.raise_check_alert(settings, result)
    result.alert = delivery.record if delivery else None
    if decision.retrain_requested and allow_retrain:
        result.retrain = request_retrain(settings, reason=decision.reason_en, check_id=check_id)

    # Recorded once the actions are taken: a check that fails before this line leaves no
    # window behind, so the scheduler's retry judges the same rows again instead of none.
    _record(settings, result)
    with progress.phase("drift_report"):
        _write_reports(settings, result)
        result.dashboard = _refresh_dashboard(settings, checked_at)
    if delivery:
        delivery.finish(settings)
    logger.info(
        "drift check %s: %d rows, status=%s, drifted=%s, retrain=%s", check_id, len(current), decision.status, drifted, decision.retrain_requested
    )
    return result


def _refresh_dashboard(settings: Settings, now: datetime) -> str | None:
    from shared.reporting.dashboard import build_dashboard

    try:
        return build_dashboard(settings, now=now).uri
    except Exception:  # the dashboard is a view: a failure to draw it must not undo the check
        logger.exception("dashboard refresh failed")
        return None


def _record(settings: Settings, result: DriftCheckResult) -> None:
    check_columns = {
        "check_id": result.check_id,
        "checked_at": result.checked_at,
        "model_version": result.model_version,
        "window_start": result.window_start,
        "window_end": result.window_end,
        "window_rows": result.rows_current,
        "check_status": result.status,
        "retrain_requested": result.retrain_requested,
    }
    rows = pd.DataFrame(
        [
            check_columns
            | {
                "feature": f.feature,
                "kind": f.kind,
                "method": f.method,
                "effect_size": f.effect_size,
                "p_value": f.p_value,
                "p_value_adjusted": f.p_value_adjusted,
                "psi": f.psi,
                "severity": f.severity,
                "drifted": f.drifted,
                "insufficient_data": f.insufficient_data,
                "rows_reference": f.rows_reference,
                "rows_current": f.rows_current,
                "importance": f.importance,
                "effect_size_previous": f.effect_size_previous,
                "p_value_previous_adjusted": f.p_value_previous_adjusted,
                "pattern": f.pattern,
            }
            for f in result.features
        ]
        or [check_columns | {"rows_current": 0}]
    )
    services.warehouse(settings).write_batch("drift_results", rows, batch_key=result.check_id)


def _report_uris(settings: Settings, result: DriftCheckResult) -> tuple[str, str]:
    return (
        settings.object_uri("reports", f"drift/{result.check_id}.json"),
        settings.object_uri("reports", f"drift/{result.check_id}.html"),
    )


def _write_reports(settings: Settings, result: DriftCheckResult) -> None:
    json_uri, html_uri = _report_uris(settings, result)
    body = json.dumps(
        result.summary() | {"features": [asdict(f) for f in result.features], "performance": result.performance, "alert": result.alert},
        ensure_ascii=False,
        indent=2,
        default=_json_default,
    ).encode("utf-8")
    store = services.store(json_uri)
    store.write_bytes(json_uri, body, "application/json")
    for language in dict.fromkeys([settings.language, "es", "en"]):
        page = drift_report_html(result, language, zone=settings.timezone).encode("utf-8")
        if language == settings.language:
            store.write_bytes(html_uri, page, "text/html; charset=utf-8")
            store.write_bytes(settings.object_uri("reports", "drift/latest.html"), page, "text/html; charset=utf-8")
        store.write_bytes(settings.object_uri("reports", f"drift/{result.check_id}.{language}.html"), page, "text/html; charset=utf-8")
    result.report, result.report_html = json_uri, html_uri


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def request_retrain(settings: Settings, *, reason: str, check_id: str) -> dict[str, Any]:
    """Publish a retrain request (cloud) or run the retraining now (embedded mode).

    A retraining that cannot run for a permanent reason (no labeled data yet) is reported in
    the result, not raised: the check itself succeeded and must not be retried for it.
    """
    if settings.retrain_topic:
        from shared.backends import pubsub

        payload = json.dumps({"reason": reason, "check_id": check_id}).encode("utf-8")
        message_id = pubsub.publish(settings.retrain_topic, payload, timeout=60, check_id=check_id)
        return {
            "published": True,
            "topic": settings.retrain_topic,
            "message_id": message_id,
            "reason_es": message("retrain_published", "es"),
            "reason_en": message("retrain_published", "en"),
        }
    from shared.lifecycle.promotion import run_retrain

    try:
        return run_retrain(settings, reason=reason, trigger=check_id).to_dict()
    except PermanentError as exc:
        logger.error("retraining requested by %s could not run: %s", check_id, exc)
        return {
            "promoted": False,
            "error": str(exc),
            "reason_es": message("retrain_could_not_run", "es", error=exc),
            "reason_en": message("retrain_could_not_run", "en", error=exc),
        }

