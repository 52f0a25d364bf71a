"""Read the CSV files people really send, as a stream of string chunks.

Files come from Spanish-locale Excel and old systems: cp1252 or UTF-8 (with or without
BOM, now and then UTF-16), ``;`` or ``,`` or tab or ``|`` as delimiter, an Excel
``sep=;`` first line, quoted fields with newlines, rows with one field too many or too
few. We sniff the first block of bytes, read the header ourselves, and hand the rest to
Arrow's streaming CSV parser (C++, one block at a time, so the whole file is never held
in memory). Every value is read as text: typing happens against the contract, where a
failure can be quarantined with its reason instead of silently becoming NaN.

This module streams: the header, the decoding, the chunks. What kind of CSV a file is comes
from :mod:`shared.ingest.csv_dialect`; rows the parser cannot fit to the header are trimmed
or flagged by :mod:`shared.ingest.csv_row_repair` (never dropped: a flagged row stays in its
chunk, listed in :attr:`CsvChunks.last_problems`, so validation quarantines it with its
original row number); every cell goes through :mod:`shared.ingest.cell_normalization`. Every
yielded frame is indexed by the row number the user sees in Excel (the header is row 1), so
nothing downstream has to count.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.cell_normalization import MISSING_SPELLINGS, normalize_cells, string_frame
from shared.ingest.csv_dialect import SNIFF_BYTES, CsvDialect, empty_file, sample_records, sniff
from shared.ingest.csv_row_repair import InvalidRow, RowRepair, rows_with_nul, skip_row, unclosed_quote_at_end
from shared.ingest.row_problems import HEADER_ROW, ROW_PROBLEM_CONTROL, RowProblem
from shared.ingest.text_chunk import TextChunk
from shared.ingest.text_decoding import LineWiseDecoder

DEFAULT_CHUNK_ROWS = 50_000
# Arrow parses one block at a time; a single row (one record, with its quoted newlines)
# must fit in a block. 16 MiB holds the 1 MB free-text cell people paste from e-mails.
BLOCK_BYTES = 16 * 1024 * 1024
READ_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


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
    return BadInputError("too_large", *both("too_large", megabytes=max_bytes / 1024 / 1024))


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
                raise BadInputError("not_csv", *both("header_never_ends"))
        header_fields, consumed = parsed
        if not header_fields:
            raise empty_file()
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
        self._repair = RowRepair(dialect.delimiter, named_width=self._named_width, width=self._width)
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
                    invalid_row_handler=skip_row if counting else self._repair.on_invalid_row,
                ),
                convert_options=pa_csv.ConvertOptions(
                    include_columns=included if counting else None,
                    column_types={name: pa.string() for name in self._positional},
                    # The missing-value tokens as written become nulls in the parser (C++), quoted or
                    # not; normalize_cells then only looks again at values it trims.
                    null_values=MISSING_SPELLINGS,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
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
            raise BadInputError("not_csv", *both("header_not_csv")) from None
        return ([], state["consumed"]) if exhausted else None

    def _data_width(self, sample_text: str, header_width: int, *, complete: bool) -> int:
        """Fields per row: the header's, or more when the rows all carry empty trailing fields."""
        if not complete:
            sample_text = sample_text[: max(sample_text.rfind("\n"), sample_text.rfind("\r")) + 1]
        records = sample_records(sample_text, self.dialect.delimiter, limit=200)
        if not records:
            return header_width
        modal, count = Counter(len(r) for r in records).most_common(1)[0]
        wider = [r for r in records if len(r) == modal]
        if modal > header_width and count * 2 > len(records) and all(not any(v.strip() for v in r[header_width:]) for r in wider):
            return modal  # Excel's trailing ";" on every data row: read it as empty columns
        return header_width

    # -- iteration -------------------------------------------------------------------------

    def _parse_error(self, exc: Exception) -> BadInputError:
        text = str(exc)
        if "straddl" in text:
            return BadInputError("row_too_large", *both("row_too_large", megabytes=self.block_bytes // (1024 * 1024)))
        return BadInputError("not_csv", *both("rows_not_csv", detail=text))

    def _frames(self) -> Iterator[tuple[TextChunk, dict[int, RowProblem]]]:
        previous: tuple[pa.Table, np.ndarray, list[InvalidRow]] | None = None
        while self._reader is not None:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise self._parse_error(exc) from exc
            numbers, between = self._repair.number(batch.num_rows)
            if previous is not None:
                yield self._assemble(*previous)
            previous = (pa.Table.from_batches([batch]), numbers, between)
        tail = self._repair.drain()
        if previous is not None:
            table, numbers, between = previous
            last_problem = (
                {}
                if tail
                else unclosed_quote_at_end(table, numbers, quotes=self._source.quotes, delimiter=self.dialect.delimiter, expected=self._named_width)
            )
            self._last_frame = not tail
            yield self._assemble(table, numbers, between, last_problem)
        if tail:
            self._last_frame = True
            yield self._assemble(None, np.empty(0, dtype=np.int64), tail)

    def _assemble(
        self, table: pa.Table | None, numbers: np.ndarray, invalid: list[InvalidRow], known: dict[int, RowProblem] | None = None
    ) -> tuple[TextChunk, dict[int, RowProblem]]:
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
        table = normalize_cells(table.rename_columns(self.header), tokens_already_null=not invalid)
        if self._source.saw_nul:
            for row_number in rows_with_nul(table, numbers + HEADER_ROW):
                problems.setdefault(row_number, RowProblem(ROW_PROBLEM_CONTROL))
        unnamed_empty = [name for name, column in zip(table.column_names, table.columns, strict=True) if _is_unnamed(name) and column.null_count == len(column)]
        if unnamed_empty:
            table = table.drop_columns(unnamed_empty)
        return TextChunk(table, numbers + HEADER_ROW), problems

    def text_chunks(self) -> Iterator[TextChunk]:
        """The rows as Arrow text, at most ``chunk_rows`` at a time (what the clean step validates)."""
        for whole, problems in self._frames():
            for start in range(0, len(whole), self.chunk_rows):
                rows = whole.row_numbers[start : start + self.chunk_rows]
                if len(rows) == 0:
                    continue
                low, high = int(rows[0]), int(rows[-1])
                self.at_end = self._last_frame and start + self.chunk_rows >= len(whole)
                self.last_problems = {n: p for n, p in problems.items() if low <= n <= high}
                yield TextChunk(whole.table.slice(start, self.chunk_rows), rows, self.last_problems, self.at_end)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """The rows as pandas frames of strings (missing as ``pd.NA``), indexed by Excel row number."""
        for piece in self.text_chunks():
            yield string_frame(piece.table, piece.row_numbers)

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
        raise BadInputError("no_rows", *both("no_rows"))
    return pd.concat(frames, ignore_index=True)
