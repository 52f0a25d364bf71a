"""The scheduled drift check: the last window of scored rows against the champion's reference sample."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from shared import alerts, services
from shared.contract import Contract
from shared.drift_stats import (
    DEFAULT_SAMPLE_CAP,
    DriftStatistic,
    benjamini_hochberg,
    categorical_drift,
    is_drifted,
    missing_rate_drift,
    numeric_drift,
)
from shared.registry import CHAMPION, LoadedModel
from shared.reports import drift_report_html
from shared.settings import Settings

logger = logging.getLogger(__name__)

SCORE_FEATURE = "score"


@dataclass
class FeatureDrift:
    feature: str
    kind: str                 # numeric | categorical | missing_rate | score
    method: str
    effect_size: float | None
    p_value: float | None
    p_value_adjusted: float | None
    psi: float | None
    severity: str
    drifted: bool
    insufficient_data: bool
    importance: float
    rows_reference: int
    rows_current: int
    bins: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftCheckResult:
    check_id: str
    checked_at: datetime
    model_version: str
    window_start: datetime | None
    window_end: datetime
    rows_current: int
    features: list[FeatureDrift]
    drifted_features: list[str]
    retrain_requested: bool
    reason_es: str
    reason_en: str
    report: str | None = None
    report_html: str | None = None
    retrain: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "model_version": self.model_version,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(),
            "rows_current": self.rows_current,
            "drifted_features": self.drifted_features,
            "retrain_requested": self.retrain_requested,
            "reason_es": self.reason_es,
            "reason_en": self.reason_en,
            "report": self.report,
            "report_html": self.report_html,
            "retrain": self.retrain,
            "features": [
                {k: v for k, v in asdict(f).items() if k != "bins"} for f in self.features if f.kind != "missing_rate" or f.drifted
            ],
        }


def _statistic_to_drift(feature: str, kind: str, statistic: DriftStatistic, importance: float) -> FeatureDrift:
    return FeatureDrift(
        feature=feature,
        kind=kind,
        method=statistic.method,
        effect_size=statistic.effect_size,
        p_value=statistic.p_value,
        p_value_adjusted=None,
        psi=statistic.psi,
        severity=statistic.severity,
        drifted=False,
        insufficient_data=statistic.insufficient_data,
        importance=importance,
        rows_reference=statistic.rows_reference,
        rows_current=statistic.rows_current,
        bins=statistic.bins,
    )


def compare_windows(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    contract: Contract,
    features: list[str],
    importance: dict[str, float],
    *,
    seed: int = 0,
) -> list[FeatureDrift]:
    """Every feature (its values and its missing rate) and the score, BH-corrected together."""
    results: list[tuple[FeatureDrift, DriftStatistic]] = []
    for name in features + ([SCORE_FEATURE] if SCORE_FEATURE in reference and SCORE_FEATURE in current else []):
        if name not in reference.columns or name not in current.columns:
            continue
        is_categorical = name != SCORE_FEATURE and contract.columns[name].type == "categorical"
        kind = SCORE_FEATURE if name == SCORE_FEATURE else ("categorical" if is_categorical else "numeric")
        if is_categorical:
            statistic = categorical_drift(reference[name].to_numpy(dtype=object), current[name].to_numpy(dtype=object), seed=seed)
        else:
            statistic = numeric_drift(pd.to_numeric(reference[name], errors="coerce"), pd.to_numeric(current[name], errors="coerce"), seed=seed)
        weight = importance.get(name, 0.0)
        results.append((_statistic_to_drift(name, kind, statistic, weight), statistic))
        if name != SCORE_FEATURE:
            missing = missing_rate_drift(
                int(reference[name].isna().sum()), len(reference), int(current[name].isna().sum()), len(current)
            )
            results.append((_statistic_to_drift(name, "missing_rate", missing, weight), missing))
    adjusted = benjamini_hochberg([statistic.p_value for _, statistic in results])
    for (drift, statistic), p_adjusted in zip(results, adjusted, strict=True):
        drift.p_value_adjusted = p_adjusted
        drift.drifted = is_drifted(statistic, p_adjusted)
    return [drift for drift, _ in results]


def decide(features: list[FeatureDrift]) -> tuple[bool, str, str]:
    """Ask for retraining when a feature or the score drifted with high severity."""
    high = [f for f in features if f.drifted and f.severity == "high"]
    medium = [f for f in features if f.drifted and f.severity == "medium"]
    if high:
        names = ", ".join(sorted({f.feature for f in high}))
        return True, f"Deriva alta en: {names}. Se solicita reentrenar.", f"High drift in: {names}. Retraining requested."
    if medium:
        names = ", ".join(sorted({f.feature for f in medium}))
        return False, f"Deriva media en: {names}. Vigilar; no se reentrena todavía.", f"Medium drift in: {names}. Watch it; no retraining yet."
    return False, "Sin deriva significativa.", "No significant drift."


def _previous_window_end(settings: Settings) -> datetime | None:
    previous = services.warehouse(settings).read("drift_results", columns=["window_end"], limit=1, newest_first=True)
    if previous.empty or pd.isna(previous["window_end"].iloc[0]):
        return None
    return pd.Timestamp(previous["window_end"].iloc[0]).to_pydatetime()


def current_window(settings: Settings, model: LoadedModel, window_start: datetime | None, window_end: datetime) -> pd.DataFrame:
    """Features of the rows scored in the window (from the clean batches) plus their champion scores."""
    warehouse = services.warehouse(settings)
    batches = warehouse.read("batches", since=window_start, until=window_end, where={"kind": "incoming", "status": "scored"})
    if window_start is not None and not batches.empty:
        batches = batches[batches["processed_at"] > pd.Timestamp(window_start)]
    frames = []
    for clean_uri in batches["clean_uri"].dropna().unique():
        store = services.store(clean_uri)
        with store.open_read(clean_uri) as stream:
            parquet = pq.ParquetFile(stream)
            wanted = model.features + [model.contract.output_id_column]
            table = parquet.read(columns=[c for c in wanted if c in parquet.schema_arrow.names])
        frames.append(table.to_pandas().assign(_batch=clean_uri))
    if not frames:
        return pd.DataFrame(columns=model.features + [SCORE_FEATURE])
    current = pd.concat(frames, ignore_index=True)
    predictions = warehouse.read(
        "predictions", since=window_start, until=window_end, where={"model_role": CHAMPION, "model_version": model.version}, columns=["batch_key", "row_id", "score"]
    )
    id_column = model.contract.output_id_column
    if not predictions.empty and id_column in current:
        scores = predictions.drop_duplicates(["batch_key", "row_id"]).rename(columns={"batch_key": "_batch", "row_id": id_column})
        current = current.merge(scores, on=["_batch", id_column], how="left")
    if len(current) > DEFAULT_SAMPLE_CAP:
        current = current.sample(DEFAULT_SAMPLE_CAP, random_state=0)
    return current.drop(columns=["_batch"])


def run_drift_check(settings: Settings, *, now: datetime | None = None, allow_retrain: bool = True) -> DriftCheckResult:
    checked_at = now or datetime.now(UTC)
    check_id = f"drift-{checked_at:%Y%m%dT%H%M%S%f}"
    model = services.registry(settings).load(CHAMPION)
    window_start = _previous_window_end(settings)
    current = current_window(settings, model, window_start, checked_at)
    features = compare_windows(model.reference_sample, current, model.contract, model.features, model.feature_importance)
    retrain_requested, reason_es, reason_en = decide(features)
    if len(current) == 0:
        reason_es, reason_en = "No hay filas nuevas puntuadas desde el último control.", "No new scored rows since the last check."
    drifted = sorted({f.feature for f in features if f.drifted})
    result = DriftCheckResult(
        check_id=check_id,
        checked_at=checked_at,
        model_version=model.version,
        window_start=window_start,
        window_end=checked_at,
        rows_current=len(current),
        features=features,
        drifted_features=drifted,
        retrain_requested=retrain_requested,
        reason_es=reason_es,
        reason_en=reason_en,
    )
    _record(settings, result)
    result.alert = alerts.drift_alert(settings, result)
    if retrain_requested and allow_retrain:
        result.retrain = request_retrain(settings, reason=reason_en, check_id=check_id)
        _write_reports(settings, result)  # again, now with the retraining outcome
    logger.info("drift check %s: %d rows, drifted=%s, retrain=%s", check_id, len(current), drifted, retrain_requested)
    return result


def _record(settings: Settings, result: DriftCheckResult) -> None:
    rows = pd.DataFrame(
        [
            {
                "check_id": result.check_id,
                "checked_at": result.checked_at,
                "model_version": result.model_version,
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
                "window_start": result.window_start,
                "window_end": result.window_end,
            }
            for f in result.features
        ]
        or [{"check_id": result.check_id, "checked_at": result.checked_at, "model_version": result.model_version, "window_start": result.window_start, "window_end": result.window_end, "rows_current": 0}]
    )
    services.warehouse(settings).write_batch("drift_results", rows, batch_key=result.check_id)
    _write_reports(settings, result)


def _write_reports(settings: Settings, result: DriftCheckResult) -> None:
    body = json.dumps(
        result.summary() | {"features": [asdict(f) for f in result.features], "checked_at": result.checked_at.isoformat()},
        ensure_ascii=False,
        indent=2,
        default=_json_default,
    ).encode("utf-8")
    html = drift_report_html(result, settings.language).encode("utf-8")
    json_uri = settings.object_uri("reports", f"drift/{result.check_id}.json")
    html_uri = settings.object_uri("reports", f"drift/{result.check_id}.html")
    store = services.store(json_uri)
    store.write_bytes(json_uri, body, "application/json")
    store.write_bytes(html_uri, html, "text/html; charset=utf-8")
    store.write_bytes(settings.object_uri("reports", "drift/latest.html"), html, "text/html; charset=utf-8")
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
    """Publish a retrain request (cloud) or run the retraining now (embedded mode)."""
    if settings.retrain_topic:
        from google.cloud import pubsub_v1

        publisher = pubsub_v1.PublisherClient()
        payload = json.dumps({"reason": reason, "check_id": check_id}).encode("utf-8")
        message_id = publisher.publish(settings.retrain_topic, payload).result(timeout=60)
        return {"published": True, "topic": settings.retrain_topic, "message_id": message_id}
    from shared.lifecycle import run_retrain

    return run_retrain(settings, reason=reason, trigger=check_id).to_dict()
