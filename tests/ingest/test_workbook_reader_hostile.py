"""Workbooks from anyone who can drop a file: DTDs and entities, references outside Excel's grid,
values that do not parse, tables that expand in memory. Each is read or refused with a bilingual,
permanent report; none raises an exception the platform would retry for a day, hangs, or fills
the function's memory."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shared.ingest.ods_cells
import shared.ingest.xlsx_stream
from shared.backends.storage import get_store
from shared.errors import BadInputError
from shared.ingest.workbook_reader import WorkbookChunks, open_table
from shared.local.chain import drop_file
from shared.settings import Settings

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORKBOOK = (
    f'<?xml version="1.0"?><workbook xmlns="{_MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_RELATIONSHIPS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_STYLES = f'<styleSheet xmlns="{_MAIN}"><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>'
_LAUGHS = '<!ENTITY l0 "ja">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))


def _inline(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


_HEADER = f'<row r="1">{_inline("A1", "id")}{_inline("B1", "monto")}</row>'


def _sheet(rows: str, prolog: str = "") -> str:
    return f'<?xml version="1.0"?>{prolog}<worksheet xmlns="{_MAIN}"><sheetData>{_HEADER}{rows}</sheetData></worksheet>'


def _xlsx(sheet: str, *, shared: str | None = None, workbook: str = _WORKBOOK, styles: str = _STYLES) -> bytes:
    """A minimal .xlsx, part by part, as a hostile program could write it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", _RELATIONSHIPS)
        archive.writestr("xl/styles.xml", styles)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
    return buffer.getvalue()


def _read(data: bytes) -> pd.DataFrame:
    chunks = open_table(io.BytesIO(data), header_names=["id", "monto"])
    assert isinstance(chunks, WorkbookChunks)
    frames = list(chunks)
    return pd.concat(frames) if frames else pd.DataFrame()


_ROW = '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>7</v></c></row>'
_HOSTILE = {
    # ECMA-376 Part 2 §8.1.4 [M1.18]: a DTD in a package part is an error, so no entity is ever declared.
    "external entity in the sheet": _xlsx(_sheet(f'<row r="2">{_inline("A2", "&x;")}</row>', '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>')),
    "external entity in the workbook": _xlsx(
        _sheet(_ROW),
        workbook=_WORKBOOK.replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>').replace("Hoja1", "&x;"),
    ),
    "billion laughs in the sheet": _xlsx(_sheet(f'<row r="2">{_inline("A2", "&l9;")}</row>', f"<!DOCTYPE w [{_LAUGHS}]>")),
    "billion laughs in the shared strings": _xlsx(
        _sheet('<row r="2"><c r="A2" t="s"><v>0</v></c></row>'), shared=f'<?xml version="1.0"?><!DOCTYPE s [{_LAUGHS}]><sst xmlns="{_MAIN}"><si><t>&l9;</t></si></sst>'
    ),
    "an internal entity in the styles": _xlsx(_sheet(_ROW), styles=f'<!DOCTYPE s [<!ENTITY n "0">]><styleSheet xmlns="{_MAIN}"><cellXfs><xf numFmtId="&n;"/></cellXfs></styleSheet>'),
    # References outside XFD1048576: column "ZZZZZZ" sized a 321-million-column header.
    "a column past XFD": _xlsx(_sheet(f'<row r="2">{_inline("ZZZZZZ2", "x")}</row>')),
    "a header cell past XFD": _xlsx(_sheet("").replace("</row>", f'{_inline("ZZZZZZ1", "nota")}</row>', 1)),
    "a row past 1048576": _xlsx(_sheet('<row r="99999999999"><c r="A2"><v>1</v></c></row>')),
    "the same row twice": _xlsx(_sheet('<row r="2"><c r="A2"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>')),
    "rows out of order": _xlsx(_sheet('<row r="3"><c r="A3"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>')),
    "a reference without a column": _xlsx(_sheet('<row r="2"><c r="2"><v>1</v></c></row>')),
    # Values that do not parse were a ValueError: retried by the platform, never reported.
    "a row number in words": _xlsx(_sheet('<row r="dos"><c r="A2"><v>1</v></c></row>')),
    "a style that is not a number": _xlsx(_sheet('<row r="2"><c r="A2" s="x"><v>1</v></c></row>')),
    "a number format that is not a number": _xlsx(_sheet(_ROW), styles=f'<styleSheet xmlns="{_MAIN}"><cellXfs><xf numFmtId="x"/></cellXfs></styleSheet>'),
    # strings[-1] would have been another cell's text, silently.
    "a negative shared-string index": _xlsx(
        _sheet('<row r="2"><c r="A2" t="s"><v>-1</v></c></row>'), shared=f'<sst xmlns="{_MAIN}"><si><t>otro</t></si></sst>'
    ),
    "shared strings that are not XML": _xlsx(_sheet('<row r="2"><c r="A2" t="s"><v>0</v></c></row>'), shared="<sst><si>"),
}


@pytest.mark.parametrize("name", list(_HOSTILE))
def test_a_hostile_workbook_is_a_permanent_bilingual_rejection(name: str) -> None:
    with pytest.raises(BadInputError) as caught:
        _read(_HOSTILE[name])
    assert caught.value.code == "corrupt_workbook", name
    assert "dañado" in caught.value.message_es and "damaged" in caught.value.message_en
    assert "root:" not in caught.value.message_en  # nothing of the machine's files reaches a message


def test_not_a_number_and_a_date_serial_of_nan_are_empty_cells_as_calamine_reads_them() -> None:
    rows = f'<row r="2">{_inline("A2", "a")}<c r="B2" s="1"><v>nan</v></c></row><row r="3"><c r="A3"><v>INF</v></c><c r="B3"><v>5</v></c></row>'
    frame = _read(_xlsx(_sheet(rows)))  # the date serial NaN was a ValueError
    assert frame.loc[2, "id"] == "a" and pd.isna(frame.loc[2, "monto"])
    assert pd.isna(frame.loc[3, "id"]) and frame.loc[3, "monto"] == "5"


_ATTRIBUTE = st.text(alphabet=st.sampled_from("0123456789AZaz-.$: x"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=_ATTRIBUTE, reference=_ATTRIBUTE, style=_ATTRIBUTE, kind=st.sampled_from(["n", "s", "b", "d", "e", "str", "inlineStr", "zz"]), value=_ATTRIBUTE)
def test_any_attribute_value_reads_or_is_reported_as_damaged(row: str, reference: str, style: str, kind: str, value: str) -> None:
    """The class: whatever a writer puts in a row number, a cell reference, a style or a value."""
    cell = f'<row r="{row}"><c r="{reference}" s="{style}" t="{kind}"><v>{value}</v></c></row>'
    data = _xlsx(_sheet(cell), shared=f'<sst xmlns="{_MAIN}"><si><t>texto</t></si></sst>')
    try:
        frame = _read(data)
    except BadInputError as problem:
        assert problem.code in ("corrupt_workbook", "empty_file"), problem.code
        return
    assert len(frame) <= 1 and len(frame.columns) <= 3


def test_a_note_in_xfd1_does_not_make_sixteen_thousand_columns() -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="B{n}"><v>1.5</v></c></row>' for n in range(2, 40))
    sheet = _sheet(rows).replace("</row>", f'{_inline("XFD1", "nota")}</row>', 1)
    frame = _read(_xlsx(sheet))
    assert list(frame.columns) == ["id", "monto", "nota"]  # was 16 384 columns, 16 381 of them empty
    assert frame.loc[39, "id"] == "39" and frame["nota"].isna().all()


def test_a_nameless_column_with_values_still_reaches_the_frame_in_its_place() -> None:
    sheet = _sheet('<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c><c r="D2"><v>4</v></c></row>').replace(
        "</row>", _inline("E1", "nota") + "</row>", 1
    )
    frame = _read(_xlsx(sheet))
    assert list(frame.columns) == ["id", "monto", "Unnamed: 3", "nota"]
    assert frame.loc[2].tolist() == ["1", "2", "4", None] or frame.loc[2].isna().tolist() == [False, False, False, True]


def test_shared_strings_keep_runs_and_drop_phonetic_text() -> None:
    table = f'<sst xmlns="{_MAIN}"><si><r><t>Ana</t></r><r><t xml:space="preserve"> Pérez</t></r><rPh><t>アナ</t></rPh></si><si><t>b_x000D_c</t></si></sst>'
    frame = _read(_xlsx(_sheet('<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>'), shared=table))
    assert frame.loc[2].tolist() == ["Ana Pérez", "b\rc"]


def test_a_shared_strings_table_past_its_memory_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # 200 000 strings from a few hundred KB of zip; the budget is made small so the test stays small.
    table = f'<sst xmlns="{_MAIN}">' + "".join(f"<si><t>v{i}</t></si>" for i in range(200_000)) + "</sst>"
    data = _xlsx(_sheet('<row r="2"><c r="A2" t="s"><v>0</v></c></row>'), shared=table)
    assert len(data) < 1_000_000
    monkeypatch.setattr(shared.ingest.xlsx_stream, "MAX_SHARED_STRINGS_BYTES", 4 * 1024 * 1024)
    with pytest.raises(BadInputError) as caught:
        _read(data)
    assert caught.value.code == "workbook_too_large" and "CSV" in caught.value.message_es and "CSV" in caught.value.message_en
    monkeypatch.setattr(shared.ingest.xlsx_stream, "MAX_SHARED_STRINGS_BYTES", 64 * 1024 * 1024)
    assert _read(data).loc[2, "id"] == "v0"


def _ods_bomb(rows: int, columns: int) -> bytes:
    office, table, text = (f"urn:oasis:names:tc:opendocument:xmlns:{name}:1.0" for name in ("office", "table", "text"))
    body = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>id</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>monto</text:p></table:table-cell></table:table-row>'
        f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell office:value-type="float" office:value="1" '
        f'table:number-columns-repeated="{columns}"><text:p>1</text:p></table:table-cell></table:table-row>'
        # LibreOffice's own run of empty cells to the end of the grid: not expanded, not counted
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" xmlns:table="{table}" xmlns:text="{text}" '
        f'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Datos">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_an_ods_whose_repeated_cells_would_fill_memory_is_refused_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """800 bytes of .ods: one valued cell repeated over 16 384 columns and 40 rows is 655 360 cells
    (calamine built 16 million cells, 1.2 GB, from 1 000 such rows)."""
    bomb = _ods_bomb(rows=40, columns=16_384)
    assert len(bomb) < 2000
    monkeypatch.setattr(shared.ingest.ods_cells, "MAX_LOADED_CELLS", 100_000)  # the same class at a test's size
    with pytest.raises(BadInputError) as caught:
        open_table(io.BytesIO(bomb), header_names=["id", "monto"])
    assert caught.value.code == "workbook_too_large"
    assert "655,362" in caught.value.message_en and ".xlsx" in caught.value.message_es

    small = _read(_ods_bomb(rows=30, columns=2))  # repeated rows that fit are read, each one
    assert len(small) == 30 and small["monto"].eq("1").all()


def test_a_hostile_workbook_dropped_in_the_bucket_is_reported_not_retried(champion_home: Settings, tmp_path: Path) -> None:
    book = tmp_path / "ventas.xlsx"
    book.write_bytes(_HOSTILE["a row number in words"])
    result = drop_file(champion_home, book, "incoming")  # raised ValueError: the platform would retry it for a day
    assert result["status"] == "rejected" and result["rows_scored"] == 0
    report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
    assert report["details"]["error_code"] == "corrupt_workbook"
