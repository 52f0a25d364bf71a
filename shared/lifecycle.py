"""Model lifecycle: first training, retraining a challenger, promotion, rollback — each decision recorded."""

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

from shared import services
from shared.cleaning import clean_stream
from shared.contract import Contract
from shared.errors import BadInputError, ModelNotFoundError
from shared.features import model_matrix, target_vector
from shared.locations import DroppedFile
from shared.parquet_io import read_parquet
from shared.registry import CHALLENGER, CHAMPION, current_actor
from shared.settings import Settings
from shared.training import TrainedModel, binary_metrics, train_model

logger = logging.getLogger(__name__)


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_event(settings: Settings, event: str, version: str | None, *, previous: str | None = None, reason: str = "", metrics: dict | None = None, actor: str | None = None) -> None:
    event_id = uuid.uuid4().hex
    row = {
        "event_id": event_id,
        "occurred_at": datetime.now(UTC),
        "model_name": settings.model_name,
        "event": event,
        "version": version,
        "previous_version": previous,
        "actor": actor or current_actor(),
        "reason": reason,
        "metrics": json.dumps(metrics or {}, default=float),
    }
    services.warehouse(settings).write_batch("model_events", pd.DataFrame([row]), batch_key=event_id)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    return read_parquet(uri, columns)


def train_from_csv(settings: Settings, csv_path: Path, contract: Contract, *, seed: int = 42) -> TrainOutcome:
    """``dropscore train``: validate the file like any drop, keep it for retraining, train, register, gate."""
    dropped = DroppedFile("training", Path(csv_path).stem)
    raw_uri = settings.object_uri("raw", f"training/{Path(csv_path).name}")
    services.store(raw_uri).upload_file(raw_uri, Path(csv_path), "text/csv")
    cleaned = clean_stream(settings, dropped, raw_uri, contract)
    if cleaned.status != "clean" or not cleaned.clean_uri:
        message_es = cleaned.message_es or "El archivo de entrenamiento no tiene filas válidas."
        message_en = cleaned.message_en or "The training file has no valid rows."
        raise BadInputError(cleaned.details.get("error_code", "bad_training_file"), message_es, message_en)
    labeled = _read_parquet(cleaned.clean_uri)
    trained = train_model(labeled, contract, seed=seed)
    registry = services.registry(settings)
    sources = {raw_uri: _file_sha256(Path(csv_path))}
    version = registry.register(trained, contract, sources=sources, purpose="train")
    champion_before = registry.version_of(CHAMPION)
    record_event(settings, "trained", version, reason="dropscore train", metrics=trained.metrics)
    if trained.gates_passed:
        registry.promote(version)
        reason_es = "Supera los umbrales del negocio; es el nuevo campeón."
        reason_en = "Passes the business gates; it is the new champion."
        record_event(settings, "promoted", version, previous=champion_before, reason=reason_en, metrics=trained.metrics)
    else:
        registry.set_alias(CHALLENGER, version)
        failures = "; ".join(trained.gate_failures)
        reason_es = f"No supera los umbrales del negocio ({failures}); no se promueve."
        reason_en = f"Does not pass the business gates ({failures}); not promoted."
        record_event(settings, "kept", version, previous=champion_before, reason=reason_en, metrics=trained.metrics)
    return _outcome(settings, trained, version, trained.gates_passed, reason_es, reason_en, champion_before, None, cleaned.clean_uri, cleaned.rows_quarantined, contract)


def _outcome(settings, trained: TrainedModel, version, promoted, reason_es, reason_en, champion_before, champion_metrics, data_uri, excluded, contract) -> TrainOutcome:
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
    )


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
            sources[info.uri] = info.generation
    labels = [_read_parquet(i.uri) for i in store.list(settings.object_uri("clean", "labels/")) if i.uri.endswith(".parquet")]
    if labels:
        outcomes = pd.concat(labels, ignore_index=True).drop_duplicates(id_column, keep="last")
        for info in store.list(settings.object_uri("clean", "incoming/")):
            if not info.uri.endswith(".parquet"):
                continue
            features = _read_parquet(info.uri).drop(columns=[contract.target], errors="ignore")
            joined = features.merge(outcomes[[id_column, contract.target]], on=id_column, how="inner").assign(_origin="labels")
            if len(joined):
                frames.append(joined)
                sources[info.uri] = info.generation
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
    y = target_vector(labeled[contract.target], contract)
    if len(fresh) < 200 or y[fresh].sum() < 10:
        return None  # too few fresh labels: fall back to a random holdout over everything
    from sklearn.model_selection import train_test_split

    _, chosen = train_test_split(fresh, test_size=share, stratify=y[fresh], random_state=seed)
    mask = np.zeros(len(labeled), dtype=bool)
    mask[chosen] = True
    return mask


def run_retrain(settings: Settings, *, reason: str = "", trigger: str = "manual", seed: int = 7) -> TrainOutcome:
    """Train a challenger on all labeled data; promote it only if it passes the gates and beats the champion."""
    registry = services.registry(settings)
    champion = registry.load(CHAMPION)
    contract = champion.contract
    labeled, sources = labeled_rows(settings, contract)
    if labeled.empty:
        raise ModelNotFoundError("no labeled data to retrain on / no hay datos etiquetados para reentrenar")
    trained = train_model(labeled, contract, seed=seed, holdout_mask=comparison_holdout(labeled, contract, seed))
    holdout = labeled.iloc[trained.holdout_index]
    y_holdout = target_vector(holdout[contract.target], contract)
    champion_scores = champion.booster.predict(model_matrix(holdout, champion.contract, champion.features))
    champion_metrics = {k: round(v, 4) for k, v in binary_metrics(y_holdout, champion_scores, champion.threshold).items()}
    version = registry.register(trained, contract, sources=sources, purpose=f"retrain:{trigger}")
    record_event(settings, "trained", version, reason=reason or "retrain", metrics=trained.metrics)
    challenger_auc, champion_auc = trained.metrics["roc_auc"], champion_metrics["roc_auc"]
    needed = champion_auc + contract.challenger_margin
    beats = bool(np.isfinite(challenger_auc) and challenger_auc >= needed)
    if trained.gates_passed and beats:
        registry.promote(version)
        promoted = True
        reason_es = (
            f"Retador v{version} promovido: ROC-AUC {challenger_auc:.4f} frente a {champion_auc:.4f} del campeón v{champion.version} "
            f"en el mismo holdout (margen exigido {contract.challenger_margin:+.3f}) y supera los umbrales del negocio."
        )
        reason_en = (
            f"Challenger v{version} promoted: ROC-AUC {challenger_auc:.4f} vs {champion_auc:.4f} for champion v{champion.version} "
            f"on the same holdout (required margin {contract.challenger_margin:+.3f}) and it passes the business gates."
        )
        record_event(settings, "promoted", version, previous=champion.version, reason=reason_en, metrics=trained.metrics)
    else:
        registry.set_alias(CHALLENGER, version)
        promoted = False
        why_es, why_en = [], []
        if not trained.gates_passed:
            why_es.append("no supera los umbrales del negocio (" + "; ".join(trained.gate_failures) + ")")
            why_en.append("it does not pass the business gates (" + "; ".join(trained.gate_failures) + ")")
        if not beats:
            why_es.append(f"su ROC-AUC {challenger_auc:.4f} no supera {champion_auc:.4f} del campeón v{champion.version} + margen {contract.challenger_margin:.3f}")
            why_en.append(f"its ROC-AUC {challenger_auc:.4f} does not beat champion v{champion.version}'s {champion_auc:.4f} + margin {contract.challenger_margin:.3f}")
        reason_es = f"Se mantiene el campeón v{champion.version}; el retador v{version} queda como «challenger» porque " + " y ".join(why_es) + "."
        reason_en = f"Champion v{champion.version} stays; challenger v{version} is kept as 'challenger' because " + " and ".join(why_en) + "."
        record_event(settings, "kept", version, previous=champion.version, reason=reason_en, metrics=trained.metrics)
    logger.info(reason_en)
    return _outcome(settings, trained, version, promoted, reason_es, reason_en, champion.version, champion_metrics, None, 0, contract)


def promote(settings: Settings, version: str, *, reason: str = "manual promotion") -> dict[str, Any]:
    registry = services.registry(settings)
    if not any(v["version"] == str(version) for v in registry.versions()):
        raise ModelNotFoundError(f"model {settings.model_name!r} has no version {version}")
    previous = registry.promote(str(version))
    record_event(settings, "promoted", str(version), previous=previous, reason=reason)
    return {"model_version": str(version), "previous": previous, "promoted": True, "reason": reason}


def rollback(settings: Settings, *, reason: str = "manual rollback") -> dict[str, Any]:
    restored, demoted = services.registry(settings).rollback()
    record_event(settings, "rolled_back", restored, previous=demoted, reason=reason)
    return {"model_version": restored, "previous": demoted, "rolled_back": True, "reason": reason}
