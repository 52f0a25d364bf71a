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


# Every spelling of the tokens, for a CSV parser to turn into nulls as it reads (shared.ingest.csv_reader).
MISSING_SPELLINGS: list[str] = _MISSING_TOKENS_ARRAY.to_pylist()
# Bytes a value padded with white space starts or ends with: ASCII white space (with the four
# separators 0x1C-0x1F Unicode counts as white space) and any byte of a multi-byte character,
# since Unicode spaces (no-break, em, ideographic...) are all multi-byte. A value starting or
# ending otherwise needs no trimming.
_ASCII_SPACES = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32])
_MAY_PAD = np.zeros(256, dtype=bool)
_MAY_PAD[list(_ASCII_SPACES)] = True
_MAY_PAD[0x80:] = True
# Every byte but those spaces: what bytes.translate deletes to find whether a column holds a space at all.
_NOT_SPACES = bytes(sorted(set(range(256)) - set(_ASCII_SPACES)))


def normalize_cells(table: pa.Table, *, tokens_already_null: bool = False) -> pa.Table:
    """Strip spaces (also non-breaking ones), compose accents (NFC), turn missing-value tokens into nulls.

    macOS writes "í" as "i" + a combining accent: the same text to a person, another string to
    a category lookup or a hash. Each step runs only on the columns that need it, found from the
    bytes of the column (a first or last byte that may be white space, a byte over 127): most
    columns of most files need none of it. ``tokens_already_null``: the parser turned the tokens
    written exactly as they are into nulls, so only trimmed values can still be one.
    """
    columns = []
    for column in table.columns:
        text = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if text.type != pa.string():
            text = text.cast(pa.string())
        padded, ascii_only = _padding_and_ascii(text)
        normalized = pc.utf8_trim_whitespace(text) if padded else text
        if not ascii_only:
            normalized = _composed(normalized)
        if padded or not tokens_already_null:
            missing = pc.is_in(normalized, value_set=_MISSING_TOKENS_ARRAY)
            if pc.any(missing).as_py():
                normalized = pc.if_else(missing, pa.scalar(None, pa.string()), normalized)
        columns.append(normalized)
    return pa.table(columns, names=table.column_names)


def _padding_and_ascii(text: pa.Array) -> tuple[bool, bool]:
    """(some value may start or end with white space, every value is ASCII), read off the column's bytes.

    An empty value or a null "starts" at its neighbour's first byte and "ends" at the last byte before
    it: looking there too can only ask for a trim that changes nothing, never skip one.
    """
    count = len(text)
    data_buffer = text.buffers()[2]
    if count == 0 or data_buffer is None:
        return False, True
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=count + 1, offset=text.offset * 4)
    first, last = int(offsets[0]), int(offsets[-1])
    if last == first:
        return False, True
    # Most columns (numbers, codes, dates) hold no space and no byte over 127 anywhere: two scans of
    # the bytes in C say so, without gathering every value's first and last byte (0.17 -> 0.04 s for
    # the 16.8 million cells of the bench file).
    written = memoryview(data_buffer)[first:last].tobytes()
    ascii_only = written.isascii()
    if ascii_only and not written.translate(None, _NOT_SPACES):
        return False, True
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    edges = np.concatenate((np.minimum(offsets[:-1], last - 1), np.maximum(offsets[1:] - 1, first)))
    return bool(_MAY_PAD[data[edges]].any()), ascii_only


def _composed(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The column in Unicode NFC, normalizing each distinct non-ASCII value once.

    Arrow's own utf8_normalize is not used: the build we pin returns decomposed text for every form.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary.to_pylist()
    if all(value is None or unicodedata.is_normalized("NFC", value) for value in distinct):
        return column
    composed = pa.array([None if value is None else unicodedata.normalize("NFC", value) for value in distinct], pa.string())
    return pc.take(composed, encoded.indices)


def string_frame(table: pa.Table, row_numbers: np.ndarray | None = None) -> pd.DataFrame:
    """An Arrow table of text as a pandas frame of strings (missing as ``pd.NA``), indexed by Excel row
    number when given (else 0..n-1)."""
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
    if row_numbers is not None:
        frame.index = pd.Index(row_numbers, name="row_number")
    return frame
