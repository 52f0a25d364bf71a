"""What kind of CSV a file is, from its first block of bytes: encoding, delimiter, Excel's hints.

Files come from Spanish-locale Excel and old systems: cp1252 or UTF-8 (with or without BOM,
now and then UTF-16), ``;`` or ``,`` or tab or ``|`` as delimiter, an Excel ``sep=;`` first
line. A file that is not text at all (a workbook, a PDF, an image saved under a .csv name) is
refused here, before anything tries to parse it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.text_decoding import mostly_utf8

SNIFF_BYTES = 64 * 1024
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
# Magic numbers of files people save instead of CSV: (prefix, what it is).
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", ".xlsx"),
    (b"\xd0\xcf\x11\xe0", ".xls"),
    (b"%PDF", ".pdf"),
    (b"\x89PNG", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x1f\x8b", ".gz"),
)
_EXCEL_SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)


@dataclass(frozen=True)
class CsvDialect:
    encoding: str       # python codec name used to decode
    delimiter: str
    has_bom: bool
    excel_sep_line: bool = False  # the file started with Excel's "sep=;" hint


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without BOM: every other byte is NUL in mostly-ASCII text."""
    sample = head[: 4096 - (min(len(head), 4096) % 2)]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(head: bytes) -> tuple[str, bool]:
    """Return (codec, has_bom). UTF-8 when the head decodes as UTF-8, otherwise cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    utf16 = _looks_utf16(head)
    if utf16:
        return utf16, False
    try:
        head.decode("utf-8")
        return "utf-8", False
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8", False
    if mostly_utf8(head):
        return "utf-8", False  # a UTF-8 file with a few cp1252 lines: those are decoded line by line
    try:
        head.decode("cp1252")
        return "cp1252", False
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte, so nothing is lost.
        return "latin-1", False


def sample_records(sample_text: str, delimiter: str, limit: int = 50) -> list[list[str]]:
    """The first records of ``sample_text`` as the csv module splits them (quotes honoured)."""
    try:
        reader = csv.reader(io.StringIO(sample_text, newline=""), delimiter=delimiter)
        records = []
        for record in reader:
            if record:
                records.append(record)
            if len(records) >= limit:
                break
        return records
    except csv.Error:
        return []


def detect_delimiter(sample_text: str) -> str:
    """Pick the candidate that splits the first records into the same, largest number of fields.

    Records are split the way the csv module does, so a delimiter inside quotes (or a
    quoted newline) does not count.
    """
    text = sample_text
    if not text.endswith(("\n", "\r")):
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text  # drop a cut-off last line
    best, best_score = ",", (0.0, 0)
    for candidate in CANDIDATE_DELIMITERS:
        records = sample_records(text, candidate)
        if not records:
            continue
        header_fields = len(records[0])
        if header_fields < 2:
            continue
        # Excel's trailing ";" on data rows only is still this delimiter's shape.
        consistent = sum(1 for row in records if len(row) == header_fields or (len(row) > header_fields and not any(v.strip() for v in row[header_fields:])))
        score = (consistent / len(records), header_fields)
        if score > best_score:
            best, best_score = candidate, score
    return best


_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 26), *range(27, 32)])


def _binary_kind(head: bytes) -> str | None:
    for signature, kind in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return kind
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    # A stray NUL from a legacy system is a row problem; a file full of control bytes is not text.
    return "binary" if controls > 0.01 * len(head) else None


def _not_text(kind: str) -> BadInputError:
    what_es, what_en = both("looks_like_kind", kind=kind) if kind.startswith(".") else both("looks_binary")
    return BadInputError("not_text", *both("not_text", what_es=what_es, what_en=what_en))


def empty_file() -> BadInputError:
    return BadInputError("empty_file", *both("empty_file"))


def sniff(head: bytes) -> CsvDialect:
    if not head.strip():
        raise empty_file()
    encoding, has_bom = detect_encoding(head)
    if not encoding.startswith("utf-16"):
        kind = _binary_kind(head)
        if kind:
            raise _not_text(kind)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise empty_file()
    first_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    excel_sep = _EXCEL_SEP_LINE.match(first_line)
    if excel_sep:
        return CsvDialect(encoding, excel_sep.group(1), has_bom, excel_sep_line=True)
    return CsvDialect(encoding=encoding, delimiter=detect_delimiter(text), has_bom=has_bom)
