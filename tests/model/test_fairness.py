"""Fairness figures on a constructed biased dataset: per-group rates, ratios, the four-fifths flag, the gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.model.fairness import (
    MIN_GROUP_ROWS,
    MISSING_GROUP,
    fairness_gate_failures,
    fairness_report,
    group_labels,
)
from shared.model.training import train_model
from tests.lifecycle_world import contract, sales_table


def _hand_built() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Group A: 40 rows, 20 positive, 20 flagged (16 right) -> rate 0.5, precision 0.8, recall 0.8.
    Group B: 40 rows, 20 positive, 8 flagged (6 right) -> rate 0.2, precision 0.75, recall 0.3.
    Group C: 10 rows (too few to judge), nobody flagged."""
    actual, predicted, group = [], [], []
    # A: 16 TP, 4 FP, 4 FN, 16 TN
    actual += [1] * 16 + [0] * 4 + [1] * 4 + [0] * 16
    predicted += [1] * 16 + [1] * 4 + [0] * 4 + [0] * 16
    group += ["A"] * 40
    # B: 6 TP, 2 FP, 14 FN, 18 TN
    actual += [1] * 6 + [0] * 2 + [1] * 14 + [0] * 18
    predicted += [1] * 6 + [1] * 2 + [0] * 14 + [0] * 18
    group += ["B"] * 40
    actual += [1] * 5 + [0] * 5
    predicted += [0] * 10
    group += ["C"] * 10
    return pd.DataFrame({"grupo": group}), np.array(actual), np.array(predicted)


def test_figures_ratios_and_flags_by_hand() -> None:
    frame, actual, predicted = _hand_built()
    report = fairness_report(frame, ["grupo"], actual, predicted)
    groups = {g["group"]: g for g in report["columns"]["grupo"]["groups"]}
    assert groups["A"]["positive_rate"] == pytest.approx(0.5)
    assert groups["A"]["precision"] == pytest.approx(0.8)
    assert groups["A"]["recall"] == pytest.approx(0.8)
    assert groups["B"]["positive_rate"] == pytest.approx(0.2)
    assert groups["B"]["precision"] == pytest.approx(0.75)
    assert groups["B"]["recall"] == pytest.approx(0.3)
    # ratios to the best-treated group (A on every metric)
    assert groups["A"]["positive_rate_ratio"] == 1.0
    assert groups["B"]["positive_rate_ratio"] == pytest.approx(0.4)
    assert groups["B"]["precision_ratio"] == pytest.approx(0.9375)
    assert groups["B"]["recall_ratio"] == pytest.approx(0.375)
    # C is shown, never flagged (10 < MIN_GROUP_ROWS) and never the reference
    assert groups["C"]["rows"] == 10 < MIN_GROUP_ROWS and groups["C"]["positive_rate"] == 0.0
    flags = {(f["group"], f["metric"]) for f in report["flags"]}
    assert flags == {("B", "positive_rate"), ("B", "recall")}
    assert fairness_gate_failures(report) == [
        "fairness grupo=B positive_rate ratio 0.40 < 0.80",
        "fairness grupo=B recall ratio 0.38 < 0.80",
    ]


def test_numeric_sensitive_column_is_banded_and_missing_is_a_group() -> None:
    ages = pd.Series([18, 22, 25, 31, 35, 40, 44, 52, 60, 70, np.nan] * 3, dtype=float)
    labels = group_labels(ages)
    assert MISSING_GROUP in set(labels)
    assert len(set(labels) - {MISSING_GROUP}) == 4
    assert all(label.startswith("[") for label in set(labels) - {MISSING_GROUP})
    text = group_labels(pd.Series(["mujer", None, "hombre"], dtype="string"))
    assert list(text) == ["mujer", MISSING_GROUP, "hombre"]


def test_a_missing_sensitive_column_is_reported_not_fatal() -> None:
    frame, actual, predicted = _hand_built()
    report = fairness_report(frame, ["provincia"], actual, predicted)
    assert report["columns"]["provincia"]["missing_column"] is True and report["flags"] == []


def _biased(rows: int = 2000, seed: int = 9) -> pd.DataFrame:
    """Past decisions that favoured men: the same sales buy far more often when the owner is a man."""
    frame = sales_table(rows, seed)
    rng = np.random.default_rng(seed)
    woman = (frame["sexo"] == "mujer").to_numpy()
    keep_positive = rng.random(rows) < np.where(woman, 0.25, 1.0)
    frame["compra"] = np.where((frame["compra"] == "sí").to_numpy() & keep_positive, "sí", "no")
    return frame


def test_training_reports_the_bias_and_the_optional_gate_refuses_it() -> None:
    frame = _biased()
    lenient = contract(fairness={"sensitive_columns": ["sexo", "region"]}, gates={"roc_auc": 0.6, "precision": 0.2, "recall": 0.2})
    trained = train_model(frame, lenient, seed=4, time_budget_seconds=1)
    sexo = {g["group"]: g for g in trained.fairness["columns"]["sexo"]["groups"]}
    assert sexo["hombre"]["positive_rate_ratio"] == 1.0
    assert sexo["mujer"]["positive_rate_ratio"] < 0.5  # women are flagged far less often
    assert any(f["column"] == "sexo" and f["group"] == "mujer" and f["metric"] == "positive_rate" for f in trained.fairness["flags"])
    assert {g["group"] for g in trained.fairness["columns"]["region"]["groups"]} == {"Costa", "Sierra", "Oriente"}
    assert not any(f.startswith("fairness") for f in trained.gate_failures)  # reported, not gated, by default

    strict = contract(fairness={"sensitive_columns": ["sexo"], "gate": True}, gates={"roc_auc": 0.6, "precision": 0.2, "recall": 0.2})
    gated = train_model(frame, strict, seed=4, time_budget_seconds=1)
    assert any(f.startswith("fairness sexo=mujer positive_rate ratio") for f in gated.gate_failures)
    assert not gated.gates_passed

    unbiased = train_model(sales_table(2000, 9), strict, seed=4, time_budget_seconds=1)
    assert not any(f.startswith("fairness") for f in unbiased.gate_failures)


def test_fairness_gate_refuses_promotion_and_the_card_shows_the_groups(tmp_path, monkeypatch) -> None:
    from shared.backends import services
    from shared.errors import PermanentError
    from shared.lifecycle.promotion import promote, train_from_csv
    from tests.lifecycle_world import embedded_home

    settings = embedded_home(tmp_path, monkeypatch)
    data = tmp_path / "sesgo.csv"
    _biased(1500).to_csv(data, index=False)
    strict = contract(fairness={"sensitive_columns": ["sexo"], "gate": True}, gates={"roc_auc": 0.6, "precision": 0.2, "recall": 0.2})
    outcome = train_from_csv(settings, data, strict, seed=4)
    assert outcome.promoted is False and "fairness sexo=mujer" in outcome.reason_en
    assert any(flag["group"] == "mujer" for flag in outcome.fairness_flags)
    card = open(outcome.model_card.removeprefix("file://"), encoding="utf-8").read()
    assert "Equidad" in card and "mujer" in card and "⚠" in card
    with pytest.raises(PermanentError, match="fairness sexo=mujer"):
        promote(settings, outcome.model_version)
    forced = promote(settings, outcome.model_version, reason="aceptado por el comité", force=True)
    assert forced["forced"] is True
    assert services.registry(settings).version_of("champion") == outcome.model_version
