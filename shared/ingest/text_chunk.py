"""A chunk of rows as read from a file: Arrow text, each row with the row number Excel shows.

The CSV reader hands its chunks to validation in this form, straight from Arrow's parser: a
chunk of 84 columns converted to a pandas frame of strings and back costs more than validating it
(issue 16). Readers that build pandas frames (workbooks, contract inference, tests) are taken as
they are: :meth:`TextChunk.of` turns a frame of strings into the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from shared.ingest.cell_normalization import string_frame
from shared.ingest.row_problems import RowProblem


@dataclass(frozen=True)
class TextChunk:
    """Rows of text: ``table`` holds one string column per column of the file (missing as null), named
    as the file's header reads; ``row_numbers`` the Excel row of each (the header is row 1);
    ``problems`` the rows that could not be read as written; ``last``: no row of the file follows.

    A chunk carries all of this itself, so a reader may run ahead of the code that validates it.
    """

    table: pa.Table
    row_numbers: np.ndarray
    problems: Mapping[int, RowProblem] = field(default_factory=dict)
    last: bool = False

    def __len__(self) -> int:
        return self.table.num_rows

    @cached_property
    def columns(self) -> list[str]:
        return self.table.column_names

    @classmethod
    def of(cls, frame: pd.DataFrame, first_row_number: int) -> TextChunk:
        """A pandas frame of strings (missing as NA) as a chunk; rows numbered by its index when the CSV
        reader numbered it (``row_number``), else from ``first_row_number`` on."""
        if frame.index.name == "row_number":
            row_numbers = frame.index.to_numpy(dtype=np.int64)
        else:
            row_numbers = np.arange(first_row_number, first_row_number + len(frame), dtype=np.int64)
        arrays = [pa.array(frame[name].astype("string").array, type=pa.string()) for name in frame.columns]
        return cls(pa.Table.from_arrays(arrays, names=[str(name) for name in frame.columns]), row_numbers)

    def text(self, name: str) -> pa.Array:
        """One column as a single Arrow string array."""
        column = self.table.column(name)
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)

    def frame(self, names: Sequence[str] | None = None, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Some columns (all by default) as a pandas frame of strings indexed 0..n-1; ``rows``: a mask of the rows to keep."""
        table = self.table if names is None else self.table.select(list(names))
        if rows is not None:
            table = table.filter(pa.array(rows, type=pa.bool_()))
        return string_frame(table)

    @cached_property
    def null_mask(self) -> np.ndarray:
        """Per row: every cell empty (Excel's ``;;;;`` lines at the end of a sheet)."""
        empty = np.ones(self.table.num_rows, dtype=bool)
        for column in self.table.columns:
            if column.null_count == 0:
                return np.zeros(self.table.num_rows, dtype=bool)
            empty &= column.is_null().to_numpy(zero_copy_only=False)
        return empty

