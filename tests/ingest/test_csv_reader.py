"""Reading the CSV files people really send: encodings, delimiters, quoting, missing tokens, bad input."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from shared.errors import BadInputError, PermanentError
from shared.ingest.csv_dialect import SNIFF_BYTES, sniff
from shared.ingest.csv_reader import CsvChunks, read_whole


def _read(data: bytes, **options: int) -> tuple[pd.DataFrame, CsvChunks]:
    chunks = CsvChunks(io.BytesIO(data), **options)
    frames = list(chunks)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, chunks


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


# -- encodings -------------------------------------------------------------------------------------


def test_utf8_without_bom() -> None:
    frame, chunks = _read("id,nombre\n1,Peña\n2,Ñandú\n".encode())
    assert chunks.dialect.encoding == "utf-8"
    assert chunks.dialect.has_bom is False
    assert chunks.dialect.delimiter == ","
    assert frame["nombre"].tolist() == ["Peña", "Ñandú"]


def test_utf8_sig_bom_is_not_part_of_the_first_header() -> None:
    frame, chunks = _read("\ufeffid;monto\n1;2,5\n".encode())
    assert chunks.dialect.encoding == "utf-8-sig"
    assert chunks.dialect.has_bom is True
    assert list(frame.columns) == ["id", "monto"]
    assert frame.loc[0, "monto"] == "2,5"


def test_cp1252_from_spanish_excel() -> None:
    text = "cliente;ciudad;nota\n1;Logroño;«muy bueno»\n2;Bogotá;café € 5\n"
    frame, chunks = _read(text.encode("cp1252"))
    assert chunks.dialect.encoding == "cp1252"
    assert chunks.dialect.delimiter == ";"
    assert frame["ciudad"].tolist() == ["Logroño", "Bogotá"]
    assert frame["nota"].tolist() == ["«muy bueno»", "café € 5"]


def test_utf8_character_cut_at_the_sniff_boundary_is_still_utf8() -> None:
    header = "id;texto\n"
    row = "1;" + "a" * 60 + "\n"
    body = header + row * ((SNIFF_BYTES - len(header)) // len(row))
    filler = SNIFF_BYTES - 1 - len(body.encode())  # the 2-byte "ñ" starts at the last sniffed byte
    body += "2;" + "b" * (filler - 2)
    data = (body + "ñ\n3;«fin»\n").encode("utf-8")
    assert data[SNIFF_BYTES - 1 : SNIFF_BYTES + 1] == "ñ".encode()
    assert sniff(data[:SNIFF_BYTES]).encoding == "utf-8"
    frame, chunks = _read(data)
    assert chunks.dialect.encoding == "utf-8"
    assert frame["texto"].iloc[-2].endswith("bñ")
    assert frame["texto"].iloc[-1] == "«fin»"
    assert not frame["texto"].str.contains("\ufffd").any()


def test_cp1252_accents_after_an_ascii_head_are_not_lost() -> None:
    # The first 64 KiB are plain ASCII (sniffed as UTF-8); the first accent comes much later.
    lines = ["id;nombre"] + [f"{i};Cliente numero {i}" for i in range(4000)] + ["4000;Peña «Muñoz» €"]
    data = ("\n".join(lines) + "\n").encode("cp1252")
    assert data.find("ñ".encode("cp1252")) > SNIFF_BYTES
    frame, chunks = _read(data, chunk_rows=1000)
    assert chunks.dialect.encoding == "utf-8"
    assert frame["nombre"].iloc[-1] == "Peña «Muñoz» €"
    assert len(frame) == 4001


# -- delimiters and quoting ------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter: str) -> None:
    rows = [["id", "monto", "zona"], ["1", "10", "Norte"], ["2", "20", "Sur"]]
    data = "\n".join(delimiter.join(row) for row in rows).encode() + b"\n"
    frame, chunks = _read(data)
    assert chunks.dialect.delimiter == delimiter
    assert _records(frame) == [{"id": "1", "monto": "10", "zona": "Norte"}, {"id": "2", "monto": "20", "zona": "Sur"}]


def test_quoted_fields_with_newlines_and_delimiters() -> None:
    data = b'id;comentario;monto\n1;"primera linea\nsegunda; con punto y coma";5\n2;"dice ""hola""";6\n'
    frame, chunks = _read(data)
    assert chunks.dialect.delimiter == ";"
    assert len(frame) == 2
    assert frame.loc[0, "comentario"] == "primera linea\nsegunda; con punto y coma"
    assert frame.loc[1, "comentario"] == 'dice "hola"'
    assert frame["monto"].tolist() == ["5", "6"]


def test_values_are_strings_stripped_and_missing_tokens_are_na() -> None:
    data = b"id;a;b\n1;  x  ;NA\n2;n/a;#N/A\n3;null;Sin dato\n4;S/D;  \n5;none;nan\n6;0;-\n"
    frame, _ = _read(data)
    assert frame.loc[0, "a"] == "x"
    assert frame[["a", "b"]].iloc[:5].isna().sum().sum() == 9  # everything but "x"
    assert frame.loc[5, "a"] == "0"  # zero is a value
    assert frame.loc[5, "b"] == "-"
    assert all(isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes)
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5", "6"]  # no numeric conversion, no index


def test_leading_zeros_survive() -> None:
    frame, _ = _read(b"cedula;monto\n0912345678;007\n")
    assert frame.loc[0, "cedula"] == "0912345678"
    assert frame.loc[0, "monto"] == "007"


def test_trailing_empty_unnamed_columns_are_dropped() -> None:
    frame, _ = _read(b"id;monto;;\n1;5;;\n2;6;;\n")
    assert list(frame.columns) == ["id", "monto"]
    assert frame["monto"].tolist() == ["5", "6"]


def test_unnamed_column_with_data_is_kept() -> None:
    frame, _ = _read(b"id;monto;\n1;5;x\n2;6;\n")
    assert len(frame.columns) == 3
    assert frame.iloc[0, 2] == "x"


@pytest.mark.filterwarnings("ignore::pandas.errors.ParserWarning")
def test_trailing_delimiter_on_rows_only_does_not_shift_values() -> None:
    # Excel-style rows end in ";" but the header does not: the first column must not become an index.
    frame, _ = _read(b"id;monto\n1;5;\n2;6;\n")
    assert _records(frame) == [{"id": "1", "monto": "5"}, {"id": "2", "monto": "6"}]


def test_chunking_gives_the_same_rows_as_one_read() -> None:
    lines = ["id;nombre;monto"] + [f'{i};"Cliente {i}\nlinea 2";{i},5' for i in range(1, 103)]
    data = ("\n".join(lines) + "\n").encode("cp1252")
    whole, _ = _read(data)
    chunks = CsvChunks(io.BytesIO(data), chunk_rows=10)
    frames = list(chunks)
    assert [len(f) for f in frames] == [10] * 10 + [2]
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), whole)
    assert whole["id"].tolist() == [str(i) for i in range(1, 103)]


def test_read_whole_returns_frame_and_dialect() -> None:
    frame, dialect = read_whole(io.BytesIO(b"a|b\n1|2\n3|4\n"))
    assert dialect.delimiter == "|"
    assert frame.shape == (2, 2)


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"\xef\xbb\xbf \r\n\n", "empty_file"),
        (b"   \n\n", "empty_file"),
        (b"id;monto\x00\x00\x01;5\n", "not_text"),
    ],
)
def test_bad_files_raise_bad_input(data: bytes, code: str) -> None:
    with pytest.raises(BadInputError) as caught:
        CsvChunks(io.BytesIO(data))
    assert caught.value.code == code
    assert isinstance(caught.value, PermanentError)
    assert caught.value.message("es") and caught.value.message("en")
    assert caught.value.message("es") != caught.value.message("en")


def test_xlsx_bytes_are_not_text() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(BadInputError) as caught:
        CsvChunks(io.BytesIO(buffer.getvalue()))
    assert caught.value.code == "not_text"
    assert ".xlsx" in caught.value.message_es and "CSV" in caught.value.message_en


def test_a_header_that_never_ends_is_not_csv_in_both_languages() -> None:
    with pytest.raises(BadInputError) as caught:
        CsvChunks(io.BytesIO(b'a;"b' + b"x;" * (700 * 1024)))  # a quote opened in the header, never closed
    assert caught.value.code == "not_csv"
    assert "encabezado" in caught.value.message_es and "header row never ends" in caught.value.message_en


def test_a_row_larger_than_a_block_says_how_large_a_row_may_be() -> None:
    data = b'a;b\n1;"' + b"x;\n" * (1024 * 1024) + b'"\n2;3\n'  # one 3 MiB quoted cell
    with pytest.raises(BadInputError) as caught:
        list(CsvChunks(io.BytesIO(data), block_bytes=1024 * 1024))
    assert caught.value.code == "row_too_large"
    assert "más de 1 MB" in caught.value.message_es and "larger than 1 MB" in caught.value.message_en


def test_header_only_file_has_no_rows() -> None:
    assert list(CsvChunks(io.BytesIO(b"id;monto\n"))) == []
    with pytest.raises(BadInputError) as caught:
        read_whole(io.BytesIO(b"id;monto\n"))
    assert caught.value.code == "no_rows"


def test_ragged_row_is_kept_and_flagged_not_fatal() -> None:
    chunks = CsvChunks(io.BytesIO(b"a,b\n1,2\n3,4,5,6\n7,8\n"))
    frames = list(chunks)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.index.tolist() == [2, 3, 4]  # Excel row numbers: the header is row 1
    assert frame.loc[3, "a"] == "3" and frame.loc[3, "b"] == "4"
    problem = chunks.last_problems[3]
    assert (problem.code, problem.fields, problem.expected) == ("ragged_row", 4, 2)
    assert set(chunks.last_problems) == {3}
