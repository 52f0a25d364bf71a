"""What every cell read from a file goes through before anything looks at it.

Spaces stripped (non-breaking ones too), accents composed (NFC), the tokens people write for
"no value" turned into nulls. The CSV and workbook readers apply it to every chunk, and the
pyfunc applies it to the text it is given (shared.model.frame_scoring), so a value means the
same wherever it came from.
"""

from __future__ import annotations

import itertools
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest.vocabulary import MISSING_TOKENS

# Every upper/lower-case spelling of the tokens ("NA", "Null", "S/D"...; 185 strings): matching
# them as written spares lower-casing a copy of every column of every chunk.
_MISSING_TOKENS_ARRAY = pa.array(
    sorted({"".join(letters) for token in MISSING_TOKENS for letters in itertools.product(*({c.lower(), c.upper()} for c in token))}),
    pa.string(),
)


def normalize_cells(table: pa.Table) -> pa.Table:
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


def string_frame(table: pa.Table, row_numbers: np.ndarray) -> pd.DataFrame:
    """An Arrow table of text as a pandas frame of strings (missing as ``pd.NA``), indexed by Excel row number."""
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
    frame.index = pd.Index(row_numbers, name="row_number")
    return frame
