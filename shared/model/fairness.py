"""Fairness figures per group of each sensitive column the contract names.

For a binary model, per group on the held-out rows: the positive rate (share predicted
positive), precision and recall, and each one's ratio to the best-treated group (the group
with the highest value). A ratio below the contract's ``fairness.min_ratio`` (default 0.8, the
four-fifths rule of thumb of US employment law) is flagged. A multiclass model gets accuracy
and macro-F1 per group with the same ratios; a regression model the mean prediction, the mean
actual value and the mean absolute error (no ratio: "better treated" has no direction there).

Groups with fewer than :data:`MIN_GROUP_ROWS` rows are shown but never flagged: their rates
move by more than 20 % by chance alone. A numeric sensitive column (age) is cut into quartile
bands. Missing values form their own group ("sin dato / missing").

The ratio takes the highest rate as the best treatment. When the positive class is the
unfavourable outcome (a default, a churn), a *low* positive-rate ratio means the group is
flagged less often; read the figures with that in mind (stated in the model card's limits).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MIN_GROUP_ROWS = 30
MISSING_GROUP = "(sin dato / missing)"
BINARY_METRICS = ("positive_rate", "precision", "recall")
MULTICLASS_METRICS = ("accuracy", "macro_f1")


def group_labels(values: pd.Series) -> np.ndarray:
    """Text group per row; a numeric column becomes quartile bands such as "[25, 38)"."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique(dropna=True) > 8:
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        edges = np.unique(np.nanquantile(numbers, [0, 0.25, 0.5, 0.75, 1.0]))
        if len(edges) >= 2:
            codes = np.clip(np.searchsorted(edges, numbers.to_numpy(), side="right") - 1, 0, len(edges) - 2)
            names = np.array([f"[{_nice(edges[i])}, {_nice(edges[i + 1])}{']' if i == len(edges) - 2 else ')'}" for i in range(len(edges) - 1)], dtype=object)
            return np.where(numbers.isna().to_numpy(), MISSING_GROUP, names[codes]).astype(object)
    text = values.astype("object")
    return np.where(text.isna().to_numpy(), MISSING_GROUP, text.astype(str).to_numpy()).astype(object)


def _nice(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.3g}"


def _binary_figures(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    true_positives = int((predicted & actual).sum())
    predicted_positives = int(predicted.sum())
    positives = int(actual.sum())
    return {
        "positive_rate": float(predicted.mean()) if len(predicted) else None,
        "precision": true_positives / predicted_positives if predicted_positives else None,
        "recall": true_positives / positives if positives else None,
        "actual_positive_rate": float(actual.mean()) if len(actual) else None,
    }


def _multiclass_figures(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    from sklearn.metrics import f1_score

    return {
        "accuracy": float((actual == predicted).mean()) if len(actual) else None,
        "macro_f1": float(f1_score(actual, predicted, average="macro", zero_division=0)) if len(actual) else None,
    }


def _regression_figures(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    return {
        "mean_prediction": float(predicted.mean()) if len(actual) else None,
        "mean_actual": float(actual.mean()) if len(actual) else None,
        "mae": float(np.abs(actual - predicted).mean()) if len(actual) else None,
    }


def fairness_report(
    frame: pd.DataFrame,
    sensitive_columns: list[str],
    actual: np.ndarray,
    predicted: np.ndarray,
    *,
    task: str = "binary",
    min_ratio: float = 0.8,
) -> dict[str, Any]:
    """``{"min_ratio", "columns": {column: {"groups": [...], "flags": [...]}} , "flags": [...]}``.

    ``actual``/``predicted``: 0/1 for binary (predicted = label at the threshold), class codes
    for multiclass, numbers for regression; aligned with ``frame``'s rows.
    """
    figures_of = {"binary": _binary_figures, "multiclass": _multiclass_figures, "regression": _regression_figures}[task]
    ratio_metrics = {"binary": BINARY_METRICS, "multiclass": MULTICLASS_METRICS, "regression": ()}[task]
    actual = np.asarray(actual)
    predicted = np.asarray(predicted)
    if task == "binary":
        actual, predicted = actual.astype(bool), predicted.astype(bool)
    report: dict[str, Any] = {"min_ratio": min_ratio, "min_group_rows": MIN_GROUP_ROWS, "columns": {}, "flags": []}
    for column in sensitive_columns:
        if column not in frame.columns:
            report["columns"][column] = {"groups": [], "flags": [], "missing_column": True}
            continue
        labels = group_labels(frame[column])
        groups = []
        for group in sorted(pd.unique(labels), key=str):
            selected = labels == group
            groups.append({"group": str(group), "rows": int(selected.sum()), **figures_of(actual[selected], predicted[selected])})
        flags = []
        for metric in ratio_metrics:
            eligible = [g for g in groups if g["rows"] >= MIN_GROUP_ROWS and g.get(metric) is not None]
            best = max((g[metric] for g in eligible), default=None)
            for group in groups:
                value = group.get(metric)
                ratio = value / best if best and value is not None else None
                group[f"{metric}_ratio"] = round(ratio, 4) if ratio is not None else None
                if ratio is not None and ratio < min_ratio and group["rows"] >= MIN_GROUP_ROWS:
                    flags.append({"column": column, "group": group["group"], "metric": metric, "ratio": round(ratio, 4), "rows": group["rows"]})
        report["columns"][column] = {"groups": groups, "flags": flags}
        report["flags"].extend(flags)
    return report


def fairness_gate_failures(report: dict[str, Any] | None) -> list[str]:
    """Gate texts for every flag, e.g. "fairness sexo=mujer positive_rate ratio 0.62 < 0.80"."""
    if not report:
        return []
    return [
        f"fairness {flag['column']}={flag['group']} {flag['metric']} ratio {flag['ratio']:.2f} < {report['min_ratio']:.2f}"
        for flag in report.get("flags", [])
    ]
