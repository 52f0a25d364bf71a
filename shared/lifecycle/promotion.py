"""Model lifecycle: first training, retraining a challenger, promotion, rollback — each decision recorded.

Every decision writes a row to the warehouse table ``model_events`` (who, why, the metrics
behind it); the model card and the training report of every version land in the reports area
under ``models/v<N>/``. Shadow comparison and automatic rollback live in :mod:`shared.lifecycle.shadow`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shared import formatting as fmt
from shared import progress
from shared.backends import services
from shared.backends.registry import CHALLENGER, CHAMPION
from shared.delivery.locations import dropped_file
from shared.delivery.parquet_io import read_parquet
from shared.errors import BadInputError, ModelNotFoundError, PermanentError
from shared.formatting import gate_failures_text
from shared.i18n import both, message
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.clean_table import clean_into, pii_hasher
from shared.ingest.contract import Contract
from shared.lifecycle.model_loading import alert_integrity, load_model, raise_model_alert
from shared.model import registered
from shared.model.artifact_integrity import sha256_of
from shared.model.features import model_matrix, target_for_task, target_vector
from shared.model.loaded_model import LoadedModel
from shared.model.metrics import binary_metrics, multiclass_metrics, regression_metrics
from shared.model.training import (
    LOWER_IS_BETTER,
    TrainedModel,
    predict,
    primary_metric,
    train_model,
)
from shared.monitor.labels import LABELS_FOLDER, read_outcomes
from shared.reporting.model_card import model_cards
from shared.settings import Settings

logger = logging.getLogger(__name__)

_METRIC_LABEL = {"roc_auc": "ROC-AUC", "macro_f1": "macro-F1", "r2": "R²"}


@dataclass
class TrainOutcome:
    model_version: str | None
    promoted: bool
    metrics: dict[str, float]
    reason: str
    reason_es: str
    reason_en: str
    threshold: float | None = None
    gates: dict[str, float] = field(default_factory=dict)
    gate_failures: list[str] = field(default_factory=list)
    champion_before: str | None = None
    champion_metrics: dict[str, float] | None = None
    rows: dict[str, int] = field(default_factory=dict)
    training_data: str | None = None
    excluded_rows: int = 0
    task: str = "binary"
    validation_metrics: dict[str, float] = field(default_factory=dict)
    excluded_features: list[str] = field(default_factory=list)   # leaky columns the guard removed
    leakage: list[dict[str, Any]] = field(default_factory=list)
    threshold_method: str | None = None
    expected_value_per_1000: float | None = None
    fairness_flags: list[dict[str, Any]] = field(default_factory=list)
    fairness_min_ratio: float | None = None  # the contract's ratio the flags were judged against
    configuration: str | None = None
    search: list[dict[str, Any]] = field(default_factory=list)
    training_seconds: float = 0.0
    model_card: str | None = None          # HTML in the user's language (reports area)
    model_card_markdown: str | None = None
    training_report: str | None = None     # JSON with everything above

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- records: events, alerts, documents ---------------------------------------------------------


def record_event(
    settings: Settings,
    event: str,
    version: str | None,
    *,
    previous: str | None = None,
    reason: str = "",
    metrics: dict | None = None,
    actor: str | None = None,
    event_id: str | None = None,
) -> None:
    """One row of ``model_events``. A given ``event_id`` makes the write idempotent (a retried review)."""
    event_id = event_id or uuid.uuid4().hex
    row = {
        "event_id": event_id,
        "occurred_at": datetime.now(UTC),
        "model_name": settings.model_name,
        "event": event,
        "version": version,
        "previous_version": previous,
        "actor": actor or settings.actor,
        "reason": reason,
        "metrics": json.dumps(metrics or {}, default=_json_number),
    }
    services.warehouse(settings).write_batch("model_events", pd.DataFrame([row]), batch_key=event_id)


def _json_number(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return float(value) if isinstance(value, (int, float)) else str(value)


def _documents(settings: Settings, contract: Contract, outcome_box: dict[str, Any]):  # noqa: ANN202 - the registry's attach callback
    def attach(meta: dict[str, Any], version: str) -> dict[str, str]:
        files = model_cards(meta, contract, version)
        outcome_box["files"] = files
        outcome_box["meta"] = meta
        return files

    return attach


def _publish_documents(settings: Settings, version: str, box: dict[str, Any], outcome: TrainOutcome) -> None:
    """Model card (md + html, es + en) and training report into the reports area; failures are logged, not raised."""
    try:
        files = box.get("files") or {}
        for name, text in files.items():
            uri = settings.object_uri("reports", f"models/v{version}/{name}")
            content_type = "text/html; charset=utf-8" if name.endswith(".html") else "text/markdown; charset=utf-8"
            services.store(uri).write_bytes(uri, text.encode("utf-8"), content_type)
        language = settings.language
        outcome.model_card = settings.object_uri("reports", f"models/v{version}/model_card.{language}.html")
        outcome.model_card_markdown = settings.object_uri("reports", f"models/v{version}/model_card.{language}.md")
        report_uri = settings.object_uri("reports", f"models/v{version}/training_report.json")
        report = {"outcome": outcome.to_dict(), "meta": box.get("meta")}
        services.store(report_uri).write_bytes(report_uri, json.dumps(report, ensure_ascii=False, indent=2, default=_json_number).encode("utf-8"), "application/json")
        outcome.training_report = report_uri
    except Exception:  # the model is registered; a report that cannot be written is logged, not fatal
        logger.exception("could not write the model card / training report of version %s", version)


# -- training -----------------------------------------------------------------------------------


def _read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    return read_parquet(uri, columns)


def _object_sha256(uri: str) -> str:
    """Content hash of a stored object, streamed (lineage: which exact data trained a version)."""
    digest = hashlib.sha256()
    with services.store(uri).open_read(uri) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lineage_tag(uri: str, generation: str) -> str:
    try:
        return f"sha256:{_object_sha256(uri)};generation:{generation}"
    except Exception:  # lineage must not stop a retraining; the generation still pins the object
        logger.exception("could not hash %s", uri)
        return f"generation:{generation}"


def _leak_text(trained: TrainedModel, language: str) -> str:
    excluded = trained.excluded_features
    if not excluded:
        return ""
    return message("leaky_columns_excluded", language, columns=", ".join(excluded))


def train_from_csv(settings: Settings, csv_path: Path, contract: Contract, *, seed: int = 42, time_budget_seconds: float | None = None) -> TrainOutcome:
    """``dropscore train``: validate the file like any drop, keep it for retraining, train, register, gate."""
    dropped = dropped_file(settings, f"training/{Path(csv_path).name}")
    assert dropped is not None  # a training/ key always names a dropped file
    # The original is kept in the raw bucket for lineage, but under archive/, which no trigger
    # watches: under training/ the clean function would re-clean it against the *old*
    # champion's contract while this run uses the new one.
    raw_uri = settings.object_uri("raw", f"archive/training/{Path(csv_path).name}")
    services.store(raw_uri).upload_file(raw_uri, Path(csv_path), "text/csv")
    with progress.phase("read", unit="rows"):
        # A file refused whole raises BadInputError, in the user's words (shared.ingest.clean_table).
        outputs = CleanOutputs(settings.object_uri("clean", dropped.clean_key()), settings.object_uri("quarantine", dropped.quarantine_key()))
        cleaned = clean_into(raw_uri, contract, dropped.kind, dropped.name, outputs, hasher=pii_hasher(settings.pii_key, contract, dropped.kind))
    if not cleaned.clean_uri:
        no_rows_es, no_rows_en = both("training_file_no_rows")
        raise BadInputError("bad_training_file", no_rows_es, no_rows_en)
    labeled = _read_parquet(cleaned.clean_uri)
    trained = train_model(labeled, contract, seed=seed, time_budget_seconds=time_budget_seconds)
    registry = services.registry(settings)
    sources = {raw_uri: f"sha256:{sha256_of(Path(csv_path))}"}
    box: dict[str, Any] = {}
    with progress.phase("register"):
        version = registered.register(registry, trained, contract, sources=sources, purpose="train", attach=_documents(settings, contract, box))
    champion_before = registry.version_of(CHAMPION)
    record_event(settings, "trained", version, reason="dropscore train", metrics=trained.metrics)
    leaks_es, leaks_en = _leak_text(trained, "es"), _leak_text(trained, "en")
    if trained.gates_passed:
        registry.promote(version)
        registry.clear_alias(CHALLENGER)  # a challenger of the old champion was never compared with this one
        promoted_es, promoted_en = both("train_promoted")
        reason_es, reason_en = promoted_es + leaks_es, promoted_en + leaks_en
        record_event(settings, "promoted", version, previous=champion_before, reason=reason_en, metrics=trained.metrics)
    else:
        registry.set_alias(CHALLENGER, version)
        failures_es, failures_en = gate_failures_text(trained.gate_failures, "es"), gate_failures_text(trained.gate_failures, "en")
        how_es, how_en = ("", "") if champion_before else both("train_force_hint", version=version)
        reason_es = message("train_kept", "es", failures=failures_es) + how_es + leaks_es
        reason_en = message("train_kept", "en", failures=failures_en) + how_en + leaks_en
        record_event(settings, "kept", version, previous=champion_before, reason=reason_en, metrics=trained.metrics)
    outcome = _outcome(settings, trained, version, trained.gates_passed, reason_es, reason_en, champion_before, None, cleaned.clean_uri, cleaned.rows_quarantined, contract)
    with progress.phase("documents"):
        _publish_documents(settings, version, box, outcome)
    return outcome


def _outcome(settings, trained: TrainedModel, version, promoted, reason_es, reason_en, champion_before, champion_metrics, data_uri, excluded, contract) -> TrainOutcome:
    fairness_flags = list((trained.fairness or {}).get("flags") or [])
    return TrainOutcome(
        model_version=version,
        promoted=promoted,
        metrics={k: round(v, 4) for k, v in trained.metrics.items()},
        reason=reason_es if settings.language == "es" else reason_en,
        reason_es=reason_es,
        reason_en=reason_en,
        threshold=round(trained.threshold, 6),
        gates=dict(contract.gates),
        gate_failures=trained.gate_failures,
        champion_before=champion_before,
        champion_metrics=champion_metrics,
        rows=trained.rows,
        training_data=data_uri,
        excluded_rows=excluded,
        task=trained.task,
        validation_metrics={k: round(v, 4) for k, v in trained.validation_metrics.items()},
        excluded_features=list(trained.excluded_features),
        leakage=list(trained.leakage),
        threshold_method=trained.threshold_info.get("method"),
        expected_value_per_1000=trained.metrics.get("expected_value_per_1000"),
        fairness_flags=fairness_flags,
        fairness_min_ratio=(trained.fairness or {}).get("min_ratio"),
        configuration=trained.params.get("configuration"),
        search=trained.search,
        training_seconds=trained.training_seconds,
    )


_LABEL_ID = "_label_id"  # the id as text, the key outcomes are joined on


def labeled_rows(settings: Settings, contract: Contract) -> tuple[pd.DataFrame, dict[str, str]]:
    """All labeled data: training/ batches, plus labels/ joined by id to scored incoming/ batches.

    The ``_origin`` column says which: "labels" rows are production rows labeled after the
    fact, which no model has trained on yet.
    """
    store = services.store(settings.area_uri("clean"))
    id_column = contract.output_id_column
    frames: list[pd.DataFrame] = []
    sources: dict[str, str] = {}
    for info in store.list(settings.object_uri("clean", "training/")):
        if info.uri.endswith(".parquet"):
            frames.append(_read_parquet(info.uri).assign(_origin="training"))
            sources[info.uri] = _lineage_tag(info.uri, info.generation)
    # The outcomes as every other reader sees them (shared.monitor.labels: files in name order, the
    # latest outcome per id), joined by id as text to the scored batches.
    outcomes = read_outcomes(settings, contract).rename(columns={"row_id": _LABEL_ID, "actual": contract.target})
    if len(outcomes):
        label_files = [i for i in store.list(settings.object_uri("clean", LABELS_FOLDER)) if i.uri.endswith(".parquet")]
        sources.update({info.uri: _lineage_tag(info.uri, info.generation) for info in label_files})
        for info in store.list(settings.object_uri("clean", "incoming/")):
            if not info.uri.endswith(".parquet"):
                continue
            features = _read_parquet(info.uri).drop(columns=[contract.target], errors="ignore")
            if id_column not in features:
                continue
            keyed = features.assign(**{_LABEL_ID: features[id_column].astype(str)})
            joined = keyed.merge(outcomes, on=_LABEL_ID, how="inner").drop(columns=[_LABEL_ID]).assign(_origin="labels")
            if len(joined):
                frames.append(joined)
                sources[info.uri] = _lineage_tag(info.uri, info.generation)
    if not frames:
        return pd.DataFrame(), sources
    labeled = pd.concat(frames, ignore_index=True)
    if contract.id_column:  # the same business labeled twice: the latest label wins
        labeled = labeled.drop_duplicates(contract.id_column, keep="last")
    return labeled.reset_index(drop=True), sources


def comparison_holdout(labeled: pd.DataFrame, contract: Contract, seed: int, share: float = 0.3) -> np.ndarray | None:
    """Rows both models are judged on: a stratified share of the production rows labeled after the fact.

    The champion has never seen them (it was trained before they arrived), so the comparison is
    fair; training rows are excluded because the champion may have learned them.
    """
    fresh = np.flatnonzero((labeled["_origin"] == "labels").to_numpy())
    y, usable = target_for_task(labeled[contract.target], contract)
    fresh = fresh[usable[fresh]]
    if len(fresh) < 200:
        return None  # too few fresh labels: fall back to a random holdout over everything
    stratify = None
    if contract.task == "binary":
        if y[fresh].sum() < 10 or len(fresh) - y[fresh].sum() < 10:
            return None
        stratify = y[fresh]
    elif contract.task == "multiclass":
        counts = np.bincount(y[fresh].astype(int))
        stratify = y[fresh] if counts[counts > 0].min() >= 2 else None
    from sklearn.model_selection import train_test_split

    _, chosen = train_test_split(fresh, test_size=share, stratify=stratify, random_state=seed)
    mask = np.zeros(len(labeled), dtype=bool)
    mask[chosen] = True
    return mask


def evaluate_loaded(model: LoadedModel, rows: pd.DataFrame, contract: Contract) -> dict[str, float]:
    """A registered model's metrics on labeled rows (its own threshold or interval), by its task."""
    task = model.meta.get("task") or model.contract.task
    y, usable = target_for_task(rows[contract.target], contract)
    rows, y = rows[usable], y[usable]
    predictions = predict(model.booster, model_matrix(rows, model.contract, model.features))
    if task == "multiclass":
        return multiclass_metrics(y.astype(int), predictions)
    if task == "regression":
        return regression_metrics(y, predictions, (model.meta.get("interval") or {}).get("half_width"))
    return binary_metrics(y.astype(int), predictions, model.threshold)


def beats(challenger_value: float, champion_value: float, margin: float, metric: str) -> bool:
    """Whether the challenger's metric beats the champion's by the margin (direction by metric)."""
    if not (np.isfinite(challenger_value) and np.isfinite(champion_value)):
        return bool(np.isfinite(challenger_value) and not np.isfinite(champion_value))
    if metric in LOWER_IS_BETTER:
        return challenger_value <= champion_value - margin
    return challenger_value >= champion_value + margin


def run_retrain(settings: Settings, *, reason: str = "", trigger: str = "manual", seed: int = 7, time_budget_seconds: float | None = None) -> TrainOutcome:
    """Train a challenger on all labeled data; promote it only if it passes the gates and beats the champion."""
    registry = services.registry(settings)
    champion = load_model(settings, CHAMPION)
    contract = champion.contract
    with progress.phase("read", unit="rows") as step:
        labeled, sources = labeled_rows(settings, contract)
        step.advance(len(labeled))
    if labeled.empty:
        raise ModelNotFoundError(" / ".join(both("no_labeled_data")))  # the CLI shows the half in its reader's language
    trained = train_model(labeled, contract, seed=seed, holdout_mask=comparison_holdout(labeled, contract, seed), time_budget_seconds=time_budget_seconds)
    holdout = labeled.iloc[trained.holdout_index]
    champion_metrics = {k: round(v, 4) for k, v in evaluate_loaded(champion, holdout, contract).items()}
    box: dict[str, Any] = {}
    with progress.phase("register"):
        version = registered.register(registry, trained, contract, sources=sources, purpose=f"retrain:{trigger}", attach=_documents(settings, contract, box))
    record_event(settings, "trained", version, reason=reason or "retrain", metrics=trained.metrics)
    metric = primary_metric(trained.task)
    label = _METRIC_LABEL.get(metric, metric)
    challenger_value, champion_value = trained.metrics.get(metric, float("nan")), champion_metrics.get(metric, float("nan"))
    margin = contract.challenger_margin
    wins = beats(challenger_value, champion_value, margin, metric)
    comparison = {"challenger": trained.metrics, "champion": champion_metrics, "metric": metric, "margin": margin, "holdout_rows": len(holdout)}
    leaks_es, leaks_en = _leak_text(trained, "es"), _leak_text(trained, "en")
    def figures(language: str) -> dict[str, Any]:
        """The comparison's numbers the way the reader's language writes them (0,974 in Spanish)."""
        return {"version": version, "champion": champion.version, "metric": label,
                "challenger_value": fmt.decimal(challenger_value, language, 4), "champion_value": fmt.decimal(champion_value, language, 4)}

    if trained.gates_passed and wins:
        registry.promote(version)
        registry.clear_alias(CHALLENGER)
        promoted = True
        signed = "+" if margin >= 0 else ""
        promoted_es = message("retrain_promoted", "es", margin=signed + fmt.decimal(margin, "es", 3), **figures("es"))
        promoted_en = message("retrain_promoted", "en", margin=signed + fmt.decimal(margin, "en", 3), **figures("en"))
        reason_es, reason_en = promoted_es + leaks_es, promoted_en + leaks_en
        record_event(settings, "promoted", version, previous=champion.version, reason=reason_en, metrics=comparison)
    else:
        registry.set_alias(CHALLENGER, version)
        promoted = False
        why = []
        if not trained.gates_passed:
            why.append(both("retrain_why_gates", failures="; ".join(trained.gate_failures)))
        if not wins:
            why.append((message("retrain_why_margin", "es", margin=fmt.decimal(margin, "es", 3), **figures("es")),
                        message("retrain_why_margin", "en", margin=fmt.decimal(margin, "en", 3), **figures("en"))))
        and_es, and_en = both("reasons_and")
        reason_es = message("retrain_kept", "es", why=and_es.join(es for es, _ in why), labels=contract.shadow_min_labels, **figures("es")) + leaks_es
        reason_en = message("retrain_kept", "en", why=and_en.join(en for _, en in why), labels=contract.shadow_min_labels, **figures("en")) + leaks_en
        record_event(settings, "kept", version, previous=champion.version, reason=reason_en, metrics=comparison)
    logger.info(reason_en)
    outcome = _outcome(settings, trained, version, promoted, reason_es, reason_en, champion.version, champion_metrics, None, 0, contract)
    with progress.phase("documents"):
        _publish_documents(settings, version, box, outcome)
    return outcome


# -- manual decisions ---------------------------------------------------------------------------


def normalize_version(text: object) -> str:
    """"v3", "V3", " 3 " -> "3" (the CLI prints versions as v3, so people type them that way)."""
    cleaned = str(text).strip()
    if cleaned[:1] in ("v", "V"):
        cleaned = cleaned[1:]
    if not cleaned.isdigit():
        raise ValueError(f"not a version number: {text!r}")
    return str(int(cleaned))


def promote(settings: Settings, version: str, *, reason: str = "manual promotion", force: bool = False, actor: str | None = None) -> dict[str, Any]:
    """Make ``version`` the champion (the old one becomes ``previous``), recorded with who and why.

    A version that failed its gates (including the fairness gate when the contract enables it)
    is refused unless ``force``.
    """
    version = normalize_version(version)
    registry = services.registry(settings)
    found = next((v for v in registry.versions() if v["version"] == version), None)
    if found is None:
        raise ModelNotFoundError(f"model {settings.model_name!r} has no version {version}")
    if CHAMPION in (found.get("aliases") or []):
        # Already the champion: recording a promotion would re-arm the automatic rollback watch
        # (shared.lifecycle.shadow) for a change that never happened.
        return {"model_version": version, "previous": None, "promoted": False, "unchanged": True, "reason": reason, "forced": False}
    if not found.get("gates_passed", True) and found.get("gate_failures") and not force:
        failures = "; ".join(found["gate_failures"])
        raise PermanentError(" / ".join(both("promote_gates_failed", version=version, failures=failures)))
    previous = registry.promote(str(version))
    record_event(settings, "promoted", str(version), previous=previous, reason=reason, actor=actor)
    return {"model_version": str(version), "previous": previous, "promoted": True, "reason": reason, "forced": bool(force and not found.get("gates_passed", True))}


def rollback(settings: Settings, *, reason: str = "manual rollback", actor: str | None = None) -> dict[str, Any]:
    restored, demoted = services.registry(settings).rollback()
    record_event(settings, "rolled_back", restored, previous=demoted, reason=reason, actor=actor)
    return {"model_version": restored, "previous": demoted, "rolled_back": True, "reason": reason}


__all__ = [
    "TrainOutcome",
    "beats",
    "comparison_holdout",
    "evaluate_loaded",
    "labeled_rows",
    "load_model",
    "alert_integrity",
    "normalize_version",
    "promote",
    "raise_model_alert",
    "record_event",
    "rollback",
    "run_retrain",
    "target_vector",
    "train_from_csv",
]
