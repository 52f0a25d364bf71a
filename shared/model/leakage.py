"""The leakage guard: a column that alone predicts the target almost perfectly is not a feature.

Such a column is nearly always written *after* the outcome (a ``loss_reason`` filled in only
when a deal was lost, a "days in collection" that exists only for defaulters): the model would
look perfect in training and be useless when scoring, where the column is empty or unknown.

One statistic per column, each computed on that column alone with missing values kept as
information (a column that is filled only for one class is exactly the leak to catch):

- binary target, numeric column: single-feature ROC-AUC, symmetrized (max(AUC, 1 − AUC)), with
  missing values placed first and then last, the larger kept. Leaky at ≥ 0.98.
- binary or multiclass target, categorical column: Cramér's V, bias-corrected (Bergsma 2013,
  so a column with many rare categories does not look associated by chance), with "missing" as
  a category. Leaky at ≥ 0.95. A binary target also gets the categorical's single-feature
  ROC-AUC (categories ranked by their positive rate), leaky at ≥ 0.98.
- multiclass target, numeric column: Cramér's V of the column cut into 20 quantile bins.
- regression target: |Spearman correlation| for numeric columns (≥ 0.98), and the correlation
  ratio η for categoricals (≥ 0.95).

Columns the contract allows (``leakage: {allow: [...]}``) are measured and reported but kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from shared.i18n import message
from shared.i18n.models import LEAKAGE_STATISTIC_NAMES

AUC_LIMIT = 0.98
ASSOCIATION_LIMIT = 0.95
CORRELATION_LIMIT = 0.98
MAX_ROWS = 200_000  # a sample this size measures a near-perfect association as well as all rows
QUANTILE_BINS = 20


@dataclass(frozen=True)
class LeakFinding:
    column: str
    statistic: str      # "roc_auc" | "cramers_v" | "spearman" | "correlation_ratio"
    value: float
    limit: float
    excluded: bool      # False when the contract allows the column

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self, language: str) -> str:
        names = LEAKAGE_STATISTIC_NAMES["es" if language == "es" else "en"]
        verdict = message("leak_excluded" if self.excluded else "leak_allowed", language)
        return f"{self.column}: {names.get(self.statistic, self.statistic)} {self.value:.3f} ≥ {self.limit:.2f} ({verdict})"


def binary_auc(y: np.ndarray, values: np.ndarray) -> float:
    """ROC-AUC of ranking by ``values`` (ties count one half); NaN when a class is absent."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(values)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def numeric_auc(y: np.ndarray, values: np.ndarray) -> float:
    """Symmetrized single-feature AUC, missing values ranked first and then last, the stronger kept."""
    missing = np.isnan(values)
    best = 0.0
    for fill in (-np.inf, np.inf) if missing.any() else (0.0,):
        filled = np.where(missing, fill, values)
        auc = binary_auc(y, filled)
        if np.isfinite(auc):
            best = max(best, auc, 1.0 - auc)
    return best


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V of two label arrays (Bergsma 2013)."""
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    n = table.sum()
    rows, cols = table.shape
    if n == 0 or rows < 2 or cols < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    phi2 = chi2 / n
    phi2_corrected = max(0.0, phi2 - (rows - 1) * (cols - 1) / (n - 1)) if n > 1 else 0.0
    rows_corrected = rows - (rows - 1) ** 2 / (n - 1) if n > 1 else rows
    cols_corrected = cols - (cols - 1) ** 2 / (n - 1) if n > 1 else cols
    denominator = min(rows_corrected - 1, cols_corrected - 1)
    return float(np.sqrt(phi2_corrected / denominator)) if denominator > 0 else 0.0


def correlation_ratio(categories: np.ndarray, values: np.ndarray) -> float:
    """η: the share of the target's spread explained by the categories (square root of it)."""
    frame = pd.DataFrame({"c": categories, "v": values})
    total = float(((frame["v"] - frame["v"].mean()) ** 2).sum())
    if total == 0:
        return 0.0
    grouped = frame.groupby("c", dropna=False)["v"]
    between = float((grouped.count() * (grouped.mean() - frame["v"].mean()) ** 2).sum())
    return float(np.sqrt(between / total))


def _as_labels(series: pd.Series) -> np.ndarray:
    return series.astype("object").where(series.notna(), "\0missing").astype(str).to_numpy()


def _quantile_bins(values: np.ndarray) -> np.ndarray:
    finite = values[~np.isnan(values)]
    if not len(finite):
        return np.full(len(values), "missing", dtype=object)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, QUANTILE_BINS + 1)))
    codes = np.digitize(values, edges[1:-1])
    return np.where(np.isnan(values), "missing", codes.astype(str)).astype(object)


def measure_column(task: str, matrix_column: pd.Series, target: np.ndarray) -> tuple[str, float, float]:
    """(statistic, value, limit) of one model-matrix column against the target."""
    categorical = isinstance(matrix_column.dtype, pd.CategoricalDtype)
    if task == "regression":
        if categorical:
            return "correlation_ratio", correlation_ratio(_as_labels(matrix_column), target), ASSOCIATION_LIMIT
        values = matrix_column.to_numpy(dtype=float)
        keep = ~np.isnan(values)
        if keep.sum() < 3 or np.nanstd(values) == 0:
            return "spearman", 0.0, CORRELATION_LIMIT
        rho = np.corrcoef(rankdata(values[keep]), rankdata(target[keep]))[0, 1]
        return "spearman", float(abs(rho)) if np.isfinite(rho) else 0.0, CORRELATION_LIMIT
    if task == "binary" and not categorical:
        return "roc_auc", numeric_auc(target, matrix_column.to_numpy(dtype=float)), AUC_LIMIT
    if categorical:
        labels = _as_labels(matrix_column)
        v = cramers_v(labels, target)
        if task == "binary":
            # Rank rows by their category's positive rate: the AUC of the best single-column rule.
            rates = pd.Series(target).groupby(labels).transform("mean").to_numpy()
            auc = numeric_auc(target, rates)
            if auc >= AUC_LIMIT and v < ASSOCIATION_LIMIT:
                return "roc_auc", auc, AUC_LIMIT
        return "cramers_v", v, ASSOCIATION_LIMIT
    return "cramers_v", cramers_v(_quantile_bins(matrix_column.to_numpy(dtype=float)), target), ASSOCIATION_LIMIT


def find_leaks(matrix: pd.DataFrame, target: np.ndarray, task: str, allowed: list[str] | tuple[str, ...] = (), *, seed: int = 0) -> list[LeakFinding]:
    """Every column of the model matrix whose statistic reaches its limit, strongest first."""
    if len(matrix) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(matrix), MAX_ROWS, replace=False))
        matrix, target = matrix.iloc[rows], target[rows]
    findings = []
    for name in matrix.columns:
        statistic, value, limit = measure_column(task, matrix[name], np.asarray(target))
        if np.isfinite(value) and value >= limit:
            findings.append(LeakFinding(str(name), statistic, round(float(value), 4), limit, excluded=name not in allowed))
    return sorted(findings, key=lambda finding: -finding.value)
