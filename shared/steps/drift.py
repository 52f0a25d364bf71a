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
5. the decision (:func:`decide`), one grouped alert, the reports, a retrain request when
   warranted, and a refreshed dashboard.

The check id derives from the time the check runs for (``now``): running the check again
for the same time replaces its rows, its alert and its reports instead of adding new ones.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from shared import formatting as fmt
from shared import progress
from shared.backends import services
from shared.backends.registry import CHAMPION, LoadedModel
from shared.errors import ObjectNotFoundError, PermanentError
from shared.ingest.contract import Contract
from shared.monitor import drift_history, performance
from shared.monitor.drift_stats import (
    CATEGORICAL_KIND,
    DEFAULT_ALPHA,
    DEFAULT_MIN_ROWS,
    DEFAULT_SAMPLE_CAP,
    SEVERITY_LABEL_HIGH,
    DriftStatistic,
    benjamini_hochberg,
    categorical_drift,
    choose_kind,
    is_drifted,
    missing_rate_drift,
    numeric_drift,
)
from shared.monitor.smoke_rows import is_smoke_uri
from shared.reporting import alerts
from shared.reporting.reports import drift_report_html
from shared.settings import Settings

logger = logging.getLogger(__name__)

SCORE_FEATURE = "score"

KEY_FEATURE_COUNT = 10
"""The most important features: the top ten by the model's gain..."""
KEY_FEATURE_MIN_IMPORTANCE = 0.01
"""...that carry at least 1 % of it (a model may lean on fewer than ten)."""
WEIGHTED_SHARE_LINE = 0.5
"""Retrain when the drifted features hold at least half of the model's gain."""

STATUS_OK = "ok"
STATUS_WARNING = "warning"
STATUS_RETRAIN = "retrain"
STATUS_INSUFFICIENT = "insufficient_data"
STATUS_NO_DATA = "no_data"

PATTERN_SUDDEN = "sudden"
PATTERN_GRADUAL = "gradual"
PATTERN_SUSTAINED = "sustained"
PATTERN_UNDETERMINED = "undetermined"


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
    key_feature: bool = False
    # against the previous window: a significant, at-least-medium change there is a jump
    effect_size_previous: float | None = None
    p_value_previous_adjusted: float | None = None
    jump: bool = False
    pattern: str | None = None          # sudden | gradual | sustained | undetermined (drifted or rising only)
    persistence: int = 0                # in how many of the last checks (this one included) it drifted
    trend: list[float] = field(default_factory=list)  # effect sizes of earlier checks, oldest first, then this one
    projection: dict[str, Any] | None = None


@dataclass
class Finding:
    """One reason behind the decision: a trigger (asks for retraining) or a warning."""

    code: str
    severity: str                       # critical | warning | info
    category: str                       # drift | performance
    features: list[str]
    text_es: str
    text_en: str
    action_es: str
    action_en: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    status: str
    retrain_requested: bool
    triggers: list[Finding]
    warnings: list[Finding]
    reason_es: str
    reason_en: str
    weighted_drift_share: float


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
    status: str = STATUS_OK
    triggers: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    weighted_drift_share: float = 0.0
    previous_check_id: str | None = None
    previous_window_rows: int = 0
    performance: dict[str, Any] | None = None
    dashboard: str | None = None
    skipped_batches: list[dict[str, Any]] = field(default_factory=list)  # batches of the window whose clean rows are gone
    retrain_withheld: bool = False  # retraining warranted, not requested (`drift --no-retrain`)

    def summary(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "checked_at": self.checked_at.isoformat(),
            "model_version": self.model_version,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(),
            "rows_current": self.rows_current,
            "status": self.status,
            "drifted_features": self.drifted_features,
            "retrain_requested": self.retrain_requested,
            "retrain_withheld": self.retrain_withheld,
            "reason_es": self.reason_es,
            "reason_en": self.reason_en,
            "triggers": [asdict(finding) for finding in self.triggers],
            "warnings": [asdict(finding) for finding in self.warnings],
            "weighted_drift_share": self.weighted_drift_share,
            "patterns": {f"{f.feature}:{f.kind}": f.pattern for f in self.features if f.pattern},
            "performance": _performance_summary(self.performance),
            "report": self.report,
            "report_html": self.report_html,
            "dashboard": self.dashboard,
            "alert_id": self.alert.get("alert_id") if self.alert else None,
            "retrain": self.retrain,
            "skipped_batches": self.skipped_batches,
            "features": [
                {k: v for k, v in asdict(f).items() if k != "bins"} for f in self.features if f.kind != "missing_rate" or f.drifted
            ],
        }


def _performance_summary(measured: dict[str, Any] | None) -> dict[str, Any] | None:
    if not measured:
        return None
    return {k: measured.get(k) for k in ("decay", "below_gate", "labels_available", "labeled_predictions", "message_es", "message_en", "evaluated", "gates")}


# --------------------------------------------------------------------------- statistics


def kinds_of(reference: pd.DataFrame, contract: Contract, features: list[str]) -> dict[str, str]:
    """Which test each feature gets: declared categoricals and low-cardinality numbers compare shares."""
    kinds = {}
    for name in features:
        if name not in reference.columns:
            continue
        declared = contract.columns[name].type if name in contract.columns else None
        kinds[name] = choose_kind(reference[name], declared)
    return kinds


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
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = DEFAULT_MIN_ROWS,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    kinds: dict[str, str] | None = None,
) -> list[FeatureDrift]:
    """Every feature (its values and its missing rate) and the score, BH-corrected together.

    ``reference`` is the baseline (the champion's reference sample, or the previous window);
    a feature is drifted only when significant after the correction *and* at least medium.
    """
    kinds = kinds if kinds is not None else kinds_of(reference, contract, features)
    key_features = most_important(importance)
    results: list[tuple[FeatureDrift, DriftStatistic]] = []
    with_score = SCORE_FEATURE in reference.columns and SCORE_FEATURE in current.columns
    for name in features + ([SCORE_FEATURE] if with_score else []):
        if name not in reference.columns or name not in current.columns:
            continue
        is_score = name == SCORE_FEATURE
        kind = SCORE_FEATURE if is_score else kinds.get(name, CATEGORICAL_KIND)
        if kind == CATEGORICAL_KIND:
            statistic = categorical_drift(
                reference[name], current[name],
                min_rows=min_rows, sample_cap=sample_cap, seed=seed,
            )  # fmt: skip
        else:
            statistic = numeric_drift(
                pd.to_numeric(reference[name], errors="coerce"), pd.to_numeric(current[name], errors="coerce"),
                min_rows=min_rows, sample_cap=sample_cap, seed=seed,
            )  # fmt: skip
        weight = float(importance.get(name, 0.0))
        drift = _statistic_to_drift(name, kind, statistic, weight)
        drift.key_feature = name in key_features
        results.append((drift, statistic))
        if not is_score:
            missing = missing_rate_drift(
                int(reference[name].isna().sum()), len(reference), int(current[name].isna().sum()), len(current), min_rows=min_rows
            )
            missing_drift = _statistic_to_drift(name, "missing_rate", missing, weight)
            missing_drift.key_feature = drift.key_feature
            results.append((missing_drift, missing))
    adjusted = benjamini_hochberg([statistic.p_value for _, statistic in results])
    for (drift, statistic), p_adjusted in zip(results, adjusted, strict=True):
        drift.p_value_adjusted = p_adjusted
        drift.drifted = is_drifted(statistic, p_adjusted, alpha)
    return [drift for drift, _ in results]


def most_important(importance: dict[str, float]) -> set[str]:
    """The key features: top :data:`KEY_FEATURE_COUNT` by gain with at least :data:`KEY_FEATURE_MIN_IMPORTANCE`."""
    ranked = sorted(importance.items(), key=lambda item: (-item[1], item[0]))
    return {name for name, gain in ranked[:KEY_FEATURE_COUNT] if gain >= KEY_FEATURE_MIN_IMPORTANCE}


def attach_previous(features: list[FeatureDrift], against_previous: list[FeatureDrift]) -> None:
    """Copy the comparison with the previous window onto each result; a drifted one there is a jump."""
    by_key = {(f.feature, f.kind): f for f in against_previous}
    for feature in features:
        previous = by_key.get((feature.feature, feature.kind))
        if previous is None or previous.insufficient_data:
            continue
        feature.effect_size_previous = previous.effect_size
        feature.p_value_previous_adjusted = previous.p_value_adjusted
        feature.jump = previous.drifted


def attach_history(
    features: list[FeatureDrift],
    history: pd.DataFrame,
    recent_check_ids: list[str],
    checked_at: datetime,
    *,
    had_previous_window: bool,
    alpha: float = DEFAULT_ALPHA,
) -> None:
    """Pattern (sudden / gradual / sustained / undetermined), persistence and projection per result."""
    for feature in features:
        if feature.insufficient_data or feature.effect_size is None:
            continue
        series = drift_history.effect_series(history, feature.feature, feature.kind)
        times = [at for at, _ in series] + [checked_at]
        effects = [effect for _, effect in series] + [float(feature.effect_size)]
        feature.trend = [round(effect, 6) for effect in effects[-drift_history.HISTORY_CHECKS :]]
        rising = drift_history.is_rising(effects)
        earlier_hits = drift_history.drifted_in(
            history, feature.feature, feature.kind, recent_check_ids[: drift_history.PERSISTENCE_CHECKS - 1]
        )
        if feature.drifted:
            feature.persistence = 1 + earlier_hits
            if feature.jump:
                feature.pattern = PATTERN_SUDDEN
            elif rising:
                feature.pattern = PATTERN_GRADUAL
            elif earlier_hits and had_previous_window:
                feature.pattern = PATTERN_SUSTAINED
            else:
                feature.pattern = PATTERN_UNDETERMINED
        elif (
            rising
            and feature.effect_size >= drift_history.WATCH_FLOOR
            and feature.p_value_adjusted is not None
            and feature.p_value_adjusted <= alpha
        ):
            feature.pattern = PATTERN_GRADUAL  # still below medium: an early warning, not drift yet
        if feature.pattern == PATTERN_GRADUAL:
            projection = drift_history.project_crossing(feature.feature, feature.kind, times, effects)
            feature.projection = projection.to_dict() if projection else None


# --------------------------------------------------------------------------- decision


def _names(features: list[FeatureDrift]) -> list[str]:
    seen: list[str] = []
    for feature in sorted(features, key=lambda f: (f.severity != SEVERITY_LABEL_HIGH, -f.importance, f.feature)):
        if feature.feature not in seen:
            seen.append(feature.feature)
    return seen


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit})" if len(names) > limit else "")


def _pattern_action(features: list[FeatureDrift]) -> tuple[str, str]:
    if any(f.pattern == PATTERN_SUDDEN for f in features):
        return (
            "Cambio súbito frente al mes anterior: revise primero el origen de los datos (archivo, formato, unidades, sistema que lo exporta). "
            "Si el cambio es real, el reentrenamiento lo incorporará; el retador solo se promueve si supera los umbrales.",
            "Sudden change against the previous window: check the data pipeline first (file, format, units, the exporting system). "
            "If the change is real, retraining will learn it; the challenger is promoted only if it passes the gates.",
        )
    if any(f.pattern == PATTERN_GRADUAL for f in features):
        return (
            "Cambio gradual del mercado: reentrene con datos recientes etiquetados; el retador solo se promueve si supera los umbrales.",
            "Gradual market change: retrain on recent labeled data; the challenger is promoted only if it passes the gates.",
        )
    return (
        "Reentrenar con los datos etiquetados recientes y revisar el informe de deriva.",
        "Retrain on the recent labeled data and read the drift report.",
    )


def _evidence(features: list[FeatureDrift]) -> dict[str, Any]:
    return {
        "features": [
            {
                "feature": f.feature, "kind": f.kind, "method": f.method, "effect_size": f.effect_size,
                "p_value_adjusted": f.p_value_adjusted, "severity": f.severity, "importance": round(f.importance, 4),
                "pattern": f.pattern, "effect_size_previous": f.effect_size_previous, "persistence": f.persistence,
            }  # fmt: skip
            for f in sorted(features, key=lambda f: (f.severity != SEVERITY_LABEL_HIGH, -f.importance))[:12]
        ]
    }


def weighted_drift_share(features: list[FeatureDrift]) -> float:
    """Share of the model's gain held by features whose values or missing rate drifted."""
    importance = {f.feature: f.importance for f in features if f.kind != SCORE_FEATURE}
    total = sum(importance.values())
    if total <= 0:
        return 0.0
    drifted = {f.feature for f in features if f.drifted and f.kind != SCORE_FEATURE}
    return float(sum(importance[name] for name in drifted) / total)


def decide(
    features: list[FeatureDrift],
    measured: performance.PerformanceResult | None = None,
    *,
    window_rows: int | None = None,
) -> Decision:
    """The rules, in the order a person would apply them.

    Retraining is requested (a *trigger*, severity critical) when:

    - a key feature (:func:`most_important`) drifted with high severity (values or missing rate);
    - the drifted features hold at least :data:`WEIGHTED_SHARE_LINE` of the model's gain;
    - the score distribution itself drifted with high severity;
    - measured performance is significantly below a business gate;
    - a drift that would only be a warning persists: drifted in this check and in one of the
      two before it (:data:`shared.monitor.drift_history.PERSISTENCE_HITS` of the last three).

    Otherwise drifted features, a metric under its gate within the margin of error, or a
    rising trend are *warnings*. Tests with too little data never count as drift: when no
    feature could be tested the status says ``insufficient_data`` (or ``no_data``).
    """
    drifted = [f for f in features if f.drifted]
    drifted_values = [f for f in drifted if f.kind != SCORE_FEATURE]
    share = weighted_drift_share(features)
    triggers: list[Finding] = []
    warnings: list[Finding] = []
    explained: set[tuple[str, str]] = set()

    key_high = [f for f in drifted_values if f.key_feature and f.severity == SEVERITY_LABEL_HIGH]
    if key_high:
        names = _names(key_high)
        # The headline names every drifted key feature (there are few), not only the high ones.
        also = [name for name in _names([f for f in drifted_values if f.key_feature]) if name not in names]
        also_es = f"; también con deriva media: {', '.join(also)}" if also else ""
        also_en = f"; also drifted (medium): {', '.join(also)}" if also else ""
        action_es, action_en = _pattern_action(key_high)
        triggers.append(
            Finding(
                "key_feature_high", "critical", "drift", names + also,
                f"Deriva alta en variables clave del modelo: {', '.join(names)}{also_es}.",
                f"High drift in key model features: {', '.join(names)}{also_en}.",
                action_es, action_en, _evidence(key_high),
            )  # fmt: skip
        )
        explained |= {(f.feature, f.kind) for f in key_high}
    if share >= WEIGHTED_SHARE_LINE:
        names = _names(drifted_values)
        action_es, action_en = _pattern_action(drifted_values)
        triggers.append(
            Finding(
                "weighted_share", "critical", "drift", names,
                f"Las variables con deriva suman el {fmt.percent(share, 'es', 0)} de la importancia del modelo (límite {fmt.percent(WEIGHTED_SHARE_LINE, 'es', 0)}).",
                f"Drifted features hold {fmt.percent(share, 'en', 0)} of the model's importance (line {fmt.percent(WEIGHTED_SHARE_LINE, 'en', 0)}).",
                action_es, action_en, _evidence(drifted_values) | {"weighted_share": share},
            )  # fmt: skip
        )
        explained |= {(f.feature, f.kind) for f in drifted_values}
    score_high = [f for f in drifted if f.kind == SCORE_FEATURE and f.severity == SEVERITY_LABEL_HIGH]
    if score_high:
        action_es, action_en = _pattern_action(score_high)
        triggers.append(
            Finding(
                "score_high", "critical", "drift", [SCORE_FEATURE],
                f"La distribución de los puntajes del modelo cambió fuertemente (KS {fmt.decimal(score_high[0].effect_size, 'es', 2)}).",
                f"The distribution of the model's scores changed strongly (KS {fmt.decimal(score_high[0].effect_size, 'en', 2)}).",
                action_es, action_en, _evidence(score_high),
            )  # fmt: skip
        )
        explained |= {(f.feature, f.kind) for f in score_high}
    if measured is not None and measured.decay:
        evaluated = measured.evaluated
        triggers.append(
            Finding(
                "performance_decay", "critical", "performance", list(evaluated.significantly_below) if evaluated else [],
                measured.message_es, measured.message_en,
                "Se solicitó reentrenar con las etiquetas recientes; revise el retador antes de confiar en las predicciones de este mes.",
                "Retraining was requested on the recent labels; review the challenger before trusting this month's predictions.",
                {"period": evaluated.to_dict() if evaluated else None, "gates": measured.gates},
            )  # fmt: skip
        )

    remaining = [f for f in drifted if (f.feature, f.kind) not in explained]
    persistent = [f for f in remaining if f.persistence >= drift_history.PERSISTENCE_HITS]
    if persistent:
        names = _names(persistent)
        action_es, action_en = _pattern_action(persistent)
        triggers.append(
            Finding(
                "persistent_drift", "critical", "drift", names,
                f"La deriva persiste en {drift_history.PERSISTENCE_HITS} de los últimos {drift_history.PERSISTENCE_CHECKS} controles: {_listing(names)}.",
                f"Drift persists in {drift_history.PERSISTENCE_HITS} of the last {drift_history.PERSISTENCE_CHECKS} checks: {_listing(names)}.",
                action_es, action_en, _evidence(persistent),
            )  # fmt: skip
        )
    passing = [f for f in remaining if f.persistence < drift_history.PERSISTENCE_HITS]
    if passing:
        names = _names(passing)
        worst = "alta" if any(f.severity == SEVERITY_LABEL_HIGH for f in passing) else "media"
        worst_en = "High" if worst == "alta" else "Medium"
        sudden = any(f.pattern == PATTERN_SUDDEN for f in passing)
        warnings.append(
            Finding(
                "drift_warning", "warning", "drift", names,
                f"Deriva {worst} en {_listing(names)}; todavía no justifica reentrenar.",
                f"{worst_en} drift in {_listing(names)}; not enough to retrain yet.",
                ("Revise el origen de los datos: el cambio fue súbito. " if sudden else "")
                + "Vigilar: si se repite en el próximo control se pedirá reentrenar.",
                ("Check the data pipeline: the change was sudden. " if sudden else "")
                + "Watch it: if it shows again in the next check, retraining will be requested.",
                _evidence(passing),
            )  # fmt: skip
        )
    if measured is not None and measured.below_gate and not measured.decay:
        warnings.append(
            Finding(
                "performance_watch", "warning", "performance", list(measured.evaluated.below_gate) if measured.evaluated else [],
                measured.message_es, measured.message_en,
                "Vigilar: se necesitan más etiquetas para confirmar la caída.",
                "Watch it: more labels are needed to confirm the drop.",
                {"period": measured.evaluated.to_dict() if measured.evaluated else None, "gates": measured.gates},
            )  # fmt: skip
        )
    watch = [f for f in features if not f.drifted and f.pattern == PATTERN_GRADUAL]
    if watch:
        names = _names(watch)
        dates = sorted(p["crossing_date"][:10] for f in watch if (p := f.projection) and p.get("crossing_date"))
        when_es = f"; al ritmo actual cruzaría la línea de reentrenamiento hacia {dates[0]}" if dates else ""
        when_en = f"; at the current pace it would cross the retraining line around {dates[0]}" if dates else ""
        warnings.append(
            Finding(
                "gradual_trend", "info", "drift", names,
                f"Tendencia creciente (aún bajo el nivel medio) en {_listing(names)}{when_es}.",
                f"Rising trend (still below medium) in {_listing(names)}{when_en}.",
                "Planificar el reentrenamiento antes de esa fecha y reunir etiquetas recientes.",
                "Plan retraining before that date and gather recent labels.",
                _evidence(watch),
            )  # fmt: skip
        )

    tested = [f for f in features if f.kind != "missing_rate"]
    all_insufficient = bool(tested) and all(f.insufficient_data for f in tested)
    if triggers:
        status = STATUS_RETRAIN
    elif any(w.severity == "warning" for w in warnings):
        status = STATUS_WARNING
    elif window_rows == 0 or not tested:
        status = STATUS_NO_DATA
    elif all_insufficient:
        status = STATUS_INSUFFICIENT
    elif warnings:
        status = STATUS_WARNING
    else:
        status = STATUS_OK
    reason_es, reason_en = _reason(status, triggers, warnings, window_rows, features)
    return Decision(status, bool(triggers), triggers, warnings, reason_es, reason_en, share)


RETRAIN_REQUESTED = (" Se solicita reentrenar.", " Retraining requested.")


def _reason(status: str, triggers: list[Finding], warnings: list[Finding], window_rows: int | None, features: list[FeatureDrift]) -> tuple[str, str]:
    if status == STATUS_RETRAIN:
        return (
            " ".join(t.text_es for t in triggers) + RETRAIN_REQUESTED[0],
            " ".join(t.text_en for t in triggers) + RETRAIN_REQUESTED[1],
        )
    if status == STATUS_WARNING:
        return (
            " ".join(w.text_es for w in warnings) + " No se reentrena todavía.",
            " ".join(w.text_en for w in warnings) + " No retraining yet.",
        )
    if status == STATUS_NO_DATA:
        return "No hay filas nuevas puntuadas desde el último control.", "No new scored rows since the last check."
    if status == STATUS_INSUFFICIENT:
        rows = window_rows if window_rows is not None else max((f.rows_current for f in features), default=0)
        return (
            f"Datos insuficientes: {rows} filas en la ventana (mínimo {DEFAULT_MIN_ROWS} por variable). Sin conclusión de deriva; el próximo control las acumula.",
            f"Insufficient data: {rows} rows in the window (at least {DEFAULT_MIN_ROWS} per feature). No drift conclusion; the next check adds them up.",
        )
    return "Sin deriva significativa.", "No significant drift."


# --------------------------------------------------------------------------- windows


def _window_bounds(checks: list[drift_history.PastCheck]) -> tuple[datetime | None, drift_history.PastCheck | None]:
    """Where this window starts and which earlier check's window to compare with.

    A check whose window was too small to judge does not move the start: its rows are
    judged with the next ones. The window compared for sudden change is the latest one
    that was large enough.
    """
    if not checks:
        return None, None
    latest = checks[0]
    def too_small(check: drift_history.PastCheck) -> bool:
        return check.window_rows is not None and check.window_rows < DEFAULT_MIN_ROWS

    start = latest.window_start if too_small(latest) else latest.window_end
    previous = next((check for check in checks if not too_small(check)), None)
    return start, previous


def current_window(
    settings: Settings,
    model: LoadedModel,
    window_start: datetime | None,
    window_end: datetime,
    *,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    seed: int = 0,
) -> pd.DataFrame:
    """Features of the rows scored in the window (from the clean batches) plus their champion scores.

    A window larger than ``sample_cap`` rows is sampled (seeded) batch by batch in proportion
    to each batch's size, so memory holds one batch and the sample, never the whole window.
    """
    warehouse = services.warehouse(settings)
    # Superseded uploads are history: a name dropped again counts once, with its latest rows (shared.delivery.lineage).
    batches = warehouse.read(
        "batches", since=window_start, until=window_end, where={"kind": "incoming", "status": "scored", "superseded_by": None}
    )
    if not batches.empty and "source_uri" in batches:
        # The deployment smoke test's rows are real scores of test data, not production traffic.
        batches = batches[~batches["source_uri"].map(is_smoke_uri)]
    if window_start is not None and not batches.empty:
        batches = batches[batches["processed_at"] > pd.Timestamp(window_start)]
    batches = batches.dropna(subset=["clean_uri"]).drop_duplicates("clean_uri", keep="last") if not batches.empty else batches
    wanted = model.features + [model.contract.output_id_column]
    skipped: list[dict[str, Any]] = []
    empty = pd.DataFrame(columns=wanted + [SCORE_FEATURE])
    empty.attrs["skipped_batches"] = skipped
    if batches.empty:
        return empty
    total_rows = float(pd.to_numeric(batches["rows_clean"], errors="coerce").fillna(0).sum())
    fraction = min(1.0, sample_cap / total_rows) if total_rows > 0 else 1.0
    random_generator = np.random.default_rng(seed)
    frames = []
    for clean_uri, key in zip(batches["clean_uri"], batches["batch_key"], strict=True):
        store = services.store(clean_uri)
        try:
            with store.open_read(clean_uri) as stream:
                parquet = pq.ParquetFile(stream)
                table = parquet.read(columns=[c for c in wanted if c in parquet.schema_arrow.names])
        except ObjectNotFoundError:
            # Its clean rows are gone (a later upload of the name was rejected and took them, or someone
            # deleted them): judge the window on the rest and say so in the report, never fail the check.
            logger.warning("drift window: the clean rows of %s are gone; batch skipped", clean_uri)
            skipped.append({"batch_key": str(key), "clean_uri": str(clean_uri), "reason": "clean_data_missing"})
            continue
        frame = table.to_pandas()
        if fraction < 1.0 and len(frame):
            keep = random_generator.random(len(frame)) < fraction
            frame = frame[keep]
        frames.append(frame.assign(_batch=str(key) if pd.notna(key) else str(clean_uri)))
    if not frames:
        return empty
    current = pd.concat(frames, ignore_index=True)
    predictions = warehouse.read(
        "predictions", since=window_start, until=window_end, where={"model_role": CHAMPION, "model_version": model.version}, columns=["batch_key", "row_id", "score"]
    )
    id_column = model.contract.output_id_column
    if not predictions.empty and id_column in current:
        scores = predictions.drop_duplicates(["batch_key", "row_id"]).rename(columns={"batch_key": "_batch", "row_id": id_column})
        current[id_column] = current[id_column].astype(str)
        current = current.merge(scores, on=["_batch", id_column], how="left")
    else:
        current[SCORE_FEATURE] = np.nan
    if len(current) > sample_cap:
        current = current.sample(sample_cap, random_state=seed)
    current = current.drop(columns=["_batch"]).reset_index(drop=True)
    current.attrs["skipped_batches"] = skipped
    return current


# --------------------------------------------------------------------------- the check


def check_id_for(checked_at: datetime) -> str:
    return f"drift-{checked_at.astimezone(UTC):%Y%m%dT%H%M%S%f}"


def run_drift_check(settings: Settings, *, now: datetime | None = None, allow_retrain: bool = True) -> DriftCheckResult:
    checked_at = now or datetime.now(UTC)
    if checked_at.tzinfo is None:
        checked_at = checked_at.replace(tzinfo=UTC)
    check_id = check_id_for(checked_at)
    warehouse = services.warehouse(settings)
    model = services.registry(settings).load(CHAMPION)

    history = drift_history.load_history(warehouse, before=checked_at, exclude_check=check_id)
    checks = drift_history.past_checks(history)
    window_start, previous_check = _window_bounds(checks)
    with progress.phase("drift_window", unit="rows") as step:
        current = current_window(settings, model, window_start, checked_at)
        step.advance(len(current))
    skipped_batches = [
        entry | {
            "message_es": "Los datos limpios de este lote ya no existen (otra subida con el mismo nombre fue rechazada, o se borraron): no entra en la ventana.",
            "message_en": "This batch's clean rows no longer exist (another upload of the same name was rejected, or they were deleted): it is left out of the window.",
        }
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
    drifted = _names([f for f in features if f.drifted])
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
        result.reason_es = decision.reason_es.removesuffix(RETRAIN_REQUESTED[0]) + " Convendría reentrenar, pero no se solicitó (--no-retrain)."
        result.reason_en = decision.reason_en.removesuffix(RETRAIN_REQUESTED[1]) + " Retraining is warranted but was not requested (--no-retrain)."
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
        from google.cloud import pubsub_v1

        publisher = pubsub_v1.PublisherClient()
        payload = json.dumps({"reason": reason, "check_id": check_id}).encode("utf-8")
        message_id = publisher.publish(settings.retrain_topic, payload, check_id=check_id).result(timeout=60)
        return {
            "published": True,
            "topic": settings.retrain_topic,
            "message_id": message_id,
            "reason_es": "Solicitud de reentrenamiento publicada; la función de reentrenamiento decidirá la promoción.",
            "reason_en": "Retrain request published; the retrain function will decide the promotion.",
        }
    from shared.lifecycle.promotion import run_retrain

    try:
        return run_retrain(settings, reason=reason, trigger=check_id).to_dict()
    except PermanentError as exc:
        logger.error("retraining requested by %s could not run: %s", check_id, exc)
        return {
            "promoted": False,
            "error": str(exc),
            "reason_es": f"No se pudo reentrenar: {exc}",
            "reason_en": f"Retraining could not run: {exc}",
        }
