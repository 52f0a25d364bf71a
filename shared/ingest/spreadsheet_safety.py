"""Make CSV cells safe to open in Excel (OWASP "CSV injection" / formula injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run
as a formula when a person opens the file in Excel or LibreOffice (``=HYPERLINK(...)``,
``@SUM(...)``, ``-2+3``). OWASP's advice: prefix such cells with a single quote so the
spreadsheet shows them as text. A plain number (``-12``, ``-1.234,56``, ``+593``) is not a
formula, and quoting it would corrupt negative amounts, so numbers are left alone.

Every CSV dropscore writes for people (predictions, quarantine) goes through
:func:`neutralize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A number as a spreadsheet reads it: sign, digits with "." or "," as marks, optional exponent.
# (With spaces inside, "+593 99 123" is a formula to Excel: it gets the quote like any other.)
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d.,]*(?:[eE][+-]?\d+)?%?$")


def is_dangerous(text: str) -> bool:
    return bool(text) and text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.match(text)


def neutralize(value: Any) -> Any:
    """The cell as it is safe to write: strings that could run as a formula get a leading quote."""
    if isinstance(value, str) and is_dangerous(value):
        return "'" + value
    return value


def neutralize_row(values: Iterable[Any]) -> list[Any]:
    return [neutralize(value) for value in values]


def neutralize_rows(rows: Iterable[Iterable[Any]]) -> Iterable[list[Any]]:
    for row in rows:
        yield [neutralize(value) for value in row]


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralize` for every text column of a frame, vectorized (numbers stay numbers)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
            continue
        text = column.astype("string")
        starts = text.str.startswith(FORMULA_TRIGGERS).fillna(False).to_numpy(dtype=bool)
        if not starts.any():
            continue
        # Only the few cells that start like a formula are looked at one by one.
        risky = np.zeros(len(text), dtype=bool)
        candidates = np.flatnonzero(starts)
        risky[candidates] = [is_dangerous(value) for value in text.iloc[candidates]]
        if risky.any():
            out[name] = text.mask(risky, "'" + text)
    return out
