"""Measured performance: the outcomes dropped under ``labels/`` joined to the predictions by id.

Labels arrive late (a month or more after scoring) and partially (not every scored row ever
gets an outcome), so every number here says how many rows it rests on, and a period with too
few labels says "insufficient labels" instead of a metric.

A metric under its business gate is judged the way drift is: a monthly estimate on a few
hundred labels moves by several points by chance alone, so the check calls it *decay* only
when the whole 95 % confidence interval lies below the gate (Wilson intervals for precision
and recall, Hanley–McNeil for ROC-AUC). An estimate under the gate whose interval still
reaches it is a warning, shown but not acted on.

Everything but :func:`read_predictions` and :func:`evaluate` is pure (outcomes are read by
:mod:`shared.monitor.labels`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shared import formatting as fmt
from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.i18n import message
from shared.i18n.monitoring import metric_name
from shared.ingest.contract import Contract
from shared.model.metrics import macro_f1, regression_metrics, roc_auc
from shared.monitor.labels import read_labels
from shared.settings import Settings

logger = logging.getLogger(__name__)

MIN_LABELED_ROWS = 200
"""Fewer labeled rows in a period than this: insufficient labels, no metric judged."""
MIN_CLASS_ROWS = 10
"""...and fewer actual positives or negatives than this: the same."""
CONFIDENCE_Z = 1.959963984540054
"""Two-sided 95 % normal quantile for the intervals."""
PERFORMANCE_LOOKBACK_DAYS = 400
"""Predictions older than this are not read (a year of months plus late labels)."""
MAX_PREDICTION_ROWS = 2_000_000
"""The newest predictions read at most (about 20 months at 100 000 a day would not fit a function's memory)."""
METRICS = ("roc_auc", "precision", "recall")
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": METRICS,
    "multiclass": ("macro_f1", "accuracy"),
    "regression": ("r2", "rmse", "mae"),
}
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
"""Metrics whose gate is a ceiling (in the target's unit), not a floor."""
BOOTSTRAP_RESAMPLES = 200
"""Seeded resamples for the intervals of metrics without a closed form (macro-F1, R², RMSE, MAE)."""


@dataclass
class PeriodPerformance:
    """Measured metrics of one period (a month of scoring, or one file)."""

    period: str
    rows_scored: int
    rows_labeled: int
    coverage: float
    actual_positives: int
    predicted_positive_rate: float
    actual_positive_rate: float | None
    metrics: dict[str, float | None] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    below_gate: list[str] = field(default_factory=list)
    significantly_below: list[str] = field(default_factory=list)
    sufficient: bool = False
    model_versions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PerformanceResult:
    """What the drift check and the dashboard need to know about measured performance."""

    gates: dict[str, float]
    periods: list[PeriodPerformance]
    evaluated: PeriodPerformance | None
    decay: bool
    below_gate: bool
    labels_available: int
    labeled_predictions: int
    model_version: str | None
    message_es: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "gates": self.gates,
            "periods": [period.to_dict() for period in self.periods],
            "evaluated": self.evaluated.to_dict() if self.evaluated else None,
            "decay": self.decay,
            "below_gate": self.below_gate,
            "labels_available": self.labels_available,
            "labeled_predictions": self.labeled_predictions,
            "model_version": self.model_version,
            "message_es": self.message_es,
            "message_en": self.message_en,
        }


# --------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, trials: int, z: float = CONFIDENCE_Z) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    proportion = successes / trials
    denominator = 1 + z * z / trials
    centre = (proportion + z * z / (2 * trials)) / denominator
    half_width = z * math.sqrt(proportion * (1 - proportion) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def auc_interval(auc: float, positives: int, negatives: int, z: float = CONFIDENCE_Z) -> tuple[float, float] | None:
    """Hanley–McNeil (1982) normal interval of a ROC-AUC; None without both classes."""
    if positives <= 0 or negatives <= 0 or not math.isfinite(auc):
        return None
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    half_width = z * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half_width), min(1.0, auc + half_width)


def measure(
    actual: np.ndarray,
    scores: np.ndarray,
    predicted_positive: np.ndarray,
    gates: dict[str, float],
) -> tuple[dict[str, float | None], dict[str, tuple[float, float] | None], list[str], list[str]]:
    """Metrics, their 95 % intervals, the metrics under their gate, and those whose interval is."""
    actual = np.asarray(actual, dtype=bool)
    predicted = np.asarray(predicted_positive, dtype=bool)
    true_positives = int((actual & predicted).sum())
    predicted_positives = int(predicted.sum())
    positives = int(actual.sum())
    negatives = int((~actual).sum())
    auc = roc_auc(actual, scores)
    metrics: dict[str, float | None] = {
        "roc_auc": auc,
        "precision": true_positives / predicted_positives if predicted_positives else None,
        "recall": true_positives / positives if positives else None,
    }
    intervals: dict[str, tuple[float, float] | None] = {
        "roc_auc": auc_interval(auc, positives, negatives) if auc is not None else None,
        "precision": wilson_interval(true_positives, predicted_positives),
        "recall": wilson_interval(true_positives, positives),
    }
    below, significant = [], []
    for metric, floor in gates.items():
        value = metrics.get(metric)
        if value is None:
            continue
        if value < floor:
            below.append(metric)
            interval = intervals.get(metric)
            if interval is not None and interval[1] < floor:
                significant.append(metric)
    return metrics, intervals, below, significant


def _bootstrap(statistic, size: int, seed: int = 0) -> tuple[float, float] | None:  # noqa: ANN001 - positions -> float
    """Percentile interval (95 %) of ``statistic`` over seeded resamples of row positions."""
    if size < 2:
        return None
    random_generator = np.random.default_rng(seed)
    values = [statistic(random_generator.integers(0, size, size)) for _ in range(BOOTSTRAP_RESAMPLES)]
    values = [value for value in values if np.isfinite(value)]
    if not values:
        return None
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def measure_task(
    task: str, actual: np.ndarray, predicted: np.ndarray, gates: dict[str, float]
) -> tuple[dict[str, float | None], dict[str, tuple[float, float] | None], list[str], list[str]]:
    """Multiclass (labels) or regression (values) metrics with bootstrap intervals, judged like :func:`measure`.

    A ceiling (RMSE, MAE) is missed when the value is above it, and significantly so when the
    whole interval is.
    """
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float, float] | None] = {}
    if task == "multiclass":
        actual, predicted = np.asarray(actual, dtype=object).astype(str), np.asarray(predicted, dtype=object).astype(str)
        classes = np.unique(actual)
        metrics = {"macro_f1": macro_f1(actual, predicted, classes), "accuracy": float(np.mean(actual == predicted))}
        correct = int(np.sum(actual == predicted))
        intervals["accuracy"] = wilson_interval(correct, len(actual))
        intervals["macro_f1"] = _bootstrap(lambda rows: macro_f1(actual[rows], predicted[rows], classes), len(actual))
    else:
        actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
        errors = regression_metrics(actual, predicted)
        metrics = {metric: errors[metric] for metric in TASK_METRICS["regression"]}
        for metric in TASK_METRICS["regression"]:
            intervals[metric] = _bootstrap(lambda rows, m=metric: regression_metrics(actual[rows], predicted[rows])[m], len(actual))
    below, significant = [], []
    for metric, limit in gates.items():
        value = metrics.get(metric)
        if value is None or not np.isfinite(value):
            continue
        interval = intervals.get(metric)
        if metric in LOWER_IS_BETTER:
            if value > limit:
                below.append(metric)
                if interval is not None and interval[0] > limit:
                    significant.append(metric)
        elif value < limit:
            below.append(metric)
            if interval is not None and interval[1] < limit:
                significant.append(metric)
    return metrics, intervals, below, significant


# --------------------------------------------------------------------------- joining


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Predictions with their outcome (``actual``: 1, 0, or NA when no label has arrived yet).

    ``predictions``: ``row_id``, ``score``, ``label`` (predicted, as text), ``scored_at``,
    ``model_version`` and optionally ``batch_key``/``period``. ``labels``: ``row_id`` and
    ``actual`` (0/1). The same id scored twice (a file dropped again) keeps its latest score;
    the same id labeled twice keeps the label that arrived last (the order of ``labels``).
    """
    if predictions.empty:
        return predictions.assign(actual=pd.Series(dtype="Int64"))
    latest = predictions.sort_values("scored_at", kind="stable").drop_duplicates("row_id", keep="last")
    outcomes = labels.drop_duplicates("row_id", keep="last")[["row_id", "actual"]] if not labels.empty else pd.DataFrame({"row_id": pd.Series(dtype="str"), "actual": pd.Series(dtype="Int64")})
    joined = latest.merge(outcomes, on="row_id", how="left")
    if pd.api.types.is_integer_dtype(outcomes["actual"].dtype) or pd.api.types.is_bool_dtype(outcomes["actual"].dtype):
        joined["actual"] = joined["actual"].astype("Int64")  # binary outcomes: 0/1 with NA for "not yet"
    return joined.reset_index(drop=True)


def period_performance(
    joined: pd.DataFrame,
    *,
    positive_label: str,
    gates: dict[str, float],
    period_column: str = "period",
    min_labeled_rows: int = MIN_LABELED_ROWS,
    min_class_rows: int = MIN_CLASS_ROWS,
    task: str = "binary",
) -> list[PeriodPerformance]:
    """One :class:`PeriodPerformance` per value of ``period_column``, in order of first scoring.

    ``binary``: ``actual`` is 0/1 and ``score`` the probability; ``multiclass``: ``actual`` and
    ``label`` are class names; ``regression``: ``actual`` and ``score`` are values.
    """
    if joined.empty:
        return []
    names = TASK_METRICS.get(task, METRICS)
    order = joined.groupby(period_column, sort=False)["scored_at"].min().sort_values().index
    periods = []
    for period in order:
        rows = joined[joined[period_column] == period]
        labeled = rows[rows["actual"].notna()]
        metrics: dict[str, float | None] = dict.fromkeys(names)
        intervals: dict[str, tuple[float, float] | None] = dict.fromkeys(names)
        below: list[str] = []
        significant: list[str] = []
        if task == "binary":
            actual = labeled["actual"].astype(int).to_numpy().astype(bool)
            predicted_all = (rows["label"].astype(str) == positive_label).to_numpy()
            positives = int(actual.sum())
            sufficient = len(labeled) >= min_labeled_rows and positives >= min_class_rows and len(labeled) - positives >= min_class_rows
            if len(labeled):
                metrics, intervals, below, significant = measure(
                    actual,
                    labeled["score"].to_numpy(dtype=float),
                    (labeled["label"].astype(str) == positive_label).to_numpy(),
                    gates,
                )
            actual_rate = float(actual.mean()) if len(labeled) else None
            predicted_rate = float(predicted_all.mean()) if len(rows) else 0.0
        else:
            positives, actual_rate, predicted_rate = 0, None, 0.0
            sufficient = len(labeled) >= min_labeled_rows
            if len(labeled):
                predicted = labeled["label"] if task == "multiclass" else labeled["score"]
                metrics, intervals, below, significant = measure_task(task, labeled["actual"].to_numpy(), predicted.to_numpy(), gates)
        if not sufficient:
            below, significant = [], []
        periods.append(
            PeriodPerformance(
                period=str(period),
                rows_scored=len(rows),
                rows_labeled=len(labeled),
                coverage=len(labeled) / len(rows) if len(rows) else 0.0,
                actual_positives=positives,
                predicted_positive_rate=predicted_rate,
                actual_positive_rate=actual_rate,
                metrics=metrics,
                intervals=intervals,
                below_gate=below,
                significantly_below=significant,
                sufficient=sufficient,
                model_versions=sorted(rows["model_version"].dropna().astype(str).unique().tolist()),
            )
        )
    return periods


def month_of(timestamps: pd.Series) -> pd.Series:
    """``YYYY-MM`` of UTC timestamps."""
    return pd.to_datetime(timestamps, utc=True).dt.strftime("%Y-%m")


# --------------------------------------------------------------------------- reading


def read_predictions(
    settings: Settings, *, since: datetime | None, until: datetime | None, limit: int = MAX_PREDICTION_ROWS
) -> pd.DataFrame:
    """Champion predictions (the scores users got) scored in ``[since, until)``, the newest ``limit``, oldest first."""
    frame = services.warehouse(settings).read(
        "predictions",
        since=since,
        until=until,
        where={"model_role": CHAMPION},
        columns=["batch_key", "source_uri", "row_id", "score", "label", "reason_1", "model_version", "scored_at"],
        limit=limit,
        newest_first=True,
    )
    return frame.iloc[::-1].reset_index(drop=True)


# --------------------------------------------------------------------------- the check


def evaluate(
    settings: Settings,
    contract: Contract,
    model_version: str,
    *,
    now: datetime,
    predictions: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
) -> PerformanceResult:
    """Measured performance per month and the verdict on the current champion.

    The verdict looks at the latest month of scoring that has enough labels for the
    champion's own predictions (rows another version scored say nothing about this one).
    """
    if predictions is None:
        predictions = read_predictions(settings, since=now - timedelta(days=PERFORMANCE_LOOKBACK_DAYS), until=now)
    if labels is None:
        labels = read_labels(settings, contract)  # shared.monitor.labels: the one reader of outcomes
    return judge(predictions, labels, contract, model_version)


def judge(predictions: pd.DataFrame, labels: pd.DataFrame, contract: Contract, model_version: str) -> PerformanceResult:
    """:func:`evaluate` without the reading: monthly metrics and the verdict."""
    task = getattr(contract, "task", "binary")
    gates = task_gates(contract)
    joined = join_labels(predictions, labels)
    if not joined.empty:
        joined = joined.assign(period=month_of(joined["scored_at"]))
    periods = period_performance(joined, positive_label=contract.positive, gates=gates, task=task)
    champion_rows = joined[joined["model_version"].astype(str) == str(model_version)] if not joined.empty else joined
    champion_periods = period_performance(champion_rows, positive_label=contract.positive, gates=gates, task=task)
    evaluated = next((period for period in reversed(champion_periods) if period.sufficient), None)
    labeled_predictions = int(joined["actual"].notna().sum()) if not joined.empty else 0
    decay = bool(evaluated and evaluated.significantly_below)
    below = bool(evaluated and evaluated.below_gate)
    message_es, message_en = _verdict_text(evaluated, gates, decay, below, labeled_predictions, len(labels))
    return PerformanceResult(
        gates=gates,
        periods=periods,
        evaluated=evaluated,
        decay=decay,
        below_gate=below,
        labels_available=len(labels),
        labeled_predictions=labeled_predictions,
        model_version=str(model_version),
        message_es=message_es,
        message_en=message_en,
    )


def task_gates(contract: Contract) -> dict[str, float]:
    """The contract's gates on the metrics its task measures (floors, or ceilings for RMSE/MAE)."""
    names = TASK_METRICS.get(getattr(contract, "task", "binary"), METRICS)
    return {metric: float(limit) for metric, limit in contract.gates.items() if metric in names}


def metrics_of(contract: Contract) -> tuple[str, ...]:
    return TASK_METRICS.get(getattr(contract, "task", "binary"), METRICS)


def _verdict_text(
    evaluated: PeriodPerformance | None,
    gates: dict[str, float],
    decay: bool,
    below: bool,
    labeled_predictions: int,
    labels_available: int,
) -> tuple[str, str]:
    if evaluated is None:
        return tuple(  # type: ignore[return-value]
            message(
                "performance_insufficient_labels", language,
                labeled=fmt.integer(labeled_predictions, language), minimum=fmt.integer(MIN_LABELED_ROWS, language),
            )  # fmt: skip
            for language in ("es", "en")
        )

    def describe(language: str) -> str:
        parts = []
        for metric in evaluated.metrics:
            value = evaluated.metrics.get(metric)
            if value is None:
                continue
            interval = evaluated.intervals.get(metric)
            floor = gates.get(metric)
            text = f"{metric_name(metric, language)} {fmt.decimal(value, language, 3)}"
            if interval:
                text += f" [{fmt.decimal(interval[0], language, 3)}–{fmt.decimal(interval[1], language, 3)}]"
            if floor is not None:
                text += " (" + message("performance_gate", language, value=fmt.decimal(floor, language, 2)) + ")"
            parts.append(text)
        return ", ".join(parts)

    if decay:
        code, named = "performance_decay", evaluated.significantly_below
    elif below:
        code, named = "performance_below_gate", evaluated.below_gate
    else:
        code, named = "performance_within_gates", []

    def verdict(language: str) -> str:
        rows = message("performance_labeled_rows", language, rows=fmt.integer(evaluated.rows_labeled, language), period=evaluated.period)
        metrics = ", ".join(metric_name(m, language) for m in named)
        return message(code, language, metrics=metrics, rows=rows, detail=describe(language))

    return verdict("es"), verdict("en")
