"""Measured performance: labels joined to predictions by id, late and partial, judged against the gates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from shared.ingest.contract import ColumnSpec, Contract
from shared.monitor import performance
from shared.monitor.decision import decide
from shared.monitor.performance import auc_interval, join_labels, judge, roc_auc, wilson_interval
from shared.monitor.results import STATUS_RETRAIN, STATUS_WARNING

JANUARY = datetime(2025, 1, 10, tzinfo=UTC)
FEBRUARY = datetime(2025, 2, 10, tzinfo=UTC)


def contract(gates: dict[str, float] | None = None) -> Contract:
    columns = {"id": ColumnSpec("id", "identifier"), "y": ColumnSpec("y", "categorical", values=["no", "si"])}
    return Contract(
        name="t", target="y", positive="si", negative="no", id_column="id", columns=columns,
        gates=gates or {"roc_auc": 0.80, "precision": 0.60, "recall": 0.65},
    )  # fmt: skip


# --------------------------------------------------------------------------- known answers


def test_wilson_interval_known_answer() -> None:
    # 8 of 10: the textbook Wilson 95 % interval is (0.4902, 0.9433)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=5e-4) and high == pytest.approx(0.9433, abs=5e-4)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12) and wilson_interval(50, 50)[1] == pytest.approx(1.0)


def test_roc_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    actual = rng.random(500) < 0.2
    scores = np.round(rng.random(500) * 0.6 + actual * 0.3, 2)  # rounded: plenty of ties
    assert roc_auc(actual, scores) == pytest.approx(roc_auc_score(actual, scores))
    assert roc_auc(np.ones(5, bool), np.arange(5.0)) is None


def test_hanley_mcneil_interval_known_answer() -> None:
    # AUC 0.8, 50 positives, 50 negatives: Q1 = 0.8/1.2, Q2 = 2*0.64/1.8,
    # var = (0.16 + 49 (Q1 - 0.64) + 49 (Q2 - 0.64)) / 2500 = 0.0019804, SE = 0.04450
    low, high = auc_interval(0.8, 50, 50)
    assert (high - low) / 2 / 1.959964 == pytest.approx(0.04450, abs=5e-5)


# --------------------------------------------------------------------------- joining


def predictions(ids: list[str], scores: list[float], at: datetime, *, version: str = "1", threshold: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_key": f"batch-{at:%m}",
            "source_uri": f"file:///in/{at:%Y-%m}.csv",
            "row_id": ids,
            "score": scores,
            "label": ["si" if score >= threshold else "no" for score in scores],
            "reason_1": "x alto ↑",
            "model_version": version,
            "scored_at": [at + timedelta(seconds=i) for i in range(len(ids))],
        }
    )


def test_labels_join_by_id_partial_and_late() -> None:
    scored = pd.concat([predictions(["a", "b", "c"], [0.9, 0.2, 0.7], JANUARY), predictions(["d", "e"], [0.1, 0.8], FEBRUARY)])
    # January's labels arrive partially (c never gets one); February's are not there yet
    early = pd.DataFrame({"row_id": ["a", "b"], "actual": [1, 0]})
    joined = join_labels(scored, early).set_index("row_id")["actual"]
    assert joined.isna().to_dict() == {"a": False, "b": False, "c": True, "d": True, "e": True}
    assert (joined["a"], joined["b"]) == (1, 0)
    # a month later February's arrive, and "b" is corrected by a later file: the later label wins
    late = pd.DataFrame({"row_id": ["a", "b", "d", "e", "b"], "actual": [1, 0, 0, 1, 1]})
    joined = join_labels(scored, late).set_index("row_id")
    assert joined.loc["b", "actual"] == 1
    assert joined.loc["d", "actual"] == 0 and joined.loc["e", "actual"] == 1
    assert pd.isna(joined.loc["c", "actual"])


def test_an_id_scored_twice_keeps_its_latest_score() -> None:
    scored = pd.concat([predictions(["a"], [0.2], JANUARY), predictions(["a"], [0.9], FEBRUARY)])
    joined = join_labels(scored, pd.DataFrame({"row_id": ["a"], "actual": [1]}))
    assert len(joined) == 1 and joined.loc[0, "score"] == 0.9


def month_of_outcomes(at: datetime, rows: int, *, skill: float, seed: int, prefix: str, version: str = "1") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions whose scores separate the classes with ``skill`` (0 = coin flip), and their labels."""
    rng = np.random.default_rng(seed)
    actual = rng.random(rows) < 0.3
    scores = np.clip(0.5 + skill * (actual - 0.3) + rng.normal(0, 0.18, rows), 0, 1)
    ids = [f"{prefix}-{i}" for i in range(rows)]
    return predictions(ids, scores.tolist(), at, version=version), pd.DataFrame({"row_id": ids, "actual": actual.astype(int)})


def test_metrics_per_month_with_coverage_and_insufficient_labels() -> None:
    jan_scored, jan_labels = month_of_outcomes(JANUARY, 800, skill=0.9, seed=1, prefix="jan")
    feb_scored, feb_labels = month_of_outcomes(FEBRUARY, 800, skill=0.9, seed=2, prefix="feb")
    labels = pd.concat([jan_labels, feb_labels.head(100)])  # February: only 100 labels so far
    result = judge(pd.concat([jan_scored, feb_scored]), labels, contract(), "1")
    january, february = result.periods
    assert (january.period, february.period) == ("2025-01", "2025-02")
    assert january.sufficient and january.coverage == 1.0 and january.rows_labeled == 800
    expected_precision = ((jan_scored["label"] == "si") & (jan_labels["actual"] == 1)).sum() / (jan_scored["label"] == "si").sum()
    assert january.metrics["precision"] == pytest.approx(expected_precision)
    assert january.metrics["roc_auc"] == pytest.approx(roc_auc_score(jan_labels["actual"], jan_scored["score"]))
    assert not february.sufficient and february.rows_labeled == 100 and february.coverage == pytest.approx(100 / 800)
    assert not february.below_gate, "too few labels: nothing is judged"
    assert result.evaluated == january, "the verdict rests on the latest month with enough labels"
    assert not result.decay and "dentro de los umbrales" in result.message_es


def test_decay_significantly_below_the_gate_triggers_retraining() -> None:
    scored, labels = month_of_outcomes(JANUARY, 1500, skill=0.15, seed=3, prefix="bad")
    result = judge(scored, labels, contract(), "1")
    assert result.decay and result.evaluated.significantly_below
    for metric in result.evaluated.significantly_below:
        assert result.evaluated.intervals[metric][1] < contract().gates[metric]
    decision = decide([], result, window_rows=1500)
    assert decision.status == STATUS_RETRAIN and decision.retrain_requested
    assert [t.code for t in decision.triggers] == ["performance_decay"]
    assert decision.triggers[0].category == "performance" and "incumple el umbral del negocio" in decision.triggers[0].text_es


def test_under_the_gate_within_the_margin_of_error_is_a_warning() -> None:
    scored, labels = month_of_outcomes(JANUARY, 400, skill=0.9, seed=4, prefix="ok")
    measured = judge(scored, labels, contract(), "1").evaluated.metrics["precision"]
    # a gate just above the measured precision: under it, but its interval still reaches it
    result = judge(scored, labels, contract({"precision": measured + 0.01}), "1")
    assert result.below_gate and not result.decay
    decision = decide([], result, window_rows=400)
    assert decision.status == STATUS_WARNING and not decision.retrain_requested
    assert [w.code for w in decision.warnings] == ["performance_watch"]


def test_only_the_champions_own_predictions_decide() -> None:
    old_scored, old_labels = month_of_outcomes(JANUARY, 800, skill=0.1, seed=5, prefix="old", version="1")
    new_scored, new_labels = month_of_outcomes(FEBRUARY, 800, skill=0.9, seed=6, prefix="new", version="2")
    result = judge(pd.concat([old_scored, new_scored]), pd.concat([old_labels, new_labels]), contract(), "2")
    assert [p.period for p in result.periods] == ["2025-01", "2025-02"]
    assert result.periods[0].below_gate, "the old champion's month shows its decay in the table"
    assert result.evaluated.period == "2025-02" and not result.decay, "but the verdict is about the current champion"


def test_no_labels_at_all_is_said_plainly() -> None:
    scored, _ = month_of_outcomes(JANUARY, 300, skill=0.9, seed=7, prefix="x")
    result = judge(scored, pd.DataFrame({"row_id": pd.Series(dtype=str), "actual": pd.Series(dtype="Int64")}), contract(), "1")
    assert result.evaluated is None and not result.decay and not result.below_gate
    assert result.periods[0].coverage == 0.0
    assert "etiquetas insuficientes" in result.message_es and "not enough labels" in result.message_en


# --------------------------------------------------------------------------- the other tasks


def task_contract(task: str, gates: dict[str, float]) -> Contract:
    base = contract()
    return Contract(
        name="t", target="y", positive="", negative="", id_column="id", columns=base.columns, gates=gates,
        **({"task": task} if "task" in Contract.__dataclass_fields__ else {}),
    )  # fmt: skip


def test_multiclass_metrics_match_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(8)
    actual = rng.choice(["alto", "medio", "bajo"], 600)
    predicted = np.where(rng.random(600) < 0.7, actual, rng.choice(["alto", "medio", "bajo"], 600))
    metrics, intervals, below, significant = performance.measure_task("multiclass", actual, predicted, {"macro_f1": 0.9, "accuracy": 0.5})
    assert metrics["macro_f1"] == pytest.approx(f1_score(actual, predicted, average="macro"))
    assert metrics["accuracy"] == pytest.approx(np.mean(actual == predicted))
    assert below == ["macro_f1"] and significant == ["macro_f1"], "0.8 with an interval well under 0.9"
    low, high = intervals["macro_f1"]
    assert low < metrics["macro_f1"] < high


def test_regression_ceilings_are_missed_from_above() -> None:
    rng = np.random.default_rng(9)
    actual = rng.normal(100, 20, 800)
    predicted = actual + rng.normal(0, 10, 800)
    metrics, _, below, significant = performance.measure_task("regression", actual, predicted, {"r2": 0.3, "rmse": 5.0, "mae": 50.0})
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)))
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(predicted - actual)))
    assert metrics["r2"] == pytest.approx(1 - np.sum((predicted - actual) ** 2) / np.sum((actual - actual.mean()) ** 2))
    assert below == ["rmse"] and significant == ["rmse"], "RMSE about 10 against a ceiling of 5; R² and MAE fine"


@pytest.mark.skipif("task" not in Contract.__dataclass_fields__, reason="contracts without tasks")
def test_regression_months_are_judged_on_their_values() -> None:
    rng = np.random.default_rng(10)
    ids = [f"r{i}" for i in range(400)]
    actual = rng.normal(50, 10, 400)
    scored = predictions(ids, (actual + rng.normal(0, 2, 400)).tolist(), JANUARY).assign(label=pd.NA)
    labels = pd.DataFrame({"row_id": ids, "actual": actual})
    result = judge(scored, labels, task_contract("regression", {"r2": 0.3, "rmse": 5.0}), "1")
    assert result.evaluated.sufficient and not result.decay
    assert set(result.evaluated.metrics) == {"r2", "rmse", "mae"} and result.evaluated.metrics["rmse"] < 3
