"""`dropscore contract infer`: the command's words around shared.ingest.contract_inference (in-process, both languages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.local.cli import main
from tests.local.test_cli import _churn_frame


@pytest.fixture
def churn_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    path = tmp_path / "churn.csv"
    _churn_frame(200, seed=4).to_csv(path, index=False)
    return path


def _json(capsys: pytest.CaptureFixture) -> dict:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return json.loads(lines[0])


def test_a_misspelled_column_is_named_with_its_option_the_likely_column_and_the_files_columns(churn_csv: Path, capsys: pytest.CaptureFixture) -> None:
    columns = "Tenure Months, Contract, Monthly Charges, Tech Support, Start Date, Churn"

    assert main(["contract", "infer", str(churn_csv), "--target", "Churned", "--json"]) == 2  # ExitCode.USAGE
    error = _json(capsys)
    assert error["code"] == "unknown_column"
    assert error["message_es"] == f"La columna «Churned» (--target) no está en el archivo. ¿Quiso decir «Churn»? Columnas del archivo: {columns}."
    assert error["message_en"] == f"The column 'Churned' (--target) is not in the file. Did you mean 'Churn'? Columns in the file: {columns}."

    assert main(["contract", "infer", str(churn_csv), "--target", "Churn", "--id", "customer", "--json", "--lang", "en"]) == 2
    error = _json(capsys)
    assert error["message"] == f"The column 'customer' (--id) is not in the file. Columns in the file: {columns}."


def test_the_positive_class_is_taken_in_any_case_as_the_file_writes_it(churn_csv: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["contract", "infer", str(churn_csv), "--target", "churn", "--positive", "yes", "--json"]) == 0
    result = _json(capsys)
    assert (result["target"], result["positive"]) == ("Churn", "Yes")

    assert main(["contract", "infer", str(churn_csv), "--target", "Churn", "--positive", "Si", "--json"]) == 2
    error = _json(capsys)
    assert error["code"] == "unknown_positive" and error["message_en"].startswith("'Si' is not a value of 'Churn'. Values found: No, Yes.")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "Contrato escrito en {path}: 4 columnas (1 identificador, 1 numéricas, 2 categóricas), objetivo «compro» (positivo «si»)."),
        ("en", "Contract written to {path}: 4 columns (1 identifier, 1 numeric, 2 categorical), target 'compro' (positive 'si')."),
    ],
)
def test_the_written_contract_is_summed_up_in_one_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, language: str, expected: str) -> None:
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    source = tmp_path / "clientes.csv"
    source.write_text("id;monto;zona;compro\n" + "".join(f"c{i};{i},5;{'norte' if i % 2 else 'sur'};{'si' if i % 3 else 'no'}\n" for i in range(60)), encoding="utf-8")
    output = tmp_path / "c.yaml"

    assert main(["contract", "infer", str(source), "--target", "compro", "--id", "id", "-o", str(output), "--lang", language]) == 0

    assert capsys.readouterr().out.strip() == expected.format(path=output)
