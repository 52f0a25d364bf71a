"""The management dashboard: one static HTML page, inline SVG charts, Spanish by default.

It answers what a manager asks, in business terms: how much was scored and what came out
(files, rows, positive rate, expected positives), how that moves month by month, whether the
model still measures up against its business gates, whether the data drifted and what to do
about it (with the expected cost and benefit of retraining, and for a slow drift when it will
cross the retraining line), what happened to the model (promotions, rollbacks), and a look at
the latest predictions with their main reason.

:func:`gather` reads the warehouse, the registry and the labels once; :func:`dashboard_html`
renders that data in one language and is pure; :func:`build_dashboard` writes both languages
to the reports area (``dashboard/index.html`` in the configured language, plus
``index.es.html`` and ``index.en.html``). The drift check calls it after every check and
``dropscore report`` on demand.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

from shared import formatting as fmt
from shared import progress
from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.errors import ModelNotFoundError, ObjectNotFoundError
from shared.i18n.monitoring import metric_name
from shared.monitor import drift_history, performance
from shared.monitor.labels import read_labels
from shared.reporting import charts
from shared.settings import Settings

logger = logging.getLogger(__name__)

RECENT_PREDICTIONS = 20
TOP_IMPORTANCE = 15
RECENT_ALERTS = 8
LOOKBACK_DAYS = performance.PERFORMANCE_LOOKBACK_DAYS

# What a retraining costs, stated so that a manager can check it. Compute: a Cloud Function
# gen2 with 2 vCPU and 4 GiB bills about US$0.0000580 per second (tier-1 list price, 2 x
# 0.0000240 per vCPU-second + 4 x 0.0000025 per GiB-second); LightGBM on ~80 features trains
# at roughly 2 000 labeled rows per second there, plus a fixed minute for loading and
# registering. People: one hour of the data person reviewing the challenger before trusting it.
COMPUTE_USD_PER_SECOND = 0.000058
TRAINING_ROWS_PER_SECOND = 2000.0
TRAINING_FIXED_SECONDS = 60.0
REVIEW_HOURS = 1.0

EVENT_COLORS = {"trained": "#64748b", "promoted": "#059669", "kept": "#d97706", "rolled_back": "#dc2626", "shadow_compared": "#8b5cf6"}

TEXT: dict[str, dict[str, Any]] = {
    "es": {
        "title": "Tablero del modelo",
        "subtitle": "Resumen para la gerencia · generado {generated}",
        "no_model": "Todavía no hay un modelo campeón: entrene uno con «dropscore train».",
        "kpi_files": "Archivos puntuados",
        "kpi_rows": "Filas puntuadas",
        "kpi_quarantined": "Filas en cuarentena",
        "kpi_unknown_categories": "Categorías desconocidas puntuadas como faltantes",
        "kpi_positive_rate": "Tasa de «{positive}» predicha",
        "kpi_expected": "«{positive}» esperados (suma de probabilidades)",
        "kpi_labeled": "Predicciones con resultado real",
        "kpi_value": "Valor esperado de las decisiones (según el contrato)",
        "kpi_model": "Modelo campeón",
        "trends": "Tendencias por {granularity}",
        "granularity_month": "mes",
        "granularity_file": "archivo (todo cayó en un mismo mes)",
        "rows_chart": "Filas puntuadas",
        "rate_chart": "Tasa de positivos predicha vs. real",
        "predicted_rate": "predicha",
        "actual_rate": "real (etiquetas)",
        "performance": "Rendimiento medido con las etiquetas recibidas",
        "performance_caption": "Líneas punteadas: umbrales del negocio. Un punto bajo su umbral con todo su intervalo de confianza debajo dispara una alerta.",
        "no_labels": "Todavía no hay suficientes etiquetas para medir el rendimiento (se necesitan {minimum} por periodo).",
        "drift": "Estado de la deriva de datos",
        "drift_trend": "Evolución de la deriva por control",
        "drift_caption": "Mayor efecto entre las variables clave y peso de las variables con deriva; la línea roja es la línea de reentrenamiento (efecto {line}).",
        "key_effect": "mayor efecto (clave)",
        "weighted_share": "peso con deriva",
        "score_effect": "puntajes (KS)",
        "retrain_line": "reentrenar",
        "no_checks": "Todavía no se ha ejecutado ningún control de deriva.",
        "last_check": "Último control",
        "report_link": "Ver el informe de deriva completo",
        "recommendations": "Recomendaciones",
        "cost": "Costo estimado",
        "benefit": "Beneficio esperado",
        "timeline": "Historia del modelo",
        "versions": "Versiones",
        "version": "Versión",
        "aliases": "Alias",
        "recent": "Predicciones recientes",
        "id": "Identificador",
        "score": "Puntaje",
        "label": "Predicción",
        "actual": "Resultado real",
        "reason": "Razón principal",
        "scored_at": "Puntuado",
        "labels_pie": "Predicciones por etiqueta",
        "prediction_histogram": "Predicciones por rango de valor",
        "importance": "Importancia de las variables (ganancia del modelo)",
        "alerts": "Alertas recientes",
        "no_alerts": "Sin alertas.",
        "severity_words": {"critical": "crítica", "warning": "aviso", "info": "información"},
        "statuses": {"ok": "Sin problemas", "warning": "Aviso", "retrain": "Reentrenar", "insufficient_data": "Datos insuficientes", "no_data": "Sin datos nuevos"},
        "patterns": {"sudden": "súbita", "gradual": "gradual", "sustained": "sostenida", "undetermined": "sin patrón claro"},
        "events": {"trained": "entrenado", "promoted": "promovido", "kept": "no promovido", "rolled_back": "vuelta atrás", "shadow_compared": "comparado en sombra"},
        "projection": "{feature}: al ritmo actual cruzaría la línea de reentrenamiento hacia {date} (≈{checks} controles).",
        "crossed": "{feature}: ya superó la línea de reentrenamiento.",
        "rec_retrain": "Reentrenar ahora",
        "rec_retrain_why": "El último control pidió reentrenar: {reason}",
        "rec_plan": "Planificar el reentrenamiento",
        "rec_watch": "Vigilar en el próximo control",
        "rec_none": "Ninguna acción necesaria",
        "rec_none_why": "El último control no encontró problemas; el próximo control mensual lo confirmará.",
        "rec_outcome": "Resultado: {outcome}",
        "rec_retrained": "Reentrenamiento ya ejecutado",
        "rec_retrained_why": "El control del {when} pidió reentrenar y el reentrenamiento ya corrió: v{version} {verdict}.",
        "verdict_promoted": "es ahora el campeón",
        "verdict_kept": "no se promovió y el campeón sigue igual",
        "rec_pending": "Reentrenamiento en curso",
        "rec_pending_why": "El control pidió reentrenar; la función de reentrenamiento decidirá si el retador reemplaza al campeón. Motivo: {reason}",
        "benefit_unknown": "Todavía sin una cifra fiable: faltan etiquetas recientes para medir cuánto se pierde; el motivo es el cambio en los datos.",
        "aliases_help": "Alias: «champion» (campeón) es el modelo que puntúa; «previous» (anterior) es al que vuelve «dropscore rollback»; «challenger» (retador) es un candidato que puntúa en sombra hasta compararse con el campeón.",
        "row": "fila {row} de {file}",
        "times_in": "Horas en {zone}.",
        "cost_text": "{usd_text} de cómputo ({seconds} s con {rows} filas etiquetadas) + {hours} h de revisión del equipo de datos.",
        "benefit_decay": "Recuperar ≈ {cases} casos «{positive}» por mes que hoy se pierden (sensibilidad {measured} frente a {trained} al entrenar).",
        "benefit_drift": "Proteger ≈ {rows} predicciones por mes hechas con variables que cambiaron ({share} del peso del modelo).",
        "benefit_watch": "Evitar que ≈ {rows} predicciones por mes se hagan con un modelo desactualizado cuando la tendencia cruce la línea.",
        "assumptions": "Supuestos: Cloud Functions 2 vCPU/4 GiB a {price} por segundo; ~{rate} filas por segundo de entrenamiento más 1 minuto fijo; 1 h de revisión.",
        "footer": "dropscore · página estática sin conexión; los gráficos están dentro del archivo.",
        "truncated": "Se muestran las {rows} predicciones más recientes.",
        "yes": "sí",
        "no": "no",
    },
    "en": {
        "title": "Model dashboard",
        "subtitle": "Summary for management · generated {generated}",
        "no_model": "There is no champion model yet: train one with 'dropscore train'.",
        "kpi_files": "Files scored",
        "kpi_rows": "Rows scored",
        "kpi_quarantined": "Rows quarantined",
        "kpi_unknown_categories": "Unknown categories scored as missing",
        "kpi_positive_rate": "Predicted '{positive}' rate",
        "kpi_expected": "Expected '{positive}' (sum of probabilities)",
        "kpi_labeled": "Predictions with a real outcome",
        "kpi_value": "Expected value of the decisions (per the contract)",
        "kpi_model": "Champion model",
        "trends": "Trends by {granularity}",
        "granularity_month": "month",
        "granularity_file": "file (everything fell in one month)",
        "rows_chart": "Rows scored",
        "rate_chart": "Predicted vs actual positive rate",
        "predicted_rate": "predicted",
        "actual_rate": "actual (labels)",
        "performance": "Performance measured on the labels received",
        "performance_caption": "Dashed lines: business gates. A point under its gate with its whole confidence interval below raises an alert.",
        "no_labels": "Not enough labels yet to measure performance ({minimum} per period are needed).",
        "drift": "Data drift status",
        "drift_trend": "Drift per check",
        "drift_caption": "Largest effect among the key features and weight of the drifted features; the red line is the retraining line (effect {line}).",
        "key_effect": "largest effect (key)",
        "weighted_share": "drifted weight",
        "score_effect": "scores (KS)",
        "retrain_line": "retrain",
        "no_checks": "No drift check has run yet.",
        "last_check": "Last check",
        "report_link": "Open the full drift report",
        "recommendations": "Recommendations",
        "cost": "Estimated cost",
        "benefit": "Expected benefit",
        "timeline": "Model history",
        "versions": "Versions",
        "version": "Version",
        "aliases": "Aliases",
        "recent": "Recent predictions",
        "id": "Id",
        "score": "Score",
        "label": "Prediction",
        "actual": "Actual outcome",
        "reason": "Main reason",
        "scored_at": "Scored",
        "labels_pie": "Predictions by label",
        "prediction_histogram": "Predictions by value band",
        "importance": "Feature importance (model gain)",
        "alerts": "Recent alerts",
        "no_alerts": "No alerts.",
        "severity_words": {"critical": "critical", "warning": "warning", "info": "info"},
        "statuses": {"ok": "No problems", "warning": "Warning", "retrain": "Retrain", "insufficient_data": "Insufficient data", "no_data": "No new data"},
        "patterns": {"sudden": "sudden", "gradual": "gradual", "sustained": "sustained", "undetermined": "undetermined"},
        "events": {"trained": "trained", "promoted": "promoted", "kept": "not promoted", "rolled_back": "rolled back", "shadow_compared": "shadow compared"},
        "projection": "{feature}: at the current pace it would cross the retraining line around {date} (≈{checks} checks).",
        "crossed": "{feature}: already past the retraining line.",
        "rec_retrain": "Retrain now",
        "rec_retrain_why": "The last check asked for retraining: {reason}",
        "rec_plan": "Plan the retraining",
        "rec_watch": "Watch the next check",
        "rec_none": "No action needed",
        "rec_none_why": "The last check found no problem; next month's check will confirm it.",
        "rec_outcome": "Outcome: {outcome}",
        "rec_retrained": "Retraining already done",
        "rec_retrained_why": "The check of {when} asked for retraining and it already ran: v{version} {verdict}.",
        "verdict_promoted": "is now the champion",
        "verdict_kept": "was not promoted and the champion stays",
        "rec_pending": "Retraining under way",
        "rec_pending_why": "The check asked for retraining; the retrain function will decide whether the challenger replaces the champion. Reason: {reason}",
        "benefit_unknown": "No reliable figure yet: recent labels are needed to measure what is being missed; the reason is the change in the data.",
        "aliases_help": "Aliases: 'champion' is the model that scores; 'previous' is the one 'dropscore rollback' returns to; 'challenger' is a candidate scoring in the shadow until it is compared with the champion.",
        "row": "row {row} of {file}",
        "times_in": "Times in {zone}.",
        "cost_text": "{usd_text} of compute ({seconds} s on {rows} labeled rows) + {hours} h of the data team's review.",
        "benefit_decay": "Recover ≈ {cases} '{positive}' cases a month that are missed today (recall {measured} vs {trained} at training).",
        "benefit_drift": "Protect ≈ {rows} predictions a month made on features that changed ({share} of the model's weight).",
        "benefit_watch": "Keep ≈ {rows} predictions a month from being made by an outdated model once the trend crosses the line.",
        "assumptions": "Assumptions: Cloud Functions 2 vCPU/4 GiB at {price} per second; ~{rate} training rows per second plus a fixed minute; 1 h of review.",
        "footer": "dropscore · static offline page; the charts live inside the file.",
        "truncated": "Showing the newest {rows} predictions.",
        "yes": "yes",
        "no": "no",
    },
}


@dataclass
class DashboardResult:
    uri: str
    uris: dict[str, str]
    path: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.uri, "path": self.path, "languages": self.uris}


@dataclass
class DashboardData:
    generated_at: datetime
    model_name: str
    task: str = "binary"
    prediction_bins: list[tuple[str, int]] = field(default_factory=list)   # regression: predictions per value band
    champion: dict[str, Any] | None = None              # version, metrics, threshold, gates, positive, negative
    kpis: dict[str, Any] = field(default_factory=dict)
    granularity: str = "month"                          # month | file
    periods: list[dict[str, Any]] = field(default_factory=list)
    performance_periods: list[dict[str, Any]] = field(default_factory=list)
    gates: dict[str, float] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)   # oldest first
    last_check: dict[str, Any] | None = None
    projections: list[dict[str, Any]] = field(default_factory=list)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)
    label_counts: list[tuple[str, int]] = field(default_factory=list)
    importance: list[tuple[str, float]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    truncated_rows: int | None = None
    timezone: str = fmt.DEFAULT_TIMEZONE          # people read times in the deployment's zone


# --------------------------------------------------------------------------- gathering


def gather(settings: Settings, *, now: datetime | None = None) -> DashboardData:
    """Read everything the dashboard shows, once."""
    now = now or datetime.now(UTC)
    warehouse = services.warehouse(settings)
    data = DashboardData(generated_at=now, model_name=settings.model_name, timezone=settings.timezone)
    registry = services.registry(settings)
    try:
        model = registry.load(CHAMPION)
    except ModelNotFoundError:
        model = None
    with_versions = True
    try:
        data.versions = registry.versions()
    except Exception:  # the registry may be unreachable; the rest of the page still helps
        logger.exception("dashboard: could not list model versions")
        with_versions = False
    if model is not None:
        data.champion = {
            "version": model.version,
            "metrics": dict(model.meta.get("metrics", {})),
            "threshold": model.threshold,
            "gates": dict(model.contract.gates),
            "positive": model.contract.positive,
            "negative": model.contract.negative,
        }
        data.task = getattr(model.contract, "task", "binary")
        data.gates = performance.task_gates(model.contract)
        data.importance = sorted(model.feature_importance.items(), key=lambda item: -item[1])[:TOP_IMPORTANCE]
    since = now - timedelta(days=LOOKBACK_DAYS)
    batches = warehouse.read("batches", since=since, where={"kind": "incoming"})
    predictions = performance.read_predictions(settings, since=since, until=None)
    # A name dropped again replaced its earlier upload for the user: count what is current (shared.delivery.lineage).
    superseded = batches["superseded_by"].notna() if not batches.empty else pd.Series(dtype=bool)
    if superseded.any():
        predictions = predictions[~predictions["batch_key"].isin(set(batches.loc[superseded, "batch_key"]))]
        batches = batches[~superseded]
    if len(predictions) >= performance.MAX_PREDICTION_ROWS:
        data.truncated_rows = len(predictions)
    labels = read_labels(settings, model.contract) if model is not None else pd.DataFrame(columns=["row_id", "actual"])
    _gather_volume(data, batches, predictions, labels, model)
    if model is not None:
        _attach_source_rows(data, model.contract)
    if data.task != "binary":
        _gather_other_task(data, predictions)
    _gather_drift(settings, data, warehouse.read("drift_results", since=now - timedelta(days=drift_history.HISTORY_DAYS)), model)
    events = warehouse.read("model_events", since=since, where={"model_name": settings.model_name})
    data.events = [
        {
            "at": _as_datetime(row.occurred_at),
            "event": str(row.event),
            "version": None if pd.isna(row.version) else str(row.version),
            "previous": None if pd.isna(row.previous_version) else str(row.previous_version),
            "reason": "" if pd.isna(row.reason) else str(row.reason),
        }
        for row in events.itertuples()
    ]
    alerts = warehouse.read("alerts", limit=RECENT_ALERTS, newest_first=True)
    data.alerts = [
        {"at": _as_datetime(row.created_at), "severity": str(row.severity), "title_es": str(row.title_es), "title_en": str(row.title_en)}
        for row in alerts.itertuples()
    ]
    data.recommendations = recommendations(data, labeled_rows=int(data.kpis.get("labeled_rows_total", 0)))
    if not with_versions:
        data.versions = []
    return data


def _gather_volume(data: DashboardData, batches: pd.DataFrame, predictions: pd.DataFrame, labels: pd.DataFrame, model) -> None:  # noqa: ANN001
    positive = model.contract.positive if model is not None else "1"
    scored = batches[batches["status"] == "scored"] if not batches.empty else batches
    joined = performance.join_labels(predictions, labels) if not predictions.empty else predictions.assign(actual=pd.Series(dtype="Int64"))
    data.kpis = {
        # A big file is scored as shards, one batches row each: count the dropped files.
        "files": int(scored["source_uri"].fillna(scored["batch_key"]).nunique()) if not scored.empty else 0,
        "rows": int(pd.to_numeric(scored["rows_scored"], errors="coerce").fillna(0).sum()) if not scored.empty else 0,
        "quarantined": int(pd.to_numeric(batches["rows_quarantined"], errors="coerce").fillna(0).sum()) if not batches.empty else 0,
        "unknown_categories": int(pd.to_numeric(batches["unknown_categories"], errors="coerce").fillna(0).sum()) if "unknown_categories" in batches else 0,
        "positive_rate": float((joined["label"].astype(str) == positive).mean()) if len(joined) else None,
        "expected_positives": float(joined["score"].sum()) if len(joined) else 0.0,
        "labeled": int(joined["actual"].notna().sum()) if len(joined) else 0,
        "labeled_rows_total": int(len(labels)),
        "positive": positive,
    }
    decision = dict(getattr(model.contract, "decision", {}) or {}) if model is not None else {}
    if decision and len(joined) and getattr(model.contract, "task", "binary") == "binary":
        data.kpis["expected_value"] = expected_value(joined["score"].to_numpy(dtype=float), (joined["label"].astype(str) == positive).to_numpy(), decision)
    if joined.empty:
        return
    months = performance.month_of(joined["scored_at"])
    if months.nunique() >= 2:
        data.granularity = "month"
        joined = joined.assign(period=months)
    else:
        data.granularity = "file"
        names = joined["source_uri"].fillna(joined["batch_key"]).astype(str).map(_file_name)
        joined = joined.assign(period=names.map(_distinct_parts(names.unique().tolist())))
    binary = model is None or getattr(model.contract, "task", "binary") == "binary"
    data.periods = []
    for period, rows in joined.groupby("period", sort=False):
        labeled = rows[rows["actual"].notna()]
        data.periods.append(
            {
                "period": str(period),
                "first": rows["scored_at"].min(),
                "rows": len(rows),
                "positive_rate": float((rows["label"].astype(str) == positive).mean()) if binary else None,
                "expected_positives": float(rows["score"].sum()),
                "actual_rate": float(labeled["actual"].astype(int).mean()) if len(labeled) and binary else None,
            }
        )
    data.periods.sort(key=lambda period: period["first"])
    task = getattr(model.contract, "task", "binary") if model is not None else "binary"
    data.performance_periods = [
        period.to_dict() for period in performance.period_performance(joined, positive_label=positive, gates=data.gates, task=task)
    ]
    recent = joined.sort_values("scored_at").tail(RECENT_PREDICTIONS).iloc[::-1]
    data.recent = [
        {
            "id": str(row.row_id),
            "score": float(row.score),
            "label": str(row.label),
            "actual": _outcome_text(row.actual, model),
            "reason": "" if pd.isna(row.reason_1) else str(row.reason_1),
            "scored_at": _as_datetime(row.scored_at),
            "batch_key": None if pd.isna(row.batch_key) else str(row.batch_key),
            "file": _file_name(str(row.source_uri)) if not pd.isna(row.source_uri) else None,
        }
        for row in recent.itertuples()
    ]
    counts = joined["label"].astype(str).value_counts()
    data.label_counts = [(str(label), int(count)) for label, count in counts.items()]


def _attach_source_rows(data: DashboardData, contract) -> None:  # noqa: ANN001
    """A personal id is a keyed hash nobody can look up: show the file and its Excel row instead (token as tooltip)."""
    id_spec = contract.columns.get(contract.id_column) if contract.id_column else None
    if id_spec is None or not getattr(id_spec, "personal", False):
        return
    import pyarrow.parquet as pq

    from shared.ingest.csv_output import SOURCE_ROW_COLUMN

    rows_by_batch: dict[str, dict[str, int]] = {}
    for batch_key in {p["batch_key"] for p in data.recent if p.get("batch_key")}:
        try:
            with services.store(batch_key).open_read(batch_key) as stream:
                table = pq.read_table(stream, columns=[contract.id_column, SOURCE_ROW_COLUMN]).to_pandas()
            rows_by_batch[batch_key] = dict(zip(table[contract.id_column].astype(str), table[SOURCE_ROW_COLUMN].astype(int), strict=True))
        except Exception:  # an old batch without source rows, or a removed one: keep the token
            logger.info("dashboard: no source rows for %s", batch_key)
    for prediction in data.recent:
        found = rows_by_batch.get(prediction.get("batch_key") or "", {}).get(prediction["id"])
        if found is not None:
            prediction.update(source_row=found, token=prediction["id"])


def expected_value(scores: np.ndarray, acted_on: np.ndarray, decision: dict[str, float]) -> float:
    """Value of the decisions taken on the scores, in the contract's own money.

    A row acted on (predicted positive) is worth ``value_true_positive`` with probability p and
    costs ``cost_false_positive`` otherwise; a row left alone costs ``cost_false_negative`` with
    probability p and is worth ``value_true_negative`` otherwise.
    """
    value_tp, cost_fp = decision.get("value_true_positive", 0.0), decision.get("cost_false_positive", 0.0)
    cost_fn, value_tn = decision.get("cost_false_negative", 0.0), decision.get("value_true_negative", 0.0)
    acted = scores * value_tp - (1 - scores) * cost_fp
    left = -scores * cost_fn + (1 - scores) * value_tn
    return float(np.sum(np.where(acted_on, acted, left)))


def _outcome_text(actual: Any, model) -> str | None:  # noqa: ANN001
    if actual is None or pd.isna(actual):
        return None
    if model is None or getattr(model.contract, "task", "binary") == "binary":
        positive = model.contract.positive if model is not None else "1"
        negative = model.contract.negative if model is not None else "0"
        return positive if int(actual) else negative
    return f"{actual:.4g}" if isinstance(actual, (int, float, np.floating)) else str(actual)


def _gather_other_task(data: DashboardData, predictions: pd.DataFrame) -> None:
    """Multiclass and regression: no positive class; the pie counts classes, or a histogram bands values."""
    data.kpis["positive_rate"] = None
    if data.task == "regression" and len(predictions):
        values = predictions["score"].astype(float)
        data.kpis["expected_positives"] = float(values.mean())
        counts, edges = np.histogram(values.dropna(), bins=10)
        data.prediction_bins = [(f"{edges[i]:.3g}", int(count)) for i, count in enumerate(counts)]
        data.label_counts = []


def _gather_drift(settings: Settings, data: DashboardData, results: pd.DataFrame, model) -> None:  # noqa: ANN001
    if results.empty:
        return
    checks = []
    for check_id, rows in results.groupby("check_id", sort=False):
        tested = rows[rows["effect_size"].notna()]
        key = tested[(tested["kind"].isin(["numeric", "categorical", "missing_rate"])) & tested["feature"].isin(_key_features(rows, model))]
        score = tested[tested["kind"] == "score"]
        importance = rows[rows["kind"] != "score"].drop_duplicates("feature").set_index("feature")["importance"].fillna(0.0)
        drifted_names = set(rows[(rows["drifted"].fillna(False).astype(bool)) & (rows["kind"] != "score")]["feature"])
        total = float(importance.sum())
        checks.append(
            {
                "check_id": str(check_id),
                "checked_at": _as_datetime(rows["checked_at"].max()),
                "status": _first(rows["check_status"]),
                "retrain_requested": bool(_first(rows["retrain_requested"]) or False),
                "rows": _first(rows["window_rows"]),
                "key_effect": float(key["effect_size"].max()) if len(key) else None,
                "weighted_share": float(importance[importance.index.isin(drifted_names)].sum() / total) if total > 0 else None,
                "score_effect": float(score["effect_size"].iloc[0]) if len(score) else None,
                "drifted": sorted(set(rows[rows["drifted"].fillna(False).astype(bool)]["feature"])),
                "patterns": {
                    f"{row.feature}": str(row.pattern)
                    for row in rows[rows["pattern"].notna()].itertuples()
                },
            }
        )
    checks.sort(key=lambda check: check["checked_at"])
    data.checks = checks
    last = dict(checks[-1])
    report_uri = settings.object_uri("reports", f"drift/{last['check_id']}.json")
    try:
        report = json.loads(services.store(report_uri).read_bytes(report_uri))
        last.update({k: report.get(k) for k in ("reason_es", "reason_en", "triggers", "warnings", "retrain", "report_html")})
    except (ObjectNotFoundError, ValueError):
        pass
    data.last_check = last
    latest_rows = results[results["check_id"] == last["check_id"]]
    history = results[results["check_id"] != last["check_id"]]
    for row in latest_rows[latest_rows["pattern"] == "gradual"].itertuples():
        series = drift_history.effect_series(history, row.feature, row.kind)
        times = [at for at, _ in series] + [last["checked_at"]]
        effects = [effect for _, effect in series] + [float(row.effect_size)]
        projection = drift_history.project_crossing(str(row.feature), str(row.kind), times, effects)
        if projection is not None:
            data.projections.append(projection.to_dict())


def _key_features(rows: pd.DataFrame, model) -> set[str]:  # noqa: ANN001
    from shared.monitor.comparison import most_important

    if model is not None:
        return most_important(model.feature_importance)
    importance = rows.drop_duplicates("feature").set_index("feature")["importance"].dropna()
    return most_important({str(k): float(v) for k, v in importance.items()})


def recommendations(data: DashboardData, *, labeled_rows: int) -> list[dict[str, Any]]:
    """What to do next, each with its reason, estimated cost and expected benefit (both languages)."""
    last = data.last_check
    if last is None:
        return []
    seconds = TRAINING_FIXED_SECONDS + labeled_rows / TRAINING_ROWS_PER_SECOND
    cost = {"usd": seconds * COMPUTE_USD_PER_SECOND, "seconds": seconds, "rows": labeled_rows, "hours": REVIEW_HOURS}
    monthly_rows = _monthly_rows(data)
    items = []
    evaluated = next((p for p in reversed(data.performance_periods) if p.get("sufficient")), None)
    trained_recall = (data.champion or {}).get("metrics", {}).get("recall")
    benefit_kind, benefit_values = "drift", {"rows": monthly_rows, "share": last.get("weighted_share") or 0.0}
    if evaluated and evaluated.get("significantly_below") and trained_recall and evaluated["metrics"].get("recall") is not None:
        measured_recall = float(evaluated["metrics"]["recall"])
        actual_rate = evaluated.get("actual_positive_rate") or 0.0
        cases = max(trained_recall - measured_recall, 0.0) * actual_rate * monthly_rows
        benefit_kind, benefit_values = "decay", {"cases": cases, "measured": measured_recall, "trained": trained_recall}
    if benefit_kind == "decay" and benefit_values["cases"] < 0.5:
        # "≈ 0 cases" is no benefit a manager can weigh: fall back to the drift's reach, or say nothing.
        benefit_kind, benefit_values = "drift", {"rows": monthly_rows, "share": last.get("weighted_share") or 0.0}
    if benefit_kind == "drift" and benefit_values["rows"] * benefit_values["share"] < 0.5:
        benefit_kind, benefit_values = "unknown", {}
    if last.get("status") == "retrain" or last.get("retrain_requested"):
        ran = _retrain_after(data, last)
        if ran is not None:
            # The retraining the check asked for already ran: report what it decided, not "retrain now".
            items.append({"kind": "retrained", "severity": "ok" if ran["promoted"] else "info", **ran, "why_es": last.get("reason_es") or "", "why_en": last.get("reason_en") or ""})
        elif (last.get("retrain") or {}).get("published"):
            items.append({"kind": "retrain_pending", "severity": "info", "why_es": last.get("reason_es") or "", "why_en": last.get("reason_en") or ""})
        else:
            items.append(
                {
                    "kind": "retrain", "severity": "critical",
                    "why_es": last.get("reason_es") or "", "why_en": last.get("reason_en") or "",
                    "outcome_es": (last.get("retrain") or {}).get("reason_es"), "outcome_en": (last.get("retrain") or {}).get("reason_en"),
                    "cost": cost, "benefit": benefit_kind, "benefit_values": benefit_values,
                }  # fmt: skip
            )
    if data.projections:
        items.append(
            {
                "kind": "plan", "severity": "info", "projections": data.projections,
                "cost": cost, "benefit": "watch", "benefit_values": {"rows": monthly_rows},
            }  # fmt: skip
        )
    if last.get("status") == "warning" and not items:
        items.append({"kind": "watch", "severity": "warning", "why_es": last.get("reason_es") or "", "why_en": last.get("reason_en") or ""})
    if not items:
        items.append({"kind": "none", "severity": "ok"})
    return items


def _retrain_after(data: DashboardData, last: dict[str, Any]) -> dict[str, Any] | None:
    """The retraining that followed the last check: run at once (embedded) or later by the retrain function."""
    retrain = last.get("retrain") or {}
    if retrain.get("model_version"):
        return {
            "version": str(retrain["model_version"]), "promoted": bool(retrain.get("promoted")),
            "outcome_es": retrain.get("reason_es") or "", "outcome_en": retrain.get("reason_en") or "", "at": last.get("checked_at"),
        }  # fmt: skip
    checked_at = last.get("checked_at")
    decided = [e for e in data.events if e["event"] in ("promoted", "kept") and e["at"] is not None and checked_at is not None and e["at"] >= checked_at]
    if not decided:
        return None
    event = decided[0]
    return {"version": event["version"], "promoted": event["event"] == "promoted", "outcome_es": "", "outcome_en": event["reason"], "at": event["at"]}


def _monthly_rows(data: DashboardData) -> float:
    if not data.periods:
        return 0.0
    if data.granularity == "month":
        recent = data.periods[-3:]
        return float(sum(period["rows"] for period in recent) / len(recent))
    return float(sum(period["rows"] for period in data.periods))


# --------------------------------------------------------------------------- rendering


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:1.2rem 2rem} header h1{margin:0;font-size:1.5rem} header .muted{color:#cbd2d9}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem 3rem}
section{background:#fff;border-radius:10px;padding:1rem 1.3rem;margin:1rem 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:1.1rem;margin:.2rem 0 .8rem}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.8rem}
.kpi{background:#f5f7fa;border-radius:8px;padding:.7rem .9rem} .kpi b{display:block;font-size:1.45rem;margin-bottom:.15rem}
.kpi span{color:#52606d;font-size:.85rem}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .45rem;text-align:left} th{background:#f5f7fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{border-radius:8px;padding:.8rem 1rem;border-left:6px solid;margin-bottom:.8rem}
.banner.ok{background:#ecfdf5;border-color:#059669} .banner.warning{background:#fffbeb;border-color:#d97706}
.banner.retrain{background:#fef2f2;border-color:#dc2626} .banner.insufficient_data,.banner.no_data{background:#f5f7fa;border-color:#9aa5b1}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.75rem;font-weight:600;margin-right:.3rem}
.badge.critical{background:#fee2e2;color:#991b1b} .badge.warning{background:#fef3c7;color:#92400e} .badge.info{background:#e0f2fe;color:#075985} .badge.ok{background:#d1fae5;color:#065f46}
.rec{border:1px solid #e4e7eb;border-radius:8px;padding:.7rem .9rem;margin:.6rem 0}
.rec dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0 0} .rec dt{color:#52606d}
.muted{color:#616e7c;font-size:.85rem} p.empty{color:#7b8794;font-style:italic}
figure.chart{margin:.3rem 0} figcaption{font-size:.8rem;color:#616e7c}
a{color:#1d4ed8}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _usd(amount: float, language: str) -> str:
    return "< " + fmt.money(0.01, language) if amount < 0.01 else "≈ " + fmt.money(amount, language)


def dashboard_html(data: DashboardData, language: str = "es") -> str:
    """The page, in ``language`` (es or en); pure. Every figure through shared.formatting (CLDR)."""
    language = language if language in TEXT else "es"
    text = TEXT[language]
    positive = data.kpis.get("positive") or (data.champion or {}).get("positive") or "1"
    generated = fmt.when(data.generated_at, language, data.timezone, with_zone=True)
    sections = [_kpi_section(data, text, positive, language), _trend_section(data, text, language), _performance_section(data, text, language)]
    sections += [_drift_section(data, text, language), _recommendation_section(data, text, language, positive)]
    sections += [_model_section(data, text, language), _predictions_section(data, text, language), _alerts_section(data, text, language)]
    no_model = f'<section><div class="banner warning">{_e(text["no_model"])}</div></section>' if data.champion is None else ""
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(text['title'])} — {_e(data.model_name)}</title><style>{STYLE}</style></head><body>
<header><h1>{_e(text['title'])} · {_e(data.model_name)}</h1><div class="muted">{_e(text['subtitle'].format(generated=generated))}</div></header>
<main>{no_model}{''.join(sections)}<p class="muted">{_e(text['footer'])}</p></main>
</body></html>
"""


def _kpi_section(data: DashboardData, text: dict[str, Any], positive: str, language: str) -> str:
    kpis = data.kpis
    champion = data.champion
    model = f"v{champion['version']}" if champion else "–"
    cards = [
        (fmt.integer(kpis.get("files", 0), language), text["kpi_files"]),
        (fmt.integer(kpis.get("rows", 0), language), text["kpi_rows"]),
        (fmt.percent(kpis.get("positive_rate"), language, 1), text["kpi_positive_rate"].format(positive=positive)),
        (fmt.integer(kpis.get("expected_positives", 0.0), language), text["kpi_expected"].format(positive=positive)),
        *([(fmt.integer(kpis["expected_value"], language), text["kpi_value"])] if kpis.get("expected_value") is not None else []),
        (fmt.integer(kpis.get("labeled", 0), language), text["kpi_labeled"]),
        (fmt.integer(kpis.get("quarantined", 0), language), text["kpi_quarantined"]),
        # Values the model never saw, scored as missing: never silent (issue 13).
        *([(fmt.integer(kpis["unknown_categories"], language), text["kpi_unknown_categories"])] if kpis.get("unknown_categories") else []),
        (model, text["kpi_model"]),
    ]
    body = "".join(f'<div class="kpi" data-kpi="{index}"><b>{_e(value)}</b><span>{_e(label)}</span></div>' for index, (value, label) in enumerate(cards))
    truncated = f'<p class="muted">{_e(text["truncated"].format(rows=fmt.integer(data.truncated_rows, language)))}</p>' if data.truncated_rows else ""
    return f'<section id="kpis"><div class="kpis">{body}</div>{truncated}</section>'


def _trend_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    granularity = text["granularity_month"] if data.granularity == "month" else text["granularity_file"]
    labels = [period["period"] for period in data.periods]
    rows_chart = charts.columns("rows_by_period", labels, [period["rows"] for period in data.periods], caption=text["rows_chart"], empty_message="–", language=language)
    rate_chart = charts.lines(
        "positive_rate",
        labels,
        [
            (text["predicted_rate"], [period["positive_rate"] for period in data.periods], charts.CURRENT_COLOR, False),
            (text["actual_rate"], [period["actual_rate"] for period in data.periods], "#10b981", False),
        ],
        value_format=charts.percent_formatter(language, 0),
        caption=text["rate_chart"],
        language=language,
    )
    return f'<section id="trends"><h2>{_e(text["trends"].format(granularity=granularity))}</h2><div class="two">{rows_chart}{rate_chart}</div></section>'


def _performance_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    periods = [period for period in data.performance_periods if period.get("rows_labeled")]
    sufficient = [period for period in periods if period.get("sufficient")]
    if not sufficient:
        body = charts.empty("performance", text["no_labels"].format(minimum=fmt.integer(performance.MIN_LABELED_ROWS, language)))
    else:
        labels = [period["period"] for period in periods]
        plotted = [m for m in performance.TASK_METRICS.get(data.task, performance.METRICS) if m not in performance.LOWER_IS_BETTER]
        colors = dict(zip(plotted, ("#2563eb", "#f59e0b", "#10b981"), strict=False))
        series = [
            (metric_name(metric, language), [p["metrics"].get(metric) if p.get("sufficient") else None for p in periods], colors[metric], False)
            for metric in plotted
        ]
        gates = [
            (f"{metric_name(metric, language)} ≥ {fmt.decimal(floor, language, 2)}", floor, colors[metric]) for metric, floor in data.gates.items() if metric in colors
        ]
        observed = [value for _, values, _, _ in series for value in values if value is not None] + [value for _, value, _ in gates]
        bottom = max(0.0, math.floor((min(observed) - 0.05) * 10) / 10) if observed else 0.0
        body = charts.lines(
            "performance", labels, series, reference_lines=gates, y_min=bottom, y_max=1.0, caption=text["performance_caption"], width=1100, height=280, language=language
        )
    return f'<section id="performance"><h2>{_e(text["performance"])}</h2>{body}</section>'


def _drift_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    last = data.last_check
    if last is None:
        return f'<section id="drift"><h2>{_e(text["drift"])}</h2>{charts.empty("drift_trend", text["no_checks"])}</section>'
    status = last.get("status") or "ok"
    reason = last.get("reason_es" if language == "es" else "reason_en") or ""
    patterns = last.get("patterns") or {}
    drifted = ", ".join(
        f"{name} ({text['patterns'].get(patterns.get(name, ''), '') or '–'})" if patterns.get(name) else name for name in last.get("drifted") or []
    )
    when = fmt.when(last.get("checked_at"), language, data.timezone)
    banner = (
        f'<div class="banner {_e(status)}"><b>{_e(text["statuses"].get(status, status))}</b> · {_e(text["last_check"])} {_e(when)}: {_e(reason)}'
        + (f"<div class=\"muted\">{_e(drifted)}</div>" if drifted else "")
        + f'<div><a href="../drift/latest.html">{_e(text["report_link"])}</a></div></div>'
    )
    same_day = len(data.checks) > 1 and _same_day(data.checks)
    labels = [fmt.short_time(c["checked_at"], language, data.timezone) if same_day else fmt.short_day(c["checked_at"], language, data.timezone) for c in data.checks]
    trend = charts.lines(
        "drift_trend",
        labels,
        [
            (text["key_effect"], [check["key_effect"] for check in data.checks], charts.CURRENT_COLOR, False),
            (text["weighted_share"], [check["weighted_share"] for check in data.checks], "#f59e0b", False),
            (text["score_effect"], [check["score_effect"] for check in data.checks], "#8b5cf6", False),
        ],
        reference_lines=[(text["retrain_line"], 0.3, charts.GATE_COLOR)],
        y_min=0.0,
        y_max=1.0,
        caption=text["drift_caption"].format(line=fmt.decimal(0.3, language, 1)),
        width=1100,
        height=240,
        language=language,
    )
    projections = "".join(f"<li>{_e(_projection_sentence(p, text, language))}</li>" for p in data.projections)
    projections_html = f"<ul>{projections}</ul>" if projections else ""
    return f'<section id="drift"><h2>{_e(text["drift"])}</h2>{banner}{trend}{projections_html}</section>'


def _projection_sentence(projection: dict[str, Any], text: dict[str, Any], language: str = "es") -> str:
    if projection.get("already_crossed"):
        return text["crossed"].format(feature=projection["feature"])
    crossing = projection.get("crossing_date")
    date_text = fmt.day(datetime.fromisoformat(crossing), language) if crossing else "–"
    return text["projection"].format(feature=projection["feature"], date=date_text, checks=fmt.decimal(projection.get("checks_to_line") or 0.0, language, 1))


def _recommendation_section(data: DashboardData, text: dict[str, Any], language: str, positive: str) -> str:
    if not data.recommendations:
        return ""
    items = []
    titles = {
        "retrain": text["rec_retrain"], "plan": text["rec_plan"], "watch": text["rec_watch"], "none": text["rec_none"],
        "retrained": text["rec_retrained"], "retrain_pending": text["rec_pending"],
    }  # fmt: skip
    for item in data.recommendations:
        kind = item["kind"]
        details = []
        if kind == "retrain":
            details.append(_e(text["rec_retrain_why"].format(reason=item.get(f"why_{language}") or "")))
            outcome = item.get(f"outcome_{language}")
            if outcome:
                details.append(_e(text["rec_outcome"].format(outcome=outcome)))
        elif kind == "retrained":
            verdict = text["verdict_promoted"] if item["promoted"] else text["verdict_kept"]
            details.append(_e(text["rec_retrained_why"].format(when=fmt.when(item.get("at"), language, data.timezone), version=item["version"], verdict=verdict)))
            if item.get(f"outcome_{language}"):
                details.append(_e(text["rec_outcome"].format(outcome=item[f"outcome_{language}"])))
        elif kind == "retrain_pending":
            details.append(_e(text["rec_pending_why"].format(reason=item.get(f"why_{language}") or "")))
        elif kind == "plan":
            details.extend(_e(_projection_sentence(p, text, language)) for p in item["projections"])
        elif kind == "watch":
            details.append(_e(item.get(f"why_{language}") or ""))
        else:
            details.append(_e(text["rec_none_why"]))
        extra = ""
        if "cost" in item:
            cost = item["cost"]
            cost_text = text["cost_text"].format(
                usd_text=_usd(cost["usd"], language), seconds=fmt.integer(cost["seconds"], language), rows=fmt.integer(cost["rows"], language), hours=fmt.integer(cost["hours"], language)
            )
            extra = f'<dl><dt>{_e(text["cost"])}</dt><dd>{_e(cost_text)}</dd><dt>{_e(text["benefit"])}</dt><dd>{_e(_benefit_text(item, text, language, positive))}</dd></dl>'
        items.append(
            f'<div class="rec" data-recommendation="{_e(kind)}"><span class="badge {_e(item["severity"])}">{_e(titles[kind])}</span>'
            + "".join(f"<div>{detail}</div>" for detail in details)
            + extra
            + "</div>"
        )
    has_cost = any("cost" in item for item in data.recommendations)
    assumptions = text["assumptions"].format(price=fmt.money(COMPUTE_USD_PER_SECOND, language, digits=6), rate=fmt.integer(TRAINING_ROWS_PER_SECOND, language))
    assumptions_html = f'<p class="muted">{_e(assumptions)}</p>' if has_cost else ""
    return f'<section id="recommendations"><h2>{_e(text["recommendations"])}</h2>{"".join(items)}{assumptions_html}</section>'


def _benefit_text(item: dict[str, Any], text: dict[str, Any], language: str, positive: str) -> str:
    values = item.get("benefit_values") or {}
    kind = item.get("benefit")
    if kind == "decay":
        return text["benefit_decay"].format(
            positive=positive, cases=fmt.integer(values["cases"], language), measured=fmt.decimal(values["measured"], language, 2), trained=fmt.decimal(values["trained"], language, 2)
        )
    if kind == "drift":
        return text["benefit_drift"].format(rows=fmt.integer(values["rows"], language), share=fmt.percent(values["share"], language, 0))
    if kind == "watch":
        return text["benefit_watch"].format(rows=fmt.integer(values["rows"], language))
    return text["benefit_unknown"]


def _model_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    events = [
        (event["at"], f"{text['events'].get(event['event'], event['event'])} v{event['version']}" + (f" (← v{event['previous']})" if event["previous"] and event["event"] in ("promoted", "rolled_back") else ""), event["event"])
        for event in data.events
        if event["at"] is not None
    ]
    timeline = charts.timeline("model_timeline", events, colors=EVENT_COLORS, caption=text["timeline"], empty_message="–", language=language, zone=data.timezone, width=1100)
    rows = "".join(
        f"<tr><td>v{_e(v['version'])}</td><td>{_e(', '.join(v.get('aliases') or []) or '–')}</td>"
        + "".join(f"<td class=\"num\">{fmt.decimal(v.get('metrics', {}).get(metric), language, 3)}</td>" for metric in performance.METRICS)
        + f"<td>{_e(fmt.when(_as_datetime(v.get('created_at')), language, data.timezone))}</td></tr>"
        for v in data.versions
    )
    names = [metric_name(m, language) for m in performance.METRICS]
    table = (
        f"<h2>{_e(text['versions'])}</h2><table><thead><tr><th>{_e(text['version'])}</th><th>{_e(text['aliases'])}</th>"
        + "".join(f'<th class="num">{_e(name)}</th>' for name in names)
        + f"<th></th></tr></thead><tbody>{rows}</tbody></table><p class=\"muted\">{_e(text['aliases_help'])}</p>"
        if rows
        else ""
    )
    importance = charts.horizontal_bars(
        "feature_importance", [n for n, _ in data.importance], [v for _, v in data.importance], caption=text["importance"], language=language, width=900
    )
    return f'<section id="model"><h2>{_e(text["timeline"])}</h2>{timeline}{table}<h2>{_e(text["importance"])}</h2>{importance}</section>'


def _predictions_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    if data.task == "regression":
        bands = [fmt.number(band, language, 3) for band, _ in data.prediction_bins]
        pie = charts.columns("prediction_histogram", bands, [count for _, count in data.prediction_bins], caption=text["prediction_histogram"], language=language)
    else:
        pie = charts.pie("labels_pie", data.label_counts, caption=text["labels_pie"], language=language)
    rows = "".join(
        f"<tr><td{_title(p.get('token'))}>{_e(_identity(p, text, language))}</td><td class=\"num\">{fmt.decimal(p['score'], language, 3)}</td><td>{_e(p['label'])}</td>"
        f"<td>{_e(p['actual'] if p['actual'] is not None else '–')}</td><td>{_e(p['reason'])}</td><td>{_e(fmt.when(p['scored_at'], language, data.timezone))}</td></tr>"
        for p in data.recent
    )
    table = (
        f"<table data-table=\"recent\"><thead><tr><th>{_e(text['id'])}</th><th class=\"num\">{_e(text['score'])}</th><th>{_e(text['label'])}</th>"
        f"<th>{_e(text['actual'])}</th><th>{_e(text['reason'])}</th><th>{_e(text['scored_at'])}</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p class=\"muted\">{_e(text['times_in'].format(zone=fmt.zone_label(data.timezone, language)))}</p>"
    )
    return f'<section id="predictions"><h2>{_e(text["recent"])}</h2>{pie}{table}</section>'


def _identity(prediction: dict[str, Any], text: dict[str, Any], language: str) -> str:
    """What a manager can look up: the id when it is not personal, else the file and its Excel row."""
    if prediction.get("source_row") is not None:
        return text["row"].format(row=fmt.integer(prediction["source_row"], language), file=prediction.get("file") or "–")
    return prediction["id"]


def _title(token: str | None) -> str:
    return f' title="{_e(token)}"' if token else ""


def _alerts_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    if not data.alerts:
        body = f"<p class=\"muted\">{_e(text['no_alerts'])}</p>"
    else:
        body = "<ul>" + "".join(
            f'<li><span class="badge {_e(a["severity"])}">{_e(text["severity_words"].get(a["severity"], a["severity"]))}</span>{_e(fmt.when(a["at"], language, data.timezone))} · {_e(a[f"title_{language}"])}</li>'
            for a in data.alerts
        ) + "</ul>"
    return f'<section id="alerts"><h2>{_e(text["alerts"])}</h2>{body}</section>'


# --------------------------------------------------------------------------- writing


def build_dashboard(settings: Settings, *, language: str | None = None, now: datetime | None = None) -> DashboardResult:
    """Gather once, render both languages, write them to the reports area; return where."""
    with progress.phase("dashboard"):
        return _build_dashboard(settings, language=language, now=now)


def _build_dashboard(settings: Settings, *, language: str | None, now: datetime | None) -> DashboardResult:
    data = gather(settings, now=now)
    main_language = language if language in TEXT else settings.language if settings.language in TEXT else "es"
    main_uri = settings.object_uri("reports", "dashboard/index.html")
    uris = {}
    for page_language in ("es", "en"):
        page = dashboard_html(data, page_language).encode("utf-8")
        uri = settings.object_uri("reports", f"dashboard/index.{page_language}.html")
        services.store(uri).write_bytes(uri, page, "text/html; charset=utf-8")
        uris[page_language] = uri
        if page_language == main_language:
            services.store(main_uri).write_bytes(main_uri, page, "text/html; charset=utf-8")
    return DashboardResult(uri=main_uri, uris=uris, path=local_path(main_uri))


def local_path(uri: str) -> str | None:
    """The file-system path of a ``file://`` URI (None for buckets)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return str(Path(unquote(parts.path)))


def _distinct_parts(names: list[str]) -> dict[str, str]:
    """File names without what they all share ("ventas_2024-01.csv", "ventas_2024-02.csv" -> "2024-01", "2024-02")."""
    stems = [name.rsplit(".", 1)[0] for name in names]
    if len(stems) < 2:
        return dict(zip(names, stems, strict=True))
    # cut at a separator, so "ventas_2024-01" and "ventas_2024-02" keep "2024-01", not "1"
    prefix = re.sub(r"[^_. ]*$", "", os.path.commonprefix(stems))
    suffix = re.sub(r"^[^_. ]*", "", os.path.commonprefix([stem[::-1] for stem in stems])[::-1])
    short = {}
    for name, stem in zip(names, stems, strict=True):
        middle = stem[len(prefix) : len(stem) - len(suffix)] if len(prefix) + len(suffix) < len(stem) else stem
        short[name] = middle.strip("_- .") or stem
    return short if len(set(short.values())) == len(short) else dict(zip(names, stems, strict=True))


def _file_name(uri: str) -> str:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return name.split("#", 1)[0]


def _first(values: pd.Series) -> Any:
    present = values.dropna()
    if present.empty:
        return None
    value = present.iloc[0]
    return value.item() if hasattr(value, "item") else value


def _same_day(checks: list[dict[str, Any]]) -> bool:
    return len({check["checked_at"].date() for check in checks}) < len(checks)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    timestamp = pd.Timestamp(value)
    if timestamp.tzinfo is None:
        timestamp = timestamp.tz_localize("UTC")
    return timestamp.to_pydatetime()
