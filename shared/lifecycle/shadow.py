"""Champion and challenger in production: shadow scoring, the comparison on real labels, and the
watch after a promotion that rolls back by itself.

- **Shadow scoring.** While a ``challenger`` alias exists, every batch the champion scores is also
  scored by the challenger (without reasons: nobody reads them). Users get the champion's file;
  the warehouse keeps both, ``model_role`` telling them apart.
- **Comparison on labels.** When outcomes arrive (a ``labels/`` file), the rows both models scored
  that now have an outcome are counted; from the contract's ``lifecycle.shadow_min_labels``
  (default 500) on, the two are compared on exactly those rows. A challenger that passes the
  gates and beats the champion by the contract's margin is promoted automatically; otherwise it
  stays challenger and the comparison is recorded with the reason.
- **Automatic rollback.** After a promotion (while the last alias move was a promotion, so a
  rollback never ping-pongs), the new champion's labeled predictions are measured; with enough
  labels, a primary metric more than ``lifecycle.rollback_tolerance`` (default 5 %) below its
  validation metric, or a gate missed, rolls back to ``previous`` at once and raises an alert.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shared.backends import services
from shared.backends.registry import CHALLENGER, CHAMPION, PREVIOUS
from shared.errors import ModelNotFoundError, PermanentError, TransientError, as_dropscore_error
from shared.i18n import both, message
from shared.ingest.contract import Contract
from shared.model import metrics
from shared.model.features import target_for_task
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import class_score_column, model_classes, model_task
from shared.monitor.labels import read_outcomes
from shared.settings import Settings

logger = logging.getLogger(__name__)

SHADOW_ACTOR = "dropscore:shadow-review"
ROLLBACK_ACTOR = "dropscore:auto-rollback"
PREDICTION_COLUMNS = ["batch_key", "row_id", "score", "label", "model_version", "model_role", "scored_at"]


# -- shadow scoring ---------------------------------------------------------------------------------


def challenger_for_shadow(settings: Settings, champion: LoadedModel) -> LoadedModel | None:
    """The challenger to shadow-score with, or None (none, the same as the champion, or unusable)."""
    from shared.lifecycle.model_loading import load_model

    registry = services.registry(settings)
    try:
        version = registry.version_of(CHALLENGER)
        if version is None or version == champion.version:
            return None
        return load_model(settings, version)
    except Exception as exc:
        if not isinstance(as_dropscore_error(exc), PermanentError):
            raise  # MLflow not answering: the batch is retried, shadow scores and all
        logger.error("shadow scoring skipped: %s", exc)  # a challenger that cannot load: users still get the champion's scores
        return None


def warehouse_rows(predictions: pd.DataFrame, model: LoadedModel, *, role: str, source_uri: str | None, scored_at: datetime) -> pa.Table:
    """Rows of the ``predictions`` table for any task: score = P(positive), P(predicted class) or the value.

    Built as Arrow columns of the table's types (shared.backends.warehouse.frames.conform_arrow takes
    them as they are): a pandas frame of object columns, converted cell by cell on its way to the
    warehouse, cost 0.6 s of a 200 000-row score step; these cost a few hundredths.
    """
    task = model_task(model)
    count = len(predictions)
    id_column = model.contract.output_id_column
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "source_uri": _repeated_text(source_uri, count),
        "row_id": _text(predictions[id_column]),
        "score": _floats(predictions["prediction"] if task == "regression" else predictions["score"]),
        "label": _text(predictions["label"]) if "label" in predictions else pa.nulls(count, pa.string()),
        **{f"reason_{slot}": _text(predictions[f"reason_{slot}"]) for slot in (1, 2, 3)},
        "model_version": _repeated_text(model.version, count),
        "model_role": _repeated_text(role, count),
        # Arrow reads a naive time as UTC, the warehouse's rule (shared.backends.warehouse.frames).
        "scored_at": pa.repeat(pa.scalar(scored_at, pa.timestamp("us", tz="UTC")), count),
    }
    if task == "regression":
        columns["prediction_low"] = _floats(predictions["prediction_low"])
        columns["prediction_high"] = _floats(predictions["prediction_high"])
    elif task == "multiclass":
        classes = model_classes(model)
        names = [class_score_column(name) for name in classes]
        values = predictions[names].to_numpy(dtype=float) if count else np.zeros((0, len(classes)))
        columns["class_scores"] = pa.array(class_scores_json(classes, values), pa.string())
    return pa.table(columns)


def _text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as Arrow text, missing values NULL; other values as ``astype("string")`` writes them."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    return pa.array(values, from_pandas=True).cast(pa.string())  # pandas keeps large_string: same text


def _floats(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(float).to_numpy(), pa.float64(), from_pandas=True)  # NaN is NULL, as in a frame


def _repeated_text(value: object, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(None if value is None else str(value), pa.string()), count)


def class_scores_json(classes: list[str], values: np.ndarray) -> list[str]:
    """Each row's class probabilities as JSON text: ``json.dumps(dict(zip(classes, row)), ensure_ascii=False)``.

    Filled into one template with ``%r`` (a float's repr is what json writes for it): 0.34 s instead of
    0.93 for 200 000 rows of three classes. Names that are not distinct strings, and values json writes
    otherwise (NaN, infinity), take json.dumps itself.
    """
    rows = values.tolist()
    if all(isinstance(name, str) for name in classes) and len(set(classes)) == len(classes) and np.isfinite(values).all():
        template = "{" + ", ".join(json.dumps(name, ensure_ascii=False).replace("%", "%%") + ": %r" for name in classes) + "}"
        return [template % tuple(row) for row in rows]
    return [json.dumps(dict(zip(classes, row, strict=True)), ensure_ascii=False) for row in rows]


def shadow_rows(
    challenger: LoadedModel | None, clean: pd.DataFrame | pa.Table, *, source_uri: str | None, scored_at: datetime, language: str, num_threads: int = 1
) -> pa.Table | None:
    """The challenger's warehouse rows for a clean batch (None without a challenger; never raises)."""
    if challenger is None:
        return None
    from shared.model.scoring import score_batch

    try:
        predictions = score_batch(challenger, clean, language=language, with_reasons=False, num_threads=num_threads)
        return warehouse_rows(predictions, challenger, role=CHALLENGER, source_uri=source_uri, scored_at=scored_at)
    except Exception as exc:
        if isinstance(as_dropscore_error(exc), TransientError):
            raise  # a fault that passes: the batch is retried whole
        # A broken challenger must never cost users their predictions.
        logger.exception("shadow scoring by challenger v%s failed", challenger.version)
        return None


# -- measuring on labels ----------------------------------------------------------------------------


def measured_metrics(joined: pd.DataFrame, contract: Contract, task: str) -> dict[str, float]:
    """Metrics of warehouse predictions (``score``, ``label``) against ``actual``, by task."""
    y, usable = target_for_task(joined["actual"], contract)
    joined, y = joined[usable], y[usable]
    out: dict[str, float] = {"rows": float(len(joined))}
    if not len(joined):
        return out
    if task == "regression":
        predicted = joined["score"].to_numpy(dtype=float)
        errors = metrics.regression_metrics(y, predicted)
        out.update(rmse=errors["rmse"], mae=errors["mae"], r2=errors["r2"])
    elif task == "multiclass":
        lookup = {name: code for code, name in enumerate(contract.classes)}
        predicted = joined["label"].astype(str).map(lookup).fillna(-1).astype(int).to_numpy()
        out.update(macro_f1=metrics.macro_f1(y, predicted, np.arange(len(contract.classes))), accuracy=float(np.mean(y == predicted)))
    else:
        predicted = (joined["label"].astype(str) == contract.positive).to_numpy().astype(int)
        scores = joined["score"].to_numpy(dtype=float)
        decided = metrics.label_metrics(y, scores, predicted)
        out.update(roc_auc=decided["roc_auc"], precision=decided["precision"], recall=decided["recall"])
    return out


def _latest(predictions: pd.DataFrame) -> pd.DataFrame:
    """One prediction per row id: the latest scored (a file dropped twice keeps its last scores)."""
    return predictions.sort_values("scored_at", kind="stable").drop_duplicates("row_id", keep="last")


def _measurable_gates(contract: Contract, metrics: dict[str, float]) -> dict[str, float]:
    return {metric: limit for metric, limit in contract.gates.items() if metric in metrics}


# -- decisions --------------------------------------------------------------------------------------


@dataclass
class ReviewResult:
    shadow: dict[str, Any] = field(default_factory=dict)
    watch: dict[str, Any] = field(default_factory=dict)
    promoted: str | None = None
    rolled_back: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _event_id(*parts: Any) -> str:
    return "review-" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def compare_shadow(settings: Settings, champion: LoadedModel, outcomes: pd.DataFrame) -> dict[str, Any]:
    """Champion vs challenger on the rows both scored that now have an outcome; promote the challenger if it wins."""
    from shared.lifecycle.promotion import beats, raise_model_alert, record_event

    # Imported here, not with the module: a score instance shadow-scores without the training code.
    from shared.model.training import gate_failures, primary_metric

    registry = services.registry(settings)
    challenger_version = registry.version_of(CHALLENGER)
    if challenger_version is None or challenger_version == champion.version:
        return {"status": "no_challenger"}
    contract = champion.contract
    warehouse = services.warehouse(settings)
    shadow = warehouse.read("predictions", where={"model_role": CHALLENGER, "model_version": challenger_version}, columns=PREDICTION_COLUMNS)
    if shadow.empty:
        return {"status": "no_shadow_scores", "challenger": challenger_version}
    served = warehouse.read("predictions", since=shadow["scored_at"].min(), where={"model_role": CHAMPION}, columns=PREDICTION_COLUMNS)
    served = served[served["batch_key"].isin(set(shadow["batch_key"]))]
    scored_by_both = _latest(shadow).merge(_latest(served), on="row_id", suffixes=("_challenger", "_champion")).merge(outcomes, on="row_id")
    labeled = len(scored_by_both)
    needed = contract.shadow_min_labels
    if labeled < needed:
        return {"status": "waiting_for_labels", "challenger": challenger_version, "labeled_rows": labeled, "needed": needed}
    task = model_task(champion)
    side = {role: scored_by_both.rename(columns={"score_" + role: "score", "label_" + role: "label"})[["row_id", "score", "label", "actual"]] for role in ("challenger", "champion")}
    challenger_metrics = measured_metrics(side["challenger"], contract, task)
    champion_metrics = measured_metrics(side["champion"], contract, task)
    metric = primary_metric(task)
    margin = contract.challenger_margin
    failures = gate_failures(challenger_metrics, _measurable_gates(contract, challenger_metrics))
    wins = beats(challenger_metrics.get(metric, float("nan")), champion_metrics.get(metric, float("nan")), margin, metric)
    evidence = {"challenger": challenger_version, "champion": champion.version, "labeled_rows": labeled, "metric": metric, "margin": margin,
                "challenger_metrics": challenger_metrics, "champion_metrics": champion_metrics, "gate_failures": failures}
    ch, cp = challenger_metrics.get(metric, float("nan")), champion_metrics.get(metric, float("nan"))
    if wins and not failures:
        reason_es, reason_en = both(
            "shadow_promoted_reason", labeled=labeled, challenger=challenger_version, champion=champion.version, metric=metric,
            challenger_value=f"{ch:.4f}", champion_value=f"{cp:.4f}", margin=f"{margin:+.3f}",
        )
        record_event(settings, "shadow_compared", challenger_version, previous=champion.version, reason=reason_en, metrics=evidence, actor=SHADOW_ACTOR,
                     event_id=_event_id("shadow", settings.model_name, challenger_version, labeled))
        registry.promote(challenger_version)
        record_event(settings, "promoted", challenger_version, previous=champion.version, reason=reason_en, metrics=evidence, actor=SHADOW_ACTOR,
                     event_id=_event_id("shadow-promoted", settings.model_name, challenger_version))
        raise_model_alert(
            settings, alert_key=f"shadow-promoted:{challenger_version}", severity="info",
            title_es=message("shadow_promoted_title", "es", version=challenger_version), title_en=message("shadow_promoted_title", "en", version=challenger_version),
            evidence=evidence, action_es=message("shadow_promoted_action", "es"), action_en=message("shadow_promoted_action", "en"),
        )
        return {"status": "promoted", **evidence, "reason_es": reason_es, "reason_en": reason_en}
    why_en = []
    if failures:
        why_en.append("it misses the gates (" + "; ".join(failures) + ")")
    if not wins:
        why_en.append(f"its {metric} {ch:.4f} does not beat the champion's {cp:.4f} + margin {margin:.3f}")
    reason_en = f"Shadow comparison on {labeled} labeled rows: challenger v{challenger_version} stays challenger because " + " and ".join(why_en) + "."
    record_event(settings, "shadow_compared", challenger_version, previous=champion.version, reason=reason_en, metrics=evidence, actor=SHADOW_ACTOR,
                 event_id=_event_id("shadow", settings.model_name, challenger_version, labeled))
    return {"status": "kept", **evidence, "reason_en": reason_en}


def _last_alias_move(settings: Settings) -> pd.Series | None:
    """The latest promotion or rollback in ``model_events`` for this model."""
    events = services.warehouse(settings).read("model_events", where={"model_name": settings.model_name})
    moves = events[events["event"].isin(["promoted", "rolled_back"])]
    return None if moves.empty else moves.iloc[-1]


def watch_champion(settings: Settings, champion: LoadedModel, outcomes: pd.DataFrame) -> dict[str, Any]:
    """After a promotion: roll back at once when labeled outcomes show the new champion decaying."""
    from shared.lifecycle.promotion import raise_model_alert, rollback
    from shared.model.training import LOWER_IS_BETTER, gate_failures, primary_metric

    registry = services.registry(settings)
    previous = registry.version_of(PREVIOUS)
    if previous is None:
        return {"status": "no_previous"}
    move = _last_alias_move(settings)
    if move is None or move["event"] != "promoted" or str(move["version"]) != champion.version:
        return {"status": "not_watching", "reason": "the last alias move was not this champion's promotion"}
    served = services.warehouse(settings).read(
        "predictions", since=move["occurred_at"], where={"model_role": CHAMPION, "model_version": champion.version}, columns=PREDICTION_COLUMNS
    )
    joined = _latest(served).merge(outcomes, on="row_id") if not served.empty else served
    contract = champion.contract
    labeled = len(joined)
    if labeled < contract.shadow_min_labels:
        return {"status": "waiting_for_labels", "champion": champion.version, "labeled_rows": labeled, "needed": contract.shadow_min_labels}
    task = model_task(champion)
    measured = measured_metrics(joined, contract, task)
    metric = primary_metric(task)
    validation = float((champion.meta.get("validation_metrics") or {}).get(metric, float("nan")))
    value = measured.get(metric, float("nan"))
    tolerance = contract.rollback_tolerance
    if metric in LOWER_IS_BETTER:
        decayed = np.isfinite(validation) and value > validation * (1 + tolerance)
    else:
        decayed = np.isfinite(validation) and value < validation * (1 - tolerance)
    failures = gate_failures(measured, _measurable_gates(contract, measured))
    evidence = {"champion": champion.version, "previous": previous, "labeled_rows": labeled, "metric": metric, "measured": measured,
                "validation": validation, "tolerance": tolerance, "gate_failures": failures}
    if not decayed and not failures:
        return {"status": "healthy", **evidence}
    reasons = []
    if decayed:
        reasons.append(both("rollback_why_decayed", metric=metric, value=f"{value:.4f}", tolerance=f"{tolerance:.0%}", validation=f"{validation:.4f}"))
    if failures:
        reasons.append(both("rollback_why_gates", failures="; ".join(failures)))
    and_es, and_en = both("reasons_and")
    told = {"champion": champion.version, "labeled": labeled, "previous": previous}
    reason_es = message("rollback_reason", "es", **told, why=and_es.join(es for es, _ in reasons))
    reason = message("rollback_reason", "en", **told, why=and_en.join(en for _, en in reasons))
    rollback(settings, reason=reason, actor=ROLLBACK_ACTOR)
    raise_model_alert(
        settings, alert_key=f"auto-rollback:{champion.version}:{move['event_id']}", severity="critical",
        title_es=message("rollback_title", "es", previous=previous, champion=champion.version),
        title_en=message("rollback_title", "en", previous=previous, champion=champion.version),
        evidence={**evidence, "reason_es": reason_es, "reason_en": reason},
        action_es=message("rollback_action", "es"),
        action_en=message("rollback_action", "en"),
    )
    return {"status": "rolled_back", **evidence, "reason_es": reason_es, "reason_en": reason}


def review_after_labels(settings: Settings) -> dict[str, Any]:
    """Run when outcomes arrive: the shadow comparison, then the watch on the (possibly new) champion.

    The labels are kept whatever happens here (the clean step stored them). A transient fault
    (MLflow or the warehouse not answering) raises, so the score function's delivery is retried
    and an automatic rollback is never skipped in silence; a permanent one is reported: an alert,
    a log line with severity, and the review's status.
    """
    from shared.lifecycle.model_loading import load_model

    result = ReviewResult()
    try:
        champion = load_model(settings, CHAMPION)
    except ModelNotFoundError as exc:  # labels before the first model: nothing to review yet
        return {"status": "no_champion", "detail": str(exc)}
    except Exception as exc:
        return _review_failed(settings, result, exc)
    try:
        outcomes = read_outcomes(settings, champion.contract)
        result.shadow = compare_shadow(settings, champion, outcomes)
        if result.shadow.get("status") == "promoted":
            result.promoted = result.shadow["challenger"]
            return result.to_dict()  # a fresh champion has no labeled predictions of its own yet
        result.watch = watch_champion(settings, champion, outcomes)
        if result.watch.get("status") == "rolled_back":
            result.rolled_back = result.watch["champion"]
    except Exception as exc:
        return _review_failed(settings, result, exc)
    return result.to_dict()


def _review_failed(settings: Settings, result: ReviewResult, exc: Exception) -> dict[str, Any]:
    """Raise what a retry may fix (and what nobody classified); report, with an alert, what it cannot."""
    from shared.lifecycle.promotion import raise_model_alert

    error = as_dropscore_error(exc)
    if not isinstance(error, PermanentError):
        raise exc
    code = type(error).__name__
    logger.error("model review after labels refused for good (%s): %s", code, error)
    title_es, title_en = message("review_refused_title", "es", reason=str(error)), message("review_refused_title", "en", reason=str(error))
    action_es, action_en = both("review_refused_action")
    raise_model_alert(
        settings, alert_key=f"review-refused:{code}:{error}", severity="critical", title_es=title_es, title_en=title_en,
        evidence={"code": code, "error": str(error), **result.to_dict()}, action_es=action_es, action_en=action_en,
    )
    return {**result.to_dict(), "status": "refused", "code": code, "detail": str(error)}
