"""Contract inference: the draft proposed from a typed training frame (types, bounds, target, identifiers)."""

from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import ContractError
from shared.ingest.contract import DEFAULT_GATES, Contract
from shared.ingest.contract_drafting import infer_contract
from shared.ingest.parsing import infer_types

ROWS = 120


def _raw_training_frame() -> pd.DataFrame:
    """What the CSV reader hands over: every value a string, missing as NA."""
    regions = ["Norte", "Sur", "Este", "Oeste"]
    frame = pd.DataFrame(
        {
            "cliente_id": [f"C{i:04d}" for i in range(ROWS)],
            "cédula": [f"09{i:08d}" for i in range(ROWS)],
            "ventas": [f"{1000 + i * 17},{i % 100:02d}" for i in range(ROWS)],
            "saldo": [str(i - 30) for i in range(ROWS)],
            "región": [regions[i % 4] for i in range(ROWS)],
            "canal": [None if i % 10 == 0 else ("web" if i % 3 else "tienda") for i in range(ROWS)],
            "alta": [f"{(i % 28) + 1:02d}/{(i % 12) + 1:02d}/2023" for i in range(ROWS)],
            "comentario": [f"texto libre {i % 70}" for i in range(ROWS)],
            "abandono": ["sí" if i % 4 == 0 else "no" for i in range(ROWS)],
        }
    )
    return frame.astype("string")


@pytest.fixture(scope="module")
def inferred() -> Contract:
    typed, date_columns = infer_types(_raw_training_frame(), ",")
    return infer_contract(typed, target="abandono", id_column="cliente_id", name="ventas", decimal=",", date_columns=date_columns)


def test_infer_types_of_each_column(inferred: Contract) -> None:
    types = {name: spec.type for name, spec in inferred.columns.items()}
    assert types == {
        "cliente_id": "identifier",
        "cédula": "identifier",  # leading-zero codes stay text and the name says id
        "ventas": "numeric",
        "saldo": "numeric",
        "región": "categorical",
        "canal": "categorical",
        "alta": "date",
        "comentario": "text",  # 70 distinct repeated values: more than a category list, not unique
        "abandono": "categorical",
    }


def test_infer_free_text_column_is_optional_text() -> None:
    raw = _raw_training_frame()
    raw["comentario"] = pd.array([f"nota {i % 60}" for i in range(ROWS)], dtype="string")  # 60 distinct, repeated
    typed, dates = infer_types(raw, ",")
    contract = infer_contract(typed, target="abandono", id_column="cliente_id", date_columns=dates)
    spec = contract.columns["comentario"]
    assert spec.type == "text"
    assert spec.required is False
    assert spec.nullable is True


def test_infer_required_nullable_and_min(inferred: Contract) -> None:
    ventas, saldo, canal = inferred.columns["ventas"], inferred.columns["saldo"], inferred.columns["canal"]
    assert ventas.required and not ventas.nullable
    assert ventas.min == 0.0  # all non-negative: only the sign is a hard rule
    assert ventas.max is None
    assert ventas.observed["min"] == pytest.approx(1000.0)
    assert saldo.min is None  # has negative values: no lower bound
    assert saldo.observed["min"] == -30.0
    assert canal.nullable is True
    assert canal.observed["missing_share"] == pytest.approx(12 / ROWS)


def test_infer_categorical_values_and_shares(inferred: Contract) -> None:
    region = inferred.columns["región"]
    assert region.values == ["Este", "Norte", "Oeste", "Sur"]
    assert region.unknown == "missing"
    assert region.observed["shares"] == {"Norte": 0.25, "Sur": 0.25, "Este": 0.25, "Oeste": 0.25}
    assert inferred.columns["canal"].values == ["tienda", "web"]


def test_infer_date_format_and_target(inferred: Contract) -> None:
    assert inferred.columns["alta"].format == "%d/%m/%Y"
    assert inferred.target == "abandono"
    assert inferred.positive == "sí"
    assert inferred.negative == "no"
    assert inferred.columns["abandono"].values == ["no", "sí"]
    assert inferred.columns["abandono"].nullable is False
    assert inferred.id_column == "cliente_id"
    assert inferred.columns["cliente_id"].type == "identifier"
    assert inferred.columns["cliente_id"].nullable is False
    assert inferred.decimal == ","
    assert inferred.gates == DEFAULT_GATES


def test_infer_numeric_zero_one_target_keeps_file_text() -> None:
    # infer_types reads a 0/1 column as floats; the contract must hold "0"/"1" as the file writes them.
    raw = pd.DataFrame({"x": [str(i) for i in range(40)], "y": ["0", "0", "0", "1"] * 10}).astype("string")
    typed, _ = infer_types(raw, ".")
    contract = infer_contract(typed, target="y")
    assert contract.columns["y"].values == ["0", "1"]
    assert contract.positive == "1"
    assert contract.negative == "0"


@pytest.mark.parametrize(
    ("classes", "positive"),
    [
        (["no", "si"], "si"),
        (["No", "Sí"], "Sí"),
        (["false", "true"], "true"),
        (["N", "S"], "S"),
        (["bueno", "malo"], "malo"),  # no positive word: the minority class
    ],
)
def test_infer_positive_class(classes: list[str], positive: str) -> None:
    labels = [classes[0]] * 30 + [classes[1]] * 10
    frame = pd.DataFrame({"x": [float(i) for i in range(40)], "y": pd.array(labels, dtype="string")})
    assert infer_contract(frame, target="y").positive == positive


def test_infer_explicit_positive_and_errors() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": pd.array(["a", "b", "a"], dtype="string")})
    assert infer_contract(frame, target="y", positive="a").negative == "b"
    with pytest.raises(ContractError, match="'c' is not a value of 'y'"):
        infer_contract(frame, target="y", positive="c")
    with pytest.raises(ContractError, match="target column 'z' is not in the file"):
        infer_contract(frame, target="z")
    with pytest.raises(ContractError, match="id column 'cid' is not in the file"):
        infer_contract(frame, target="y", id_column="cid")
    three = frame.assign(y=pd.array(["a", "b", "c"], dtype="string"))
    with pytest.raises(ContractError, match="exactly two classes") as caught:
        infer_contract(three, target="y")
    assert "debe tener exactamente dos clases para un modelo binario; hay 3" in caught.value.message("es")


def test_infer_column_named_like_an_id_is_identifier() -> None:
    frame = pd.DataFrame(
        {
            "ID_Tienda": pd.array(["T1", "T2"] * 10, dtype="string"),
            "RUC": pd.array(["R1", "R2"] * 10, dtype="string"),
            "y": pd.array(["0", "1"] * 10, dtype="string"),
        }
    )
    contract = infer_contract(frame, target="y")
    assert contract.columns["ID_Tienda"].type == "identifier"
    assert contract.columns["RUC"].type == "identifier"
    assert contract.feature_columns == []


def test_yaml_round_trip(inferred: Contract) -> None:
    text = inferred.to_yaml()
    assert text.startswith("# dropscore data contract")
    assert "sí" in text  # written as UTF-8, not escaped
    again = Contract.from_yaml(text)
    assert again == inferred
    assert again.fingerprint() == inferred.fingerprint()
