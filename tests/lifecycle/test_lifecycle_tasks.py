"""Multiclass and regression end to end through the CLI: contract, training, gates, predictions CSV, warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shared.backends import services
from shared.ingest.contract import Contract
from shared.local.cli import main
from tests.lifecycle_world import embedded_home

CLASSES = ["Alto", "Bajo", "Medio"]


def _shows(rows: int, seed: int) -> pd.DataFrame:
    """TV shows: budget, episodes, genre, a noise column -> commercial success (Alto/Medio/Bajo) and a 0-5 rating."""
    rng = np.random.default_rng(seed)
    budget = rng.gamma(3.0, 100.0, rows)
    episodes = rng.integers(4, 40, rows).astype(float)
    genre = rng.choice(["drama", "comedia", "noticias", "deporte"], rows)
    noise = rng.normal(size=rows)
    latent = (budget - 300) / 150 + 0.04 * (episodes - 20) + np.select([genre == "drama", genre == "noticias"], [0.8, -0.8], 0.0) + rng.normal(scale=0.6, size=rows)
    return pd.DataFrame(
        {
            "programa": [f"P{seed}-{i:05d}" for i in range(rows)],
            "presupuesto": np.round(budget, 1),
            "episodios": episodes,
            "genero": genre,
            "ruido": np.round(noise, 3),
            "exito": np.where(latent > 0.7, "Alto", np.where(latent > -0.5, "Medio", "Bajo")),
            "rating": np.round(np.clip(2.5 + 0.9 * latent + rng.normal(scale=0.3, size=rows), 0, 5), 2),
        }
    )


def _json(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    return embedded_home(tmp_path, monkeypatch)


def test_multiclass_end_to_end(home, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    train_path, new_path, contract_path = tmp_path / "programas.csv", tmp_path / "nuevos.csv", tmp_path / "contrato.yaml"
    _shows(1500, seed=1).drop(columns=["rating"]).to_csv(train_path, index=False)
    _shows(300, seed=2).drop(columns=["rating", "exito"]).to_csv(new_path, index=False)
    inferred = _json(capsys, "contract", "infer", str(train_path), "--target", "exito", "--id", "programa", "--task", "multiclass", "-o", str(contract_path))
    assert inferred["target"] == "exito"
    contract = Contract.from_yaml(contract_path.read_text(encoding="utf-8"))
    assert contract.task == "multiclass" and contract.classes == CLASSES
    assert contract.gates == {"macro_f1": 0.5, "accuracy": 0.5}
    text = contract_path.read_text(encoding="utf-8").replace("time_budget_seconds: 60.0", "time_budget_seconds: 2")
    contract_path.write_text(text, encoding="utf-8")

    trained = _json(capsys, "train", str(train_path), "--contract", str(contract_path))
    assert trained["task"] == "multiclass" and trained["promoted"] is True, trained["reason_en"]
    assert trained["metrics"]["macro_f1"] > 0.6 and trained["metrics"]["accuracy"] > 0.6
    assert trained["rows"]["class_Alto"] + trained["rows"]["class_Medio"] + trained["rows"]["class_Bajo"] == 1500

    output = tmp_path / "predicciones.csv"
    scored = _json(capsys, "score", str(new_path), "-o", str(output))
    assert scored["rows_scored"] == 300
    predictions = pd.read_csv(output, encoding="utf-8-sig")
    assert list(predictions.columns) == ["programa", "score", "label", "score_Alto", "score_Bajo", "score_Medio", "reason_1", "reason_2", "reason_3", "model_version"]
    per_class = predictions[["score_Alto", "score_Bajo", "score_Medio"]].to_numpy()
    assert np.allclose(per_class.sum(axis=1), 1.0, atol=1e-5)
    assert (predictions["label"] == np.asarray(CLASSES)[per_class.argmax(axis=1)]).all()
    assert np.allclose(predictions["score"], per_class.max(axis=1))
    assert predictions["reason_1"].str.match(r"^(presupuesto|episodios|genero|ruido) .+ [↑↓]$").all()

    dropped = _json(capsys, "drop", str(new_path))
    stored = services.warehouse(home).read("predictions")
    assert len(stored) == dropped["rows_scored"] == 300
    assert set(stored["label"]) <= set(CLASSES)
    assert set(json.loads(stored["class_scores"].iloc[0])) == set(CLASSES)
    models = _json(capsys, "models")
    assert models["versions"][0]["task"] == "multiclass" and "macro_f1" in models["versions"][0]["metrics"]


def test_regression_end_to_end(home, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    train_path, new_path, contract_path = tmp_path / "audiencia.csv", tmp_path / "nuevos.csv", tmp_path / "contrato.yaml"
    shows = _shows(1500, seed=3).drop(columns=["exito"])
    shows.to_csv(train_path, index=False)
    fresh = _shows(400, seed=4)
    fresh.drop(columns=["exito", "rating"]).to_csv(new_path, index=False)
    _json(capsys, "contract", "infer", str(train_path), "--target", "rating", "--id", "programa", "--task", "regression", "-o", str(contract_path))
    contract = Contract.from_yaml(contract_path.read_text(encoding="utf-8"))
    assert contract.task == "regression" and contract.gates == {"r2": 0.3}
    text = contract_path.read_text(encoding="utf-8").replace("time_budget_seconds: 60.0", "time_budget_seconds: 2").replace("r2: 0.3", "r2: 0.3\n  rmse: 0.9")
    contract_path.write_text(text, encoding="utf-8")

    trained = _json(capsys, "train", str(train_path), "--contract", str(contract_path))
    assert trained["promoted"] is True, trained["reason_en"]
    assert trained["metrics"]["r2"] > 0.7 and trained["metrics"]["rmse"] < 0.9
    assert 0.8 <= trained["metrics"]["interval_coverage"] <= 1.0

    output = tmp_path / "predicciones.csv"
    _json(capsys, "score", str(new_path), "-o", str(output))
    predictions = pd.read_csv(output, encoding="utf-8-sig").merge(fresh[["programa", "rating"]], on="programa")
    assert list(predictions.columns[:8]) == ["programa", "prediction", "prediction_low", "prediction_high", "reason_1", "reason_2", "reason_3", "model_version"]
    width = predictions["prediction_high"] - predictions["prediction_low"]
    assert np.allclose(width, width.iloc[0], atol=1e-5) and width.iloc[0] > 0
    inside = ((predictions["rating"] >= predictions["prediction_low"]) & (predictions["rating"] <= predictions["prediction_high"])).mean()
    assert inside > 0.8  # a 90 % interval on fresh rows
    assert np.sqrt(((predictions["rating"] - predictions["prediction"]) ** 2).mean()) < 0.9

    # an RMSE ceiling the model cannot meet keeps it out
    contract_path.write_text(text.replace("rmse: 0.9", "rmse: 0.05"), encoding="utf-8")
    failed = _json(capsys, "train", str(train_path), "--contract", str(contract_path))
    assert failed["promoted"] is False and any(f.startswith("rmse ") and "> 0.05" in f for f in failed["gate_failures"])
