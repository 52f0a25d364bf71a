"""Issue 13: each file read in its own dialect, from its own evidence; text decoded per line, compared in one form."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.backends import services
from shared.delivery.locations import DroppedFile
from shared.delivery.parquet_io import read_parquet
from shared.ingest import clean_table
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.csv_reader import CsvChunks
from shared.ingest.file_evidence import FileEvidence
from shared.ingest.text_decoding import LineWiseDecoder
from shared.ingest.validation import ChunkValidator, map_header
from shared.settings import Settings
from shared.steps.clean import clean_file


def _contract(decimal: str = "auto", **columns: ColumnSpec) -> Contract:
    specs = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric"),
        "sector": ColumnSpec("sector", "categorical", values=["Agrícola", "Comercio", "Servicios"]),
        "y": ColumnSpec("y", "categorical", values=["no", "si"]),
        **columns,
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=specs, decimal=decimal)


def _clean(settings: Settings, data: bytes, contract: Contract, name: str = "f.csv"):  # noqa: ANN202
    uri = settings.object_uri("raw", f"incoming/{name}")
    services.store(uri).write_bytes(uri, data, "text/csv")
    result = clean_file(settings, DroppedFile("incoming", name), uri, contract)
    assert result.status == "clean", result.message_en
    clean = read_parquet(result.clean_uri).set_index("id") if result.clean_uri else pd.DataFrame()
    quarantine = pd.DataFrame()
    if result.quarantine_uri:
        with services.store(result.quarantine_uri).open_read(result.quarantine_uri) as stream:
            quarantine = pd.read_csv(stream, sep=None, engine="python", encoding="utf-8-sig", dtype=str)
    return result, clean, quarantine


# -- item 1: numbers --------------------------------------------------------------------------


def test_a_column_that_proves_its_decimal_point_is_read_so_whatever_the_contract_says(home: Settings) -> None:
    # The example: `decimal: ','` in the contract, and a column holding 1619.51, 1.250 and 2.125.
    data = b"id;monto;sector\n1;1619.51;Comercio\n2;1.250;Comercio\n3;2.125;Comercio\n"
    result, clean, quarantine = _clean(home, data, _contract(decimal=","))
    assert quarantine.empty
    assert clean["monto"].tolist() == [1619.51, 1.25, 2.125]  # never 1250 and 2125
    assert result.details["decimal"] == "." and result.details["decimal_source"] == "file"


def test_a_column_that_writes_both_marks_reads_what_each_value_proves_and_quarantines_the_rest(home: Settings) -> None:
    values = ["1,5", "2,25", "1.234,56", "1619.51", "0.75", "12.5", "1.250", "7"]
    data = ("id;monto;sector\n" + "".join(f"{i};{v};Comercio\n" for i, v in enumerate(values, start=1))).encode()
    result, clean, quarantine = _clean(home, data, _contract(decimal=","))
    assert clean["monto"].to_dict() == {"1": 1.5, "2": 2.25, "3": 1234.56, "4": 1619.51, "5": 0.75, "6": 12.5, "8": 7.0}
    assert quarantine["error_code"].tolist() == ["ambiguous_number"]
    assert quarantine["row_number"].tolist() == ["8"]  # "1.250", Excel row 8
    assert "1.250" in quarantine["message_es"][0] and "separador de miles" in quarantine["message_es"][0]
    assert "thousands separator" in quarantine["message_en"][0]
    assert result.details["column_decimals"] == {"monto": "mixed"}


def test_one_pasted_value_in_the_other_mark_does_not_make_a_column_ambiguous(home: Settings) -> None:
    """Sixty decimal commas and one "1619.51": the column writes commas; the odd value is read by
    what it proves, and "1.250" follows the column (1250), as the rest of it shows."""
    values = [f"{i},{i % 100:02d}" for i in range(1, 61)] + ["1619.51", "1.250"]
    data = ("id;monto;sector\n" + "".join(f"{i};{v};Comercio\n" for i, v in enumerate(values, start=1))).encode()
    result, clean, quarantine = _clean(home, data, _contract())
    assert quarantine.empty
    assert clean["monto"].iloc[-2:].tolist() == [1619.51, 1250.0]
    assert result.details["decimal"] == "," and result.details["columns_read_by_proof"] == ["monto"]


def test_columns_of_one_file_may_use_different_marks(home: Settings) -> None:
    # A file glued by a legacy system: one column from a Spanish Excel, another from an English one.
    contract = _contract(otro=ColumnSpec("otro", "numeric"), tercero=ColumnSpec("tercero", "numeric"))
    data = b"id;monto;otro;tercero;sector\n1;1.234,5;1,234.5;12;Comercio\n2;2,25;0.75;7;Comercio\n3;3,5;3.5;2.500;Comercio\n"
    result, clean, quarantine = _clean(home, data, contract)
    assert clean["monto"].tolist() == [1234.5, 2.25]
    assert clean["otro"].tolist() == [1234.5, 0.75]
    assert clean["tercero"].tolist() == [12.0, 7.0]
    # "tercero" proves nothing and the file proves both marks: its "2.500" stays ambiguous, so it is
    # quarantined rather than read by a locale the file itself contradicts.
    assert quarantine[["row_number", "column", "error_code"]].values.tolist() == [["4", "tercero", "ambiguous_number"]]
    assert result.details["column_decimals"] == {"otro": ".", "tercero": "mixed"} or result.details["column_decimals"] == {"monto": ",", "tercero": "mixed"}


def test_proof_after_the_first_chunk_still_decides_the_whole_file(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """"1.250" in the first chunk and "1619.51" in the last: the whole file decides, not its head."""
    monkeypatch.setattr(clean_table, "CSV_BLOCK_BYTES", 4096)  # many small chunks instead of one
    rows = [f"{i};1.250;Comercio" for i in range(1, 2001)] + ["2001;1619.51;Comercio"]
    data = ("id;monto;sector\n" + "\n".join(rows) + "\n").encode()
    result, clean, quarantine = _clean(home, data, _contract())  # es-EC locale: "1.250" alone would be 1250
    assert quarantine.empty
    # Counted while reading: the first chunk's "1.250" read as 1250 was proved wrong at the end, so
    # the file was cleaned again on the whole file's evidence (tests/ingest/test_evidence_while_reading.py).
    assert result.details["whole_file_evidence"] == "second_pass"
    assert set(clean["monto"].head(2000)) == {1.25} and clean["monto"].iloc[-1] == 1619.51


def test_nothing_proven_falls_back_to_the_locale_and_says_so(home: Settings) -> None:
    data = b"id;monto;sector\n1;1.250;Comercio\n2;12;Comercio\n"
    result, clean, _ = _clean(home, data, _contract())
    assert clean["monto"].tolist() == [1250.0, 12.0]
    assert result.details["decimal_source"] == "locale"


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.sampled_from(["1,5", "1619.51", "1.250", "2,125", "1.234.567", "7", "0,25", "12.5", None]), min_size=1, max_size=40), cut=st.integers(0, 40))
def test_evidence_does_not_depend_on_where_chunks_end(values: list[str | None], cut: int) -> None:
    frame = pd.DataFrame({"monto": pd.array(values, dtype="string")})
    whole, pieces = FileEvidence(), FileEvidence()
    whole.add(frame, ["monto"], {})
    for piece in (frame.iloc[:cut], frame.iloc[cut:]):
        pieces.add(piece, ["monto"], {})
    assert whole == pieces


# -- item 2: encodings that change inside a file -----------------------------------------------

WORDS = ["Agrícola", "Peña", "Ñandú", "Comercio", "año", "€ 5", "¿qué?", "niño", "Sucumbíos", "CAMIÓN", "«citado»"]


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.tuples(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4), st.sampled_from(["utf-8", "cp1252"])), min_size=1, max_size=30),
       split=st.integers(1, 200))
def test_each_line_is_decoded_in_its_own_encoding(lines: list[tuple[list[str], str]], split: int) -> None:
    data = b"".join(" ".join(words).encode(encoding) + b"\r\n" for words, encoding in lines)
    expected = "".join(" ".join(words) + "\r\n" for words, _ in lines)
    for legacy_file in (False, True):
        decoder = LineWiseDecoder(legacy_file=legacy_file)
        text = "".join(decoder.decode(data[i : i + split]) for i in range(0, len(data), split)) + decoder.decode(b"", final=True)
        assert text == expected


def test_a_utf8_file_with_one_cp1252_line_loses_no_category(home: Settings) -> None:
    """The issue's file: the cp1252 line in the first 64 KiB made the sniffer read every line as cp1252,
    and "Agrícola" became "AgrÃ­cola" in 108 of 200 rows, scored as missing and reported as fine."""
    lines = [f"{i};{i},5;Agrícola".encode() for i in range(1, 201)]
    lines[3] = "4;4,5;Agrícola".encode("cp1252")
    data = b"id;monto;sector\n" + b"\n".join(lines) + b"\n"
    result, clean, quarantine = _clean(home, data, _contract())
    assert quarantine.empty and len(clean) == 200
    assert set(clean["sector"]) == {"Agrícola"}
    assert result.details["unknown_categories"] == 0
    assert result.details["mixed_encoding"] == {"encoding": "cp1252", "lines": 1}


def test_a_cp1252_file_with_utf8_lines_loses_no_category(home: Settings) -> None:
    lines = [f"{i};{i},5;Agrícola".encode("cp1252") for i in range(1, 51)]
    lines[10] = "11;11,5;Agrícola".encode()
    data = b"id;monto;sector\n" + b"\n".join(lines) + b"\n"
    result, clean, _ = _clean(home, data, _contract())
    assert set(clean["sector"]) == {"Agrícola"}
    assert result.details["mixed_encoding"] == {"encoding": "utf-8", "lines": 1}


# -- item 2: text that differs only in form ------------------------------------------------------


def test_categories_in_another_case_or_with_decomposed_accents_are_the_same_category(home: Settings) -> None:
    decomposed = unicodedata.normalize("NFD", "Agrícola")
    data = f"id;monto;sector\n1;1;AGRÍCOLA\n2;2;{decomposed}\n3;3; agrícola \n4;4;servicios\n5;5;Agricultura\n6;6;Comercio\n".encode()
    result, clean, quarantine = _clean(home, data, _contract())
    assert quarantine.empty
    assert clean["sector"].fillna("<missing>").tolist() == ["Agrícola", "Agrícola", "Agrícola", "Servicios", "<missing>", "Comercio"]
    assert result.details["matched_categories"] == {"sector": 3}  # the decomposed one is composed as read: an exact match
    # Never silent: the value the model does not know is counted and shown.
    assert result.details["unknown_categories"] == 1
    assert result.details["unknown_categories_by_column"] == {"sector": 1}
    assert result.details["unknown_category_examples"] == {"sector": ["Agricultura"]}


def test_text_is_composed_as_it_is_read() -> None:
    import io

    data = "id;nombre\n1;Pen\u0303a\n2;Peña\n".encode()
    chunks = CsvChunks(io.BytesIO(data))
    frame = next(iter(chunks))
    assert frame["nombre"].tolist() == ["Peña", "Peña"]


def test_categories_that_share_a_form_are_not_guessed() -> None:
    contract = _contract(nivel=ColumnSpec("nivel", "categorical", values=["Alto", "ALTO", "Bajo"]))
    frame = pd.DataFrame({"id": ["1", "2"], "monto": ["1", "2"], "sector": ["Comercio"] * 2, "nivel": ["alto", "bajo"]}).astype("string")
    validator = ChunkValidator(contract, "incoming", map_header(list(frame.columns), contract, "incoming"), ",", "x.csv")
    result = validator.validate(frame, 2)
    assert result.clean["nivel"].fillna("<missing>").tolist() == ["<missing>", "Bajo"]  # "alto" could be either spelling the model knows
    assert validator.unknown_by_column == {"nivel": 1}


def test_a_month_first_file_against_a_day_first_contract_is_read_month_first(home: Settings) -> None:
    contract = _contract(fecha=ColumnSpec("fecha", "date", format="%d/%m/%Y"))
    data = b"id;monto;sector;fecha\n1;1;Comercio;12/25/2026\n2;2;Comercio;03/04/2026\n"
    result, clean, quarantine = _clean(home, data, contract)
    assert quarantine.empty
    assert clean["fecha"].dt.strftime("%Y-%m-%d").tolist() == ["2026-12-25", "2026-03-04"]
    assert result.details["date_formats"] == {"fecha": ["%m/%d/%Y"]}


def test_unknown_categories_are_shown_in_the_cli_summary_json_and_dashboard(
    champion_home: Settings, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import json

    from shared.local import synthetic
    from shared.local.cli import main
    from shared.reporting.dashboard import build_dashboard

    month = synthetic.without_target(synthetic.generate_batch(30, month=4, seed=2))
    month.loc[0, "provincia"] = "Atlántida"          # not a province the model knows
    month.loc[1, "provincia"] = "MANABÍ"             # a known one, in capitals
    path = tmp_path / "mes.csv"
    synthetic.write_excel_csv(month, path)
    assert main(["drop", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows_scored"] == 30
    assert result["unknown_categories"] == 1
    assert result["unknown_categories_by_column"] == {"provincia": 1}
    assert main(["score", str(path), "-o", str(tmp_path / "out.csv")]) == 0
    summary = capsys.readouterr().out
    assert "1 valores de categoría desconocidos" in summary and "provincia: 1 («Atlántida»)" in summary
    page = Path(build_dashboard(champion_home, language="es").path).read_text(encoding="utf-8")
    assert "Categorías desconocidas puntuadas como faltantes" in page


NUMBER_TOKENS = ["1,5", "1619.51", "1.250", "2,125", "1.234.567", "7", "0,25", "12.5", "1.234,56", "1,234.5", "-1.250", "0.250", ",5", "1,2,3",
                 "12.5 kg", None, "$ 1.234,5", "1234,567", "1234.5678", "5.", "-", "+1,5", "--1,5", "0,000", "1.", "", "1 234,5", "0", "1-,5", "ñ,5"]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from(NUMBER_TOKENS), max_size=25), offset=st.integers(0, 4))
def test_the_fast_byte_level_count_agrees_with_the_per_value_classes(values: list[str | None], offset: int) -> None:
    import pyarrow as pa

    from shared.ingest.file_evidence import _count, number_classes, number_counts

    array = pa.array(values, pa.string()).slice(min(offset, len(values)))  # slices have an offset into the buffers
    comma, point, ambiguous = number_classes(array)
    assert number_counts(array) == (_count(comma), _count(point), _count(ambiguous))


def test_contract_infer_finds_the_target_in_an_upper_case_header(tmp_path: Path) -> None:
    from shared.ingest.contract_inference import infer_contract_from_file

    path = tmp_path / "ENTRENAMIENTO.csv"
    path.write_text("ID;MONTO;FORMALIZADO\n" + "".join(f"{i};{i},5;{'si' if i % 3 else 'no'}\n" for i in range(40)), encoding="cp1252")
    contract = infer_contract_from_file(path, target="formalizado", positive="si", id_column="id", name="t").contract
    assert (contract.target, contract.id_column, contract.decimal) == ("FORMALIZADO", "ID", "auto")
