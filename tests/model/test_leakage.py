"""The leakage guard on planted leaky columns: excluded, named in the training report and the model card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.ingest.contract import Contract
from shared.model import leakage
from shared.model.features import model_matrix, target_vector
from shared.model.training import train_model
from shared.reporting.model_card import model_cards
from tests.lifecycle_world import REGIONS, SEXES, contract_yaml, sales_table

REASONS = ["precio", "competencia", "sin presupuesto", "no respondió"]


def _with_leaks(rows: int = 1500, seed: int = 5) -> pd.DataFrame:
    """The sales table plus a 'motivo_perdida' filled only when the sale was lost (the context's
    loss_reason) and 'dias_cobranza', a number that exists only for buyers."""
    frame = sales_table(rows, seed)
    rng = np.random.default_rng(seed)
    lost = frame["compra"] == "no"
    frame["motivo_perdida"] = pd.array(np.where(lost, rng.choice(REASONS, rows), None), dtype="string")
    frame["dias_cobranza"] = np.where(lost, np.nan, rng.integers(1, 90, rows)).astype(float)
    return frame


def _leaky_contract(allow: list[str] | None = None) -> Contract:
    import yaml

    data = yaml.safe_load(contract_yaml())
    data["columns"]["motivo_perdida"] = {"type": "categorical", "values": REASONS}
    data["columns"]["dias_cobranza"] = {"type": "numeric"}
    if allow:
        data["leakage"] = {"allow": allow}
    return Contract.from_dict(data)


def test_statistics_on_hand_built_columns() -> None:
    y = np.array([1, 1, 1, 0, 0, 0])
    assert leakage.numeric_auc(y, np.array([6.0, 5, 4, 3, 2, 1])) == 1.0
    assert leakage.numeric_auc(y, np.array([1.0, 2, 3, 4, 5, 6])) == 1.0  # symmetrized: a perfect inverse ranking leaks too
    # filled only for positives: missingness alone separates the classes
    assert leakage.numeric_auc(y, np.array([7.0, 3, 9, np.nan, np.nan, np.nan])) == 1.0
    # pairs: one positive above a negative, four ties (count one half): AUC 3/9, symmetrized 6/9
    assert leakage.numeric_auc(y, np.array([1.0, 2, 1, 2, 1, 2])) == pytest.approx(2 / 3)
    assert leakage.cramers_v(np.array(["a", "a", "b", "b"] * 25), np.array([1, 1, 0, 0] * 25)) > 0.97
    rng = np.random.default_rng(0)
    assert leakage.cramers_v(rng.choice(list("abcdefghij"), 2000), rng.integers(0, 2, 2000)) < 0.1  # corrected: no chance association
    assert leakage.correlation_ratio(np.array(["x", "x", "y", "y"]), np.array([1.0, 1.0, 5.0, 5.0])) == pytest.approx(1.0)


def test_planted_leaks_are_found_and_honest_columns_are_not() -> None:
    frame = _with_leaks()
    contract = _leaky_contract()
    matrix = model_matrix(frame, contract, contract.feature_columns)
    findings = leakage.find_leaks(matrix, target_vector(frame["compra"], contract), "binary")
    found = {f.column: f for f in findings}
    assert set(found) == {"motivo_perdida", "dias_cobranza"}
    assert found["motivo_perdida"].statistic == "cramers_v" and found["motivo_perdida"].value >= 0.95
    assert found["dias_cobranza"].statistic == "roc_auc" and found["dias_cobranza"].value == 1.0
    assert all(f.excluded for f in findings)
    assert "motivo_perdida" in found["motivo_perdida"].text("es") and "excluida" in found["motivo_perdida"].text("es")


def test_training_excludes_the_leaks_and_names_them() -> None:
    frame = _with_leaks()
    contract = _leaky_contract()
    trained = train_model(frame, contract, seed=2, time_budget_seconds=1)
    assert sorted(trained.excluded_features) == ["dias_cobranza", "motivo_perdida"]
    assert "motivo_perdida" not in trained.features and "dias_cobranza" not in trained.features
    assert {leak["column"] for leak in trained.leakage} == {"motivo_perdida", "dias_cobranza"}
    assert 0.75 < trained.metrics["roc_auc"] < 0.97  # a real model, not a perfect one
    meta = {
        "features": trained.features, "metrics": trained.metrics, "validation_metrics": trained.validation_metrics,
        "gates": contract.gates, "gate_failures": trained.gate_failures, "leakage": trained.leakage,
        "feature_importance": trained.feature_importance, "threshold": trained.threshold, "task": "binary", "rows": trained.rows,
    }
    cards = model_cards(meta, contract, "3")
    assert set(cards) == {"model_card.es.md", "model_card.es.html", "model_card.en.md", "model_card.en.html"}
    for name, text in cards.items():
        assert "motivo_perdida" in text and "dias_cobranza" in text, name
    assert "Columnas con fuga de datos" in cards["model_card.es.md"] and "excluida" in cards["model_card.es.md"]
    assert "Leaky columns" in cards["model_card.en.html"] and "<table>" in cards["model_card.en.html"]


def test_a_column_the_contract_allows_is_kept_but_still_reported() -> None:
    frame = _with_leaks()
    contract = _leaky_contract(allow=["dias_cobranza"])
    trained = train_model(frame, contract, seed=2, time_budget_seconds=1)
    assert trained.excluded_features == ["motivo_perdida"]
    assert "dias_cobranza" in trained.features
    allowed = next(leak for leak in trained.leakage if leak["column"] == "dias_cobranza")
    assert allowed["excluded"] is False
    assert trained.metrics["roc_auc"] > 0.99  # the allowed leak does what leaks do


def test_the_training_report_names_the_excluded_columns(tmp_path, monkeypatch, capsys) -> None:
    """Through the CLI: the JSON report lists them, the text report and the model card name them."""
    import json

    from shared.local.cli import main
    from tests.lifecycle_world import embedded_home

    embedded_home(tmp_path, monkeypatch)
    data = tmp_path / "ventas.csv"
    _with_leaks(1200).to_csv(data, index=False)
    contract_path = tmp_path / "contrato.yaml"
    contract_path.write_text(_leaky_contract().to_yaml(), encoding="utf-8")
    assert main(["train", str(data), "--contract", str(contract_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(report["excluded_features"]) == ["dias_cobranza", "motivo_perdida"]
    assert "motivo_perdida" in report["reason_es"] and "motivo_perdida" in report["reason_en"]
    card = report["model_card"]
    assert card.endswith("models/v1/model_card.es.html")
    assert "motivo_perdida" in open(card.removeprefix("file://"), encoding="utf-8").read()
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(listed["versions"][0]["excluded_features"]) == ["dias_cobranza", "motivo_perdida"]
    assert main(["--lang", "en", "models"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "excluded as leakage:" in line)
    assert "motivo_perdida" in line and "dias_cobranza" in line


def test_regression_and_multiclass_guards() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=500)
    target = values * 3 + 1  # a column that is the target in disguise
    matrix = pd.DataFrame({"copy": values, "noise": rng.normal(size=500), "group": pd.Categorical(rng.choice(["a", "b"], 500))})
    found = {f.column for f in leakage.find_leaks(matrix, target, "regression")}
    assert found == {"copy"}
    classes = rng.integers(0, 3, 500)
    matrix = pd.DataFrame({"code": pd.Categorical(np.array(["x", "y", "z"])[classes]), "noise": rng.normal(size=500), "level": classes * 10.0})
    assert {f.column for f in leakage.find_leaks(matrix, classes, "multiclass")} == {"code", "level"}
    assert REGIONS and SEXES  # the world module's constants stay importable


def test_a_column_the_guard_excluded_is_not_asked_of_files_to_score(tmp_path, monkeypatch) -> None:
    """Issue 13 item 7: a file to score without the excluded columns is scored whole (before: rejected
    for "missing column" though the model never reads them); with them, holding junk, they are ignored."""
    from shared.backends import services
    from shared.local.chain import drop_file
    from shared.local.cli import main
    from shared.settings import load_settings
    from tests.lifecycle_world import embedded_home

    embedded_home(tmp_path, monkeypatch)
    data = tmp_path / "ventas.csv"
    _with_leaks(1200).to_csv(data, index=False)
    contract_path = tmp_path / "contrato.yaml"
    contract_path.write_text(_leaky_contract().to_yaml(), encoding="utf-8")
    assert main(["train", str(data), "--contract", str(contract_path), "--json"]) == 0
    settings = load_settings()
    to_score = _with_leaks(300, seed=9).drop(columns=["compra"])

    without = tmp_path / "sin_fuga.csv"
    to_score.drop(columns=["motivo_perdida", "dias_cobranza"]).to_csv(without, index=False)
    result = drop_file(settings, without)
    assert result["status"] == "scored", result.get("message_en")
    assert result["rows_scored"] == 300 and result["rows_quarantined"] == 0

    junk = tmp_path / "con_fuga.csv"
    to_score.assign(dias_cobranza="no es número", motivo_perdida="otro motivo").to_csv(junk, index=False)
    result = drop_file(settings, junk)
    assert result["status"] == "scored" and result["rows_scored"] == 300 and result["rows_quarantined"] == 0
    clean = pd.read_parquet(result["clean"].removeprefix("file://"))
    assert "dias_cobranza" not in clean.columns and "motivo_perdida" not in clean.columns
    services.reset()
