"""shared.ingest.contract_inference: a contract proposed from a file, called with typed arguments (no command line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import UnknownColumnError, UnknownPositiveError
from shared.ingest.contract import Contract
from shared.ingest.contract_inference import InferredContract, infer_contract_from_file


def _excel_csv(path: Path, header: str = "id;ventas;sector;alta;formalizado", rows: int = 40) -> Path:
    """A Spanish Excel export: cp1252, ';', decimal comma, dd/mm/yyyy dates, a sí/no target."""
    lines = [header] + [f"n{i};{i * 3},25;{('comercio', 'panadería', 'manufactura')[i % 3]};{1 + i % 28:02d}/03/2024;{'si' if i % 3 else 'no'}" for i in range(rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_a_spanish_excel_file_gives_a_contract_and_its_dialect(tmp_path: Path) -> None:
    inferred = infer_contract_from_file(_excel_csv(tmp_path / "entrenamiento.csv"), target="formalizado", positive="si", id_column="id")

    assert isinstance(inferred, InferredContract)
    contract = inferred.contract
    assert (contract.name, contract.target, contract.positive, contract.id_column) == ("entrenamiento", "formalizado", "si", "id")
    assert (inferred.encoding, inferred.delimiter, inferred.decimal) == ("cp1252", ";", ",")
    assert {name: spec.type for name, spec in contract.columns.items() if name != "formalizado"} == {
        "id": "identifier", "ventas": "numeric", "sector": "categorical", "alta": "date",
    }  # fmt: skip
    assert sum(inferred.column_types.values()) == len(contract.columns)
    # The training file's mark is not the scoring files' rule; the YAML reads back as the same contract.
    assert contract.decimal == "auto"
    assert Contract.from_yaml(contract.to_yaml()).to_yaml() == contract.to_yaml()


def test_a_point_decimal_file_is_read_as_point(tmp_path: Path) -> None:
    path = tmp_path / "churn.csv"
    path.write_text("Tenure,Charges,Churn\n" + "".join(f"{i},{i}.5,{'Yes' if i % 4 == 0 else 'No'}\n" for i in range(40)), encoding="utf-8")
    inferred = infer_contract_from_file(path, target="Churn", name="churn_model")
    assert (inferred.delimiter, inferred.decimal, inferred.contract.name, inferred.contract.positive) == (",", ".", "churn_model", "Yes")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spelling=st.sampled_from(["FORMALIZADO", "Formalizado", "formalizado", "FormaLizado"]), asked=st.sampled_from(["formalizado", "FORMALIZADO", "Formalizado"]))
def test_a_column_named_in_any_case_is_the_files_header(tmp_path_factory: pytest.TempPathFactory, spelling: str, asked: str) -> None:
    path = _excel_csv(tmp_path_factory.mktemp("case") / "t.csv", header=f"ID;ventas;sector;alta;{spelling}")
    contract = infer_contract_from_file(path, target=asked, positive="si", id_column="id").contract
    assert (contract.target, contract.id_column) == (spelling, "ID")


def test_an_unknown_target_says_which_columns_exist_and_the_likely_one(tmp_path: Path) -> None:
    path = _excel_csv(tmp_path / "t.csv")
    with pytest.raises(UnknownColumnError) as raised:
        infer_contract_from_file(path, target="formalizada")
    assert (raised.value.column, raised.value.role, raised.value.close_match) == ("formalizada", "target", "formalizado")
    assert raised.value.columns == ["id", "ventas", "sector", "alta", "formalizado"]

    with pytest.raises(UnknownColumnError) as raised:
        infer_contract_from_file(path, target="formalizado", id_column="codigo_cliente")
    assert (raised.value.role, raised.value.close_match) == ("id", None)


def test_a_positive_value_the_target_does_not_hold_is_refused_for_a_binary_task_only(tmp_path: Path) -> None:
    path = _excel_csv(tmp_path / "t.csv")
    with pytest.raises(UnknownPositiveError) as raised:
        infer_contract_from_file(path, target="formalizado", positive="yes")
    assert (raised.value.value, raised.value.column, raised.value.values) == ("yes", "formalizado", ["no", "si"])
    # The same value in another case is that value, as the file writes it (people type "SI" for "si").
    assert infer_contract_from_file(path, target="formalizado", positive="SI").contract.positive == "si"
    assert infer_contract_from_file(path, target="formalizado", positive=" Si ").contract.positive == "si"
    # A regression target has no positive class to check.
    numeric = infer_contract_from_file(path, target="ventas", positive="yes", task="regression").contract
    assert numeric.task == "regression" and numeric.target == "ventas"
