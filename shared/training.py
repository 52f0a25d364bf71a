"""Train a LightGBM binary classifier, choose its decision threshold and check the business gates."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

from shared.contract import Contract
from shared.errors import BadInputError
from shared.features import model_matrix, target_vector

logger = logging.getLogger(__name__)

REFERENCE_SAMPLE_ROWS = 20_000
MIN_TRAINING_ROWS = 100
MIN_CLASS_ROWS = 10
MAX_BOOSTING_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 100

# Starting point from the reference report (learning rate, depth, leaves, regularization),
# with row/feature subsampling for robustness on data we have never seen.
BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "max_depth": 6,
    "min_child_samples": 50,
    "reg_alpha": 1.0,
    "reg_lambda": 1.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbosity": -1,
    "num_threads": 2,
}


@dataclass
class TrainedModel:
    booster: lgb.Booster
    features: list[str]
    threshold: float
    metrics: dict[str, float]                 # on the untouched holdout
    validation_metrics: dict[str, float]      # on the early-stopping split the threshold was chosen on
    gate_failures: list[str]
    feature_importance: dict[str, float]      # total gain, normalized to sum 1
    reference_sample: pd.DataFrame            # training features + "score": the drift reference
    numeric_quartiles: dict[str, tuple[float, float]]
    params: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)
    holdout_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))  # rows of the input frame held out

    @property
    def gates_passed(self) -> bool:
        return not self.gate_failures


def binary_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (scores >= threshold).astype(int)
    has_both = len(np.unique(y_true)) == 2
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)) if has_both else float("nan"),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "positive_rate": float(predicted.mean()) if len(predicted) else 0.0,
        "rows": float(len(y_true)),
    }


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, gates: dict[str, float]) -> float:
    """The threshold that meets the precision and recall floors with the widest margin.

    Maximizing F1 subject to the floors tends to sit right on the precision floor, and a
    floor met on the validation split by 0.001 is missed on new data half the time. Taking
    the threshold whose smaller slack (precision - floor, recall - floor) is largest keeps
    both floors as far away as the model allows. When no threshold meets both, best F1.
    """
    candidates = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, 401)))
    positives = max(int(y_true.sum()), 1)
    precision_floor, recall_floor = gates.get("precision", 0.0), gates.get("recall", 0.0)
    best_f1_threshold, best_f1 = 0.5, -1.0
    best_slack_threshold, best_slack = None, 0.0
    for threshold in candidates:
        predicted = scores >= threshold
        true_positives = int((predicted & (y_true == 1)).sum())
        predicted_positives = int(predicted.sum())
        precision = true_positives / predicted_positives if predicted_positives else 0.0
        recall = true_positives / positives
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_f1_threshold, best_f1 = float(threshold), f1
        slack = min(precision - precision_floor, recall - recall_floor)
        if slack >= 0 and (best_slack_threshold is None or slack > best_slack):
            best_slack_threshold, best_slack = float(threshold), slack
    return best_slack_threshold if best_slack_threshold is not None else best_f1_threshold


def gate_failures(metrics: dict[str, float], gates: dict[str, float]) -> list[str]:
    failures = []
    for metric, floor in gates.items():
        value = metrics.get(metric)
        if value is None or not np.isfinite(value) or value < floor:
            shown = "n/a" if value is None else f"{value:.3f}"  # a missing metric fails its gate, it must not crash
            failures.append(f"{metric} {shown} < {floor:.2f}")
    return failures


def _stratify(y: np.ndarray) -> np.ndarray | None:
    return y if len(np.unique(y)) == 2 and np.bincount(y).min() >= 2 else None


def split_rows(y: np.ndarray, seed: int, holdout_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 70/15/15 train / validation (early stopping, threshold) / holdout (reported metrics).

    With ``holdout_mask`` the holdout is given (e.g. recent rows the champion never saw, so both
    models are judged on the same unseen data) and the rest splits 82/18 into train / validation.
    """
    indices = np.arange(len(y))
    if holdout_mask is not None:
        holdout_idx = indices[holdout_mask]
        rest_idx = indices[~holdout_mask]
        train_idx, valid_idx = train_test_split(rest_idx, test_size=0.18, stratify=_stratify(y[rest_idx]), random_state=seed)
        return train_idx, valid_idx, holdout_idx
    train_idx, rest_idx = train_test_split(indices, test_size=0.30, stratify=y, random_state=seed)
    valid_idx, holdout_idx = train_test_split(rest_idx, test_size=0.50, stratify=y[rest_idx], random_state=seed)
    return train_idx, valid_idx, holdout_idx


def train_model(labeled: pd.DataFrame, contract: Contract, *, seed: int = 42, holdout_mask: np.ndarray | None = None) -> TrainedModel:
    """Train on clean labeled rows (the output of validation for a training file)."""
    features = contract.feature_columns
    if not features:
        raise BadInputError("no_features", "El contrato no tiene columnas útiles para el modelo.", "The contract has no usable feature columns.")
    y = target_vector(labeled[contract.target], contract)
    positives = int(y.sum())
    if len(y) < MIN_TRAINING_ROWS or positives < MIN_CLASS_ROWS or len(y) - positives < MIN_CLASS_ROWS:
        raise BadInputError(
            "too_few_rows",
            f"Muy pocos datos para entrenar: {len(y)} filas, {positives} positivos (mínimo {MIN_TRAINING_ROWS} filas y {MIN_CLASS_ROWS} por clase).",
            f"Too little data to train: {len(y)} rows, {positives} positives (minimum {MIN_TRAINING_ROWS} rows and {MIN_CLASS_ROWS} per class).",
        )
    matrix = model_matrix(labeled, contract, features)
    train_idx, valid_idx, holdout_idx = split_rows(y, seed, holdout_mask)
    params = {**BASE_PARAMS, "seed": seed, "min_child_samples": min(50, max(5, len(train_idx) // 100))}
    categorical = [name for name in features if contract.columns[name].type == "categorical"]
    train_set = lgb.Dataset(matrix.iloc[train_idx], y[train_idx], categorical_feature=categorical, free_raw_data=False)
    valid_set = lgb.Dataset(matrix.iloc[valid_idx], y[valid_idx], reference=train_set, categorical_feature=categorical)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=MAX_BOOSTING_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    valid_scores = booster.predict(matrix.iloc[valid_idx], num_iteration=booster.best_iteration)
    threshold = choose_threshold(y[valid_idx], valid_scores, contract.gates)
    holdout_scores = booster.predict(matrix.iloc[holdout_idx], num_iteration=booster.best_iteration)
    metrics = binary_metrics(y[holdout_idx], holdout_scores, threshold)
    gain = booster.feature_importance(importance_type="gain")
    total_gain = float(gain.sum()) or 1.0
    # Key by the contract's names: booster.feature_name() has LightGBM's sanitized ones ("ventas mensuales" -> "ventas_mensuales").
    importance = {name: float(value) / total_gain for name, value in zip(features, gain, strict=True)}
    reference_rows = train_idx if len(train_idx) <= REFERENCE_SAMPLE_ROWS else np.random.default_rng(seed).choice(train_idx, REFERENCE_SAMPLE_ROWS, replace=False)
    reference = labeled.iloc[np.sort(reference_rows)][features].reset_index(drop=True)
    reference["score"] = booster.predict(matrix.iloc[np.sort(reference_rows)], num_iteration=booster.best_iteration)
    quartiles = {
        name: (float(np.nanquantile(matrix[name], 0.25)), float(np.nanquantile(matrix[name], 0.75)))
        for name in features
        if name not in categorical and matrix[name].notna().any()
    }
    # Save only the trees early stopping kept, so every consumer scores the same model.
    booster.best_iteration = booster.best_iteration or booster.current_iteration()
    final_booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    logger.info("trained %d trees; holdout roc_auc=%.4f threshold=%.4f", booster.best_iteration, metrics["roc_auc"], threshold)
    return TrainedModel(
        booster=final_booster,
        features=features,
        threshold=threshold,
        metrics=metrics,
        validation_metrics=binary_metrics(y[valid_idx], valid_scores, threshold),
        gate_failures=gate_failures({k: metrics[k] for k in contract.gates if k in metrics}, {k: v for k, v in contract.gates.items() if k in metrics}),
        feature_importance=importance,
        reference_sample=reference,
        numeric_quartiles=quartiles,
        params={**params, "best_iteration": booster.best_iteration},
        rows={"train": len(train_idx), "validation": len(valid_idx), "holdout": len(holdout_idx), "positives": positives},
        holdout_index=np.sort(holdout_idx),
    )
