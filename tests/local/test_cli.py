"""The CLI end to end on a CSV the generator never made: another schema, another dialect, no id column."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shared.local.cli import main


def _churn_frame(rows: int, seed: int) -> pd.DataFrame:
    """A telecom churn table: English headers, ',' delimiter, '.' decimals, ISO dates, Yes/No target."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.55, 0.25, 0.20])
    charges = np.round(rng.normal(70, 25, rows).clip(18, 120), 2)
    support = rng.choice(["Yes", "No"], rows)
    logit = -1.0 - 0.12 * tenure + 3.5 * (contract == "Month-to-month") + 0.06 * (charges - 70) + 1.8 * (support == "No")
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    return pd.DataFrame(
        {
            "Tenure Months": tenure,
            "Contract": contract,
            "Monthly Charges": charges,
            "Tech Support": support,
            "Start Date": start.strftime("%Y-%m-%d"),
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def _run(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"--json must print exactly one line on stdout, got: {out[:500]}"
    return json.loads(lines[0])


def test_every_command_on_an_unseen_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    train_path = tmp_path / "churn_train.csv"
    _churn_frame(4000, seed=1).to_csv(train_path, index=False)
    new_path = tmp_path / "churn_new.csv"
    _churn_frame(700, seed=2).drop(columns=["Churn"]).to_csv(new_path, index=False)
    contract_path = tmp_path / "contract.yaml"

    inferred = _run(capsys, "contract", "infer", str(train_path), "--target", "Churn", "-o", str(contract_path))
    assert inferred["positive"] == "Yes" and inferred["id_column"] is None
    assert inferred["column_types"] == {"numeric": 2, "categorical": 3, "date": 1}

    trained = _run(capsys, "train", str(train_path), "--contract", str(contract_path))
    assert {"model_version", "promoted", "metrics", "reason"} <= set(trained)
    assert trained["promoted"] is True and trained["model_version"] == "1"
    assert {"roc_auc", "precision", "recall"} <= set(trained["metrics"])
    assert trained["metrics"]["roc_auc"] > 0.75

    scored = _run(capsys, "score", str(new_path), "-o", str(tmp_path / "out.csv"))
    assert {"rows_in", "rows_scored", "rows_quarantined", "output", "quarantine"} <= set(scored)
    assert scored["rows_in"] == 700 == scored["rows_scored"] + scored["rows_quarantined"]
    predictions = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig")
    assert list(predictions.columns[:3]) == ["row_id", "score", "label"]
    assert predictions["row_id"].iloc[0] == "churn_new-2"  # generated ids: file stem and Excel row

    dropped = _run(capsys, "drop", str(new_path))
    assert dropped["rows_in"] == dropped["rows_scored"] + dropped["rows_quarantined"] == 700
    assert dropped["output"].endswith("churn_new.csv.predictions.csv")

    drift = _run(capsys, "drift", "--no-retrain")
    assert {"drifted_features", "retrain_requested", "report"} <= set(drift)
    assert drift["drifted_features"] == [] and drift["retrain_requested"] is False

    labels = pd.DataFrame({"row_id": [f"churn_new-{i + 2}" for i in range(700)], "Churn": _churn_frame(700, seed=2)["Churn"]})
    labels_path = tmp_path / "churn_labels.csv"
    labels.to_csv(labels_path, index=False)
    assert _run(capsys, "drop", str(labels_path), "--kind", "labels")["rows_clean"] == 700

    retrained = _run(capsys, "retrain")
    assert {"model_version", "promoted", "metrics", "reason"} <= set(retrained)
    assert retrained["model_version"] == "2" and retrained["reason"]

    models = _run(capsys, "models")
    assert models["name"] == "dropscore" and models["tracking_uri"].startswith("sqlite:///")
    assert [v["version"] for v in models["versions"]] == ["1", "2"]
    assert all({"version", "aliases", "metrics"} <= set(v) for v in models["versions"])

    promoted = _run(capsys, "promote", "2")
    assert promoted["model_version"] == "2"
    rolled = _run(capsys, "rollback")
    assert rolled["model_version"] == "1" and rolled["previous"] == "2"
    aliases = {v["version"]: v["aliases"] for v in _run(capsys, "models")["versions"]}
    assert aliases == {"1": ["champion"], "2": ["previous"]}


def test_errors_are_clear_and_in_the_users_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    assert main(["rollback", "--json"]) == 5  # ExitCode.NOT_READY
    error = json.loads(capsys.readouterr().out)
    assert error["code"] == "no_previous" and "anterior" in error["message"]
    path = tmp_path / "t.csv"
    _churn_frame(300, seed=3).to_csv(path, index=False)
    assert main(["train", str(path)]) == 5
    assert "contract infer" in capsys.readouterr().err


def test_console_script_help_and_json_purity(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("dropscore")
    for command in ([], ["contract", "infer"], ["train"], ["drop"], ["score"], ["drift"], ["retrain"], ["models"], ["promote"], ["rollback"], ["demo"]):
        result = subprocess.run([str(script), *command, "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "uso: dropscore" in result.stdout  # Spanish unless --lang en
    env = {"DROPSCORE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(script), "models", "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"name": "dropscore", "tracking_uri": f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}", "versions": []}
