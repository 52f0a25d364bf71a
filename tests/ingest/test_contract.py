"""The data contract: its types, YAML round trip, fingerprint, clear errors on bad YAML (inference: test_contract_drafting.py)."""

from __future__ import annotations

import pytest

from shared.errors import ContractError, PermanentError
from shared.ingest.contract import (
    DEFAULT_GATES,
    GENERATED_ID_COLUMN,
    ColumnSpec,
    Contract,
)


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


# -- YAML ----------------------------------------------------------------------------------------


def test_fingerprint_of_a_known_contract_never_moves() -> None:
    """Models are registered with their contract's fingerprint, which hashes the YAML text, its
    bilingual comment header included: the same contract must keep the same fingerprint."""
    columns = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric", min=0.0),
        "y": ColumnSpec("y", "categorical", values=["0", "1"], nullable=False),
    }
    contract = Contract(name="mini", target="y", positive="1", negative="0", id_column="id", columns=columns)
    assert contract.fingerprint() == "82b4c951bf794be0"


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
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical}, x: {type: numeric, min: abc}}\n", "columns.x.min must be a number, not 'abc'"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical, nullable: maybe}}\n", "columns.y.nullable must be true or false"),
        ("target: {column: y, positive: '1'}\ngates: {roc_auc: high}\ncolumns: {y: {type: categorical}}\n", "gates.roc_auc must be a number"),
        ("target: {column: z, positive: '1'}\ncolumns: {y: {type: categorical}}\n", "target column 'z' is not among"),
        ("target: {column: y, positive: '1'}\nid_column: cid\ncolumns: {y: {type: categorical}}\n", "id column 'cid' is not among"),
    ],
)
def test_from_yaml_errors_are_contract_errors(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=message) as caught:
        Contract.from_yaml(text)
    assert isinstance(caught.value, PermanentError)  # bad contracts are reported, never retried
    # People edit the contract: the error says what and where in their language too.
    assert caught.value.message("en") == str(caught.value)
    assert caught.value.message("es") != caught.value.message("en")


@pytest.mark.parametrize(
    ("text", "spanish"),
    [
        ("- a\n", "el contrato debe ser un mapa YAML"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: number}}\n", "columna «y»: type debe ser uno de numeric"),
        ("target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical}, x: {type: numeric, min: abc}}\n", "columns.x.min debe ser un número, no 'abc'"),
        ("target: {column: z, positive: '1'}\ncolumns: {y: {type: categorical}}\n", "la columna objetivo «z» no está entre las columnas del contrato"),
        (
            "target: {column: y, positive: '1'}\ncolumns: {y: {type: categorical}, f: {type: date, format: ['%d/%m/%Y', '%m/%d/%Y']}}\n",
            "columns.f.format: ['%d/%m/%Y', '%m/%d/%Y'] mezcla fechas con el día primero y con el mes primero",
        ),
    ],
)
def test_contract_errors_read_in_spanish(text: str, spanish: str) -> None:
    with pytest.raises(ContractError) as caught:
        Contract.from_yaml(text)
    assert spanish in caught.value.message("es")


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
