"""How good predictions are against outcomes: the one set of metric functions.

Training (the holdout and the validation folds), the champion/challenger comparison on fresh
labels (shared.lifecycle), the shadow comparison and rollback watch (shared.lifecycle.shadow) and
measured performance (shared.monitor.performance) all compute ROC-AUC, precision, recall, F1 and
the regression errors here, so a gate means the same number wherever it is checked.
scikit-learn is imported only by the functions that need it (a scoring process never does).
"""

from __future__ import annotations

import numpy as np


def roc_auc(actual: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC of ``scores`` for the 0/1 (or boolean) ``actual``; None unless both classes are present."""
    actual = np.asarray(actual).astype(int)
    if len(np.unique(actual)) != 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(actual, np.asarray(scores, dtype=float)))


def label_metrics(actual: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Binary metrics when the decision is already made (``predicted`` 0/1), with the scores behind it."""
    actual = np.asarray(actual).astype(int)
    predicted = np.asarray(predicted).astype(int)
    true_positives = int(np.sum((actual == 1) & (predicted == 1)))
    predicted_positives, positives = int(predicted.sum()), int(actual.sum())
    precision = true_positives / predicted_positives if predicted_positives else 0.0
    recall = true_positives / positives if positives else 0.0
    auc = roc_auc(actual, scores)
    return {
        "roc_auc": float("nan") if auc is None else auc,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(2 * true_positives / (predicted_positives + positives)) if predicted_positives + positives else 0.0,
        "accuracy": float(np.mean(actual == predicted)) if len(actual) else float("nan"),
        "positive_rate": float(predicted.mean()) if len(predicted) else 0.0,
        "rows": float(len(actual)),
    }


def binary_metrics(actual: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Binary metrics of ``scores`` decided at ``threshold`` (a score at the threshold is positive)."""
    scores = np.asarray(scores, dtype=float)
    return label_metrics(actual, scores, (scores >= threshold).astype(int))


def macro_f1(actual: np.ndarray, predicted: np.ndarray, classes: np.ndarray) -> float:
    """Mean F1 over ``classes`` (a class neither predicted nor present counts 0, as scikit-learn's zero_division=0)."""
    scores = []
    for name in classes:
        true_positive = np.sum((actual == name) & (predicted == name))
        denominator = np.sum(predicted == name) + np.sum(actual == name)
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def multiclass_metrics(actual: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Metrics of class probabilities (one column per class code 0..k-1) against class codes."""
    from sklearn.metrics import log_loss, precision_score, recall_score, roc_auc_score

    classes = probabilities.shape[1]
    codes = np.arange(classes)
    predicted = probabilities.argmax(axis=1)
    auc = float("nan")
    if len(np.unique(actual)) == classes:
        auc = float(roc_auc_score(actual, probabilities, multi_class="ovr", average="macro"))
    return {
        "macro_f1": macro_f1(actual, predicted, codes),
        "accuracy": float(np.mean(actual == predicted)) if len(actual) else float("nan"),
        "macro_precision": float(precision_score(actual, predicted, average="macro", labels=codes, zero_division=0)),
        "macro_recall": float(recall_score(actual, predicted, average="macro", labels=codes, zero_division=0)),
        "roc_auc": auc,
        "log_loss": float(log_loss(actual, np.clip(probabilities, 1e-12, 1), labels=codes)) if len(actual) else float("nan"),
        "rows": float(len(actual)),
    }


def regression_metrics(actual: np.ndarray, predicted: np.ndarray, half_width: float | None = None) -> dict[str, float]:
    """RMSE, MAE and R² (NaN where undefined), and the share inside the ±``half_width`` interval when given."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if not len(actual):
        return {"rmse": float("nan"), "mae": float("nan"), "r2": float("nan"), "rows": 0.0}
    errors = predicted - actual
    spread = float(np.sum((actual - actual.mean()) ** 2))
    metrics = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(1 - np.sum(errors**2) / spread) if len(actual) > 1 and spread > 0 else float("nan"),
        "rows": float(len(actual)),
    }
    if half_width is not None:
        metrics["interval_coverage"] = float((np.abs(errors) <= half_width).mean())
    return metrics
