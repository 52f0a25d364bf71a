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
    written_in_full = _written_in_full(text, dates, date_format)
    if written_in_full is None:  # a format of other fields: write each date back and compare
        same = pc.equal(pc.strftime(dates, format=date_format), text)
        written_in_full = pc.all(pc.or_kleene(same, pc.is_null(text))).as_py() is not False
    return dates if written_in_full else None


# Fields of a fixed width and the part of a timestamp each one writes.
_FIELDS = {"%d": (2, "day"), "%m": (2, "month"), "%Y": (4, "year"), "%H": (2, "hour"), "%M": (2, "minute"), "%S": (2, "second")}


@functools.lru_cache(maxsize=64)
def _layout(date_format: str) -> tuple[int, tuple[tuple[int, int, str], ...], tuple[tuple[int, int], ...]] | None:
    """(length, fields as (position, width, part), literals as (position, byte)) of a format of
    fixed-width fields and one-byte literals; None for any other format."""
    fields, literals, position, index = [], [], 0, 0
    while index < len(date_format):
        piece = date_format[index : index + 2]
        if piece in _FIELDS:
            width, part = _FIELDS[piece]
            fields.append((position, width, part))
            position, index = position + width, index + 2
        elif date_format[index] == "%" or ord(date_format[index]) > 127:
            return None
        else:
            literals.append((position, ord(date_format[index])))
            position, index = position + 1, index + 1
    return position, tuple(fields), tuple(literals)


def _written_in_full(text: pa.Array, dates: pa.Array, date_format: str) -> bool | None:
    """Whether every present value is its date written back with ``date_format`` (what pandas reads the
    same way): every field zero-padded and equal to the date's, checked on the bytes, since Arrow's
    strptime also takes "5/7/2021" and turns "31/02/2021" into the 3rd of March. None: not decidable
    this way (another kind of format), ask strftime."""
    layout = _layout(date_format)
    data_buffer = text.buffers()[2]
    if layout is None or data_buffer is None:
        return None
    length, fields, literals = layout
    count = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=count + 1, offset=text.offset * 4)
    sizes = np.diff(offsets)
    present = np.ones(count, dtype=bool) if text.null_count == 0 else np.asarray(text.is_valid())
    if (sizes[~present] != 0).any():
        return None  # a null holding bytes: the values are not back to back
    if (sizes[present] != length).any():
        return False
    written = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, length).astype(np.int64)
    for position, byte in literals:
        if (written[:, position] != byte).any():
            return False
    parsed = pc.drop_null(dates)
    for position, width, part in fields:
        digits = written[:, position : position + width] - 48
        if ((digits < 0) | (digits > 9)).any():
            return False
        value = digits @ (10 ** np.arange(width - 1, -1, -1))
        if not np.array_equal(value, getattr(pc, part)(parsed).to_numpy(zero_copy_only=False)):
            return False
    return True


def as_numpy(values: pa.Array) -> np.ndarray:
    """Float values as numpy, nulls as NaN (what the bound checks compare)."""
    return values.to_numpy(zero_copy_only=False)
