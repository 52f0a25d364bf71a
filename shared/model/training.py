"""Train a LightGBM model the way a careful data scientist would, on a table it has never seen.

The recipe, the same for every data set (no data-set-specific code):

1. **Holdout first.** 15 % of the labeled rows (stratified), or the rows the caller names (the
   fresh labels a challenger and the champion are compared on), are put aside and touched only
   to report metrics. Everything else is the *development* set.
2. **Leakage guard** (:mod:`shared.model.leakage`) on the development rows: a column that alone
   predicts the target almost perfectly is excluded and named, unless the contract allows it.
3. **A small, time-bounded search** over a few configurations, each judged by K-fold
   cross-validation on the development rows with early stopping on every fold. The first
   configuration is always evaluated; the others while the contract's time budget
   (``training.time_budget_seconds``, default 60 s) lasts. LightGBM handles categories (native
   categorical splits) and missing values itself.
4. **Refit** the best configuration on all development rows with the number of trees early
   stopping found (averaged over folds, plus 10 % for the larger training set).
5. **Threshold** (binary) from the out-of-fold scores of the development rows: expected value
   under the floors when the contract gives values and costs, else the floors with the widest
   margin (:mod:`shared.model.thresholds`). Regression gets a 90 % split-conformal interval from the
   out-of-fold residuals.
6. **Holdout metrics, gates and fairness figures.**

Class imbalance: no resampling and no class weights by default. Measured on five public data sets and
the synthetic one (see bench/bench_quality.py and the note), SMOTE and "balanced" weights did not
raise holdout ROC-AUC on average and made the scores worse probabilities (higher log-loss); the
operating point the business cares about is set by the threshold instead, and ``sqrt``-balanced
weights are one of the searched configurations when positives are rarer than 1 in 5, kept only when
cross-validation prefers them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from shared import progress
from shared.backends.lightgbm_runtime import NUM_THREADS  # one setting for training and scoring
from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.contract import Contract
from shared.model import thresholds
from shared.model.fairness import fairness_gate_failures, fairness_report
from shared.model.features import model_matrix, target_for_task, target_vector
from shared.model.leakage import find_leaks
from shared.model.metrics import binary_metrics, multiclass_metrics, regression_metrics, roc_auc

logger = logging.getLogger(__name__)

REFERENCE_SAMPLE_ROWS = 20_000
MIN_TRAINING_ROWS = 100
MIN_CLASS_ROWS = 10
HOLDOUT_SHARE = 0.15
MAX_BOOSTING_ROUNDS = 5000
EARLY_STOPPING_ROUNDS = 60
CV_FOLDS = 4
SINGLE_SPLIT_ROWS = 200_000   # above this many development rows one 80/20 validation split replaces K folds
REFIT_ROUNDS_FACTOR = 1.1     # the refit sees 1/K more rows than each fold model: a few more trees
INTERVAL_LEVEL = 0.90

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})

_COMMON_PARAMS: dict[str, Any] = {
    "verbosity": -1,
    "num_threads": NUM_THREADS,
    "bagging_freq": 1,
    "feature_pre_filter": False,  # candidates change min_child_samples on one binned data set
}
_OBJECTIVES: dict[str, dict[str, Any]] = {
    "binary": {"objective": "binary", "metric": "auc"},
    "multiclass": {"objective": "multiclass", "metric": "multi_logloss"},
    "regression": {"objective": "regression", "metric": "l2"},
}
# The configurations tried, in order: each is a different bias for a table we have never seen.
# Measured on five public tables (credit, churn, lending) and the synthetic one, low-capacity
# trees win cross-validation most often on business tables of thousands of rows, so they come
# first; the budget decides how many of the rest are tried. Large trees only for large tables.
CANDIDATES: list[tuple[str, dict[str, Any]]] = [
    ("small_7_leaves", {"learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 20, "feature_fraction": 0.7, "bagging_fraction": 0.8, "lambda_l2": 2.0}),
    ("stumps_4_leaves", {"learning_rate": 0.05, "num_leaves": 4, "min_child_samples": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "lambda_l2": 1.0}),
    ("extra_trees", {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 0.7, "bagging_fraction": 0.8, "lambda_l2": 1.0, "extra_trees": True}),
    ("regularized_15_leaves", {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 40, "feature_fraction": 0.6, "bagging_fraction": 0.8, "lambda_l2": 5.0, "cat_smooth": 20.0, "cat_l2": 20.0}),
    ("balanced_31_leaves", {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "lambda_l2": 1.0}),
]
LARGE_TABLE_CANDIDATES: list[tuple[str, dict[str, Any]]] = [
    ("large_63_leaves", {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 40, "feature_fraction": 0.7, "bagging_fraction": 0.8, "lambda_l2": 1.0}),
]
LARGE_TABLE_ROWS = 50_000
RARE_POSITIVE_SHARE = 0.20


@dataclass
class TrainedModel:
    booster: lgb.Booster
    features: list[str]
    threshold: float
    metrics: dict[str, float]                 # on the untouched holdout
    validation_metrics: dict[str, float]      # out-of-fold on the development rows (where the threshold was chosen)
    gate_failures: list[str]
    feature_importance: dict[str, float]      # total gain, normalized to sum 1
    reference_sample: pd.DataFrame            # development features + "score": the drift reference
    numeric_quartiles: dict[str, tuple[float, float]]
    params: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)
    holdout_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))  # rows of the input frame held out
    task: str = "binary"
    classes: list[str] = field(default_factory=list)
    leakage: list[dict[str, Any]] = field(default_factory=list)      # every near-perfect single column, excluded or allowed
    excluded_features: list[str] = field(default_factory=list)
    threshold_info: dict[str, Any] = field(default_factory=dict)     # how the threshold was chosen, expected value
    fairness: dict[str, Any] | None = None
    search: list[dict[str, Any]] = field(default_factory=list)       # every configuration tried, with its CV score
    interval: dict[str, float] = field(default_factory=dict)         # regression: {"level", "half_width"}
    training_seconds: float = 0.0

    @property
    def gates_passed(self) -> bool:
        return not self.gate_failures


# -- metrics ----------------------------------------------------------------------------------------


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, gates: dict[str, float], decision: dict[str, float] | None = None) -> float:
    """The decision threshold (see :mod:`shared.model.thresholds`)."""
    return thresholds.choose(y_true, scores, gates, decision).threshold


def gate_failures(metrics: dict[str, float], gates: dict[str, float]) -> list[str]:
    """Floors (``metric ≥ gate``) and, for error metrics such as RMSE, ceilings (``metric ≤ gate``)."""
    failures = []
    for metric, limit in gates.items():
        value = metrics.get(metric)
        shown = "n/a" if value is None else f"{value:.3f}"  # a missing metric fails its gate, it must not crash
        if metric in LOWER_IS_BETTER:
            if value is None or not np.isfinite(value) or value > limit:
                failures.append(f"{metric} {shown} > {limit:.2f}")
        elif value is None or not np.isfinite(value) or value < limit:
            failures.append(f"{metric} {shown} < {limit:.2f}")
    return failures


def applicable_gates(contract: Contract, metrics: dict[str, float]) -> dict[str, float]:
    """The contract's gates this task can measure (a binary gate on a regression model is ignored)."""
    return {metric: limit for metric, limit in contract.gates.items() if metric in metrics}


def primary_metric(task: str) -> str:
    return PRIMARY_METRIC.get(task, "roc_auc")


# -- splits -----------------------------------------------------------------------------------------


def _class_counts(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y.astype(int)) if len(y) else np.array([], dtype=int)
    return counts[counts > 0]


def _stratify(y: np.ndarray, task: str) -> np.ndarray | None:
    """Stratify on the classes when every present class has at least two rows."""
    if task == "regression":
        return None
    counts = _class_counts(y)
    return y if len(counts) >= 2 and counts.min() >= 2 else None


def split_rows(y: np.ndarray, seed: int, holdout_mask: np.ndarray | None = None, *, task: str = "binary") -> tuple[np.ndarray, np.ndarray]:
    """Development rows (search, early stopping, threshold, refit) and holdout rows (reported metrics).

    With ``holdout_mask`` the holdout is given (e.g. recent rows the champion never saw, so both
    models are judged on the same unseen data); otherwise a stratified 15 %.
    """
    indices = np.arange(len(y))
    if holdout_mask is not None:
        return indices[~holdout_mask], indices[holdout_mask]
    development, holdout = train_test_split(indices, test_size=HOLDOUT_SHARE, stratify=_stratify(y, task), random_state=seed)
    return np.sort(development), np.sort(holdout)


def fold_indices(y: np.ndarray, task: str, seed: int, folds: int = CV_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """K stratified folds; one 80/20 split when the data are large enough not to need K."""
    positions = np.arange(len(y))
    if len(y) > SINGLE_SPLIT_ROWS or folds < 2:
        train, valid = train_test_split(positions, test_size=0.2, stratify=_stratify(y, task), random_state=seed)
        return [(np.sort(train), np.sort(valid))]
    stratify = _stratify(y, task)
    if stratify is not None and _class_counts(stratify).min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed).split(positions, stratify)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed).split(positions)
    return [(np.sort(train), np.sort(valid)) for train, valid in splitter]


# -- the search -------------------------------------------------------------------------------------


@dataclass
class _Evaluated:
    name: str
    params: dict[str, Any]
    score: float               # higher is better (AUC, −log-loss, −RMSE)
    rounds: int
    out_of_fold: np.ndarray
    seconds: float


def candidate_configurations(task: str, y: np.ndarray) -> list[tuple[str, dict[str, Any]]]:
    """The configurations to try, in order. Binary with rare positives adds √-balanced weights."""
    candidates = [(name, dict(params)) for name, params in CANDIDATES]
    if len(y) >= LARGE_TABLE_ROWS:
        # Many rows: deeper trees can afford interactions, and the budget may not reach the end.
        first = [(name, params) for name, params in candidates if name == "balanced_31_leaves"]
        rest = [(name, params) for name, params in candidates if name != "balanced_31_leaves"]
        candidates = first + [(name, dict(params)) for name, params in LARGE_TABLE_CANDIDATES] + rest
    if task == "binary":
        share = float(y.mean()) if len(y) else 0.5
        minority = min(share, 1 - share)
        if 0 < minority < RARE_POSITIVE_SHARE:
            weight = float(np.sqrt((1 - share) / share))  # >1 when positives are rare, <1 when negatives are
            candidates.insert(2, ("small_7_leaves_sqrt_weights", {**candidates[0][1], "scale_pos_weight": weight}))
    return candidates


def _score_of(task: str, y: np.ndarray, predictions: np.ndarray) -> float:
    """Higher is better, on out-of-fold predictions."""
    if task == "binary":
        auc = roc_auc(y, predictions)
        return auc if auc is not None else 0.0
    if task == "multiclass":
        return -float(log_loss(y, np.clip(predictions, 1e-12, 1), labels=np.arange(predictions.shape[1])))
    return -regression_metrics(y, predictions)["rmse"]


def _evaluate(
    name: str,
    params: dict[str, Any],
    full: lgb.Dataset,
    matrix: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    task: str,
    classes: int,
) -> _Evaluated:
    started = time.monotonic()
    shape = (len(y), classes) if task == "multiclass" else (len(y),)
    out_of_fold = np.full(shape, np.nan)
    rounds = []
    for train_positions, valid_positions in folds:
        booster = lgb.train(
            params,
            full.subset(train_positions.tolist()),
            num_boost_round=MAX_BOOSTING_ROUNDS,
            valid_sets=[full.subset(valid_positions.tolist())],
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        rounds.append(best)
        out_of_fold[valid_positions] = booster.predict(matrix.iloc[valid_positions], num_iteration=best, num_threads=NUM_THREADS)
    covered = ~np.isnan(out_of_fold if out_of_fold.ndim == 1 else out_of_fold[:, 0])
    score = _score_of(task, y[covered], out_of_fold[covered])
    return _Evaluated(name, params, score, int(round(float(np.mean(rounds)))), out_of_fold, time.monotonic() - started)


def search(
    matrix: pd.DataFrame,
    y: np.ndarray,
    task: str,
    categorical: list[str],
    *,
    seed: int,
    budget_seconds: float,
    classes: int = 0,
    folds: int = CV_FOLDS,
) -> tuple[_Evaluated, list[dict[str, Any]]]:
    """Cross-validate the candidates in order while the budget lasts; the best and the log of all."""
    started = time.monotonic()
    base = {**_COMMON_PARAMS, **_OBJECTIVES[task], "seed": seed}
    if task == "multiclass":
        base["num_class"] = classes
    full = lgb.Dataset(matrix, y, categorical_feature=categorical, free_raw_data=False, params={"feature_pre_filter": False, "verbosity": -1})
    full.construct()
    splits = fold_indices(y, task, seed, folds)
    best: _Evaluated | None = None
    log: list[dict[str, Any]] = []
    slowest = 0.0
    candidates = list(candidate_configurations(task, y))
    with progress.phase("search", total=len(candidates), unit="configurations") as step:
        for name, params in candidates:
            step.advance()
            elapsed = time.monotonic() - started
            if best is not None and elapsed + slowest > budget_seconds:
                log.append({"name": name, "skipped": "time budget"})
                continue
            evaluated = _evaluate(name, {**base, **params}, full, matrix, y, splits, task, classes)
            slowest = max(slowest, evaluated.seconds)
            log.append({"name": name, "cv_score": round(evaluated.score, 5), "rounds": evaluated.rounds, "seconds": round(evaluated.seconds, 2)})
            if best is None or evaluated.score > best.score:
                best = evaluated
    assert best is not None
    for entry in log:
        entry["chosen"] = entry["name"] == best.name
    return best, log


# -- training ---------------------------------------------------------------------------------------


def _check_rows(y: np.ndarray, task: str, classes: list[str]) -> None:
    if task == "binary":
        positives = int(y.sum())
        if len(y) < MIN_TRAINING_ROWS or positives < MIN_CLASS_ROWS or len(y) - positives < MIN_CLASS_ROWS:
            raise BadInputError(
                "too_few_rows",
                *both("training_too_few_binary", rows=len(y), positives=positives, min_rows=MIN_TRAINING_ROWS, min_class=MIN_CLASS_ROWS),
            )
    elif task == "multiclass":
        counts = np.bincount(y, minlength=len(classes)) if len(y) else np.zeros(len(classes), dtype=int)
        if len(y) < MIN_TRAINING_ROWS or (counts >= MIN_CLASS_ROWS).sum() < 2:
            shown = ", ".join(f"{name}: {count}" for name, count in zip(classes, counts, strict=True))
            raise BadInputError(
                "too_few_rows",
                *both("training_too_few_multiclass", rows=len(y), counts=shown, min_rows=MIN_TRAINING_ROWS, min_class=MIN_CLASS_ROWS),
            )
    elif len(y) < MIN_TRAINING_ROWS or np.nanstd(y) == 0:
        raise BadInputError("too_few_rows", *both("training_too_few_regression", rows=len(y), min_rows=MIN_TRAINING_ROWS))


def predict(booster: lgb.Booster, matrix: pd.DataFrame) -> np.ndarray:
    """Probabilities (binary: of the positive class; multiclass: one column per class) or values."""
    if not len(matrix):
        per_row = booster.num_model_per_iteration()
        return np.zeros((0, per_row)) if per_row > 1 else np.array([], dtype=float)
    return booster.predict(matrix, num_threads=NUM_THREADS)


def single_score(task: str, predictions: np.ndarray) -> np.ndarray:
    """One number per row for drift and reports: P(positive), P(predicted class), or the value."""
    if task == "multiclass":
        return predictions.max(axis=1) if len(predictions) else np.array([], dtype=float)
    return predictions


def train_model(
    labeled: pd.DataFrame,
    contract: Contract,
    *,
    seed: int = 42,
    holdout_mask: np.ndarray | None = None,
    time_budget_seconds: float | None = None,
) -> TrainedModel:
    """Train on clean labeled rows (the output of validation for a training file)."""
    started = time.monotonic()
    task = contract.task
    features = contract.feature_columns
    if not features:
        raise BadInputError("no_features", *both("training_no_features"))
    y_all, usable = target_for_task(labeled[contract.target], contract)
    if holdout_mask is not None:
        holdout_mask = np.asarray(holdout_mask, dtype=bool) & usable
    positions = np.flatnonzero(usable)  # rows of ``labeled`` with a usable target
    y = y_all[positions]
    if task == "binary":
        y = y.astype(np.int64)
    _check_rows(y, task, contract.classes)
    matrix_all = model_matrix(labeled, contract, features)
    development_local, holdout_local = split_rows(y, seed, holdout_mask[positions] if holdout_mask is not None else None, task=task)
    development, holdout = positions[development_local], positions[holdout_local]
    y_dev, y_hold = y[development_local], y[holdout_local]

    # Leakage guard on the development rows only: the holdout stays untouched.
    leaks = find_leaks(matrix_all.iloc[development], y_dev, task, contract.leakage_allowed, seed=seed)
    excluded = [leak.column for leak in leaks if leak.excluded]
    for leak in leaks:
        logger.warning("leakage guard: %s", leak.text("en"))
    features = [name for name in features if name not in excluded]
    if not features:
        raise BadInputError("only_leaky_features", *both("training_only_leaky_features", columns=", ".join(excluded)))
    matrix = matrix_all[features]
    categorical = [name for name in features if contract.columns[name].type == "categorical"]
    budget = float(time_budget_seconds if time_budget_seconds is not None else contract.training_budget_seconds)
    classes = len(contract.classes) if task == "multiclass" else 0
    dev_matrix = matrix.iloc[development].reset_index(drop=True)
    best, search_log = search(dev_matrix, y_dev, task, categorical, seed=seed, budget_seconds=budget, classes=classes)

    rounds = max(1, int(round(best.rounds * REFIT_ROUNDS_FACTOR)))
    final_params = {key: value for key, value in best.params.items() if key != "feature_pre_filter"}
    final_set = lgb.Dataset(dev_matrix, y_dev, categorical_feature=categorical, params={"verbosity": -1})
    with progress.phase("fit", detail=f"{rounds} rounds"):
        booster = lgb.train(final_params, final_set, num_boost_round=rounds)
    booster = lgb.Booster(model_str=booster.model_to_string())  # a clean copy: what the registry saves is what scores

    holdout_predictions = predict(booster, matrix.iloc[holdout])
    out_of_fold = best.out_of_fold
    covered = ~np.isnan(out_of_fold if out_of_fold.ndim == 1 else out_of_fold[:, 0])
    threshold, threshold_info, interval = 0.5, {}, {}
    if task == "binary":
        choice = thresholds.choose(y_dev[covered], out_of_fold[covered], contract.gates, contract.decision or None)
        threshold = choice.threshold
        metrics = binary_metrics(y_hold, holdout_predictions, threshold)
        validation = binary_metrics(y_dev[covered], out_of_fold[covered], threshold)
        threshold_info = {**choice.to_dict(), "chosen_on": "out-of-fold scores of the development rows", "decision": dict(contract.decision)}
        holdout_value = thresholds.expected_value_per_1000(y_hold, holdout_predictions, threshold, contract.decision)
        if holdout_value is not None:
            metrics["expected_value_per_1000"] = holdout_value
            validation["expected_value_per_1000"] = float(choice.expected_value_per_1000 or 0.0)
            threshold_info["holdout_expected_value_per_1000"] = holdout_value
    elif task == "multiclass":
        metrics = multiclass_metrics(y_hold, holdout_predictions)
        validation = multiclass_metrics(y_dev[covered], out_of_fold[covered])
    else:
        residuals = np.abs(y_dev[covered] - out_of_fold[covered])
        level = min(1.0, INTERVAL_LEVEL * (1 + 1 / max(len(residuals), 1)))  # split-conformal finite-sample correction
        half_width = float(np.quantile(residuals, level)) if len(residuals) else float("nan")
        interval = {"level": INTERVAL_LEVEL, "half_width": half_width}
        metrics = regression_metrics(y_hold, holdout_predictions, half_width)
        validation = regression_metrics(y_dev[covered], out_of_fold[covered], half_width)

    failures = gate_failures(metrics, contract.gates)  # a gate on a metric this task does not compute fails, visibly
    fairness = None
    if contract.sensitive_columns:
        holdout_rows = labeled.iloc[holdout]
        if task == "binary":
            actual, predicted = y_hold, (holdout_predictions >= threshold).astype(int)
        elif task == "multiclass":
            actual, predicted = y_hold, holdout_predictions.argmax(axis=1) if len(holdout_predictions) else np.array([], dtype=int)
        else:
            actual, predicted = y_hold, holdout_predictions
        fairness = fairness_report(holdout_rows, contract.sensitive_columns, actual, predicted, task=task, min_ratio=contract.fairness_min_ratio)
        if contract.fairness_gate:
            failures += fairness_gate_failures(fairness)

    gain = booster.feature_importance(importance_type="gain")
    total_gain = float(gain.sum()) or 1.0
    # Key by the contract's names: booster.feature_name() has LightGBM's sanitized ones ("ventas mensuales" -> "ventas_mensuales").
    importance = {name: float(value) / total_gain for name, value in zip(features, gain, strict=True)}
    reference_rows = development if len(development) <= REFERENCE_SAMPLE_ROWS else np.sort(np.random.default_rng(seed).choice(development, REFERENCE_SAMPLE_ROWS, replace=False))
    reference = labeled.iloc[reference_rows][features].reset_index(drop=True)
    reference["score"] = single_score(task, predict(booster, matrix.iloc[reference_rows]))
    # Quartiles of every labeled row: they only name levels ("alto", "bajo") in the reasons.
    quartiles = {
        name: (float(np.nanquantile(matrix[name], 0.25)), float(np.nanquantile(matrix[name], 0.75)))
        for name in features
        if name not in categorical and matrix[name].notna().any()
    }
    rows = {"train": len(development), "validation": int(covered.sum()), "holdout": len(holdout), "cv_folds": len(fold_indices(y_dev, task, seed)) if len(y_dev) else 0}
    if task == "binary":
        rows["positives"] = int(y.sum())
    elif task == "multiclass":
        rows.update({f"class_{name}": int((y == code).sum()) for code, name in enumerate(contract.classes)})
    seconds = time.monotonic() - started
    logger.info("trained %s (%s, %d trees) in %.1f s; holdout %s=%.4f", task, best.name, rounds, seconds, primary_metric(task), metrics.get(primary_metric(task), float("nan")))
    return TrainedModel(
        booster=booster,
        features=features,
        threshold=threshold,
        metrics=metrics,
        validation_metrics=validation,
        gate_failures=failures,
        feature_importance=importance,
        reference_sample=reference,
        numeric_quartiles=quartiles,
        params={**{k: v for k, v in final_params.items() if k not in ("verbosity", "feature_pre_filter")}, "configuration": best.name, "best_iteration": rounds, "cv_rounds": best.rounds},
        rows=rows,
        holdout_index=np.sort(holdout),
        task=task,
        classes=list(contract.classes),
        leakage=[leak.to_dict() for leak in leaks],
        excluded_features=excluded,
        threshold_info=threshold_info,
        fairness=fairness,
        search=search_log,
        interval=interval,
        training_seconds=round(seconds, 2),
    )


__all__ = [
    "TrainedModel",
    "applicable_gates",
    "choose_threshold",
    "gate_failures",
    "predict",
    "primary_metric",
    "single_score",
    "split_rows",
    "target_vector",
    "train_model",
]
