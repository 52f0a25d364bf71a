"""Row validation against the contract: every row comes out clean or quarantined with its reason."""

from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import BadInputError
from shared.ingest.contract import GENERATED_ID_COLUMN, ColumnSpec, Contract
from shared.ingest.validation import (
    HEADER_ROW,
    QUARANTINE_COLUMNS,
    ChunkValidator,
    expected_columns,
    map_header,
)

FIRST_DATA_ROW = HEADER_ROW + 1


def _contract(*, id_column: str | None = "cliente_id") -> Contract:
    columns = {
        "cliente_id": ColumnSpec("cliente_id", "identifier", nullable=False),
        "ventas": ColumnSpec("ventas", "numeric", nullable=False, min=0.0, max=1000.0),
        "región": ColumnSpec("región", "categorical", values=["Norte", "Sur"], unknown="quarantine"),
        "canal": ColumnSpec("canal", "categorical", values=["tienda", "web"], unknown="missing"),
        "fecha_alta": ColumnSpec("fecha_alta", "date", format="%d/%m/%Y"),
        "nota": ColumnSpec("nota", "text", required=False),
        "compra": ColumnSpec("compra", "categorical", values=["no", "sí"], nullable=False),
    }
    if id_column is None:
        del columns["cliente_id"]
    return Contract(
        name="ventas", target="compra", positive="sí", negative="no", id_column=id_column, columns=columns
    )


def _raw(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype("string")


def _row(**values: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "cliente_id": "C1",
        "ventas": "10,5",
        "región": "Norte",
        "canal": "web",
        "fecha_alta": "31/12/2024",
        "nota": None,
    }
    base.update(values)
    return base


def _validator(contract: Contract, kind: str, header: list[str], source: str = "incoming/2026-01/ventas.csv") -> ChunkValidator:
    return ChunkValidator(contract, kind, map_header(header, contract, kind), ",", source)


# -- headers --------------------------------------------------------------------------------------


def test_map_header_ignores_case_accents_and_spacing() -> None:
    header = ["Cliente ID", "VENTAS", "Region", "canal", " Fecha Alta ", "otra cosa"]
    mapping = map_header(header, _contract(), "incoming")
    assert mapping.renamed == {"Cliente ID": "cliente_id", "VENTAS": "ventas", "Region": "región", " Fecha Alta ": "fecha_alta"}
    assert mapping.renames["canal"] == "canal"
    assert "canal" not in mapping.renamed  # an exact match is not a rename
    assert mapping.extra == ["otra cosa"]
    assert mapping.missing_optional == ["nota"]
    assert mapping.missing_required == []
    assert "compra" not in mapping.expected  # files to score do not carry the target


def test_map_header_second_spelling_of_a_column_is_extra() -> None:
    mapping = map_header(["cliente_id", "ventas", "Ventas", "región", "canal", "fecha_alta"], _contract(), "incoming")
    assert mapping.renames["ventas"] == "ventas"
    assert mapping.extra == ["Ventas"]


def test_map_header_missing_required_columns() -> None:
    with pytest.raises(BadInputError) as caught:
        map_header(["cliente_id", "Ventas", "nota"], _contract(), "incoming")
    problem = caught.value
    assert problem.code == "missing_columns"
    assert problem.message_en.startswith("Required columns are missing: región, canal, fecha_alta.")
    assert problem.message_es.startswith("Faltan columnas obligatorias: región, canal, fecha_alta.")
    assert "Columns found: cliente_id, Ventas, nota" in problem.message_en


def test_training_files_require_the_target_and_labels_only_id_and_target() -> None:
    header = ["cliente_id", "ventas", "región", "canal", "fecha_alta"]
    with pytest.raises(BadInputError, match="compra"):
        map_header(header, _contract(), "training")
    assert map_header(header + ["Compra"], _contract(), "training").renamed == {"Compra": "compra"}
    labels = map_header(["Cliente_ID", "compra", "ventas"], _contract(), "labels")
    assert labels.expected == ["cliente_id", "compra"]
    assert labels.extra == ["ventas"]


def test_expected_columns_include_the_generated_id_when_the_contract_has_none() -> None:
    columns, required = expected_columns(_contract(id_column=None), "incoming")
    assert columns[0] == GENERATED_ID_COLUMN
    assert GENERATED_ID_COLUMN not in required
    mapping = map_header(["ventas", "región", "canal", "fecha_alta"], _contract(id_column=None), "incoming")
    assert mapping.missing_optional == ["nota"]  # the generated id is not reported as missing


# -- rows -----------------------------------------------------------------------------------------


def test_every_row_is_clean_or_quarantined_with_excel_row_numbers() -> None:
    rows = [
        _row(cliente_id="C1"),                        # row 2: clean
        _row(cliente_id="C2", ventas="diez"),         # row 3: not_a_number
        _row(cliente_id="C3", ventas="-1"),           # row 4: below_min
        _row(cliente_id="C4", ventas="1.500,0"),      # row 5: above_max
        _row(cliente_id="C5", ventas=None),           # row 6: missing_value (not nullable)
        _row(cliente_id=None),                        # row 7: missing_id
        _row(cliente_id="C1"),                        # row 8: duplicate_id
        _row(cliente_id="C8", fecha_alta="2024-12-31"),  # row 9: bad_date
        _row(cliente_id="C9", región="Centro"),       # row 10: unknown_category (policy quarantine)
        _row(cliente_id="C10", canal="teléfono"),     # row 11: clean, canal scored as missing
        _row(cliente_id="C11", región=None, fecha_alta=None, nota="hola"),  # row 12: clean, nullable blanks
    ]
    raw = _raw(rows)
    validator = _validator(_contract(), "incoming", list(raw.columns))
    result = validator.validate(raw, first_row_number=FIRST_DATA_ROW)

    assert len(result.clean) + len(result.quarantine) == len(raw)
    assert result.clean["cliente_id"].tolist() == ["C1", "C10", "C11"]
    quarantine = result.quarantine
    assert list(quarantine.columns[: len(QUARANTINE_COLUMNS)]) == QUARANTINE_COLUMNS
    got = list(zip(quarantine["row_number"].tolist(), quarantine["error_code"].tolist(), quarantine["column"].tolist(), strict=True))
    assert got == [
        (3, "not_a_number", "ventas"),
        (4, "below_min", "ventas"),
        (5, "above_max", "ventas"),
        (6, "missing_value", "ventas"),
        (7, "missing_id", "cliente_id"),
        (8, "duplicate_id", "cliente_id"),
        (9, "bad_date", "fecha_alta"),
        (10, "unknown_category", "región"),
    ]
    # the original values travel with the reason, so the user can fix and resend
    assert quarantine.loc[0, "ventas"] == "diez"
    assert quarantine.loc[7, "región"] == "Centro"
    assert result.unknown_categories == 1


def test_clean_rows_are_typed() -> None:
    raw = _raw([_row(ventas="1.234,5"), _row(cliente_id="C2", canal="teléfono", fecha_alta="01/02/2025")])
    contract = _contract()
    contract.columns["ventas"].max = None
    result = _validator(contract, "incoming", list(raw.columns)).validate(raw, FIRST_DATA_ROW)
    clean = result.clean
    assert clean["ventas"].tolist() == [1234.5, 10.5]
    assert clean["fecha_alta"].tolist() == [pd.Timestamp(2024, 12, 31), pd.Timestamp(2025, 2, 1)]
    assert clean["canal"].iloc[0] == "web"
    assert pd.isna(clean["canal"].iloc[1])  # unknown category, policy "missing"
    assert result.unknown_categories == 1
    assert "compra" not in clean.columns
    assert len(result.quarantine) == 0
    assert list(result.quarantine.columns[:5]) == QUARANTINE_COLUMNS


def test_messages_in_spanish_and_english() -> None:
    raw = _raw([_row(ventas="-2"), _row(cliente_id="C2", región="Centro"), _row(cliente_id="C3", fecha_alta="ayer")])
    quarantine = _validator(_contract(), "incoming", list(raw.columns)).validate(raw, FIRST_DATA_ROW).quarantine
    assert quarantine["message_es"].tolist() == [
        "El valor -2 de «ventas» es menor que el mínimo permitido (0).",
        "«Centro» no es un valor conocido de «región».",
        "«ayer» no es una fecha válida en «fecha_alta» (formato %d/%m/%Y).",
    ]
    assert quarantine["message_en"].tolist() == [
        "The value -2 of 'ventas' is below the allowed minimum (0).",
        "'Centro' is not a known value of 'región'.",
        "'ayer' is not a valid date in 'fecha_alta' (format %d/%m/%Y).",
    ]


def test_first_problem_of_a_row_wins() -> None:
    raw = _raw([_row(ventas="x", región="Centro")])
    quarantine = _validator(_contract(), "incoming", list(raw.columns)).validate(raw, FIRST_DATA_ROW).quarantine
    assert quarantine["error_code"].tolist() == ["not_a_number"]


def test_duplicate_ids_across_chunks_and_row_numbers_continue() -> None:
    contract = _contract()
    header = list(_row().keys())
    validator = _validator(contract, "incoming", header)
    first = _raw([_row(cliente_id="A"), _row(cliente_id="B")])
    second = _raw([_row(cliente_id="C"), _row(cliente_id="A"), _row(cliente_id="C")]).set_axis([2, 3, 4])
    one = validator.validate(first, FIRST_DATA_ROW)
    two = validator.validate(second, FIRST_DATA_ROW + len(first))
    assert one.clean["cliente_id"].tolist() == ["A", "B"]
    assert two.clean["cliente_id"].tolist() == ["C"]
    assert two.quarantine["row_number"].tolist() == [5, 6]
    assert two.quarantine["error_code"].tolist() == ["duplicate_id", "duplicate_id"]
    assert "«A» ya apareció" in two.quarantine["message_es"].iloc[0]
    assert len(two.clean) + len(two.quarantine) == len(second)


def test_duplicate_of_a_quarantined_row_does_not_depend_on_chunking() -> None:
    rows = [_row(cliente_id="A", ventas="x"), _row(cliente_id="B"), _row(cliente_id="A")]
    header = list(_row().keys())
    whole = _validator(_contract(), "incoming", header).validate(_raw(rows), FIRST_DATA_ROW)
    split = _validator(_contract(), "incoming", header)
    first = split.validate(_raw(rows[:2]), FIRST_DATA_ROW)
    second = split.validate(_raw(rows[2:]).set_axis([2]), FIRST_DATA_ROW + 2)
    assert whole.quarantine["error_code"].tolist() == ["not_a_number", "duplicate_id"]
    assert first.quarantine["error_code"].tolist() + second.quarantine["error_code"].tolist() == ["not_a_number", "duplicate_id"]
    assert whole.clean["cliente_id"].tolist() == first.clean["cliente_id"].tolist() + second.clean["cliente_id"].tolist() == ["B"]


def test_headers_are_renamed_before_validation() -> None:
    raw = pd.DataFrame({"Cliente ID": ["C1"], "VENTAS": ["5"], "Region": ["Sur"], "canal": ["web"], "Fecha Alta": ["01/01/2024"]}).astype("string")
    validator = _validator(_contract(), "incoming", list(raw.columns))
    result = validator.validate(raw, FIRST_DATA_ROW)
    assert result.clean.loc[0, "región"] == "Sur"
    assert result.clean.loc[0, "ventas"] == 5.0
    assert list(result.clean.columns) == ["cliente_id", "ventas", "región", "canal", "fecha_alta", "nota"]


def test_training_file_with_bad_or_missing_target() -> None:
    rows = [_row(cliente_id="C1", compra="sí"), _row(cliente_id="C2", compra="quizás"), _row(cliente_id="C3", compra=None), _row(cliente_id="C4", compra="no")]
    raw = _raw(rows)
    result = _validator(_contract(), "training", list(raw.columns)).validate(raw, FIRST_DATA_ROW)
    assert result.clean["compra"].tolist() == ["sí", "no"]
    assert result.quarantine["error_code"].tolist() == ["bad_target", "bad_target"]
    assert result.quarantine["row_number"].tolist() == [3, 4]
    assert result.quarantine["message_en"].iloc[0] == "'quizás' is not a valid outcome of 'compra'."


def test_labels_file() -> None:
    raw = _raw([{"cliente_id": "C1", "compra": "sí"}, {"cliente_id": "C2", "compra": "tal vez"}, {"cliente_id": None, "compra": "no"}])
    result = _validator(_contract(), "labels", list(raw.columns)).validate(raw, FIRST_DATA_ROW)
    assert result.clean.to_dict("records") == [{"cliente_id": "C1", "compra": "sí"}]
    assert result.quarantine["error_code"].tolist() == ["bad_target", "missing_id"]


def test_generated_ids_when_the_contract_has_no_id_column() -> None:
    contract = _contract(id_column=None)
    rows = [_row(), _row(ventas="x"), _row()]
    for row in rows:
        del row["cliente_id"]
    raw = _raw(rows)
    validator = _validator(contract, "incoming", list(raw.columns), source="incoming/2026-01/ventas_enero.csv")
    result = validator.validate(raw, FIRST_DATA_ROW)
    assert result.clean[GENERATED_ID_COLUMN].tolist() == ["ventas_enero-2", "ventas_enero-4"]
    assert result.quarantine["row_number"].tolist() == [3]
    more = validator.validate(raw.iloc[:1].set_axis([3]), FIRST_DATA_ROW + 3)
    assert more.clean[GENERATED_ID_COLUMN].tolist() == ["ventas_enero-5"]  # unique across chunks


def test_passthrough_columns_are_kept_as_text() -> None:
    contract = _contract()
    contract.passthrough = ["vendedor"]
    raw = _raw([_row(vendedor="Ana")])
    result = _validator(contract, "incoming", list(raw.columns)).validate(raw, FIRST_DATA_ROW)
    assert result.clean.loc[0, "vendedor"] == "Ana"
