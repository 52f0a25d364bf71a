"""CSV rows Arrow cannot fit to the header: trimmed when only empty fields are in excess, else flagged.

Arrow's CSV parser hands every record with the wrong number of fields to
:meth:`RowRepair.on_invalid_row` (with its record number) before it hands over the block that
holds it. Such a row is never dropped: a row whose surplus fields are all empty (Excel's
trailing ``;``) is trimmed and kept; any other is fitted to the table's width and carries a
:class:`~shared.ingest.row_problems.RowProblem`, so validation quarantines it with its reason.
:meth:`RowRepair.number` then gives the good records the numbers the invalid ones leave free,
so every row keeps the number the user sees in Excel.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import deque
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest.row_problems import (
    HEADER_ROW,
    ROW_PROBLEM_RAGGED,
    ROW_PROBLEM_UNCLOSED_QUOTE,
    RowProblem,
    excerpt_of,
)

logger = logging.getLogger(__name__)


@dataclass
class InvalidRow:
    """A record Arrow could not fit, fitted to the table's width."""

    number: int                  # Arrow's record number (data records from 1, blank lines not counted)
    fields: list[str]
    problem: RowProblem | None   # None: repaired (only empty surplus fields)


class RowRepair:
    """One file's invalid rows: fitted as Arrow reports them, then numbered among the good ones."""

    def __init__(self, delimiter: str, *, named_width: int, width: int) -> None:
        self.delimiter = delimiter
        self.named_width = named_width  # fields up to the last named column
        self.width = width              # fields per row, trailing empty columns included
        self.pending: deque[InvalidRow] = deque()
        self.next_record = 1            # Arrow numbers data records from 1, blank lines not counted

    def on_invalid_row(self, row: object) -> str:
        """Arrow's ``invalid_row_handler``: keep the row (fitted, maybe flagged) and tell Arrow to skip it."""
        text = str(getattr(row, "text", ""))
        number = getattr(row, "number", None)
        if number is None:  # only happens with threads, which we do not use; keep the row anyway
            number = (self.pending[-1].number + 1) if self.pending else self.next_record
            logger.warning("the CSV parser gave no row number for an invalid row; numbering may be off by one")
        fields = split_row(text, self.delimiter)
        actual = len(fields)
        problem: RowProblem | None = None
        surplus = fields[self.named_width :]
        blank = not text.strip()  # a line of spaces: an empty row, which validation reports as such
        if not blank and (actual < self.named_width or any(value.strip() for value in surplus)):
            code = ROW_PROBLEM_UNCLOSED_QUOTE if ("\n" in text or "\r" in text) and text.count('"') % 2 == 1 else ROW_PROBLEM_RAGGED
            problem = RowProblem(code, fields=actual, expected=self.named_width, excerpt=excerpt_of(text))
        fitted = (fields + [""] * self.width)[: self.width]
        self.pending.append(InvalidRow(int(number), fitted, problem))
        return "skip"

    def number(self, count: int) -> tuple[np.ndarray, list[InvalidRow]]:
        """Row numbers of ``count`` good records, in order, and the invalid records among them.

        Arrow reports every record it could not fit (with its number) before it hands over the
        block holding it, so the good records fill the numbers the invalid ones leave free.
        """
        numbers = np.empty(count, dtype=np.int64)
        between: list[InvalidRow] = []
        filled = 0
        while True:
            while self.pending and self.pending[0].number <= self.next_record:
                row = self.pending.popleft()
                between.append(row)
                self.next_record = max(self.next_record, row.number + 1)
            if filled == count:
                return numbers, between
            gap = (self.pending[0].number - self.next_record) if self.pending else count - filled
            take = min(gap, count - filled)
            numbers[filled : filled + take] = np.arange(self.next_record, self.next_record + take)
            filled += take
            self.next_record += take

    def drain(self) -> list[InvalidRow]:
        """The invalid rows after the last good one (the file's tail)."""
        tail = list(self.pending)
        self.pending.clear()
        return tail


def skip_row(row: object) -> str:
    """The ``invalid_row_handler`` of a pass that only counts: the cleaning pass numbers and quarantines such rows."""
    return "skip"


def split_row(text: str, delimiter: str) -> list[str]:
    """A raw record's fields as the csv module splits them (quoted line breaks joined into one record)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return [text]
    if not records:
        return [""]
    return records[0] if len(records) == 1 else [value for record in records for value in record]


def rows_with_nul(table: pa.Table, row_numbers: np.ndarray) -> list[int]:
    """The row numbers whose cells hold a NUL character (a legacy system's control bytes)."""
    mask = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        found = pc.fill_null(pc.match_substring(column, "\x00"), False)
        mask |= np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return [int(n) for n in row_numbers[mask]]


def unclosed_quote_at_end(table: pa.Table, numbers: np.ndarray, *, quotes: int, delimiter: str, expected: int) -> dict[int, RowProblem]:
    """A quote opened in the last row and never closed swallows the rest of the file into one cell.

    The parser accepts that at the end of the file. When the file holds an odd number of
    quote characters (``quotes``) and the last row has a cell whose later lines hold the
    delimiter, that is what such a swallowed tail looks like, so the row is not trusted.
    """
    if table.num_rows == 0 or quotes % 2 == 0:
        return {}  # every quote of the file is paired: the last cell's line breaks are its own
    for value in table.slice(table.num_rows - 1, 1).to_pylist()[0].values():
        text = str(value or "")
        line_break = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
        if line_break >= 0 and delimiter in text[line_break:]:
            problem = RowProblem(ROW_PROBLEM_UNCLOSED_QUOTE, expected=expected, excerpt=excerpt_of(text))
            return {int(numbers[-1]) + HEADER_ROW: problem}
    return {}
