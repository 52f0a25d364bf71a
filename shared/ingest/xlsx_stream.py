"""Stream the rows of one worksheet of a .xlsx, however long, in little memory.

A .xlsx is a zip of XML parts. The worksheet part is inflated and parsed (expat) a block at
a time, so memory holds the shared-strings table and the rows of one block, never the sheet:
python-calamine, which reads the other formats, builds the whole sheet in memory (about
75 bytes a cell, measured: 200 000 rows x 84 columns would need 1.3 GB). Cells come out as the
canonical text :mod:`shared.ingest.workbook_reader` documents; this module knows the file format
(shared strings, styles that make a number a date, 1900/1904 date systems, inline strings,
formulas' cached values, escaped control characters), nothing about contracts.

Hostile files. A workbook comes from anyone who can drop a file, so every part is read as
untrusted: XML with a DTD is refused (the Open Packaging Conventions forbid DTDs in package
parts and tell readers to treat one as an error, ECMA-376 Part 2 §8.1.4 [M1.18]: that closes
entity expansion and external entities whatever the expat build), cell references must stay
inside Excel's grid (a reference to column "ZZZZZZ" would size a 300-million-column header),
the shared-strings table has a memory budget (a few hundred KB of zip can declare millions of
strings), and any value that does not parse (a row number "dos", a style "x") is a damaged
workbook: a permanent, reported rejection, never an exception the platform would retry.
"""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from posixpath import dirname, join, normpath
from typing import Any
from xml.parsers import expat

from shared.errors import BadInputError
from shared.i18n import both

READ_BYTES = 1024 * 1024
EXCEL_MAX_ROWS = 1_048_576      # the grid of every Excel since 2007 (XFD1048576)
EXCEL_MAX_COLUMNS = 16_384
# What the shared-strings table may take in memory: with the clean step's own ~400 MiB it stays
# inside a 2 GiB function. Each string costs its characters plus CPython's object and list slot.
MAX_SHARED_STRINGS_BYTES = 768 * 1024 * 1024
_LIST_SLOT_BYTES = 8
# Values that do not parse where the format wants a number or a reference: a damaged workbook.
_MALFORMED = (ValueError, IndexError, KeyError, OverflowError, TypeError)
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Built-in number formats that show a date or time (ECMA-376 18.8.30; 27-36 and 50-58 are the East Asian ones).
_BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_BUILTIN_DURATION_FORMATS = frozenset([46])  # [h]:mm:ss
# What a custom format shows, once quoted text, escaped characters and [colour]/[$-409] brackets are gone.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]', re.IGNORECASE)


def corrupt_workbook(kind: str, detail: str) -> BadInputError:
    return BadInputError("corrupt_workbook", *both("corrupt_workbook", kind=kind, detail=detail))


def _too_many_strings(limit: int) -> BadInputError:
    return BadInputError("workbook_too_large", *both("shared_strings_too_large", megabytes=limit // (1024 * 1024)))


def xml_parser(*, namespaces: bool = False, kind: str = "xlsx") -> Any:
    """An expat parser for one package part that refuses any DTD (so no entity is ever declared)."""

    def refuse_doctype(*_: object) -> None:
        raise corrupt_workbook(kind, "XML with a DTD, which spreadsheet programs never write")

    parser = expat.ParserCreate(namespace_separator="}") if namespaces else expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_doctype
    return parser


def malformed(exc: BaseException) -> BadInputError:
    return corrupt_workbook("xlsx", f"{type(exc).__name__}: {exc}"[:200])


# ------------------------------------------------------------------------- cell values


def number_text(value: float) -> str:
    """A number as plain '.' decimal text that reads back as the very same double."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # 1234.0 -> "1234" (codes and counts); -0.0 -> "0"
    return repr(value)  # the shortest text that round-trips: 0.1 + 0.2 -> "0.30000000000000004"


def _datetime_text(moment: datetime) -> str:
    if moment.microsecond >= 500_000:
        moment += timedelta(microseconds=1_000_000 - moment.microsecond)
    moment = moment.replace(microsecond=0)
    if moment.time() == time(0, 0):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def cell_text(value: Any) -> str | None:
    """The canonical text of a cell as python-calamine gives it (None: an empty cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, timedelta):
        return number_text(value.total_seconds() / 86400)  # a duration as Excel holds it: days
    return str(value)


_EXCEL_EPOCH = datetime(1899, 12, 30)


def serial_date_text(serial: float, date1904: bool) -> str:
    """An Excel date serial as ISO text, as Excel shows it (its 1900 leap-year bug included)."""
    days = serial + 1462 if date1904 else serial
    if days < 60:
        days += 1  # Excel counts a 29 February 1900 that never was: dates before it are one off
    try:
        moment = _EXCEL_EPOCH + timedelta(milliseconds=round(days * 86_400_000))
    except OverflowError:
        return number_text(serial)
    if 0 <= serial < 1 and not date1904:
        return moment.time().isoformat()  # a time of day without a date
    return _datetime_text(moment)


def _unescape(text: str) -> str:
    """OOXML writes control characters as _xHHHH_ (a carriage return is _x000D_)."""
    return _EXCEL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text) if "_x" in text else text


def column_letters(index: int) -> str:
    """0 -> "A", 27 -> "AB": the column as Excel names it."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_COLUMN_INDEX_CACHE: dict[str, int] = {}


def _column_index(reference: str) -> int:
    """"AB12" -> 27."""
    letters = reference.rstrip("0123456789")
    index = _COLUMN_INDEX_CACHE.get(letters)
    if index is None:
        index = 0
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
        index -= 1
        if len(_COLUMN_INDEX_CACHE) < 20_000:
            _COLUMN_INDEX_CACHE[letters] = index
    return index


def is_date_format(code: str) -> bool:
    """A custom number format that shows a date or a time ("dd/mm/yyyy", "[$-409]mmm-yy", "h:mm")."""
    shown = _FORMAT_NOISE.sub("", code.split(";", 1)[0])
    if "general" in shown.lower():
        return False
    return bool(re.search(r"[dmyhs]", shown, re.IGNORECASE)) and not re.fullmatch(r"[#0.,%\sEe+\-]*", shown)


def _is_duration_format(code: str) -> bool:
    return bool(re.search(r"\[(h+|m+|s+)\]", code, re.IGNORECASE))


# ------------------------------------------------------------------------- .xlsx parts


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str | None     # zip member of a worksheet; None for chart sheets and the like
    visible: bool


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clark(name: str) -> str:
    """expat's "uri}local" as ElementTree names it: "{uri}local"."""
    return "{" + name if "}" in name else name


def _read_xml(archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    """A small part (workbook, relationships, styles) as an element tree, read by the DTD-refusing parser."""
    builder = ElementTree.TreeBuilder()
    parser = xml_parser(namespaces=True)
    parser.StartElementHandler = lambda name, attributes: builder.start(_clark(name), {_clark(k): v for k, v in attributes.items()})
    parser.EndElementHandler = lambda name: builder.end(_clark(name))
    parser.CharacterDataHandler = builder.data
    try:
        with archive.open(member) as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as exc:
        raise corrupt_workbook("xlsx", f"XML: {exc}") from None
    return builder.close()


def _workbook_part(archive: zipfile.ZipFile) -> str:
    names = archive.namelist()
    return "xl/workbook.xml" if "xl/workbook.xml" in names else next(n for n in names if n.startswith("xl/") and n.endswith("workbook.xml"))


def xlsx_sheets(archive: zipfile.ZipFile) -> tuple[list[SheetEntry], bool]:
    """The workbook's sheets in order, and whether its dates count from 1904."""
    workbook_part = _workbook_part(archive)
    workbook = _read_xml(archive, workbook_part)
    rels_part = join(dirname(workbook_part), "_rels", workbook_part.rsplit("/", 1)[-1] + ".rels")
    targets: dict[str, str] = {}
    if rels_part in archive.namelist():
        for relation in _read_xml(archive, rels_part):
            target = relation.get("Target", "")
            kind = relation.get("Type", "")
            part = target.lstrip("/") if target.startswith("/") else normpath(join(dirname(workbook_part), target))
            targets[relation.get("Id", "")] = part if kind.endswith("/worksheet") else ""
    date1904 = False
    sheets: list[SheetEntry] = []
    for element in workbook.iter():
        tag = _local(element.tag)
        if tag == "workbookPr":
            date1904 = element.get("date1904", "0").lower() in ("1", "true")
        elif tag == "sheet":
            part = targets.get(element.get(_RELATIONSHIP) or element.get("id") or "", "")
            sheets.append(SheetEntry(element.get("name", ""), part or None, element.get("state", "visible") == "visible"))
    return sheets, date1904


def xlsx_shared_strings(archive: zipfile.ZipFile, budget_bytes: int | None = None) -> list[str]:
    """The shared-strings table: one entry per <si>, its text runs joined (phonetic runs left out).

    Parsed with expat handlers, not an element tree: nothing but the strings stays in memory
    (iterparse kept every emptied <si> under the root), and a table whose strings would take
    more than ``budget_bytes`` is refused before it exhausts the function's memory.
    """
    member = next((n for n in archive.namelist() if n.lower() == "xl/sharedstrings.xml"), None)
    if member is None:
        return []
    budget = MAX_SHARED_STRINGS_BYTES if budget_bytes is None else budget_bytes
    strings: list[str] = []
    parts: list[str] = []
    state = {"phonetic": 0, "collecting": False, "used": 0}

    def start(name: str, _attributes: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "t":
            state["collecting"] = not state["phonetic"]
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "si":
            parts.clear()

    def end(name: str) -> None:
        tag = name.rpartition(":")[2]
        if tag == "t":
            state["collecting"] = False
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "si":
            text = _unescape("".join(parts))
            strings.append(text)
            state["used"] += sys.getsizeof(text) + _LIST_SLOT_BYTES
            if state["used"] > budget:
                raise _too_many_strings(budget)

    def characters(data: str) -> None:
        if state["collecting"]:
            parts.append(data)

    parser = xml_parser()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        with archive.open(member) as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as exc:
        raise corrupt_workbook("xlsx", f"XML: {exc}") from None
    return strings


def xlsx_date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """(cell styles that show a date, those that show a duration), by index into cellXfs."""
    member = next((n for n in archive.namelist() if n.lower() == "xl/styles.xml"), None)
    if member is None:
        return frozenset(), frozenset()
    styles = _read_xml(archive, member)
    custom: dict[int, str] = {}
    dates: set[int] = set()
    durations: set[int] = set()
    for element in styles.iter():
        if _local(element.tag) == "numFmt":
            custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
    for element in styles:
        if _local(element.tag) != "cellXfs":
            continue
        for index, xf in enumerate(child for child in element if _local(child.tag) == "xf"):
            format_id = int(xf.get("numFmtId", "0"))
            code = custom.get(format_id)
            if code is not None:
                if _is_duration_format(code):
                    durations.add(index)
                elif is_date_format(code):
                    dates.add(index)
            elif format_id in _BUILTIN_DURATION_FORMATS:
                durations.add(index)
            elif format_id in _BUILTIN_DATE_FORMATS:
                dates.add(index)
    return frozenset(dates), frozenset(durations)


class _SheetParser:
    """The rows of one worksheet part, parsed as it is inflated: (Excel row number, {column: text}).

    The handlers are closures over local state, not methods: they run five times a cell, and
    attribute look-ups on ``self`` were a third of the time (measured).
    """

    def __init__(self, strings: list[str], date_styles: frozenset[int], date1904: bool) -> None:
        self.last_row = 0           # from <dimension ref="A1:CF200001">, when the writer gave it
        self.formulas_without_value = 0
        self.rows: list[tuple[int, dict[int, str]]] = []
        rows = self.rows
        names = {"c": "c", "v": "v", "row": "row", "t": "t", "is": "is", "rPh": "rPh", "f": "f", "dimension": "dimension"}
        row_number = 0
        cells: dict[int, str] = {}
        column = -1
        cell_type = "n"
        style = 0
        value: str | None = None
        collecting = False
        formula = False
        inline: list[str] | None = None
        phonetic = False
        local = self

        def tag_of(name: str) -> str:
            # Some writers prefix the spreadsheet namespace ("x:c"); names are mapped once each.
            tag = names.get(name)
            if tag is None:
                tag = names[name] = name.rpartition(":")[2]
            return tag

        def start(name: str, attributes: dict[str, str]) -> None:
            nonlocal row_number, cells, column, cell_type, style, value, collecting, formula, inline, phonetic
            tag = names.get(name) or tag_of(name)
            if tag == "c":
                reference = attributes.get("r")
                column = _column_index(reference) if reference else column + 1
                if not 0 <= column < EXCEL_MAX_COLUMNS:
                    raise corrupt_workbook("xlsx", f"cell {reference!r} outside Excel's grid")
                cell_type = attributes.get("t", "n")
                given = attributes.get("s")
                style = int(given) if given else 0
                value = None
                formula = False
            elif tag == "v":
                collecting = True
                value = ""
            elif tag == "row":
                reference = attributes.get("r")
                previous = row_number
                row_number = int(reference) if reference else row_number + 1
                if not 0 < row_number <= EXCEL_MAX_ROWS:
                    raise corrupt_workbook("xlsx", f"row {reference!r} outside Excel's grid")
                if row_number <= previous:  # rows come in ascending order (ECMA-376 18.3.1.73): two row 5s would share a number
                    raise corrupt_workbook("xlsx", f"row {reference!r} after row {previous}")
                cells = {}
                column = -1
            elif tag == "t":
                if inline is not None and not phonetic:
                    collecting = True
                    value = ""
            elif tag == "is":
                inline = []
            elif tag == "rPh":
                phonetic = True
            elif tag == "f":
                formula = True
            elif tag == "dimension":
                last = attributes.get("ref", "").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ$")
                local.last_row = int(last) if last.isdigit() else 0

        def characters(data: str) -> None:
            nonlocal value
            if collecting:
                value = data if not value else value + data

        def end(name: str) -> None:
            nonlocal collecting, inline, phonetic, value
            tag = names.get(name) or tag_of(name)
            if tag == "c":
                text = cell()
                if text:
                    cells[column] = text
                inline = None
            elif tag == "v":
                collecting = False
            elif tag == "row":
                if cells:
                    rows.append((row_number, cells))
            elif tag == "t":
                if collecting and inline is not None:
                    inline.append(value or "")
                    value = None
                collecting = False
            elif tag == "rPh":
                phonetic = False

        def cell() -> str | None:
            if cell_type == "n":
                if value is None:
                    return missing()
                try:
                    number = float(value)
                except ValueError:
                    return value
                if not math.isfinite(number):
                    return None  # "NaN"/"INF" are xsd:double but no cell Excel writes: empty, as calamine reads it
                return serial_date_text(number, date1904) if style in date_styles else number_text(number)
            if cell_type == "s":
                if value is None:
                    return missing()
                try:
                    index = int(value)
                    if index < 0:
                        raise IndexError(index)  # Python would read strings[-1]: another cell's text
                    return strings[index]
                except (ValueError, IndexError):
                    raise corrupt_workbook("xlsx", f"shared string {value!r} out of range") from None
            if cell_type == "inlineStr":
                return _unescape("".join(inline or ()))
            if value is None:
                return missing()
            if cell_type == "b":
                return "TRUE" if value.strip() in ("1", "true") else "FALSE"
            if cell_type == "d":
                try:
                    return _datetime_text(datetime.fromisoformat(value.strip().rstrip("Z")))
                except ValueError:
                    return value
            return _unescape(value)  # "str" (a formula's text), "e" (#DIV/0!, #N/A...)

        def missing() -> None:
            if formula:
                local.formulas_without_value += 1  # written by a program that does not calculate: nothing cached
            return None

        parser = xml_parser()
        parser.buffer_text = True
        parser.buffer_size = 256 * 1024
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters
        self._parser = parser

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self._parser.Parse(data, final)
        except expat.ExpatError as exc:
            raise corrupt_workbook("xlsx", f"XML: {exc}") from None
        except _MALFORMED as exc:  # a row number "dos", a style "x": raised by a handler
            raise malformed(exc) from None


def xlsx_rows(
    archive: zipfile.ZipFile, part: str, date1904: bool, progress: Callable[[int, int], None] = lambda last_row, formulas: None
) -> Iterator[tuple[int, dict[int, str]]]:
    """(Excel row number, {column index: text}) of every row holding a value; ``progress`` hears the
    sheet's last row (from its <dimension>, 0 if not given) and the formulas without a cached value."""
    try:
        strings = xlsx_shared_strings(archive)
        dates, durations = xlsx_date_styles(archive)
    except _MALFORMED as exc:  # numFmtId="x" in the styles
        raise malformed(exc) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # a damaged strings or styles member
        raise corrupt_workbook("xlsx", str(exc) or type(exc).__name__) from None
    parser = _SheetParser(strings, dates, date1904)
    try:
        handle = archive.open(part)
    except KeyError:
        raise corrupt_workbook("xlsx", f"missing part {part}") from None
    with handle:
        while True:
            try:
                data = handle.read(READ_BYTES)
            except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:  # a damaged or cut deflate stream
                raise corrupt_workbook("xlsx", str(exc)) from None
            parser.feed(data, final=not data)
            progress(parser.last_row, parser.formulas_without_value)
            if parser.rows:
                rows = parser.rows.copy()
                parser.rows.clear()  # the handlers append to this very list
                yield from rows
            if not data:
                return
