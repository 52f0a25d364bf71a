"""What the management dashboard shows, gathered once: from the warehouse, the registry and the labels.

:func:`gather` reads scored batches and predictions, measured performance, the drift checks,
the model's events and the latest alerts, and :func:`recommendations` turns the last check into
what to do next with its cost and benefit. Rendering is :mod:`shared.reporting.dashboard`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shared import formatting as fmt
from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.errors import ModelNotFoundError, ObjectNotFoundError
from shared.model import registered
from shared.monitor import drift_history, performance
from shared.monitor.labels import read_labels
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


def gather(settings: Settings, *, now: datetime | None = None) -> DashboardData:
    """Read everything the dashboard shows, once."""
    now = now or datetime.now(UTC)
    warehouse = services.warehouse(settings)
    data = DashboardData(generated_at=now, model_name=settings.model_name, timezone=settings.timezone)
    registry = services.registry(settings)
    try:
        model = registered.load(registry, CHAMPION)
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
            "at": as_datetime(row.occurred_at),
            "event": str(row.event),
            "version": None if pd.isna(row.version) else str(row.version),
            "previous": None if pd.isna(row.previous_version) else str(row.previous_version),
            "reason": "" if pd.isna(row.reason) else str(row.reason),
        }
        for row in events.itertuples()
    ]
    alerts = warehouse.read("alerts", limit=RECENT_ALERTS, newest_first=True)
    data.alerts = [
        {"at": as_datetime(row.created_at), "severity": str(row.severity), "title_es": str(row.title_es), "title_en": str(row.title_en)}
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
        names = joined["source_uri"].fillna(joined["batch_key"]).astype(str).map(file_name)
        joined = joined.assign(period=names.map(distinct_parts(names.unique().tolist())))
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
            "scored_at": as_datetime(row.scored_at),
            "batch_key": None if pd.isna(row.batch_key) else str(row.batch_key),
            "file": file_name(str(row.source_uri)) if not pd.isna(row.source_uri) else None,
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
                "checked_at": as_datetime(rows["checked_at"].max()),
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


def distinct_parts(names: list[str]) -> dict[str, str]:
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


def file_name(uri: str) -> str:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return name.split("#", 1)[0]


def _first(values: pd.Series) -> Any:
    present = values.dropna()
    if present.empty:
        return None
    value = present.iloc[0]
    return value.item() if hasattr(value, "item") else value


def as_datetime(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    timestamp = pd.Timestamp(value)
    if timestamp.tzinfo is None:
        timestamp = timestamp.tz_localize("UTC")
    return timestamp.to_pydatetime()
