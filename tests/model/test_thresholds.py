"""The decision threshold against hand-computed expected values, floors and F1."""

from __future__ import annotations

import numpy as np
import pytest

from shared.ingest.contract import ContractError
from shared.model import thresholds
from tests.lifecycle_world import contract, contract_yaml

# Eight rows, sorted by score. "positive when score >= t":
#   t=0.9: TP1 FP0 FN3 | t=0.8: TP2 FP0 FN2 | t=0.7: TP3 FP0 FN1 | t=0.6: TP3 FP1 FN1
#   t=0.4: TP4 FP1 FN0 | t=0.3: TP4 FP2     | t=0.2: TP4 FP3     | t=0.1: TP4 FP4
Y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
SCORES = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])


def test_confusion_counts_at_every_threshold() -> None:
    confusion = thresholds.confusion_at_every_threshold(Y, SCORES)
    assert confusion.thresholds.tolist() == [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    assert confusion.true_positives.tolist() == [1, 2, 3, 3, 4, 4, 4, 4]
    assert confusion.false_positives.tolist() == [0, 0, 0, 1, 1, 2, 3, 4]
    assert confusion.false_negatives.tolist() == [3, 2, 1, 1, 0, 0, 0, 0]
    assert confusion.true_negatives.tolist() == [4, 4, 4, 3, 3, 2, 1, 0]


def test_ties_take_the_whole_run_of_equal_scores() -> None:
    confusion = thresholds.confusion_at_every_threshold(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1]))
    assert confusion.thresholds.tolist() == [0.9, 0.5, 0.1]
    assert confusion.true_positives.tolist() == [1, 2, 2]
    assert confusion.false_positives.tolist() == [0, 1, 2]


def test_expected_value_picks_the_hand_computed_best() -> None:
    # value(TP)=100, cost(FP)=30, cost(FN)=80. Totals per threshold (TP*100 - FP*30 - FN*80):
    # 0.9: -140 | 0.8: 40 | 0.7: 220 | 0.6: 190 | 0.4: 370 | 0.3: 340 | 0.2: 310 | 0.1: 280
    decision = {"value_true_positive": 100, "cost_false_positive": 30, "cost_false_negative": 80}
    choice = thresholds.choose(Y, SCORES, {}, decision)
    assert choice.threshold == 0.4
    assert choice.method == "expected_value"
    assert choice.expected_value_per_1000 == pytest.approx(370 / 8 * 1000)
    assert thresholds.expected_value_per_1000(Y, SCORES, 0.4, decision) == pytest.approx(46_250.0)
    assert thresholds.expected_value_per_1000(Y, SCORES, 0.7, decision) == pytest.approx(220 / 8 * 1000)


def test_expected_value_respects_the_floors() -> None:
    # With precision >= 0.9 only thresholds 0.9, 0.8, 0.7 are allowed (precision 1.0): the best of them is 0.7 (220).
    decision = {"value_true_positive": 100, "cost_false_positive": 30, "cost_false_negative": 80}
    choice = thresholds.choose(Y, SCORES, {"precision": 0.9, "recall": 0.0}, decision)
    assert choice.threshold == 0.7
    assert choice.meets_floors and choice.precision == 1.0 and choice.recall == 0.75
    assert choice.expected_value_per_1000 == pytest.approx(27_500.0)


def test_expected_value_when_no_threshold_meets_the_floors() -> None:
    decision = {"value_true_positive": 100, "cost_false_positive": 30, "cost_false_negative": 80}
    choice = thresholds.choose(Y, SCORES, {"precision": 0.99, "recall": 0.99}, decision)
    assert choice.method == "expected_value_floors_unmet" and not choice.meets_floors
    assert choice.threshold == 0.4


def test_a_value_for_true_negatives_counts_too() -> None:
    # TN worth 50 each makes staying quiet valuable: totals become 0.9: 60 ... 0.7: 420, 0.4: 520, 0.1: 280.
    decision = {"value_true_positive": 100, "cost_false_positive": 30, "cost_false_negative": 80, "value_true_negative": 50}
    assert thresholds.choose(Y, SCORES, {}, decision).threshold == 0.4
    expensive_fp = {"value_true_positive": 10, "cost_false_positive": 500, "cost_false_negative": 1}
    assert thresholds.choose(Y, SCORES, {}, expensive_fp).threshold == 0.7  # never a false positive


def test_without_costs_the_floors_decide_or_f1() -> None:
    widest = thresholds.choose(Y, SCORES, {"precision": 0.6, "recall": 0.5})
    assert widest.threshold == 0.7 and widest.method == "floors_widest_margin" and widest.expected_value_per_1000 is None
    f1 = thresholds.choose(Y, SCORES, {"precision": 0.99, "recall": 0.99})
    assert f1.threshold == 0.4 and f1.method == "best_f1"


def test_contract_reads_and_checks_the_decision_section() -> None:
    read = contract(decision={"value_true_positive": 120, "cost_false_positive": 15, "cost_false_negative": 60})
    assert read.decision == {"value_true_positive": 120.0, "cost_false_positive": 15.0, "cost_false_negative": 60.0}
    again = type(read).from_yaml(read.to_yaml())
    assert again.decision == read.decision
    assert "decision" not in type(read).from_yaml(contract_yaml()).to_dict()
    with pytest.raises(ContractError, match="unknown keys"):
        contract(decision={"value_of_a_sale": 10})
    with pytest.raises(ContractError, match="must be a number"):
        contract(decision={"cost_false_positive": "mucho"})


def test_training_uses_costs_and_reports_expected_value_per_1000() -> None:
    from shared.model.features import model_matrix, target_vector
    from shared.model.training import train_model
    from tests.lifecycle_world import sales_table

    decision = {"value_true_positive": 200, "cost_false_positive": 20, "cost_false_negative": 0}
    frame = sales_table(1200, seed=3)
    with_costs = contract(decision=decision, gates={"roc_auc": 0.6, "precision": 0.0, "recall": 0.0})
    trained = train_model(frame, with_costs, seed=1, time_budget_seconds=1)
    assert trained.threshold_info["method"] == "expected_value"
    # the reported holdout value is the hand formula applied to the holdout at the chosen threshold
    holdout = frame.iloc[trained.holdout_index]
    scores = trained.booster.predict(model_matrix(holdout, with_costs, trained.features))
    y = target_vector(holdout["compra"], with_costs)
    predicted = scores >= trained.threshold
    expected = (200 * (predicted & (y == 1)).sum() - 20 * (predicted & (y == 0)).sum()) / len(y) * 1000
    assert trained.metrics["expected_value_per_1000"] == pytest.approx(expected)
    assert trained.threshold_info["holdout_expected_value_per_1000"] == pytest.approx(expected)
    # a positive worth 10x its false alarm: the threshold sits low, flagging many rows
    assert trained.metrics["positive_rate"] > 0.4
