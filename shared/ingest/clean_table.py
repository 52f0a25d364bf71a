"""Clean one table as a stream: read, decide its dialect, validate chunk by chunk, into typed rows and quarantined rows.

This is what a dropped file *says*, decided without buckets, claims or reports: the caller opens
the object, gives a way to read it once more (the whole-file evidence pass below) and decides
where each :class:`CleanedChunk` goes (the clean step: one object or shards, then a manifest;
``dropscore train``: one object). A CSV or an Excel workbook, told by its content
(:mod:`shared.ingest.workbook_reader`), gives the same chunks.

:class:`TableCleaner` has one method per phase: the constructor opens the table, the first chunk
decides the header mapping and the decimal mark (:meth:`TableCleaner._decide`), every chunk is
validated (:meth:`TableCleaner._validate`), and :meth:`TableCleaner.finish` checks that every row
read is clean or quarantined. Each chunk is read once; only a CSV longer than one chunk is read a
second time, and then only its numeric and date columns, to count what they prove.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa

from shared import progress
from shared.backends import services
from shared.errors import BadInputError, PiiKeyError, SecondPassNeeded
from shared.i18n import both, locale_decimal
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.contract import Contract
from shared.ingest.csv_output import SOURCE_ROW_COLUMN
from shared.ingest.csv_reader import CsvChunks
from shared.ingest.file_evidence import COMMA, FileEvidence, decide_date_order, is_mixed_date_order
from shared.ingest.pii import MIN_KEY_CHARS, PiiHasher
from shared.ingest.read_ahead import read_ahead
from shared.ingest.row_problems import HEADER_ROW, RowProblem
from shared.ingest.text_chunk import TextChunk
from shared.ingest.validation import (
    MIXED_DATE_ORDER_SHARE,
    QUARANTINE_COLUMNS,
    ChunkValidator,
    HeaderMapping,
    expected_columns,
    map_header,
)
from shared.ingest.workbook_reader import (
    ISO_DATE_FORMATS,
    WORKBOOK_DECIMAL,
    WorkbookChunks,
    open_table,
    workbook_output_dialect,
)

# Files above this size get a report instead of a run that would not finish in one
# invocation (540 s, memory cap); splitting them is the user's (or a sharding step's) job.
MAX_INPUT_BYTES = 2 * 1024 * 1024 * 1024
# The CSV parser works one block of this many bytes at a time; a chunk's strings, their typed
# copies and the validation around them take some tens of times that. 2 MiB blocks keep a
# chunk near 100 MiB and still hold a row with a 1 MB cell.
CSV_BLOCK_BYTES = 2 * 1024 * 1024
REPORTED_ROWS = 50  # row numbers listed per repair in the manifest

# Opens the same object again from its start (the whole-file evidence pass reads a CSV twice).
Reopen = Callable[[], AbstractContextManager[BinaryIO]]


def arrow_schema(contract: Contract, columns: list[str]) -> pa.Schema:
    """The types clean rows are stored with: numbers as float64, dates as timestamps, the rest text."""
    fields = []
    for name in columns:
        spec = contract.columns.get(name)
        if name == SOURCE_ROW_COLUMN:
            fields.append(pa.field(name, pa.int64()))
        elif spec is not None and spec.type == "numeric":
            fields.append(pa.field(name, pa.float64()))
        elif spec is not None and spec.type == "date":
            fields.append(pa.field(name, pa.timestamp("ns")))
        else:
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


def pii_hasher(pii_key: str | None, contract: Contract, kind: str) -> PiiHasher | None:
    """The keyed hasher when this kind of file carries personal columns; refuse rather than store them in the clear."""
    expected, _ = expected_columns(contract, kind)
    personal = [name for name in contract.personal_columns if name in expected or name in contract.passthrough]
    if not personal:
        # Columns outside the contract found personal (shared.ingest.personal_data) leave as tokens with a
        # usable key, as ``***`` without one: a file is not refused for columns the contract ignores.
        try:
            return PiiHasher(pii_key) if pii_key else None
        except PiiKeyError:
            return None
    if not pii_key:
        spanish, english = both("pii_key_missing", columns=", ".join(personal))
        raise BadInputError("pii_key_missing", spanish, english)
    try:
        return PiiHasher(pii_key)
    except PiiKeyError:
        spanish, english = both("pii_key_invalid", min_chars=MIN_KEY_CHARS)
        raise BadInputError("pii_key_invalid", spanish, english) from None


def output_dialect(contract: Contract, delimiter: str, decimal: str) -> tuple[str, str]:
    """(delimiter, decimal mark) of the CSVs people open: the contract's choice, else as the file came.

    "locale" means what Excel expects in the contract's locale: with a decimal comma (es-EC)
    the list separator is ";", with a decimal point ",".
    """
    locale_mark = locale_decimal(contract.locale)
    if contract.output_delimiter == "locale":
        out_delimiter = ";" if locale_mark == "," else ","
    else:
        out_delimiter = delimiter if contract.output_delimiter == "auto" else contract.output_delimiter
    if contract.output_decimal == "locale":
        out_decimal = locale_mark if out_delimiter != "," else "."
    elif contract.output_decimal != "auto":
        out_decimal = contract.output_decimal
    elif out_delimiter == ",":
        out_decimal = "."  # "0,5" in a comma-separated file would need quotes in every cell
    else:
        out_decimal = decimal
    return out_delimiter, out_decimal


def _renamed(chunk: pd.DataFrame | TextChunk, renames: dict[str, str]) -> pd.DataFrame | pa.Table:
    if isinstance(chunk, TextChunk):
        return chunk.table.rename_columns([renames.get(name, name) for name in chunk.columns])
    return chunk.rename(columns=renames)


@dataclass(frozen=True)
class CleanedChunk:
    """One chunk of the table, cleaned."""

    source_rows: pd.DataFrame | TextChunk  # the rows as read (text): what shards are sized by
    clean: pa.Table | None           # typed as the clean Parquet stores them, with each row's Excel row number
    quarantine: pd.DataFrame | None  # the rows refused, with their reasons (and cells, for a workbook)


class TableCleaner:
    """One table, cleaned a chunk at a time: iterate it for :class:`CleanedChunk` s, then :meth:`finish`.

    ``stream`` is the object from its start; ``reopen`` reads it once more (only a CSV longer than
    one chunk needs it); ``source_name`` names generated ids ("ventas-12").
    """

    def __init__(
        self,
        stream: BinaryIO,
        contract: Contract,
        kind: str,
        source_name: str,
        *,
        hasher: PiiHasher | None,
        reopen: Reopen,
        max_bytes: int | None = None,
        block_bytes: int | None = None,
        evidence: FileEvidence | None = None,
        count_while_reading: bool = False,
    ) -> None:
        self.contract, self.kind, self.source_name = contract, kind, source_name
        self.hasher, self.reopen = hasher, reopen
        # How a CSV longer than one chunk learns what the whole file proves (shared.ingest.file_evidence):
        # given (a second pass), counted while it is read (the first chunk decides, :meth:`finish` checks
        # it against the whole file and raises SecondPassNeeded if they differ: only for callers that
        # publish nothing before the end), or else counted in a pass over the file beforehand.
        self.known_evidence, self.count_while_reading = evidence, count_while_reading
        self._counted: FileEvidence | None = None  # while reading: the whole file's so far
        self._uncounted: set[str] = set()  # columns whose decision later chunks could only confirm (_count)
        self._decisions: dict[str, Any] = {}
        self._evidence_columns: tuple[list[str], dict[str, list[str]]] = ([], {})
        # Read at call time, not import time: tests and benchmarks set them on the module.
        self.max_bytes = MAX_INPUT_BYTES if max_bytes is None else max_bytes
        self.block_bytes = CSV_BLOCK_BYTES if block_bytes is None else block_bytes
        expected, _ = expected_columns(contract, kind)
        self.chunks: CsvChunks | WorkbookChunks = open_table(
            stream, sheet=contract.sheet, header_names=[*expected, *contract.passthrough], max_bytes=self.max_bytes, block_bytes=self.block_bytes
        )
        self.workbook = isinstance(self.chunks, WorkbookChunks)
        # Decided by the first chunk (_decide):
        self.mapping: HeaderMapping | None = None
        self.validator: ChunkValidator | None = None
        self.decimal, self.decimal_source = (WORKBOOK_DECIMAL, "workbook") if self.workbook else (contract.decimal, "contract")
        self.out_delimiter, self.out_decimal = self.chunks.dialect.delimiter, "."
        self.quarantine_columns: list[str] = []
        self.dialect_details: dict[str, Any] = {}
        self._schema: pa.Schema | None = None  # the first clean chunk's: every later chunk is stored alike
        # Counted by _validate:
        self.rows_in = self.rows_clean = self.rows_quarantined = self.unknown_categories = 0

    def __iter__(self) -> Iterator[CleanedChunk]:
        if isinstance(self.chunks, WorkbookChunks):
            for frame in self.chunks:
                yield self._cleaned(frame)
            return
        # A CSV's next chunk is parsed while this one is validated (shared.ingest.read_ahead); each
        # chunk carries its own row problems and end-of-file flag, so the reader may run ahead.
        chunks = read_ahead(self._with_plain_answers(self.chunks.text_chunks()))
        try:
            for chunk, plain in chunks:
                yield self._cleaned(chunk, plain)
        finally:
            chunks.close()  # stops the reading thread when the caller stops early

    def _with_plain_answers(self, chunks: Iterator[TextChunk]) -> Iterator[tuple[TextChunk, dict[tuple[str, str], object]]]:
        """Each chunk with its plain columns typed (ChunkValidator.plain_answers), in the reading thread:
        that typing needs no earlier chunk, so it runs beside the validation of the chunk before. The
        first chunk (and any read before the first was decided) is typed by the validator itself."""
        for chunk in chunks:
            validator = self.validator
            yield chunk, (validator.plain_answers(chunk) if validator is not None else {})

    def _cleaned(self, chunk: pd.DataFrame | TextChunk, plain: dict[tuple[str, str], object] | None = None) -> CleanedChunk:
        if self.validator is None:
            self._decide(chunk)
        return self._validate(chunk, plain)

    def _problems_and_end(self, chunk: pd.DataFrame | TextChunk) -> tuple[Mapping[int, RowProblem], bool]:
        if isinstance(chunk, TextChunk):
            return chunk.problems, chunk.last
        return self.chunks.last_problems, getattr(self.chunks, "at_end", False)  # a workbook weighs no evidence

    # -- phases ------------------------------------------------------------------------------------

    def _decide(self, first_chunk: pd.DataFrame | TextChunk) -> None:
        """The header mapping, the decimal mark(s) and the output dialect, from the first chunk (and the file)."""
        contract, chunks = self.contract, self.chunks
        mapping = map_header(list(first_chunk.columns), contract, self.kind, duplicated=chunks.duplicated_names)
        if self.workbook:
            # A workbook's numbers come as canonical text (shared.ingest.workbook_reader): one mark, no evidence to weigh.
            self.validator = ChunkValidator(
                contract, self.kind, mapping, self.decimal, self.source_name, hasher=self.hasher, extra_date_formats=ISO_DATE_FORMATS
            )
            source_dialect = workbook_output_dialect(contract.locale)
        else:
            evidence, decisions = self._decide_decimals(first_chunk, mapping)
            self.validator = ChunkValidator(
                contract, self.kind, mapping, self.decimal, self.source_name, hasher=self.hasher,
                decimals=decisions, date_evidence=evidence.dates,
            )
            source_dialect = (chunks.dialect.delimiter, self.decimal)
        self.mapping = mapping
        self.out_delimiter, self.out_decimal = output_dialect(contract, *source_dialect)
        renamed = [mapping.renames.get(h, h) for h in chunks.header]
        self.quarantine_columns = QUARANTINE_COLUMNS + [h for h in renamed if not h.startswith("Unnamed: ")]
        if self.workbook:  # the cell to look at in Excel ("F12") beside the column's name
            self.quarantine_columns.insert(self.quarantine_columns.index("column") + 1, "cell")

    def _decide_decimals(self, first_chunk: pd.DataFrame | TextChunk, mapping: HeaderMapping) -> tuple[FileEvidence, dict[str, Any]]:
        """A CSV's decimal mark per numeric column, from what the whole file proves.

        The evidence is the first chunk's when that chunk is the whole file, else a counting pass
        over the whole object (shared.ingest.file_evidence says why); the contract's mark, else its
        locale, only decides what the file does not.
        """
        contract, chunks = self.contract, self.chunks
        present = set(mapping.renames.values())
        numeric = [n for n, spec in contract.columns.items() if spec.type == "numeric" and n in present]
        date_formats = {n: contract.date_formats_for(spec) for n, spec in contract.columns.items() if spec.type == "date" and n in present}
        if self._problems_and_end(first_chunk)[1]:
            evidence, whole_file = FileEvidence(), "first_chunk"
            evidence.add(_renamed(first_chunk, mapping.renames), numeric, date_formats)
        elif self.known_evidence is not None:
            evidence, whole_file = self.known_evidence, "second_pass"
        elif self.count_while_reading:
            evidence, whole_file = FileEvidence(), "while_reading"
            evidence.add(_renamed(first_chunk, mapping.renames), numeric, date_formats)
            self._counted = copy.deepcopy(evidence)  # grows with every chunk; ``evidence`` stays the first chunk's
            self._evidence_columns = (numeric, date_formats)
        else:
            evidence, whole_file = self._whole_file_evidence(mapping, numeric, date_formats), "pre_pass"
        hint, hint_source = (contract.decimal, "contract") if contract.decimal != "auto" else (locale_decimal(contract.locale), "locale")
        decisions = evidence.decide_decimals(numeric, delimiter=chunks.dialect.delimiter, hint=hint, hint_source=hint_source)
        self._decisions = decisions
        proven = any(d.source in ("column", "file") for d in decisions.values())
        self.decimal = evidence.file_decimal(decisions, default=hint)
        self.decimal_source = "file" if proven else (decisions[numeric[0]].source if numeric else hint_source)
        self.dialect_details = {
            "column_decimals": {n: d.mark for n, d in decisions.items() if d.mark != self.decimal},
            "columns_read_by_proof": sorted(n for n, d in decisions.items() if d.by_proof),  # each value by the mark it proves
            "whole_file_evidence": whole_file,
        }
        return evidence, decisions

    def _whole_file_evidence(self, mapping: HeaderMapping, numeric: list[str], date_formats: dict[str, list[str]]) -> FileEvidence:
        """Read the object once more, only to count what its numbers and dates prove (shared.ingest.file_evidence).

        A file bigger than one chunk is decided on all of its rows, not on its head: a value read in
        the first chunk cannot be unread when a later one proves the column writes the other mark.
        Only counters are kept, so memory stays that of one chunk.
        """
        evidence = FileEvidence()
        wanted = set(numeric) | set(date_formats)
        sources = {source: target for source, target in mapping.renames.items() if target in wanted}
        with self.reopen() as stream:
            reader = CsvChunks(stream, max_bytes=self.max_bytes, block_bytes=self.block_bytes, only_columns=sources)
            for table in reader.column_tables():
                evidence.add(table.rename_columns([sources[name] for name in table.column_names]), numeric, date_formats)
        return evidence

    def _validate(self, chunk: pd.DataFrame | TextChunk, plain: dict[tuple[str, str], object] | None = None) -> CleanedChunk:
        """Validate one chunk: its clean rows typed, its refused rows with their reasons; every row counted."""
        assert self.validator is not None and self.mapping is not None  # decided on the first chunk
        try:
            result = self.validator.validate(chunk, first_row_number=HEADER_ROW + 1 + self.rows_in, problems=self._problems_and_end(chunk)[0], plain=plain)
        except BadInputError as problem:
            if self._counted is not None and problem.code == "mixed_date_order":
                # Mixed on the first chunk's proof, which the whole file may outweigh: decide on all of it.
                raise SecondPassNeeded(None) from problem
            raise
        if self._counted is not None and self.rows_in:  # the first chunk is counted already (_decide_decimals)
            self._count(chunk, result.plain_columns)
        self.rows_in += len(chunk)
        progress.advance(len(chunk))  # a terminal's "rows read" (shared.progress)
        self.unknown_categories += result.unknown_categories
        clean = quarantine = None
        if result.clean_table.num_rows:
            # Each clean row keeps its Excel row: with a hashed id, that is how people find it again.
            rows = result.clean_table.append_column(SOURCE_ROW_COLUMN, pa.array(result.clean_row_numbers, pa.int64()))
            if self._schema is None:
                self._schema = arrow_schema(self.contract, rows.column_names)
            clean = rows.cast(self._schema)
            self.rows_clean += rows.num_rows
        if len(result.quarantine):
            quarantine = self.chunks.with_cells(result.quarantine, self.mapping.renames) if self.workbook else result.quarantine
            self.rows_quarantined += len(quarantine)
        return CleanedChunk(chunk, clean, quarantine)

    def finish(self) -> None:
        """After the last chunk: a file without rows is refused, and every row read is clean or quarantined."""
        if self.mapping is None or self.validator is None:
            spanish, english = both("no_rows")
            raise BadInputError("no_rows", spanish, english)
        if self.rows_in != self.rows_clean + self.rows_quarantined:  # the accounting invariant: nothing is lost
            raise RuntimeError(f"{self.source_name}: {self.rows_in} rows in but {self.rows_clean} clean + {self.rows_quarantined} quarantined")
        reasons = sum(self.validator.error_counts.values())
        if self.rows_quarantined != reasons:
            raise RuntimeError(f"{self.source_name}: {self.rows_quarantined} rows quarantined but {reasons} reasons")
        if self._counted is not None and not self._first_chunk_was_right(self._counted):
            # Columns counted no more (_count) lack some proof of their own mark or order, never of the
            # other one: every decision drawn from these counts is the exact count's.
            raise SecondPassNeeded(self._counted)

    def _count(self, chunk: pd.DataFrame | TextChunk, plain: dict[str, str]) -> None:
        """Add what a later chunk proves to the whole file's count, skipping what cannot change a decision.

        A column whose first chunk proved its mark, and whose values in this chunk were all plain in
        that mark (no other mark in them: shared.ingest.plain_columns), adds proof of its own mark only:
        its decision stands, whatever the exact count. Likewise a date column whose dates were all
        written in full in the order it is read. Such columns are counted no more; should one later
        prove the other mark or order after all, the exact share would matter, and the file is cleaned
        again with a count beforehand.
        """
        assert self._counted is not None and self.validator is not None and self.mapping is not None
        numeric, date_formats = self._evidence_columns
        numbers_to_count = []
        for name in numeric:
            decision = self._decisions[name]
            if decision.source == "column" and not decision.by_proof and plain.get(name) == decision.mark:
                self._uncounted.add(name)
            else:
                numbers_to_count.append(name)
        dates_to_count = {}
        for name, formats in date_formats.items():
            if plain.get(name) == "date":
                self._uncounted.add(name)
            else:
                dates_to_count[name] = formats
        part = FileEvidence()
        part.add(_renamed(chunk, self.mapping.renames), numbers_to_count, dates_to_count)
        for name in self._uncounted & (set(part.numbers) | set(part.dates)):
            if self._proves_the_other_way(name, part):
                raise SecondPassNeeded(None)
        self._counted.merge(part)

    def _proves_the_other_way(self, name: str, part: FileEvidence) -> bool:
        """Whether ``part`` proves for column ``name`` the mark or date order it is not read with."""
        assert self.validator is not None
        if name in part.numbers:
            seen = part.numbers[name]
            return bool(seen.point if self._decisions[name].mark == COMMA else seen.comma)
        seen_dates = part.dates[name]
        declared = self._evidence_columns[1][name]
        read_as_declared = self.validator.date_formats_used.get(name, declared) == declared
        return bool(seen_dates.swapped if read_as_declared else seen_dates.declared)

    def _first_chunk_was_right(self, whole: FileEvidence) -> bool:
        """Whether the whole file proves what the first chunk did: the same decimal mark for every numeric
        column, and every date column read in the order (and with the formats) the whole file gives it."""
        assert self.validator is not None
        numeric, date_formats = self._evidence_columns
        contract = self.contract
        hint, hint_source = (contract.decimal, "contract") if contract.decimal != "auto" else (locale_decimal(contract.locale), "locale")
        if whole.decide_decimals(numeric, delimiter=self.chunks.dialect.delimiter, hint=hint, hint_source=hint_source) != self._decisions:
            return False
        for name, declared in date_formats.items():
            evidence = whole.dates.get(name)
            if is_mixed_date_order(evidence, mixed_share=MIXED_DATE_ORDER_SHARE):
                return False
            used = self.validator.date_formats_used.get(name)
            if used is not None and decide_date_order(evidence, declared)[0] != used:
                return False
        return True

    # -- what the manifest says ------------------------------------------------------------------------

    def scoring_details(self) -> dict[str, Any]:
        """What a scorer needs before the file is finished (a shard's): the dialect in and out, passthrough columns."""
        assert self.mapping is not None
        return {
            "encoding": self.chunks.dialect.encoding,
            "delimiter": self.chunks.dialect.delimiter,
            "decimal": self.decimal,
            "output_delimiter": self.out_delimiter,
            "output_decimal": self.out_decimal,
            "passthrough_extra_columns": self.mapping.extra if self.contract.extra_columns == "passthrough" else [],
        }

    def details(self) -> dict[str, Any]:
        """What was read, renamed, repaired or quarantined: the cleaned file's manifest details."""
        assert self.mapping is not None and self.validator is not None
        contract, chunks, mapping, validator = self.contract, self.chunks, self.mapping, self.validator
        details = {
            **self.scoring_details(),
            "decimal_source": self.decimal_source,
            "locale": contract.locale,
            "excel_sep_line": chunks.dialect.excel_sep_line,
            "source_bytes": chunks.bytes_read,
            "renamed_columns": mapping.renamed,
            "extra_columns": [c for c in mapping.extra if c not in contract.passthrough],
            "extra_columns_policy": contract.extra_columns,
            "missing_optional_columns": mapping.missing_optional,
            "unknown_categories": self.unknown_categories,
            "unknown_categories_by_column": dict(validator.unknown_by_column),
            "unknown_category_examples": {c: v for c, v in validator.unknown_examples.items() if validator.unknown_by_column.get(c)},
            "matched_categories": dict(validator.matched_categories),
            "mixed_encoding": getattr(chunks, "mixed_encoding", None),  # CSVs only: workbooks store text as Unicode
            "date_formats": {
                c: f for c, f in validator.date_formats_used.items() if f != contract.date_formats_for(contract.columns[c])
            },
            "quarantine_reasons": dict(sorted(validator.error_counts.items())),
            "rows_trimmed": chunks.rows_trimmed,
            "repaired_identifiers": {
                column: {"count": len(rows), "rows": rows[:REPORTED_ROWS]} for column, rows in validator.repaired.items()
            },
            "personal_columns": [c for c in contract.personal_columns if c in mapping.expected or c in contract.passthrough],
            # Columns outside the contract masked as personal, and why (name or values: shared.ingest.personal_data).
            "personal_extra_columns": validator.masker.summary(),
        }
        if isinstance(chunks, WorkbookChunks):
            details["workbook"] = chunks.describe()
        details.update(self.dialect_details)
        return details


@dataclass(frozen=True)
class CleanedObjects:
    """Where a table cleaned whole into one clean object went, and its counts."""

    clean_uri: str | None        # None: no row was clean
    quarantine_uri: str | None   # None: no row was quarantined
    rows_in: int
    rows_clean: int
    rows_quarantined: int


def clean_into(uri: str, contract: Contract, kind: str, source_name: str, outputs: CleanOutputs, *, hasher: PiiHasher | None) -> CleanedObjects:
    """Clean the object at ``uri`` into ``outputs`` (one clean object, one quarantine file), published whole.

    For a file cleaned outside the clean step (``dropscore train``): no shards, no manifest, no
    report. A file refused whole raises :class:`BadInputError` and leaves no output behind; a
    quarantine file an earlier file of the same name left goes when no row is quarantined now.
    """
    store = services.store(uri)
    with store.open_read(uri) as stream:
        table = TableCleaner(stream, contract, kind, source_name, hasher=hasher, reopen=lambda: store.open_read(uri))
        try:
            for cleaned in table:
                if cleaned.clean is not None:
                    outputs.write_clean(cleaned.clean)
                if cleaned.quarantine is not None:
                    outputs.write_quarantine(cleaned.quarantine, table.quarantine_columns, table.out_delimiter)
            table.finish()
            quarantine_uri = outputs.publish_quarantine()
            clean_uri = outputs.publish_clean()
        except BaseException:
            outputs.discard(*sys.exc_info())
            raise
    if quarantine_uri is None:
        services.store(outputs.quarantine_uri).delete(outputs.quarantine_uri)
    return CleanedObjects(clean_uri, quarantine_uri, table.rows_in, table.rows_clean, table.rows_quarantined)
