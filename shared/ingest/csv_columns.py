"""The predictions CSV's bytes for one batch, built a whole column at a time with Arrow.

What ``csv.writer(handle, delimiter=...).writerows(csv_rows(...))`` writes (:mod:`shared.ingest.csv_output`:
numbers in the locale's mark, text made safe for Excel, the ``csv`` module's minimal quoting and
``\\r\\n`` line ends), to the byte, without a Python object per cell: on 200 000 rows that writer
spent 0.8 s (reasons on) formatting and joining cells one at a time, holding the GIL the
validation of the next chunks needs (issue 16). Here each column becomes one Arrow string array
(Arrow's kernels run outside the GIL), the columns are joined into lines by Arrow, and the batch's
text comes out as one buffer.

Cells no vectorized rule is sure about go through the old code, so the bytes never differ: numbers
that are not a float with at most six decimals (``format_numbers``), cells that start like a
formula (``is_dangerous``), objects that are not text (``str``, as the ``csv`` module does).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest.csv_output import SOURCE_ROW_COLUMN, SOURCE_ROW_OUTPUT, format_numbers
from shared.ingest.spreadsheet_safety import FORMULA_TRIGGERS, is_dangerous


def _any_of(characters: Iterable[str]) -> str:
    """An RE2 class of these characters, each by its code point (no character needs escaping)."""
    return "[" + "".join(f"\\x{{{ord(character):x}}}" for character in characters) + "]"


TEXT = pa.large_string()  # 64-bit offsets: a batch's joined lines never overflow
LINE_END = "\r\n"  # the csv module's default line terminator
QUOTE = '"'
SCALE = 1_000_000  # FLOAT_DIGITS = 6 decimals
# Below 2**31 a double's spacing is under 1e-6, so a float equal to k / 10**6 prints as k's digits with
# "%.6f" (the nearest six-decimal number is k / 10**6 itself).
EXACT_BELOW = 2.0**31
# RE2 (Arrow) versions of shared.ingest.spreadsheet_safety's tests. RE2's \d and $ match less than
# Python's (ASCII digits only; not before a final newline), so a cell RE2 calls a plain number is one
# for Python too, and any other cell that starts like a formula is asked of is_dangerous itself.
_STARTS_LIKE_FORMULA = "^" + _any_of(FORMULA_TRIGGERS)
_PLAIN_NUMBER = r"^[+-]?\d[\d.,]*(?:[eE][+-]?\d+)?%?$"


def csv_bytes(predictions: pd.DataFrame, clean: pd.DataFrame, columns: list[str], delimiter: str, decimal: str, date_format: str = "%d/%m/%Y") -> bytes | memoryview:
    """The UTF-8 text of the CSV rows of one batch (no header, no BOM): see the module docstring."""
    rows = len(predictions)
    if not rows or not columns:
        return b""
    cells = [_cells(_output_values(name, predictions, clean, rows), delimiter, decimal, date_format) for name in columns]
    if len(cells) == 1:
        # The csv module writes a row that is one empty field as "" (else it would be an empty line).
        cells[0] = pc.if_else(pc.equal(pc.utf8_length(cells[0]), 0), pa.scalar(QUOTE * 2, TEXT), cells[0])
    lines = _join(*cells, separator=delimiter) if len(cells) > 1 else cells[0]
    lines = _join(lines, "", separator=LINE_END)  # "cells" + LINE_END + ""
    return _text_buffer(lines)


def _output_values(name: str, predictions: pd.DataFrame, clean: pd.DataFrame, rows: int) -> pd.Series:
    """The column ``name`` of the output, from where csv_rows takes it."""
    if name in predictions.columns:
        values = predictions[name]
    elif name == SOURCE_ROW_OUTPUT:
        values = clean[SOURCE_ROW_COLUMN] if SOURCE_ROW_COLUMN in clean else pd.Series(pd.NA, index=range(rows))
    else:
        values = clean[name] if name in clean else pd.Series(pd.NA, index=range(rows))
    return values.reset_index(drop=True)


def _cells(values: pd.Series, delimiter: str, decimal: str, date_format: str) -> pa.Array:
    """One column's cells as written: text, made safe, quoted where the csv module quotes; no nulls."""
    if pd.api.types.is_bool_dtype(values):
        text = _arrow_text(values.astype("string"))
    elif pd.api.types.is_numeric_dtype(values):
        text = _number_text(values, decimal)
    elif pd.api.types.is_datetime64_any_dtype(values):
        text = _arrow_text(values.dt.strftime(date_format).astype("string"))
    else:
        text = _arrow_text(values)
    text = pc.fill_null(_neutralized(text), pa.scalar("", TEXT))
    return _quoted(text, delimiter)


def _arrow_text(values: pd.Series) -> pa.Array:
    """Text cells as Arrow strings, nulls where the csv rows hold "" for a missing value."""
    try:
        text = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = None
    if text is None or not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type) or pa.types.is_null(text.type)):
        # Objects that are not all text (numbers, dates among them): what the csv module writes for them.
        objects = values.to_numpy(dtype=object)
        missing = pd.isna(values).to_numpy(dtype=bool)
        text = pa.array([None if gone else value if isinstance(value, str) else str(value) for value, gone in zip(objects, missing, strict=True)], TEXT)
    return text.cast(TEXT)


def _number_text(values: pd.Series, decimal: str) -> pa.Array:
    """``format_numbers`` by whole columns: the same text for every value (nulls for missing)."""
    if pd.api.types.is_integer_dtype(values):
        return _arrow_text(values.astype("string"))
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.rint(numbers * SCALE)
        exact = (np.abs(numbers) < EXACT_BELOW) & (scaled / SCALE == numbers)
    units = np.where(exact, scaled, 0).astype(np.int64)
    magnitude = np.abs(units)
    whole = pc.cast(pa.array(magnitude // SCALE), TEXT)
    fraction = magnitude % SCALE
    digits = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(fraction), TEXT), 6, "0"), "0")
    mark = "," if decimal == "," else "."
    text = pc.if_else(pa.array(fraction == 0), whole, _join(whole, digits, separator=mark))
    # Zero is "0" whatever its sign ("-0" is masked to "0" in format_numbers).
    text = pc.if_else(pa.array(units < 0), _join("-", text), text)
    others = ~exact & ~np.isnan(numbers)
    if others.any():  # infinities, huge numbers, more than six decimals: the old code, cell by cell
        slow = format_numbers(pd.Series(numbers[others]), decimal)
        text = pc.replace_with_mask(text, pa.array(others), pa.array(slow.to_numpy(dtype=object), TEXT))
    missing = np.isnan(numbers)
    if missing.any():
        text = pc.if_else(pa.array(missing), pa.scalar(None, TEXT), text)
    return text


def _neutralized(text: pa.Array) -> pa.Array:
    """:func:`shared.ingest.spreadsheet_safety.neutralize` for every cell (nulls stay null)."""
    starts = pc.fill_null(pc.match_substring_regex(text, _STARTS_LIKE_FORMULA), False)
    if not pc.any(starts).as_py():
        return text
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_NUMBER), False)
    candidates = np.flatnonzero(pc.and_(starts, pc.invert(plain)).to_numpy(zero_copy_only=False))
    if not len(candidates):
        return text
    risky = np.zeros(len(text), dtype=bool)
    risky[candidates] = [is_dangerous(value) for value in text.take(pa.array(candidates)).to_pylist()]
    if not risky.any():
        return text
    return pc.if_else(pa.array(risky), _join("'", text), text)


def _quoted(text: pa.Array, delimiter: str) -> pa.Array:
    """The csv module's QUOTE_MINIMAL: a cell holding the delimiter, a quote or a line break is quoted, quotes doubled."""
    needs = pc.match_substring_regex(text, _any_of((delimiter, QUOTE, "\r", "\n")))  # one pass: faster than four
    if not pc.any(needs).as_py():
        return text
    doubled = pc.replace_substring(text, QUOTE, QUOTE * 2)
    wrapped = _join(QUOTE, doubled, QUOTE)
    return pc.if_else(needs, wrapped, text)


def _join(*parts: pa.Array | str, separator: str = "") -> pa.Array:
    """Arrow's element-wise join; plain strings are scalars of the cells' type (Arrow wants one type)."""
    typed = [pa.scalar(part, TEXT) if isinstance(part, str) else part for part in parts]
    return pc.binary_join_element_wise(*typed, pa.scalar(separator, TEXT))


def _text_buffer(lines: pa.Array | pa.ChunkedArray) -> memoryview:
    """The lines' characters, one after the other: the data buffer of a string array without nulls."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
