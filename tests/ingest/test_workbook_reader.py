"""Excel workbooks dropped as they are: read by content, cells as canonical text, Excel's row numbers,
and the clean/score/fan-out guarantees of CSV files (issue 13, item 3)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import math
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.backends import services
from shared.backends.storage import get_store
from shared.errors import BadInputError
from shared.ingest.contract import Contract
from shared.ingest.workbook_reader import WorkbookChunks, open_table
from shared.ingest.xlsx_stream import cell_text, column_letters, number_text
from shared.local.chain import drop_file, score_file
from shared.settings import Settings
from tests.conftest import MONTH_ROWS, SyntheticFiles
from tests.conftest_services import gcs_bucket_uri, gcs_emulator  # noqa: F401 - fixtures, used by name


def _workbook(sheets: dict[str, list[list[object]]], *, formulas: dict[tuple[str, int, int], tuple[str, object]] | None = None) -> bytes:
    """An .xlsx as Excel would save it: rows as given (None: an empty cell; a list of None: a blank row),
    datetimes with a date format, formulas with the value Excel cached."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for column_index, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime.datetime):
                    sheet.write_datetime(row_index, column_index, value, date_format)
                else:
                    sheet.write(row_index, column_index, value)
        for (sheet_name, row_index, column_index), (formula, cached) in (formulas or {}).items():
            if sheet_name == name:
                sheet.write_formula(row_index, column_index, formula, None, cached)
    book.close()
    return buffer.getvalue()


def _frames(chunks: WorkbookChunks) -> tuple[pd.DataFrame, dict[int, object]]:
    frames, problems = [], {}
    for frame in chunks:
        frames.append(frame)
        problems.update(chunks.last_problems)
    return pd.concat(frames), problems


# ----------------------------------------------------------------------------- the reader


def test_cells_come_out_as_canonical_text_with_excel_row_numbers() -> None:
    data = _workbook(
        {
            "Resumen": [["nada que ver"]],
            "Datos": [
                ["Reporte de ventas, marzo 2026"],         # row 1: a title
                [None],                                      # row 2: blank
                ["id", "monto", "fecha", "sector", "activo"],  # row 3: the header
                ["A-1", 0.1, datetime.datetime(2026, 3, 25), "Agrícola", True],
                ["A-2", None, datetime.datetime(2026, 4, 3, 10, 30), "  comercio ", False],
                [None],                                      # row 6: blank, not stored
                ["A-3", 1234567.891, None, "N/A", None, None, None, "nota al margen"],
                ["A-4", 5.0, None, None, None],
            ],
        },
        formulas={("Datos", 4, 1): ("=0.1+0.2", 0.1 + 0.2), ("Datos", 7, 4): ("=1/0", "#DIV/0!")},
    )
    chunks = open_table(io.BytesIO(data), sheet="Datos", header_names=["id", "monto", "fecha", "sector"])

    assert isinstance(chunks, WorkbookChunks)
    frame, problems = _frames(chunks)
    assert chunks.header == ["id", "monto", "fecha", "sector", "activo"]
    assert (chunks.header_row, chunks.title_rows, chunks.sheet_name) == (3, [1], "Datos")
    assert list(frame.index) == [4, 5, 7, 8]  # Excel's numbers: the blank row 6 is skipped, nothing shifts
    assert frame.loc[4].tolist() == ["A-1", "0.1", "2026-03-25", "Agrícola", "TRUE"]
    assert frame.loc[5].tolist() == ["A-2", "0.30000000000000004", "2026-04-03 10:30:00", "comercio", "FALSE"]
    assert frame.loc[7, "monto"] == "1234567.891" and pd.isna(frame.loc[7, "sector"])  # "N/A" is missing, as in CSVs
    assert frame.loc[8].tolist()[:2] == ["A-4", "5"] and frame.loc[8, "activo"] == "#DIV/0!"
    assert set(problems) == {7} and problems[7].code == "cell_outside_table" and problems[7].excerpt == "H7: nota al margen"


def test_first_visible_sheet_by_default_and_a_wrong_name_lists_the_sheets() -> None:
    data = _workbook({"Ventas": [["id", "monto"], ["a", 1]], "Otra": [["id", "monto"], ["b", 2]]})
    chunks = open_table(io.BytesIO(data))
    frame, _ = _frames(chunks)
    assert chunks.sheet_name == "Ventas" and frame["id"].tolist() == ["a"]

    with pytest.raises(BadInputError) as caught:
        open_table(io.BytesIO(data), sheet="Datos")
    assert caught.value.code == "sheet_not_found"
    assert "«Ventas», «Otra»" in caught.value.message_es and "'Ventas', 'Otra'" in caught.value.message_en


def test_hidden_sheets_are_skipped_and_1904_dates_read_as_excel_shows_them() -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "date_1904": True})
    hidden = book.add_worksheet("Oculta")
    hidden.write_row(0, 0, ["id", "fecha"])
    visible = book.add_worksheet("Visible")
    visible.write_row(0, 0, ["id", "fecha"])
    visible.write(1, 0, "a")
    visible.write_datetime(1, 1, datetime.datetime(2026, 2, 28, 18, 45), book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    visible.activate()
    hidden.hide()
    book.close()

    chunks = open_table(io.BytesIO(buffer.getvalue()))
    frame, _ = _frames(chunks)
    assert chunks.sheet_name == "Visible" and chunks.sheet_names == ["Oculta", "Visible"]
    assert frame.loc[2].tolist() == ["a", "2026-02-28 18:45:00"]


def test_content_decides_not_the_name(tmp_path: Path) -> None:
    workbook = _workbook({"Hoja1": [["id", "monto"], ["a", 1.5]]})
    csv_text = "id;monto\na;1,5\n".encode("cp1252")
    assert isinstance(open_table(io.BytesIO(workbook)), WorkbookChunks)   # an .xlsx renamed .csv
    assert not isinstance(open_table(io.BytesIO(csv_text)), WorkbookChunks)  # a CSV renamed .xlsx


class _OneWay(io.RawIOBase):
    """A stream that cannot seek, as some uploads are."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_streams_that_cannot_seek_are_read_too() -> None:
    workbook = _workbook({"Hoja1": [["id", "monto"], ["a", 1.5]]})
    frame, _ = _frames(open_table(_OneWay(workbook)))  # type: ignore[arg-type]
    assert frame.loc[2].tolist() == ["a", "1.5"]
    csv_chunks = open_table(_OneWay(b"id;monto\na;1,5\n"))  # type: ignore[arg-type]
    assert next(iter(csv_chunks)).loc[2].tolist() == ["a", "1,5"]


def _garble_member(data: bytes, member: str) -> bytes:
    import zipfile

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 20
    return data[:start] + bytes(255 - b for b in data[start : start + 64]) + data[start + 64 :]


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda data: data[: len(data) // 2], "corrupt_workbook"),     # cut short in the upload
        (lambda data: _garble_member(data, "xl/worksheets/sheet1.xml"), "corrupt_workbook"),  # a bad deflate stream or CRC
        (lambda data: b"PK\x03\x04\x00\x00binary-xlsx", "corrupt_workbook"),
    ],
)
def test_a_damaged_workbook_is_a_permanent_bilingual_rejection(damage, code: str) -> None:  # noqa: ANN001
    data = damage(_workbook({"Hoja1": [["id", "monto"], *[[f"a{i}", i] for i in range(200)]]}))
    with pytest.raises(BadInputError) as caught:
        chunks = open_table(io.BytesIO(data))
        _frames(chunks)
    assert caught.value.code == code
    assert "Excel" in caught.value.message_es and "dañado" in caught.value.message_es and "damaged" in caught.value.message_en


def _ods(rows: list[list[object]], sheet: str = "Datos") -> bytes:
    """A LibreOffice .ods as it stores cells: typed values beside the text shown (a decimal comma here)."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, datetime.datetime):
            shown = value.strftime("%d/%m/%Y")
            return f'<table:table-cell office:value-type="date" office:date-value="{value.date().isoformat()}"><text:p>{shown}</text:p></table:table-cell>'
        if isinstance(value, float):
            shown = str(value).replace(".", ",")
            return f'<table:table-cell office:value-type="float" office:value={quoteattr(repr(value))}><text:p>{shown}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'

    body = "".join(f"<table:table-row>{''.join(cell(v) for v in row)}</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name={quoteattr(sheet)}>{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")  # first, stored
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_an_ods_is_read_whole_through_calamine_with_the_same_canonical_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.ingest.workbook_reader

    data = _ods([["Ventas 2026"], [None], ["id", "monto", "fecha"], ["a", 0.1 + 0.2, datetime.datetime(2026, 3, 25)], [None], ["b", 1234.5, None]])
    chunks = open_table(io.BytesIO(data), header_names=["id", "monto", "fecha"])
    frame, _ = _frames(chunks)
    assert (chunks.kind, chunks.sheet_name, chunks.header_row) == ("ods", "Datos", 3)
    assert frame.loc[4].tolist() == ["a", "0.30000000000000004", "2026-03-25"]
    assert list(frame.index) == [4, 6] and frame.loc[6, "monto"] == "1234.5"

    monkeypatch.setattr(shared.ingest.workbook_reader, "MAX_LOADED_WORKBOOK_BYTES", len(data) - 1)
    with pytest.raises(BadInputError) as caught:
        open_table(io.BytesIO(data))
    assert caught.value.code == "workbook_too_large"
    assert ".xlsx" in caught.value.message_es and "CSV" in caught.value.message_en


_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(lambda text: text.strip() == text and text.strip()),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(2100, 1, 1)).map(lambda moment: moment.replace(microsecond=0)),
    st.booleans(),
    st.none(),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_CELLS, min_size=3, max_size=3), min_size=1, max_size=12))
def test_the_streamed_xlsx_reads_every_cell_as_calamine_does(rows: list[list[object]]) -> None:
    """The .xlsx stream parser against python-calamine's whole-sheet reader, cell by cell; and every
    number's text reads back as the very same double."""
    from python_calamine import CalamineWorkbook

    rows = [["a", "b", "c"], *rows, ["end", "end", "end"]]
    data = _workbook({"Hoja1": rows})
    frame, _ = _frames(open_table(io.BytesIO(data)))
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    expected, numbers = {}, []
    for offset, values in enumerate(sheet.iter_rows()):
        texts = [cell_text(value) for value in values]
        if offset and any(text is not None for text in texts):
            # Text is read in Unicode NFC (issue 13: one form for "í" however it was typed), as CSVs are.
            expected[offset + 1] = [
                None if text is None or text.strip().lower() in ("na", "n/a", "nan", "null", "none") else unicodedata.normalize("NFC", text.strip()) for text in texts
            ]
            numbers += [(offset + 1, column, value) for column, value in enumerate(values) if isinstance(value, float)]
    assert list(frame.index) == list(expected)
    for number, texts in expected.items():
        assert [None if pd.isna(value) else value for value in frame.loc[number].tolist()] == texts
    for row_number, column, value in numbers:  # the double in the file, exactly (xlsxwriter itself keeps 16 digits)
        assert float(frame.loc[row_number].iloc[column]) == value, (value, f"{column_letters(column)}{row_number}")


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-7, 123456789012345678.0, -0.0, 2.5, 1e21, 5e-324])
def test_number_text_round_trips(value: float) -> None:
    text = number_text(value)
    assert float(text) == value and "," not in text and (text.lstrip("-").replace(".", "").isdigit() or "e" in text)
    assert not math.isnan(float(text))


# -------------------------------------------------------------- through the embedded chain


def _month_workbook(synthetic_files: SyntheticFiles, month: int, path: Path, *, sheet: str = "Hoja1", damage: bool = False) -> Path:
    """The synthetic month as a workbook: numbers as numbers, dates as dates, a title row and a blank
    row above the header, so the header is Excel row 3 and the first data row 4."""
    contract = Contract.from_yaml(synthetic_files.contract.read_text(encoding="utf-8"))
    frame = pd.read_csv(synthetic_files.months[month], sep=";", dtype=str, encoding="cp1252", keep_default_na=False)
    rows: list[list[object]] = [[f"Encuesta de negocios, mes {month}"], [None], list(frame.columns)]
    for record in frame.itertuples(index=False):
        row: list[object] = []
        for name, text in zip(frame.columns, record, strict=True):
            spec = contract.columns.get(name)
            if text == "":
                row.append(None)
            elif spec is not None and spec.type == "numeric":
                row.append(float(text.replace(",", ".")))
            elif spec is not None and spec.type == "date":
                row.append(datetime.datetime.strptime(text, "%d/%m/%Y"))
            else:
                row.append(text)
        rows.append(row)
    formulas = {}
    if damage:
        numeric = next(name for name, spec in contract.columns.items() if spec.type == "numeric" and name in frame.columns)
        column = list(frame.columns).index(numeric)
        formulas[(sheet, 3, column)] = ("=1/0", "#DIV/0!")       # Excel row 4: an error value in a number column
        rows[5][column] = "mucho"                                  # Excel row 6: text where a number goes
        rows[7] = [*rows[7], None, "llamar el lunes"]              # Excel row 8: a note right of the table
    path.write_bytes(_workbook({"Portada": [["Ver la hoja de datos"]], sheet: rows} if sheet != "Hoja1" else {sheet: rows}, formulas=formulas))
    return path


def _read_output(uri_or_path: str) -> tuple[pd.DataFrame, str]:
    data = Path(uri_or_path).read_bytes() if not uri_or_path.startswith("file:") else get_store(uri_or_path).read_bytes(uri_or_path)
    assert data.startswith(b"\xef\xbb\xbf"), "CSV for people opens in Excel: UTF-8 with BOM"
    text = data.decode("utf-8-sig")
    delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;").delimiter
    return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False), delimiter


def test_a_dropped_workbook_scores_like_the_csv_and_quarantines_with_excel_cells(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path
) -> None:
    as_csv = drop_file(champion_home, synthetic_files.months[1], "incoming")
    book = _month_workbook(synthetic_files, 1, tmp_path / "libro.xlsx", damage=True)

    result = drop_file(champion_home, book, "incoming")

    assert result["status"] == "scored", result
    assert result["rows_in"] == MONTH_ROWS and result["rows_quarantined"] == 3 and result["rows_scored"] == MONTH_ROWS - 3
    predictions, delimiter = _read_output(result["output"])
    assert delimiter == ";" and predictions["score"].str.contains(",").any()  # es-EC Excel opens it by double-click
    reference, _ = _read_output(as_csv["output"])
    merged = predictions.merge(reference, on="id_negocio", suffixes=("", "_csv"))
    assert len(merged) == MONTH_ROWS - 3
    assert (merged["score"] == merged["score_csv"]).all(), "a workbook scores exactly as the same data saved as CSV"
    quarantine, _ = _read_output(result["quarantine"])
    assert quarantine["row_number"].tolist() == ["4", "6", "8"]  # Excel's rows: title, blank, header above
    assert quarantine["error_code"].tolist() == ["not_a_number", "not_a_number", "cell_outside_table"]
    assert all(cell.endswith(row) and cell[0].isalpha() for cell, row in zip(quarantine["cell"][:2], quarantine["row_number"][:2], strict=True))
    assert "llamar el lunes" in quarantine["message_es"].iloc[2] and "no header" in quarantine["message_en"].iloc[2]
    manifest = json.loads(get_store(result["manifest"]).read_bytes(result["manifest"]))
    assert manifest["details"]["workbook"] == {
        "format": "xlsx", "sheet": "Hoja1", "sheets": ["Hoja1"], "header_row": 3, "title_rows": [1], "formulas_without_value": 0
    }
    assert manifest["details"]["decimal_source"] == "workbook"


def test_the_sheet_the_contract_names_is_read(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.steps.clean

    book = _month_workbook(synthetic_files, 2, tmp_path / "libro.xlsx", sheet="Datos")
    real = shared.steps.clean.contract_in_force

    def with_sheet(settings: Settings, name: str):  # noqa: ANN202
        contract, version = real(settings)
        return dataclasses.replace(contract, sheet=name), version

    monkeypatch.setattr(shared.steps.clean, "contract_in_force", lambda settings: with_sheet(settings, "Datos"))
    result = drop_file(champion_home, book, "incoming")
    assert result["status"] == "scored" and result["rows_scored"] == MONTH_ROWS

    monkeypatch.setattr(shared.steps.clean, "contract_in_force", lambda settings: with_sheet(settings, "Ventas"))
    rejected = drop_file(champion_home, book, "incoming")
    assert rejected["status"] == "rejected" and rejected["rows_scored"] == 0
    report = json.loads(get_store(rejected["quarantine"]).read_bytes(rejected["quarantine"]))
    assert report["details"]["error_code"] == "sheet_not_found"
    assert "«Portada», «Datos»" in report["message_es"] and "'Portada', 'Datos'" in report["message_en"]


def test_renamed_files_are_read_by_what_they_hold(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    book = _month_workbook(synthetic_files, 3, tmp_path / "libro.xlsx")
    disguised = tmp_path / "mes_3.csv"
    disguised.write_bytes(book.read_bytes())
    csv_as_book = tmp_path / "mes_3b.xlsx"
    csv_as_book.write_bytes(synthetic_files.months[3].read_bytes())

    for path in (disguised, csv_as_book):
        result = drop_file(champion_home, path, "incoming")
        assert result["status"] == "scored" and result["rows_scored"] == MONTH_ROWS, path.name


def test_a_corrupt_workbook_is_reported_not_retried(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    book = _month_workbook(synthetic_files, 1, tmp_path / "roto.xlsx")
    book.write_bytes(book.read_bytes()[: book.stat().st_size * 2 // 3])

    result = drop_file(champion_home, book, "incoming")

    assert result["status"] == "rejected" and result["rows_scored"] == 0
    report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
    assert report["details"]["error_code"] == "corrupt_workbook"
    assert "Guárdelo" in report["message_es"] or "guárdelo" in report["message_es"]
    assert "save it again" in report["message_en"]


def test_score_command_reads_a_workbook(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    book = _month_workbook(synthetic_files, 3, tmp_path / "libro.xlsx", damage=True)
    output = tmp_path / "salida" / "out.csv"

    result = score_file(champion_home, book, output)

    assert result["rows_in"] == MONTH_ROWS and result["rows_scored"] == MONTH_ROWS - 3
    predictions, _ = _read_output(str(output))
    assert len(predictions) == MONTH_ROWS - 3
    quarantine, _ = _read_output(result["quarantine"])
    assert quarantine["row_number"].tolist() == ["4", "6", "8"]


def test_a_big_workbook_fans_out_and_assembles_every_row(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.ingest.workbook_reader

    monkeypatch.setattr(shared.ingest.workbook_reader, "CHUNK_CELLS", 50 * 90)  # chunks of ~50 rows, finer than a shard
    monkeypatch.setattr(shared.ingest.workbook_reader, "MIN_CHUNK_ROWS", 1)
    book = _month_workbook(synthetic_files, 1, tmp_path / "grande.xlsx")
    # Sharding is sized on the sheet as text (~250 kB here), as for CSVs, not on the zip's size.
    settings_small_shards = dataclasses.replace(champion_home, shard_bytes=100_000)

    result = drop_file(settings_small_shards, book, "incoming")

    assert result["status"] == "scored" and result.get("shards", 0) >= 2, result
    assert result["rows_scored"] == MONTH_ROWS
    predictions, _ = _read_output(result["output"])
    assert len(predictions) == MONTH_ROWS and predictions["id_negocio"].is_unique
    reference, _ = _read_output(drop_file(champion_home, synthetic_files.months[1], "incoming")["output"])
    assert predictions.sort_values("id_negocio")["score"].tolist() == reference.sort_values("id_negocio")["score"].tolist()
    services.reset()


READ_FILES = """
import io, json, sys
sys.path.insert(0, sys.argv[1])
import shared.steps.clean
from shared.ingest.workbook_reader import open_table
for path in sys.argv[2:]:
    for frame in open_table(open(path, "rb")):
        pass
print(json.dumps("python_calamine" in sys.modules))
"""


def test_csv_and_xlsx_files_never_load_the_calamine_library(tmp_path: Path) -> None:
    """python-calamine (for .xls/.xlsb/.ods only) is imported when such a file comes, not before."""
    import subprocess
    import sys

    book = tmp_path / "libro.xlsx"
    book.write_bytes(_workbook({"Hoja1": [["id", "monto"], ["a", 1.5]]}))
    table = tmp_path / "tabla.csv"
    table.write_bytes(b"id;monto\na;1,5\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", READ_FILES, str(root), str(table), str(book)], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False


def test_a_workbook_in_a_gcs_bucket_is_read_by_ranges_and_scored(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, gcs_bucket_uri: str  # noqa: F811
) -> None:
    """The cloud path: the zip is read through the store's seekable stream (range reads of the GCS
    client against gcp-storage-emulator), nothing staged in /tmp, and the chain scores it."""
    root = f"{gcs_bucket_uri}/dropscore"
    on_gcs = dataclasses.replace(champion_home, storage_uri=root, area_uris={area: f"{root}/{area}" for area in champion_home.area_uris})
    book = _month_workbook(synthetic_files, 2, tmp_path / "libro.xlsx", damage=True)

    result = drop_file(on_gcs, book, "incoming", run_chain=True)

    assert result["status"] == "scored" and result["rows_scored"] == MONTH_ROWS - 3, result
    assert result["output"] == f"{root}/predictions/libro.xlsx.predictions.csv"
    quarantine = get_store(result["quarantine"]).read_bytes(result["quarantine"]).decode("utf-8-sig")
    assert [line.split(";")[0] for line in quarantine.splitlines()[1:]] == ["4", "6", "8"]
    services.reset()


def test_contract_infer_reads_a_workbook(tmp_path: Path, home: Settings) -> None:
    from shared.ingest.contract_inference import infer_contract_from_file

    rows: list[list[object]] = [["Clientes 2026"], [None], ["id", "monto", "fecha", "compro"]]
    rows += [[f"c{i}", i * 1.25, datetime.datetime(2026, 1, 1) + datetime.timedelta(days=i), "si" if i % 3 else "no"] for i in range(60)]
    book = tmp_path / "clientes.xlsx"
    book.write_bytes(_workbook({"Hoja1": rows}))

    inferred = infer_contract_from_file(book, target="compro", positive="si", id_column="id")

    contract = Contract.from_yaml(inferred.contract.to_yaml())
    assert len(contract.columns) == 4 and inferred.encoding == "xlsx"
    # The training file's mark is not written as a rule: every file is read in its own dialect (issue 13, item 1).
    assert (contract.columns["monto"].type, contract.columns["fecha"].type, contract.decimal) == ("numeric", "date", "auto")
