"""The data contract: inference from a typed frame, YAML round trip, clear errors on bad YAML."""

from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import ContractError, PermanentError
from shared.ingest.contract import (
    DEFAULT_GATES,
    GENERATED_ID_COLUMN,
    ColumnSpec,
    Contract,
    infer_contract,
)
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


def _minimal_contract(**overrides: object) -> Contract:
    columns = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric", min=0.0),
        "zona": ColumnSpec("zona", "categorical", values=["A", "B"]),
        "fecha": ColumnSpec("fecha", "date", format="%d/%m/%Y"),
        "nota": ColumnSpec("nota", "text", required=False),
        "y": ColumnSpec("y", "categorical", values=["0", "1"], nullable=False),
    }
    values: dict[str, object] = {
        "name": "mini",
        "target": "y",
        "positive": "1",
        "negative": "0",
        "id_column": "id",
        "columns": columns,
    }
    values.update(overrides)
    return Contract(**values)  # type: ignore[arg-type]


# -- inference ---------------------------------------------------------------------------------


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
    with pytest.raises(ContractError, match="exactly two classes"):
        infer_contract(three, target="y")


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


# -- YAML ----------------------------------------------------------------------------------------


def test_yaml_round_trip(inferred: Contract) -> None:
    text = inferred.to_yaml()
    assert text.startswith("# dropscore data contract")
    assert "sí" in text  # written as UTF-8, not escaped
    again = Contract.from_yaml(text)
    assert again == inferred
    assert again.fingerprint() == inferred.fingerprint()


def test_yaml_round_trip_keeps_yes_no_categories() -> None:
    contract = _minimal_contract(
        columns={
            "id": ColumnSpec("id", "identifier"),
            "activo": ColumnSpec("activo", "categorical", values=["no", "yes", "on", "off"], unknown="quarantine"),
            "y": ColumnSpec("y", "categorical", values=["No", "Sí"], nullable=False),
        },
        positive="Sí",
        negative="No",
    )
    again = Contract.from_yaml(contract.to_yaml())
    assert again.columns["activo"].values == ["no", "yes", "on", "off"]
    assert again.columns["activo"].unknown == "quarantine"
    assert again.negative == "No"


def test_hand_written_yaml_unquoted_spanish_values_stay_text() -> None:
    text = """
target: {column: compra, positive: Sí, negative: No}
columns:
  compra: {type: categorical, values: [No, Sí], nullable: no}
  promo: {type: categorical, values: [yes, no]}
  monto: {type: numeric, min: 0, max: "1e6", required: yes}
"""
    contract = Contract.from_yaml(text)
    assert contract.columns["compra"].values == ["No", "Sí"]
    assert contract.negative == "No"
    assert contract.columns["compra"].nullable is False
    assert contract.columns["promo"].values == ["yes", "no"]
    assert contract.columns["monto"].required is True
    assert contract.columns["monto"].max == 1_000_000.0
    assert contract.gates == DEFAULT_GATES
    assert contract.decimal == "auto"
    assert contract.id_column is None
    assert contract.output_id_column == GENERATED_ID_COLUMN


def test_from_yaml_overrides_gates_and_margin() -> None:
    text = _minimal_contract().to_yaml().replace("precision: 0.6", "precision: 0.7").replace(
        "challenger_margin: 0.005", "challenger_margin: 0.01"
    )
    contract = Contract.from_yaml(text)
    assert contract.gates["precision"] == 0.7
    assert contract.gates["roc_auc"] == DEFAULT_GATES["roc_auc"]
    assert contract.challenger_margin == 0.01


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2\n", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("", "must be a YAML mapping"),
        ("columns: {y: {type: categorical}}\n", "missing the section 'target'"),
        ("target: {column: y, positive: '1'}\n", "missing the section 'columns'"),
        ("target: y\ncolumns: {y: {type: categorical}}\n", "'target' must be a mapping with 'column' and 'positive'"),
        ("target: {column: y}\ncolumns: {y: {type: categorical}}\n", "'target' must be a mapping with 'column' and 'positive'"),
        ("target: {column: y, positive: '1'}\ncolumns: [y]\n", "'columns' must be a mapping"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: categorical}\n", "column 'y': expected a mapping"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: number}}\n", "column 'y': type must be one of numeric"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical, unknown: drop}}\n", "unknown must be 'missing' or 'quarantine'"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical}, x: {type: numeric, min: abc}}\n", "column 'x': min must be a number, not 'abc'"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical, nullable: maybe}}\n", "nullable must be true or false"),
        ("target: {column: y, positive: '1'}\ngates: {roc_auc: high}\ncolumns: {y: {type: categorical}}\n", "gate 'roc_auc' must be a number"),
        ("target: {column: z, positive: '1'}\ncolumns: {y: {type: categorical}}\n", "target column 'z' is not among"),
        ("target: {column: y, positive: '1'}\nid_column: cid\ncolumns: {y: {type: categorical}}\n", "id column 'cid' is not among"),
    ],
)
def test_from_yaml_errors_are_contract_errors(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=message) as caught:
        Contract.from_yaml(text)
    assert isinstance(caught.value, PermanentError)  # bad contracts are reported, never retried


# -- names and derived views ----------------------------------------------------------------------


def test_feature_columns_exclude_target_id_text_and_dates() -> None:
    contract = _minimal_contract()
    assert contract.feature_columns == ["monto", "zona"]


def test_feature_columns_without_id_column() -> None:
    contract = _minimal_contract(id_column=None)
    assert contract.output_id_column == GENERATED_ID_COLUMN
    assert contract.feature_columns == ["monto", "zona"]


def test_without_target_relaxes_only_the_target() -> None:
    contract = _minimal_contract()
    relaxed = contract.without_target()
    assert relaxed.columns["y"].required is False
    assert relaxed.columns["y"].nullable is True
    assert relaxed.columns["y"].values == ["0", "1"]
    assert relaxed.columns["monto"] == contract.columns["monto"]
    assert relaxed.target == "y" and relaxed.positive == "1"
    # the original is untouched
    assert contract.columns["y"].required is True
    assert contract.columns["y"].nullable is False
