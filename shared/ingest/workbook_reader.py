"""Read Excel workbooks as the same stream of string chunks as CSV files.

People save what they work on: a ``.xlsx`` (now and then an old ``.xls``, a LibreOffice
``.ods`` or a binary ``.xlsb``) lands in the bucket as often as a CSV. A workbook is told
apart by its content, never by its name (people rename files): a zip with ``xl/`` parts is
a ``.xlsx``, an OLE2 compound file a ``.xls``, a zip whose ``mimetype`` says so an ``.ods``.

:class:`WorkbookChunks` yields what :class:`shared.ingest.csv_reader.CsvChunks` yields: pandas
frames of strings (missing values as ``pd.NA``) indexed by the row number Excel shows, with
the same :attr:`last_problems`. Cells become text in one canonical form the parser reads
whatever the contract's locale says: numbers in plain ``.`` decimal notation that round-trips
to the same double (``repr``; integral values without ``.0``), dates as ISO dates (a real
Excel date has no day/month question), booleans as ``TRUE``/``FALSE``, error values as
written (``#DIV/0!``, quarantined where a number is expected), formulas as the value Excel
cached when it saved the file.

Memory. A ``.xlsx`` is streamed (:mod:`shared.ingest.xlsx_stream`): the zip member of the sheet is
inflated and parsed a block at a time, so memory holds the shared-strings table and one chunk
whatever the number of rows; the zip is read by ranges through the store's seekable stream,
never staged in /tmp. python-calamine, which reads the other formats, builds the whole sheet in
memory (about 75 bytes a cell, measured) and its file-like reader copies the whole file
first, so ``.xls``/``.xlsb``/``.ods`` files are accepted up to :data:`MAX_LOADED_WORKBOOK_BYTES`
(a ``.xls`` cannot hold more than 65 536 rows anyway) and refused above it with advice to save
them as ``.xlsx`` or CSV.

Header. The header is the row, among the first :data:`HEADER_SEARCH_ROWS` rows holding
anything, that names most of the contract's columns (a report title or a blank line above the
table is common); when no row names any, the first row with two or more values. Rows above
the header are not data and are listed in :attr:`WorkbookChunks.title_rows`. Rows holding no
value at all are not stored by Excel and are skipped; every other row keeps its Excel number,
so nothing shifts. A value right of the last named column (a note in the margin) cannot be
placed: the row is quarantined with that cell named, never silently cut.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa

from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.cell_normalization import normalize_cells, string_frame
from shared.ingest.column_names import normalize_name
from shared.ingest.csv_dialect import CsvDialect
from shared.ingest.csv_reader import DEFAULT_CHUNK_ROWS, CsvChunks, read_whole, readable_rows, too_large
from shared.ingest.ods_cells import check_ods_cells
from shared.ingest.row_problems import RowProblem
from shared.ingest.xlsx_stream import cell_text, column_letters, corrupt_workbook, xlsx_rows, xlsx_sheets

WORKBOOK_DECIMAL = "."         # the decimal mark of the canonical number text this module writes
ISO_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S")  # the canonical date text this module writes
HEADER_SEARCH_ROWS = 30
# Cells per chunk: a chunk is built as Python strings (about 60 bytes each) before it becomes
# Arrow, so chunks are cut by cells, not rows: 400 000 cells stay near 25 MiB.
CHUNK_CELLS = 400_000
MIN_CHUNK_ROWS = 50  # a sheet 16 384 columns wide still gets chunks of ~800 000 cells, not 16 million
MAX_LOADED_WORKBOOK_BYTES = 40 * 1024 * 1024
READ_BYTES = 1024 * 1024
ROW_PROBLEM_OUTSIDE = "cell_outside_table"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# ----------------------------------------------------------------------------- detection


def workbook_kind(head: bytes) -> str | None:
    """"xlsx" (or "zip", to be told apart by its parts), "xls", or None for anything else."""
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_OLE2_MAGIC):
        return "xls"
    return None


def _zip_kind(archive: zipfile.ZipFile) -> str | None:
    names = set(archive.namelist())
    if "xl/workbook.xml" in names or any(name.startswith("xl/") and name.endswith("workbook.xml") for name in names):
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
        return "ods"
    return None


def open_table(
    stream: BinaryIO,
    *,
    sheet: str | None = None,
    header_names: Iterable[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_bytes: int | None = None,
    block_bytes: int | None = None,
) -> CsvChunks | WorkbookChunks:
    """The rows of a dropped file, whatever it is: a workbook (by its content) or a CSV.

    ``sheet`` and ``header_names`` (the contract's column names) only matter for workbooks.
    """
    head, stream = _peek(stream)
    kind = workbook_kind(head)
    if kind is None:
        options: dict[str, Any] = {"chunk_rows": chunk_rows, "max_bytes": max_bytes}
        if block_bytes is not None:
            options["block_bytes"] = block_bytes
        return CsvChunks(stream, **options)
    return WorkbookChunks(stream, sheet=sheet, header_names=header_names, max_bytes=max_bytes)


class _Prefixed(io.RawIOBase):
    """A non-seekable stream read from its start again: the bytes already read, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _peek(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first bytes of ``stream``, and a stream that reads it from the start."""
    head = stream.read(8)
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        stream.seek(0)
        return head, stream
    return head, io.BufferedReader(_Prefixed(head, stream))  # type: ignore[return-value]


def _seekable(stream: BinaryIO) -> BinaryIO:
    """A zip is read from its end: a stream that cannot seek is spooled (to memory, then disk) first."""
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        return stream
    spooled = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
    shutil.copyfileobj(stream, spooled, READ_BYTES)
    spooled.seek(0)
    return spooled  # type: ignore[return-value]


# ----------------------------------------------------------------------------- messages


def _sheet_not_found(wanted: str, names: list[str]) -> BadInputError:
    sheets_es = ", ".join(f"«{name}»" for name in names) or "-"
    sheets_en = ", ".join(f"'{name}'" for name in names) or "-"
    return BadInputError("sheet_not_found", *both("sheet_not_found", sheet=wanted, sheets_es=sheets_es, sheets_en=sheets_en))


def _too_big_to_load(kind: str, size: int) -> BadInputError:
    limit_megabytes = MAX_LOADED_WORKBOOK_BYTES // (1024 * 1024)
    spanish, english = both("workbook_read_whole_too_large", kind=kind, megabytes=size / 1024 / 1024, limit_megabytes=limit_megabytes)
    return BadInputError("workbook_too_large", spanish, english)


def _no_sheet() -> BadInputError:
    return BadInputError("no_sheet", *both("no_sheet"))


def _calamine_rows(sheet: Any) -> Iterator[tuple[int, dict[int, str]]]:
    start = sheet.start
    if start is None:
        return
    first_row, first_column = start
    for offset, values in enumerate(sheet.iter_rows()):
        cells = {first_column + position: text for position, value in enumerate(values) if (text := cell_text(value)) is not None}
        if cells:
            yield first_row + offset + 1, cells


# ------------------------------------------------------------------------------ chunks


def _header_score(cells: dict[int, str], wanted: set[str]) -> int:
    return sum(1 for text in cells.values() if normalize_name(text) in wanted or normalize_name(text).replace("_", "") in wanted)


class WorkbookChunks:
    """Iterate one sheet of a workbook as pandas frames of strings, like :class:`CsvChunks`.

    Frames are indexed by Excel row number; :attr:`last_problems` maps the row numbers of the
    frame being handled that cannot be used as read (a value outside the table) to their
    :class:`RowProblem`.
    """

    def __init__(self, stream: BinaryIO, *, sheet: str | None = None, header_names: Iterable[str] = (), max_bytes: int | None = None) -> None:
        stream = _seekable(stream)
        self.stream = stream
        self.last_problems: dict[int, RowProblem] = {}
        self.rows_trimmed = 0
        self.title_rows: list[int] = []
        self.header_row = 0
        self.last_row_hint = 0
        self.formulas_without_value = 0
        self.date1904 = False
        self._archive: zipfile.ZipFile | None = None
        self._workbook: Any = None
        kind = workbook_kind(stream.read(8))
        stream.seek(0)
        self.size = _stream_size(stream)
        if max_bytes is not None and self.size > max_bytes:
            raise too_large(max_bytes)
        self.kind, self.sheet_names, rows = self._open(kind or "", sheet)
        self.dialect = CsvDialect(encoding=self.kind, delimiter="", has_bom=False)
        wanted = {normalize_name(name) for name in header_names} | {normalize_name(name).replace("_", "") for name in header_names}
        wanted.discard("")
        self._rows = rows
        self._pending = self._find_header(wanted)

    # -- opening ----------------------------------------------------------------------------

    def _open(self, kind: str, wanted: str | None) -> tuple[str, list[str], Iterator[tuple[int, dict[int, str]]]]:
        if kind == "zip":
            try:
                self._archive = zipfile.ZipFile(self.stream)
                kind = _zip_kind(self._archive) or ""
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
                raise corrupt_workbook("xlsx", str(exc)) from None
            if not kind:
                raise BadInputError("not_text", *both("zip_not_workbook"))
        if kind == "xlsx":
            assert self._archive is not None
            try:
                sheets, self.date1904 = xlsx_sheets(self._archive)
            except (KeyError, StopIteration, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError) as exc:
                raise corrupt_workbook("xlsx", str(exc) or type(exc).__name__) from None
            names = [entry.name for entry in sheets]
            entry = _pick_sheet(sheets, wanted, names, lambda e: e.part is not None and e.visible, lambda e: e.name)
            self.sheet_name = entry.name
            return kind, names, xlsx_rows(self._archive, entry.part or "", self.date1904, self._progress)
        if self.size > MAX_LOADED_WORKBOOK_BYTES:
            raise _too_big_to_load(kind, self.size)
        if kind == "ods" and self._archive is not None:
            check_ods_cells(self._archive)  # repeated cells expand in memory: count them before calamine does
        from python_calamine import (  # only workbooks pay for it
            CalamineError,
            CalamineWorkbook,
            SheetTypeEnum,
            SheetVisibleEnum,
        )

        try:
            self.stream.seek(0)  # telling an .ods from other zips read the archive's directory
            self._workbook = CalamineWorkbook.from_filelike(self.stream)
            metadata = self._workbook.sheets_metadata
        except (CalamineError, OSError, ValueError) as exc:
            raise corrupt_workbook(kind, str(exc) or type(exc).__name__) from None
        names = [entry.name for entry in metadata]
        entry = _pick_sheet(
            metadata, wanted, names, lambda e: e.typ == SheetTypeEnum.WorkSheet and e.visible == SheetVisibleEnum.Visible, lambda e: e.name
        )
        self.sheet_name = entry.name
        try:
            sheet = self._workbook.get_sheet_by_name(entry.name)
        except (CalamineError, OSError, ValueError) as exc:
            raise corrupt_workbook(kind, str(exc) or type(exc).__name__) from None
        self.last_row_hint = (sheet.end[0] + 1) if sheet.end else 0
        return kind, names, _calamine_rows(sheet)

    def _progress(self, last_row: int, formulas_without_value: int) -> None:
        self.last_row_hint = last_row
        self.formulas_without_value = formulas_without_value

    # -- header -----------------------------------------------------------------------------

    def _find_header(self, wanted: set[str]) -> list[tuple[int, dict[int, str]]]:
        """Read up to the header row; return the rows read past it (data, to be yielded first)."""
        first: list[tuple[int, dict[int, str]]] = []
        for row in self._rows:
            first.append(row)
            if len(first) >= HEADER_SEARCH_ROWS:
                break
        if not first:
            raise BadInputError("empty_file", *both("empty_sheet"))
        scores = [_header_score(cells, wanted) for _, cells in first] if wanted else [0] * len(first)
        best = max(scores)
        if best > 0:
            position = scores.index(best)
        else:  # nothing names a contract column: the first row with two values or more (a title has one)
            position = next((i for i, (_, cells) in enumerate(first) if len(cells) >= 2), 0)
        self.header_row, header_cells = first[position]
        self.title_rows = [number for number, _ in first[:position]]
        width = max(header_cells) + 1
        names = [header_cells.get(column, "") for column in range(width)]
        self.header, self.duplicated_names = _unique_names(names)
        self.letters = [column_letters(column) for column in range(width)]
        # Only named columns are built for every row: a note typed in XFD1 makes 16 381 nameless
        # columns, which appear in a chunk only if one of its rows has a value there (as a CSV
        # reader drops its empty "Unnamed" columns), instead of 16 384 lists per row.
        self.named_columns = [column for column in range(width) if header_cells.get(column, "").strip()]
        self.chunk_rows = max(MIN_CHUNK_ROWS, CHUNK_CELLS // max(1, len(self.named_columns)))
        return first[position + 1 :]

    # -- iteration --------------------------------------------------------------------------

    def _all_rows(self) -> Iterator[tuple[int, dict[int, str]]]:
        yield from self._pending
        self._pending = []
        yield from self._rows

    def __iter__(self) -> Iterator[pd.DataFrame]:
        width = len(self.header)
        numbers: list[int] = []
        columns: dict[int, list[str | None]] = {column: [] for column in self.named_columns}
        problems: dict[int, RowProblem] = {}
        for number, cells in self._all_rows():
            numbers.append(number)
            size = len(numbers)
            outside = [column for column in cells if column >= width]
            for column, text in cells.items():
                if column < width:
                    values = columns.get(column)
                    if values is None:  # a nameless column's first value in this chunk
                        values = columns[column] = [None] * (size - 1)
                    values.append(text)
            for values in columns.values():
                if len(values) < size:
                    values.append(None)
            if outside:
                first = min(outside)
                excerpt = f"{column_letters(first)}{number}: {cells[first]}"
                problems[number] = RowProblem(ROW_PROBLEM_OUTSIDE, fields=max(outside) + 1, expected=width, excerpt=excerpt[:120])
            if len(numbers) >= self.chunk_rows:
                yield self._frame(numbers, columns, problems)
                numbers, columns, problems = [], {column: [] for column in self.named_columns}, {}
        if numbers:
            yield self._frame(numbers, columns, problems)
        self.close()

    def _frame(self, numbers: list[int], columns: dict[int, list[str | None]], problems: dict[int, RowProblem]) -> pd.DataFrame:
        order = sorted(columns)
        table = pa.table([pa.array(columns[column], pa.string()) for column in order], names=[self.header[column] for column in order])
        frame = string_frame(normalize_cells(table), pa.array(numbers, pa.int64()).to_numpy())
        self.last_problems = problems
        return frame

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None

    # -- what the clean step needs besides the rows -------------------------------------------

    @property
    def bytes_read(self) -> int:
        return self.size

    def estimated_text_bytes(self, first_chunk: pd.DataFrame) -> int:
        """About how big the sheet would be as CSV: sharding is sized on text, and a .xlsx is compressed."""
        if not len(first_chunk):
            return 0
        text = sum(int(first_chunk[name].str.len().sum()) for name in first_chunk.columns)
        per_row = text / len(first_chunk) + len(first_chunk.columns) + 1
        rows = max(self.last_row_hint - self.header_row, len(first_chunk))
        return int(per_row * rows)

    def with_cells(self, quarantine: pd.DataFrame, renames: dict[str, str]) -> pd.DataFrame:
        """Quarantined rows with the Excel cell of each problem ("F12"), found by column name after renaming."""
        letters = {renames.get(name, name): letters for name, letters in zip(self.header, self.letters, strict=True)}
        cells = [
            f"{letters[column]}{row}" if column in letters else "" for row, column in zip(quarantine["row_number"], quarantine["column"], strict=True)
        ]
        return quarantine.assign(cell=cells)

    def describe(self) -> dict[str, Any]:
        return {
            "format": self.kind,
            "sheet": self.sheet_name,
            "sheets": self.sheet_names,
            "header_row": self.header_row,
            "title_rows": self.title_rows,
            "formulas_without_value": self.formulas_without_value,
        }


def workbook_output_dialect(locale: str) -> tuple[str, str]:
    """(delimiter, decimal mark) a workbook's outputs are written in when the contract says "auto":
    what Excel opens by double-click in the contract's locale ("es": ";" and ","), as a workbook
    has no delimiter of its own to follow."""
    from shared.i18n import locale_decimal

    return (";", ",") if locale_decimal(locale) == "," else (",", ".")


def _pick_sheet(entries: list[Any], wanted: str | None, names: list[str], usable: Any, name_of: Any) -> Any:
    if wanted:
        exact = [entry for entry in entries if name_of(entry) == wanted]
        loose = [entry for entry in entries if name_of(entry).strip().casefold() == wanted.strip().casefold()]
        found = exact or loose
        if not found:
            raise _sheet_not_found(wanted, names)
        return found[0]
    for entry in entries:
        if usable(entry):
            return entry
    raise _no_sheet()


def _stream_size(stream: BinaryIO) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def _unique_names(header: list[str]) -> tuple[list[str], set[str]]:
    """Column names as written, made unique as the CSV reader does ("monto", "monto (2)")."""
    seen: dict[str, int] = {}
    names, duplicated = [], set()
    for position, raw in enumerate(header):
        name = raw.strip() or f"Unnamed: {position}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            duplicated.add(name)
            name = f"{name} ({seen[name]})"
        names.append(name)
    return names, duplicated


def read_whole_table(stream: BinaryIO) -> tuple[pd.DataFrame, CsvDialect]:
    """:func:`shared.ingest.csv_reader.read_whole` for a CSV or a workbook (first sheet): for contract inference."""
    head, stream = _peek(stream)
    if workbook_kind(head) is None:
        return read_whole(stream)
    chunks = WorkbookChunks(stream)
    return readable_rows(chunks), chunks.dialect


__all__ = [
    "ISO_DATE_FORMATS",
    "WORKBOOK_DECIMAL",
    "WorkbookChunks",
    "cell_text",
    "open_table",
    "read_whole_table",
]
