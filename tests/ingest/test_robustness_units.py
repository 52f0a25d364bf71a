"""Units of input robustness: identifiers, locale, dates, header mapping, safe cells, output dialect, claims."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from shared.errors import BadInputError, ContractError
from shared.i18n import locale_date_format, locale_decimal, normalize_locale
from shared.ingest.clean_table import output_dialect
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.csv_output import csv_rows, extra_output_columns, predictions_dialect
from shared.ingest.identifiers import check_identifiers
from shared.ingest.parsing import detect_decimal_with_source, swapped_format, to_dates
from shared.ingest.pii import PiiHasher
from shared.ingest.spreadsheet_safety import neutralize, neutralize_frame
from shared.ingest.validation import ChunkValidator, map_header
from tests.corpus.generate import cedulas

# -- identifiers -----------------------------------------------------------------------------------


def test_cedula_and_ruc_checked_by_stdnum_and_repaired_only_when_proven() -> None:
    guayas = cedulas(1, 1, province=9)[0]          # 09xxxxxxxx
    pichincha = cedulas(1, 2, province=17)[0]      # 17xxxxxxxx
    values = pd.Series([guayas, guayas[1:], pichincha, pichincha[1:], "171003406-5", "9,12E+08", "ABC", None], dtype="string")
    checked = check_identifiers(values, "cedula")
    assert checked.values.iloc[1] == guayas           # Excel's lost zero put back: the check digit proves it
    assert checked.repaired.tolist() == [False, True, False, False, False, False, False, False]
    assert checked.invalid.tolist() == [False, False, False, True, False, True, True, False]
    assert checked.values.iloc[4] == "1710034065"      # compact form of a dashed cédula
    assert "Excel" in checked.reasons[5][0] and "digits" in checked.reasons[6][1]
    ruc = check_identifiers(pd.Series([guayas + "001", guayas[1:] + "001", "1790012345002"], dtype="string"), "ruc")
    assert ruc.repaired.tolist() == [False, True, False] and ruc.invalid.tolist() == [False, False, True]


# -- locale, numbers, dates ---------------------------------------------------------------------------


def test_locale_defaults() -> None:
    assert normalize_locale("es_ec") == "es-EC" and normalize_locale(None) == "es-EC"
    assert locale_decimal("es-EC") == "," and locale_decimal("es-MX") == "." and locale_decimal("en-US") == "."
    assert locale_date_format("es-EC") == "%d/%m/%Y" and locale_date_format("en-US") == "%m/%d/%Y"


def test_decimal_mark_from_the_file_else_from_the_locale() -> None:
    assert detect_decimal_with_source(pd.Series(["1.234,56"]), ";", default=".") == (",", "file")
    assert detect_decimal_with_source(pd.Series(["1234.5"]), ";", default=",") == (".", "file")
    assert detect_decimal_with_source(pd.Series(["1.234", "12"]), ";", default=",") == (",", "locale")
    assert detect_decimal_with_source(pd.Series(["1,5"]), ",", default=",") == (".", "file")


def test_dates_in_declared_formats_never_mix_day_and_month() -> None:
    values = pd.Series(["25/12/2026", "2026-01-02", "03/04/2026"], dtype="string")
    assert to_dates(values, ["%d/%m/%Y", "%Y-%m-%d"]).tolist() == [pd.Timestamp(2026, 12, 25), pd.Timestamp(2026, 1, 2), pd.Timestamp(2026, 4, 3)]
    assert swapped_format("%d/%m/%Y") == "%m/%d/%Y"
    with pytest.raises(ContractError, match="day-first and month-first"):
        ColumnSpec.from_dict("f", {"type": "date", "format": ["%d/%m/%Y", "%m/%d/%Y"]})


def _contract(**overrides) -> Contract:
    columns = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "fecha": ColumnSpec("fecha", "date"),
        "monto": ColumnSpec("monto", "numeric"),
        "y": ColumnSpec("y", "categorical", values=["no", "si"]),
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=columns, **overrides)


def _validate(contract: Contract, frame: pd.DataFrame, **options):
    mapping = map_header(list(frame.columns), contract, "incoming")
    return ChunkValidator(contract, "incoming", mapping, ",", "incoming/x.csv", **options).validate(frame.astype("string"), 2)


def test_month_first_file_is_read_month_first_and_mixed_orders_are_refused() -> None:
    # The file's dialect is the file's (issue 13): its dates prove month-first, so all of them are read so.
    month_first = pd.DataFrame({"id": ["1", "2"], "fecha": ["12/25/2026", "03/04/2026"], "monto": ["1", "2"]})
    result = _validate(_contract(), month_first)
    assert result.quarantine.empty
    assert result.clean["fecha"].dt.strftime("%Y-%m-%d").tolist() == ["2026-12-25", "2026-03-04"]
    mixed = pd.DataFrame({"id": [str(i) for i in range(8)], "fecha": ["25/12/2026", "12/25/2026"] * 4, "monto": ["1"] * 8})
    with pytest.raises(BadInputError) as caught:
        _validate(_contract(), mixed)
    assert caught.value.code == "mixed_date_order"
    one_odd = pd.DataFrame({"id": [str(i) for i in range(40)], "fecha": ["25/12/2026"] * 39 + ["12/25/2026"], "monto": ["1"] * 40})
    result = _validate(_contract(), one_odd)
    assert result.quarantine["error_code"].tolist() == ["date_order"] and len(result.clean) == 39


def test_contract_locale_section_round_trips_and_is_checked() -> None:
    contract = _contract(locale="es-MX", date_format="%Y-%m-%d", output_delimiter=";", output_decimal=",", extra_columns="passthrough")
    again = Contract.from_yaml(contract.to_yaml())
    assert (again.locale, again.date_format, again.output_delimiter, again.output_decimal, again.extra_columns) == ("es-MX", "%Y-%m-%d", ";", ",", "passthrough")
    assert again.date_formats_for(again.columns["fecha"]) == ["%Y-%m-%d"]
    assert _contract().date_formats_for(_contract().columns["fecha"]) == ["%d/%m/%Y"]
    for bad in ({"extra_columns": "keep"}, {"locale": {"output_delimiter": ":"}}, {"locale": {"decimal": ";"}}):
        with pytest.raises(ContractError):
            Contract.from_dict({**contract.to_dict(), **bad})


# -- header mapping -----------------------------------------------------------------------------------


def test_header_mapping_spellings_duplicates_and_nothing_matching() -> None:
    contract = _contract()
    mapping = map_header(["ID", "Fecha ", "M.O.N.T.O"], contract, "incoming")
    assert mapping.renamed == {"ID": "id", "Fecha ": "fecha", "M.O.N.T.O": "monto"}
    for header, duplicated in ((["id", "Monto", "MONTO", "fecha"], ()), (["id", "monto", "monto (2)", "fecha"], ("monto",))):
        with pytest.raises(BadInputError) as caught:
            map_header(header, contract, "incoming", duplicated=duplicated)
        assert caught.value.code == "duplicate_columns"
    assert map_header(["id", "monto", "fecha", "notas", "notas (2)"], contract, "incoming", duplicated=("notas",)).extra == ["notas", "notas (2)"]
    with pytest.raises(BadInputError) as caught:
        map_header(["producto", "precio"], contract, "incoming")
    assert caught.value.code == "no_matching_columns"


def test_extra_columns_pass_through_when_the_contract_says_so() -> None:
    frame = pd.DataFrame({"id": ["1"], "monto": ["5"], "fecha": ["01/02/2026"], "sucursal": ["Quito"]})
    assert "sucursal" not in _validate(_contract(), frame).clean
    assert _validate(_contract(extra_columns="passthrough"), frame).clean.loc[0, "sucursal"] == "Quito"


def test_ragged_rows_of_a_file_with_personal_data_show_nothing_of_it() -> None:
    from shared.ingest.row_problems import RowProblem

    contract = _contract()
    contract.columns["id"] = ColumnSpec("id", "cedula", nullable=False, personal=True)
    frame = pd.DataFrame({"id": ["1710034065", "0912345600"], "monto": ["5", "6"], "fecha": [None, None]}, index=pd.Index([2, 3], name="row_number"))
    mapping = map_header(list(frame.columns), contract, "incoming")
    validator = ChunkValidator(contract, "incoming", mapping, ",", "x.csv", hasher=PiiHasher("k" * 20))
    result = validator.validate(frame.astype("string"), 2, problems={3: RowProblem("ragged_row", 4, 3, "0912345600;6;;Ana")})
    row = result.quarantine.iloc[0]
    assert row["error_code"] == "ragged_row" and row["row_number"] == 3
    assert "0912345600" not in row["message_es"] and "Ana" not in row["message_en"] and pd.isna(row["id"])
    assert len(result.clean) == 1 and len(result.clean.loc[0, "id"]) == 32


# -- safe cells and the predictions CSV --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+2", "'=1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("\t=1", "'\t=1"),
     ("\r=1", "'\r=1"), ("-12", "-12"), ("-1.234,56", "-1.234,56"), ("+593991234567", "+593991234567"), ("Peña", "Peña"), (-3.5, -3.5)],
)
def test_cells_that_could_run_as_formulas_are_neutralized(cell, written) -> None:
    assert neutralize(cell) == written
    frame = neutralize_frame(pd.DataFrame({"c": pd.Series([cell], dtype="string" if isinstance(cell, str) else "float64")}))
    assert frame["c"].iloc[0] == written


def test_output_dialect_follows_the_contract_locale_else_the_file() -> None:
    assert output_dialect(_contract(), ",", ".") == (",", ".")
    assert output_dialect(_contract(), ";", ",") == (";", ",")
    assert output_dialect(_contract(output_delimiter=";", output_decimal=","), ",", ".") == (";", ",")
    assert output_dialect(_contract(output_delimiter=","), ";", ",") == (",", ".")  # never "0,5" between commas
    assert predictions_dialect({"delimiter": ";", "decimal": ","}) == (";", ",")  # manifests from before
    assert output_dialect(_contract(output_delimiter="locale", output_decimal="locale"), ",", ".") == (";", ",")  # es-EC Excel
    assert output_dialect(_contract(locale="es-MX", output_delimiter="locale", output_decimal="locale"), ";", ",") == (",", ".")


def test_prediction_rows_write_numbers_in_the_locale_and_text_safely() -> None:
    contract = _contract(passthrough=["saldo", "vendedor"])
    contract.columns["id"].personal = True
    predictions = pd.DataFrame({"id": ["a" * 32, "b" * 32], "score": [0.25, 0.5], "label": ["no", "si"]})
    clean = pd.DataFrame({"saldo": [-12.5, 3.0], "vendedor": ["=HYPERLINK(1)", "Ana"], "_source_row": np.array([2, 5], dtype=np.int64)})
    columns = ["id", "score", "label"] + extra_output_columns(contract, {}, clean.columns)
    assert columns[-3:] == ["saldo", "vendedor", "source_row"]
    rows = list(csv_rows(predictions, clean, columns, ","))
    assert rows[0] == ("a" * 32, "0,25", "no", "-12,5", "'=HYPERLINK(1)", "2")
    assert rows[1][1] == "0,5" and rows[1][3] == "3" and rows[1][-1] == "5"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(rows)
    assert "-12,5" in buffer.getvalue()
