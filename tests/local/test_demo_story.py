"""The demo's story at small scale, checked by its numbers rather than by "it ran"."""

from __future__ import annotations

import pytest

from shared.local.demo import DRIFTED_MONTH, run_demo
from shared.settings import Settings


def test_the_whole_story_adds_up(home: Settings, capsys: pytest.CaptureFixture) -> None:
    rows = 800
    summary = run_demo(home, rows_per_month=rows, training_rows=5000, seed=2024)
    story = capsys.readouterr().out

    assert summary["first_model"]["promoted"] is True
    assert summary["first_model"]["metrics"]["roc_auc"] >= 0.80
    for month in summary["months"]:
        assert month["rows_in"] == rows
        assert month["rows_in"] == month["rows_scored"] + month["rows_quarantined"]
    assert [m["rows_quarantined"] for m in summary["months"]] == [0, 3, 0]  # the three planted bad rows of month 2

    # months 1-3 come from the training distribution: the check stays quiet
    assert summary["check_1"]["drifted_features"] == []
    assert summary["check_1"]["retrain_requested"] is False
    # month 4 moved sales and employees by one standard deviation: named, and retraining requested
    assert {"ventas_mensuales", "num_empleados"} <= set(summary["check_2"]["drifted_features"])
    assert summary["check_2"]["retrain_requested"] is True
    retrain = summary["retrain"]
    assert retrain["model_version"] == "2"
    assert isinstance(retrain["promoted"], bool) and "ROC-AUC" in retrain["reason_en"] and "ROC-AUC" in retrain["reason_es"]
    aliases = {v["version"]: v["aliases"] for v in summary["models"]}
    assert ("champion" in aliases["2"]) == retrain["promoted"]
    assert DRIFTED_MONTH == 4

    # The story is told in the reader's language (Spanish by default), its numbers the Spanish way.
    assert "=== dropscore: demostración completa ===" in story and "the whole story" not in story
    assert "   Mes 2: 800 filas → 797 puntuadas, 3 en cuarentena." in story
    assert "numéricas" in story and "categóricas" in story and "identificador" in story
    assert "Volver al modelo anterior es un comando: DROPSCORE_HOME=" in story
