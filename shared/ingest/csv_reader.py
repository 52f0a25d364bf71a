"""Read the CSV files people really send, as a stream of string chunks.

Files come from Spanish-locale Excel and old systems: cp1252 or UTF-8 (with or without
BOM, now and then UTF-16), ``;`` or ``,`` or tab or ``|`` as delimiter, an Excel
``sep=;`` first line, quoted fields with newlines, rows with one field too many or too
few. We sniff the first block of bytes, read the header ourselves, and hand the rest to
Arrow's streaming CSV parser (C++, one block at a time, so the whole file is never held
in memory). Every value is read as text: typing happens against the contract, where a
failure can be quarantined with its reason instead of silently becoming NaN.

Rows the parser cannot fit to the header are not fatal: a row whose surplus fields are
all empty (Excel's trailing ``;``) is trimmed and kept; any other ragged row is kept in
the chunk, flagged in :attr:`CsvChunks.last_problems`, so validation quarantines it with
its original row number. Every yielded frame is indexed by the row number the user sees
in Excel (the header is row 1), so nothing downstream has to count.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from shared.errors import BadInputError
from shared.ingest.text_decoding import LineWiseDecoder, mostly_utf8

logger = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
DEFAULT_CHUNK_ROWS = 50_000
# Arrow parses one block at a time; a single row (one record, with its quoted newlines)
# must fit in a block. 16 MiB holds the 1 MB free-text cell people paste from e-mails.
BLOCK_BYTES = 16 * 1024 * 1024
READ_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
HEADER_ROW = 1  # row numbers follow what the user sees in Excel: the header is row 1
# Tokens people and systems use for "no value"; compared after stripping spaces.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "sin dato", "s/d"})
# Every upper/lower-case spelling of the tokens ("NA", "Null", "S/D"...; 185 strings): matching
# them as written spares lower-casing a copy of every column of every chunk.
_MISSING_TOKENS_ARRAY = pa.array(
    sorted({"".join(letters) for token in MISSING_TOKENS for letters in itertools.product(*({c.lower(), c.upper()} for c in token))}),
    pa.string(),
)
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
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")

ROW_PROBLEM_RAGGED = "ragged_row"
ROW_PROBLEM_UNCLOSED_QUOTE = "unclosed_quote"
ROW_PROBLEM_CONTROL = "control_character"


@dataclass(frozen=True)
class CsvDialect:
    encoding: str       # python codec name used to decode
    delimiter: str
    has_bom: bool
    excel_sep_line: bool = False  # the file started with Excel's "sep=;" hint


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot be used as read: validation quarantines it with this code."""

    code: str            # ragged_row | unclosed_quote | control_character
    fields: int = 0      # how many fields the row had
    expected: int = 0    # how many the header has
    excerpt: str = ""    # the start of the row as written, for the message


# ----------------------------------------------------------------------------- sniffing


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


def _sample_records(sample_text: str, delimiter: str, limit: int = 50) -> list[list[str]]:
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
        records = _sample_records(text, candidate)
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
    what_es = f"parece un archivo {kind}" if kind.startswith(".") else "parece binario, por ejemplo un .xlsx"
    what_en = f"it looks like a {kind} file" if kind.startswith(".") else "it looks binary, e.g. an .xlsx"
    return BadInputError(
        "not_text",
        f"El archivo no es texto ({what_es}). Guárdelo como CSV (Archivo > Guardar como > CSV) y vuelva a subirlo.",
        f"The file is not text ({what_en}). Save it as CSV (File > Save As > CSV) and upload it again.",
    )


def _empty() -> BadInputError:
    return BadInputError("empty_file", "El archivo está vacío.", "The file is empty.")


def sniff(head: bytes) -> CsvDialect:
    if not head.strip():
        raise _empty()
    encoding, has_bom = detect_encoding(head)
    if not encoding.startswith("utf-16"):
        kind = _binary_kind(head)
        if kind:
            raise _not_text(kind)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise _empty()
    first_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    excel_sep = _EXCEL_SEP_LINE.match(first_line)
    if excel_sep:
        return CsvDialect(encoding, excel_sep.group(1), has_bom, excel_sep_line=True)
    return CsvDialect(encoding=encoding, delimiter=detect_delimiter(text), has_bom=has_bom)


# --------------------------------------------------------------------------- streaming


class _Utf8Stream(io.RawIOBase):
    """The file's text, after the header, re-encoded as UTF-8 for Arrow, decoding as it goes."""

    def __init__(self, pending: bytes, rest: BinaryIO, decoder: codecs.IncrementalDecoder | LineWiseDecoder, *, bytes_read: int, max_bytes: int | None) -> None:
        self._pending = pending
        self._offset = 0
        self._rest = rest
        self._decoder = decoder
        self._done = False
        self.bytes_read = bytes_read
        self._max_bytes = max_bytes
        self.saw_nul = b"\x00" in pending
        self.quotes = pending.count(b'"')  # odd at the end: a quote opened and never closed (or a stray one)

    def readable(self) -> bool:
        return True

    def _refill(self) -> None:
        while self._offset >= len(self._pending) and not self._done:
            data = self._rest.read(READ_BYTES)
            self.bytes_read += len(data)
            if self._max_bytes is not None and self.bytes_read > self._max_bytes:
                raise too_large(self._max_bytes)
            text = self._decoder.decode(data, final=not data)
            self._done = not data
            self._pending = text.encode("utf-8", errors="surrogatepass")
            self._offset = 0
            self.quotes += self._pending.count(b'"')
            if not self.saw_nul and "\x00" in text:
                self.saw_nul = True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._refill()
        available = len(self._pending) - self._offset
        if available <= 0:
            return 0
        size = min(len(buffer), available)
        buffer[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size


def too_large(max_bytes: int) -> BadInputError:
    megabytes = max_bytes / 1024 / 1024
    return BadInputError(
        "too_large",
        f"El archivo supera el tamaño máximo de {megabytes:,.0f} MB. Divídalo en archivos más pequeños y súbalos por separado.",
        f"The file is larger than the {megabytes:,.0f} MB limit. Split it into smaller files and upload them separately.",
    )


def _unique_names(header: list[str]) -> tuple[list[str], set[str]]:
    """Column names as written, made unique ("monto", "monto (2)"); also the names written twice."""
    seen: Counter[str] = Counter()
    names, duplicated = [], set()
    for position, raw in enumerate(header):
        name = unicodedata.normalize("NFC", raw.lstrip("\ufeff").strip()) or f"Unnamed: {position}"
        seen[name] += 1
        if seen[name] > 1:
            duplicated.add(name)
            name = f"{name} ({seen[name]})"
        names.append(name)
    return names, duplicated


def _is_unnamed(name: str) -> bool:
    return name.startswith("Unnamed: ")


def _normalize_table(table: pa.Table) -> pa.Table:
    """Strip spaces (also non-breaking ones), compose accents (NFC), turn missing-value tokens into nulls.

    macOS writes "í" as "i" + a combining accent: the same text to a person, another string to
    a category lookup or a hash. Only columns with non-ASCII text pay for the normalization.
    """
    columns = []
    for column in table.columns:
        stripped = pc.utf8_trim_whitespace(column)
        stripped = _composed(stripped)
        missing = pc.is_in(stripped, value_set=_MISSING_TOKENS_ARRAY)
        columns.append(pc.if_else(missing, pa.scalar(None, pa.string()), stripped))
    return pa.table(columns, names=table.column_names)


# What every cell read from a file goes through; the pyfunc does the same to the text it is given
# (shared.model.frame_scoring).
normalize_cells = _normalize_table
def _composed(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The column in Unicode NFC, normalizing each distinct non-ASCII value once.

    Arrow's own utf8_normalize is not used: the build we pin returns decomposed text for every form.
    """
    if pc.all(pc.string_is_ascii(column)).as_py() is not False:
        return column
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary.to_pylist()
    if all(value is None or unicodedata.is_normalized("NFC", value) for value in distinct):
        return column
    composed = pa.array([None if value is None else unicodedata.normalize("NFC", value) for value in distinct], pa.string())
    return pc.take(composed, encoded.indices)


def _string_frame(table: pa.Table, index: np.ndarray) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
    frame.index = pd.Index(index, name="row_number")
    return frame


@dataclass
class _InvalidRow:
    number: int
    fields: list[str]
    problem: RowProblem | None   # None: repaired (only empty surplus fields)


class CsvChunks:
    """Iterate a CSV object as pandas frames of strings (missing values as ``pd.NA``).

    Frames are indexed by Excel row number. While a frame is being handled,
    :attr:`last_problems` maps those of its row numbers that could not be read as written
    to their :class:`RowProblem`.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        encoding: str | None = None,      # override sniffing (tests, known sources)
        delimiter: str | None = None,
        max_bytes: int | None = None,     # BadInputError("too_large") beyond this many bytes
        block_bytes: int = BLOCK_BYTES,
        only_columns: Collection[str] | None = None,  # read just these (by header name) with column_tables()
    ) -> None:
        self.stream = stream
        self.only_columns = None if only_columns is None else set(only_columns)
        self.chunk_rows = chunk_rows
        self.encoding = encoding
        self.delimiter = delimiter
        self.max_bytes = max_bytes
        self.block_bytes = block_bytes
        self.last_problems: dict[int, RowProblem] = {}
        self.rows_trimmed = 0  # rows whose surplus fields were all empty (kept, trimmed)
        self.at_end = False  # the chunk being handled is the file's last: no row follows it
        self._last_frame = False
        self._setup()

    def _setup(self) -> None:
        head = self.stream.read(SNIFF_BYTES)
        if self.max_bytes is not None and len(head) > self.max_bytes:
            raise too_large(self.max_bytes)
        dialect = sniff(head)
        if self.encoding or self.delimiter:
            encoding = self.encoding or dialect.encoding
            dialect = CsvDialect(encoding, self.delimiter or dialect.delimiter, encoding == "utf-8-sig", dialect.excel_sep_line)
        self.dialect = dialect
        if self.encoding or dialect.encoding.startswith("utf-16"):
            decoder = codecs.getincrementaldecoder(dialect.encoding)(errors="replace")
        else:
            # UTF-8 or cp1252 decided line by line (shared.ingest.text_decoding): files glued from two systems mix them.
            decoder = LineWiseDecoder(legacy_file=not dialect.encoding.startswith("utf-8"))
        self._decoder = decoder
        text = decoder.decode(head, final=len(head) < SNIFF_BYTES).lstrip("\ufeff")
        bytes_read = len(head)
        exhausted = len(head) < SNIFF_BYTES
        while True:
            parsed = self._parse_header(text, exhausted)
            if parsed is not None:
                break
            more = self.stream.read(READ_BYTES)
            bytes_read += len(more)
            exhausted = not more
            text += decoder.decode(more, final=exhausted)
            if len(text) > MAX_HEADER_BYTES:
                raise BadInputError(
                    "not_csv",
                    "No se encontró el final de la fila de encabezado (¿comillas sin cerrar?).",
                    "The header row never ends (an unclosed quote?).",
                )
        header_fields, consumed = parsed
        if not header_fields:
            raise BadInputError("empty_file", "El archivo está vacío.", "The file is empty.")
        self.header, self.duplicated_names = _unique_names(header_fields)
        rest_text = text[consumed:]
        self._width = self._data_width(rest_text, len(self.header), complete=exhausted)
        for position in range(len(self.header), self._width):
            self.header.append(f"Unnamed: {position}")
        # Columns after the last named one may hold nothing (Excel's trailing ";;").
        named = [i for i, name in enumerate(self.header) if not _is_unnamed(name)]
        self._named_width = (named[-1] + 1) if named else 1
        self._source = _Utf8Stream(
            rest_text.encode("utf-8", errors="surrogatepass"), self.stream, decoder, bytes_read=bytes_read, max_bytes=self.max_bytes
        )
        self._invalid: deque[_InvalidRow] = deque()
        self._next_record = 1  # Arrow numbers data records from 1, blank lines not counted
        self._positional = [f"c{i}" for i in range(self._width)]
        # A pass that only counts (shared.ingest.file_evidence) converts just its columns, on every core, and
        # skips rows it cannot fit: the cleaning pass numbers and quarantines those.
        counting = self.only_columns is not None
        included = [p for p, name in zip(self._positional, self.header, strict=True) if self.only_columns is not None and name in self.only_columns]
        self._included_names = [self.header[self._positional.index(p)] for p in included]
        try:
            self._reader = pa_csv.open_csv(
                io.BufferedReader(self._source, READ_BYTES),
                read_options=pa_csv.ReadOptions(
                    column_names=self._positional, block_size=self.block_bytes, use_threads=counting  # row numbers need one thread
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=dialect.delimiter,
                    quote_char='"',
                    double_quote=True,
                    escape_char=False,
                    newlines_in_values=True,
                    ignore_empty_lines=True,
                    invalid_row_handler=_skip_row if counting else self._on_invalid_row,
                ),
                convert_options=pa_csv.ConvertOptions(
                    include_columns=included if counting else None,
                    column_types={name: pa.string() for name in self._positional},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as exc:
            if "empty" not in str(exc).lower():
                raise self._parse_error(exc) from exc
            self._reader = None  # a header and nothing else: no rows, which the caller reports

    # -- header ---------------------------------------------------------------------------

    def _parse_header(self, text: str, exhausted: bool) -> tuple[list[str], int] | None:
        """(header fields, characters consumed up to the first data row), or None to read more."""
        lines = _LINE.finditer(text)
        consumed = 0
        if self.dialect.excel_sep_line:
            for match in lines:  # blank lines, then Excel's "sep=;" line itself
                consumed = match.end()
                if match.group().strip() or not match.group():
                    break
        state = {"consumed": consumed, "terminated": True}

        def line_source() -> Iterator[str]:
            for match in lines:
                line = match.group()
                if not line:
                    return
                state["consumed"] = match.end()
                state["terminated"] = line.endswith(("\n", "\r"))
                yield line

        try:
            for record in csv.reader(line_source(), delimiter=self.dialect.delimiter):
                if not any(value.strip() for value in record):
                    continue  # blank lines before the header
                if not state["terminated"] and not exhausted:
                    return None  # the header may go on in bytes not read yet
                return record, state["consumed"]
        except csv.Error:
            if not exhausted:
                return None
            raise BadInputError("not_csv", "La fila de encabezado no se puede leer como CSV.", "The header row cannot be read as CSV.") from None
        return ([], state["consumed"]) if exhausted else None

    def _data_width(self, sample_text: str, header_width: int, *, complete: bool) -> int:
        """Fields per row: the header's, or more when the rows all carry empty trailing fields."""
        if not complete:
            sample_text = sample_text[: max(sample_text.rfind("\n"), sample_text.rfind("\r")) + 1]
        records = _sample_records(sample_text, self.dialect.delimiter, limit=200)
        if not records:
            return header_width
        modal, count = Counter(len(r) for r in records).most_common(1)[0]
        wider = [r for r in records if len(r) == modal]
        if modal > header_width and count * 2 > len(records) and all(not any(v.strip() for v in r[header_width:]) for r in wider):
            return modal  # Excel's trailing ";" on every data row: read it as empty columns
        return header_width

    # -- rows Arrow cannot fit -------------------------------------------------------------

    def _on_invalid_row(self, row: object) -> str:
        text = str(getattr(row, "text", ""))
        number = getattr(row, "number", None)
        if number is None:  # only happens with threads, which we do not use; keep the row anyway
            number = (self._invalid[-1].number + 1) if self._invalid else self._next_record
            logger.warning("the CSV parser gave no row number for an invalid row; numbering may be off by one")
        fields = _split_row(text, self.dialect.delimiter)
        actual = len(fields)
        problem: RowProblem | None = None
        surplus = fields[self._named_width :]
        blank = not text.strip()  # a line of spaces: an empty row, which validation reports as such
        if not blank and (actual < self._named_width or any(value.strip() for value in surplus)):
            code = ROW_PROBLEM_UNCLOSED_QUOTE if ("\n" in text or "\r" in text) and text.count('"') % 2 == 1 else ROW_PROBLEM_RAGGED
            excerpt = text if len(text) <= 120 else text[:117] + "..."
            problem = RowProblem(code, fields=actual, expected=self._named_width, excerpt=excerpt.replace("\r", " ").replace("\n", " "))
        fitted = (fields + [""] * self._width)[: self._width]
        self._invalid.append(_InvalidRow(int(number), fitted, problem))
        return "skip"

    def _number(self, count: int) -> tuple[np.ndarray, list[_InvalidRow]]:
        """Row numbers of ``count`` good records, in order, and the invalid records among them.

        Arrow reports every record it could not fit (with its number) before it hands over the
        block holding it, so the good records fill the numbers the invalid ones leave free.
        """
        numbers = np.empty(count, dtype=np.int64)
        between: list[_InvalidRow] = []
        filled = 0
        while True:
            while self._invalid and self._invalid[0].number <= self._next_record:
                row = self._invalid.popleft()
                between.append(row)
                self._next_record = max(self._next_record, row.number + 1)
            if filled == count:
                return numbers, between
            gap = (self._invalid[0].number - self._next_record) if self._invalid else count - filled
            take = min(gap, count - filled)
            numbers[filled : filled + take] = np.arange(self._next_record, self._next_record + take)
            filled += take
            self._next_record += take

    # -- iteration -------------------------------------------------------------------------

    def _parse_error(self, exc: Exception) -> BadInputError:
        text = str(exc)
        if "straddl" in text:
            limit = self.block_bytes // (1024 * 1024)
            return BadInputError(
                "row_too_large",
                f"Una fila del archivo ocupa más de {limit} MB (¿comillas sin cerrar?). Revise el archivo y vuelva a subirlo.",
                f"A row of the file is larger than {limit} MB (an unclosed quote?). Check the file and upload it again.",
            )
        return BadInputError(
            "not_csv", f"El archivo tiene filas que no se pueden leer como CSV: {text}", f"The file has rows that cannot be read as CSV: {text}"
        )

    def _frames(self) -> Iterator[tuple[pd.DataFrame, dict[int, RowProblem]]]:
        previous: tuple[pa.Table, np.ndarray, list[_InvalidRow]] | None = None
        while self._reader is not None:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise self._parse_error(exc) from exc
            numbers, between = self._number(batch.num_rows)
            if previous is not None:
                yield self._assemble(*previous)
            previous = (pa.Table.from_batches([batch]), numbers, between)
        tail = list(self._invalid)
        self._invalid.clear()
        if previous is not None:
            table, numbers, between = previous
            last_problem = {} if tail else self._unclosed_quote_at_end(table, numbers)
            self._last_frame = not tail
            yield self._assemble(table, numbers, between, last_problem)
        if tail:
            self._last_frame = True
            yield self._assemble(None, np.empty(0, dtype=np.int64), tail)

    def _unclosed_quote_at_end(self, table: pa.Table, numbers: np.ndarray) -> dict[int, RowProblem]:
        """A quote opened in the last row and never closed swallows the rest of the file into one cell.

        The parser accepts that at the end of the file. When the file holds an odd number of
        quote characters and the last row has a cell whose later lines hold the delimiter,
        that is what such a swallowed tail looks like, so the row is not trusted.
        """
        if table.num_rows == 0 or self._source.quotes % 2 == 0:
            return {}  # every quote of the file is paired: the last cell's line breaks are its own
        for value in table.slice(table.num_rows - 1, 1).to_pylist()[0].values():
            text = str(value or "")
            line_break = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
            if line_break >= 0 and self.dialect.delimiter in text[line_break:]:
                excerpt = text if len(text) <= 120 else text[:117] + "..."
                problem = RowProblem(ROW_PROBLEM_UNCLOSED_QUOTE, expected=self._named_width, excerpt=excerpt.replace("\r", " ").replace("\n", " "))
                return {int(numbers[-1]) + HEADER_ROW: problem}
        return {}

    def _assemble(
        self, table: pa.Table | None, numbers: np.ndarray, invalid: list[_InvalidRow], known: dict[int, RowProblem] | None = None
    ) -> tuple[pd.DataFrame, dict[int, RowProblem]]:
        problems: dict[int, RowProblem] = dict(known or {})
        if invalid:
            self.rows_trimmed += sum(1 for row in invalid if row.problem is None and any(row.fields))
            extra = pa.table({name: pa.array([row.fields[i] for row in invalid], pa.string()) for i, name in enumerate(self._positional)})
            extra_numbers = np.array([row.number for row in invalid], dtype=np.int64)
            problems.update({row.number + HEADER_ROW: row.problem for row in invalid if row.problem is not None})
            if table is None or table.num_rows == 0:
                table, numbers = extra, extra_numbers
            else:
                table = pa.concat_tables([table, extra])
                numbers = np.concatenate([numbers, extra_numbers])
                order = np.argsort(numbers, kind="stable")
                table, numbers = table.take(pa.array(order)), numbers[order]
        assert table is not None
        table = _normalize_table(table.rename_columns(self.header))
        if self._source.saw_nul:
            for row_number in _rows_with_nul(table, numbers + HEADER_ROW):
                problems.setdefault(row_number, RowProblem(ROW_PROBLEM_CONTROL))
        frame = _string_frame(table, numbers + HEADER_ROW)
        unnamed_empty = [name for name in frame.columns if _is_unnamed(name) and frame[name].isna().all()]
        if unnamed_empty:
            frame = frame.drop(columns=unnamed_empty)
        return frame, problems

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for frame, problems in self._frames():
            for start in range(0, len(frame), self.chunk_rows):
                piece = frame.iloc[start : start + self.chunk_rows]
                if len(piece) == 0:
                    continue
                low, high = int(piece.index[0]), int(piece.index[-1])
                self.at_end = self._last_frame and start + self.chunk_rows >= len(frame)
                self.last_problems = {n: p for n, p in problems.items() if low <= n <= high}
                yield piece

    def column_tables(self) -> Iterator[pa.Table]:
        """The ``only_columns`` as Arrow text (unnormalized, rows unnumbered), one block at a time."""
        if self.only_columns is None:
            raise ValueError("column_tables() needs only_columns")
        while self._reader is not None:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise self._parse_error(exc) from exc
            yield pa.Table.from_batches([batch]).rename_columns(self._included_names)

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    @property
    def mixed_encoding(self) -> dict[str, object] | None:
        """Lines read in the other encoding than the file's (UTF-8 file with cp1252 lines...), or None."""
        decoder = self._decoder
        if not isinstance(decoder, LineWiseDecoder) or not decoder.minority_lines:
            return None
        return {"encoding": decoder.minority, "lines": decoder.minority_lines}


def _skip_row(row: object) -> str:
    return "skip"


def _rows_with_nul(table: pa.Table, row_numbers: np.ndarray) -> list[int]:
    mask = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        found = pc.fill_null(pc.match_substring(column, "\x00"), False)
        mask |= np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return [int(n) for n in row_numbers[mask]]


def _split_row(text: str, delimiter: str) -> list[str]:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return [text]
    if not records:
        return [""]
    return records[0] if len(records) == 1 else [value for record in records for value in record]


def read_whole(stream: BinaryIO) -> tuple[pd.DataFrame, CsvDialect]:
    """Read a (training-size) file completely; used where the whole table is needed anyway.

    Rows that cannot be read as written (ragged, unclosed quotes) are left out: this is for
    inferring a contract, where they would only blur the picture.
    """
    chunks = CsvChunks(stream)
    return readable_rows(chunks), chunks.dialect


def readable_rows(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Every chunk's rows but those with a read problem, as one frame (CSV and workbook readers alike)."""
    frames = []
    for frame in chunks:
        problems = getattr(chunks, "last_problems", None)
        if problems:
            frame = frame.drop(index=[n for n in problems if n in frame.index])
        frames.append(frame)
    if not frames or not sum(len(f) for f in frames):
        raise BadInputError("no_rows", "El archivo solo tiene encabezado, sin filas.", "The file has a header but no rows.")
    return pd.concat(frames, ignore_index=True)
