"""Typing a column whose every value is written the plain way, in a few Arrow kernels.

Most columns of most files are machine-written: numbers as ``1939,38`` throughout, categories
spelled as the contract spells them, dates as ``05/07/2021``. Validation asks these functions
first; each answers with the typed column when every value is plain, and ``None`` otherwise,
and then the general code (:mod:`shared.ingest.parsing`, the pandas paths of
:mod:`shared.ingest.validation`) reads that column of that chunk with all its rules. The answer,
when there is one, is exactly the general code's (tests/ingest/test_plain_columns.py checks it
value by value on generated text); what is gained is the per-value work and the pandas copies
(issue 16: validation was half of ``dropscore score``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def plain_numbers(text: pa.Array, mark: str) -> tuple[pa.Array, np.ndarray] | None:
    """``text`` as float64 (Arrow, and numpy with nulls as NaN) when every value is a number Arrow reads
    once ``mark`` is its decimal point; else None.

    A value with the other mark (``1.234`` in a decimal-comma column), a space, a currency sign or
    anything Arrow's cast refuses sends the column to :func:`shared.ingest.parsing.to_numbers`:
    those need its grouping and ambiguity rules. ``inf`` and ``nan`` are no numbers a spreadsheet
    user typed: Arrow reads them, so a non-finite result also goes the general way.
    """
    if text.null_count == len(text) or mark not in (",", "."):
        return None
    if mark == ",":
        text = _commas_as_points(text)
        if text is None:
            return None
    try:
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = as_numpy(numbers)  # nulls as NaN: every value not finite must be a null
    if int(np.count_nonzero(~np.isfinite(values))) != numbers.null_count:
        return None
    return numbers, values


def _commas_as_points(text: pa.Array) -> pa.Array | None:
    """The text with every "," written "." (byte for byte: both are one byte in UTF-8, never part of
    another character), or None when a "." is there already (another mark, for the general reading)."""
    offsets_buffer, data_buffer = text.buffers()[1], text.buffers()[2]
    if data_buffer is None:
        return text
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    used = data[offsets[0] : offsets[-1]]
    if (used == _POINT).any():
        return None
    swapped = data.copy()
    swapped[swapped == _COMMA] = _POINT
    return pa.StringArray.from_buffers(len(text), offsets_buffer, pa.py_buffer(swapped), text.buffers()[0], text.null_count, text.offset)


_COMMA, _POINT = ord(","), ord(".")


def all_known(text: pa.Array, categories: Sequence[object]) -> bool:
    """Every present value is one of ``categories`` exactly as written (then nothing about the column needs pandas)."""
    if not categories or not all(isinstance(value, str) for value in categories):
        return False
    # A null in the set matches the nulls of the column: one kernel, no second pass for them.
    known = pc.is_in(text, value_set=_category_set(tuple(categories)))
    return pc.all(known).as_py() is not False


@functools.lru_cache(maxsize=256)
def _category_set(categories: tuple[str, ...]) -> pa.Array:
    return pa.array([*categories, None], type=pa.string())


def plain_dates(text: pa.Array, date_format: str) -> pa.Array | None:
    """``text`` as timestamps when every present value is ``date_format`` written out in full; else None.

    Arrow's strptime accepts the 31st of any month and unpadded fields; writing each date back with
    the same format and comparing it to the text keeps only the dates pandas reads the same way
    (a real day, written as the format writes it).
    """
    if text.null_count == len(text):
        return None
    try:
        dates = pc.strptime(text, format=date_format, unit="ns", error_is_null=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if dates.null_count != text.null_count:
        return None
    written = pc.strftime(dates, format=date_format)
    same = pc.equal(written, text)
    if pc.all(pc.or_kleene(same, pc.is_null(text))).as_py() is False:
        return None
    return dates


def as_numpy(values: pa.Array) -> np.ndarray:
    """Float values as numpy, nulls as NaN (what the bound checks compare)."""
    return values.to_numpy(zero_copy_only=False)
