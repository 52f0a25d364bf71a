"""Sniffing a CSV from its first bytes: encoding, delimiter, Excel's sep= line, files that are not text."""

from __future__ import annotations

import pytest

from shared.errors import BadInputError
from shared.ingest.csv_dialect import CsvDialect, detect_delimiter, detect_encoding, sniff


def test_undefined_cp1252_bytes_fall_back_to_latin1() -> None:
    assert detect_encoding(b"a;b\n\x81;\xe9\n") == ("latin-1", False)
    assert detect_encoding("a;b\né;ñ\n".encode("cp1252")) == ("cp1252", False)


@pytest.mark.parametrize("kept", [1, 2])
def test_three_byte_character_cut_at_the_boundary(kept: int) -> None:
    head = ("a;b\n1;" + "x" * 100).encode() + "€".encode()[:kept]
    assert detect_encoding(head) == ("utf-8", False)


def test_semicolon_beats_comma_when_commas_are_decimals() -> None:
    assert detect_delimiter("id;monto;tasa\n1;1.234,56;0,5\n2;7,25;1,75\n") == ";"


def test_excel_sep_line_decides_the_delimiter() -> None:
    assert sniff(b"sep=|\r\nid|monto\r\n1|2\r\n") == CsvDialect("utf-8", "|", False, excel_sep_line=True)
    assert sniff(b'"sep=;"\nid,monto;x\n').delimiter == ";"


def test_utf16_without_bom_is_recognised() -> None:
    assert sniff("id;monto\n1;2,5\n".encode("utf-16-le")).encoding == "utf-16-le"
    assert sniff("id;monto\n1;2,5\n".encode("utf-16-be")).encoding == "utf-16-be"


@pytest.mark.parametrize(
    ("head", "spanish", "english"),
    [
        (b"%PDF-1.7 ...", "parece un archivo .pdf", "it looks like a .pdf file"),
        (b"\x89PNG\r\n\x1a\n....", "parece un archivo .png", "it looks like a .png file"),
        (b"\x00\x01\x02\x03" * 50, "parece binario", "it looks binary"),
    ],
)
def test_files_that_are_not_text_are_refused_saying_what_they_look_like(head: bytes, spanish: str, english: str) -> None:
    with pytest.raises(BadInputError) as caught:
        sniff(head)
    assert caught.value.code == "not_text"
    assert spanish in caught.value.message_es and "Guárdelo como CSV" in caught.value.message_es
    assert english in caught.value.message_en and "Save it as CSV" in caught.value.message_en


@pytest.mark.parametrize("head", [b"", b"  \r\n\n", b"\xef\xbb\xbf"])
def test_blank_heads_are_empty_files(head: bytes) -> None:
    with pytest.raises(BadInputError) as caught:
        sniff(head)
    assert caught.value.code == "empty_file"
    assert caught.value.message("es") == "El archivo está vacío." and caught.value.message("en") == "The file is empty."
