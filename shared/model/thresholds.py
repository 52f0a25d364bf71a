"""The decision threshold of a binary model, from the business's numbers when it gives them.

Two rules, both over every distinct score as a candidate threshold ("positive" = score ≥ threshold):

- With values and costs in the contract (``decision:`` value of a true positive, cost of a
  false positive and of a false negative, optionally value of a true negative) the threshold
  maximizes the expected value, among the thresholds that meet the precision and recall
  floors. When none meets them, the best expected value overall (the gates then fail and say so).
- Without costs: the threshold that meets both floors with the widest margin (its smaller
  slack, precision - floor or recall - floor, is the largest), because a floor met by 0.001 on
  the validation rows is missed on new data half the time; when no threshold meets both, the
  best F1.

Expected value is stated per 1 000 scored rows so people can compare it with their volume.
Everything here is pure and vectorized: one sort and cumulative sums, O(n log n).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

PER_ROWS = 1000


@dataclass(frozen=True)
class Confusion:
    """Counts at every candidate threshold (arrays aligned with ``thresholds``)."""

    thresholds: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    false_negatives: np.ndarray
    true_negatives: np.ndarray

    @property
    def precision(self) -> np.ndarray:
        predicted = self.true_positives + self.false_positives
        return np.divide(self.true_positives, predicted, out=np.zeros(len(predicted)), where=predicted > 0)

    @property
    def recall(self) -> np.ndarray:
        actual = self.true_positives + self.false_negatives
        return np.divide(self.true_positives, actual, out=np.zeros(len(actual)), where=actual > 0)

    @property
    def f1(self) -> np.ndarray:
        precision, recall = self.precision, self.recall
        total = precision + recall
        return np.divide(2 * precision * recall, total, out=np.zeros(len(total)), where=total > 0)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    method: str                       # "expected_value" | "floors_widest_margin" | "best_f1" | "expected_value_floors_unmet"
    meets_floors: bool
    expected_value_per_1000: float | None  # on the rows it was chosen on; None without costs
    precision: float
    recall: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def confusion_at_every_threshold(y_true: np.ndarray, scores: np.ndarray) -> Confusion:
    """TP/FP/FN/TN for "positive when score ≥ t" at every distinct score t (highest first)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    sorted_scores, sorted_y = s[order], y[order]
    # The last index of each run of equal scores: a threshold at that score takes the whole run.
    run_ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
    true_positives = np.cumsum(sorted_y)[run_ends]
    predicted = run_ends + 1
    false_positives = predicted - true_positives
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    return Confusion(
        thresholds=sorted_scores[run_ends],
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=positives - true_positives,
        true_negatives=negatives - false_positives,
    )


def expected_value(confusion: Confusion, decision: dict[str, float]) -> np.ndarray:
    """Total value at every threshold: TP·value − FP·cost − FN·cost (+ TN·value)."""
    return (
        confusion.true_positives * decision.get("value_true_positive", 0.0)
        - confusion.false_positives * decision.get("cost_false_positive", 0.0)
        - confusion.false_negatives * decision.get("cost_false_negative", 0.0)
        + confusion.true_negatives * decision.get("value_true_negative", 0.0)
    )


def expected_value_per_1000(y_true: np.ndarray, scores: np.ndarray, threshold: float, decision: dict[str, float]) -> float | None:
    """The expected value per 1 000 rows of applying ``threshold`` to these rows; None without costs or rows."""
    if not decision or len(y_true) == 0:
        return None
    y = np.asarray(y_true).astype(int)
    predicted = np.asarray(scores, dtype=float) >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    tn = int((~predicted & (y == 0)).sum())
    total = (
        tp * decision.get("value_true_positive", 0.0)
        - fp * decision.get("cost_false_positive", 0.0)
        - fn * decision.get("cost_false_negative", 0.0)
        + tn * decision.get("value_true_negative", 0.0)
    )
    return float(total / len(y) * PER_ROWS)


def choose(y_true: np.ndarray, scores: np.ndarray, gates: dict[str, float], decision: dict[str, float] | None = None) -> ThresholdChoice:
    """The threshold by the rules in the module docstring."""
    y = np.asarray(y_true).astype(int)
    if len(y) == 0:
        return ThresholdChoice(0.5, "best_f1", False, None, 0.0, 0.0)
    confusion = confusion_at_every_threshold(y, scores)
    precision, recall = confusion.precision, confusion.recall
    precision_floor, recall_floor = gates.get("precision", 0.0), gates.get("recall", 0.0)
    slack = np.minimum(precision - precision_floor, recall - recall_floor)
    feasible = slack >= 0
    if decision:
        value = expected_value(confusion, decision)
        candidates = np.flatnonzero(feasible) if feasible.any() else np.arange(len(value))
        # Ties in value: the higher threshold (fewer people bothered for the same value).
        best = int(candidates[np.argmax(value[candidates])])
        method = "expected_value" if feasible.any() else "expected_value_floors_unmet"
        per_1000 = float(value[best] / len(y) * PER_ROWS)
    elif feasible.any():
        best = int(np.flatnonzero(feasible)[np.argmax(slack[feasible])])
        method, per_1000 = "floors_widest_margin", None
    else:
        best = int(np.argmax(confusion.f1))
        method, per_1000 = "best_f1", None
    return ThresholdChoice(
        threshold=float(confusion.thresholds[best]),
        method=method,
        meets_floors=bool(feasible[best]),
        expected_value_per_1000=per_1000,
        precision=float(precision[best]),
        recall=float(recall[best]),
    )
