"""Turn text values into typed values, locale-aware, reporting what failed instead of hiding it."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Day-first before month-first: a column that proves neither order is read the way Spanish-locale Excel writes it.
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S")
_COMMA_DECIMAL = re.compile(r"^[-+]?\d{1,3}(\.\d{3})*,\d+$|^[-+]?\d+,\d+$")
_COMMA_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DOT_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")
# White space of any kind (Excel writes a no-break space as a thousands mark in some locales)
# and the currency sign, in RE2's syntax.
_SPACES_AND_CURRENCY = r"[\s\p{Zs}$]"
# What remains once the marks are normalized: plain decimal notation, optionally with an exponent.
_PLAIN_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
# Digits with at most the decimal mark, no sign but "-", no grouping: what most columns hold.
_SIMPLE_NUMBER = {",": r"^-?\d+(,\d+)?$", ".": r"^-?\d+(\.\d+)?$"}
_LEADING_ZERO_CODE = re.compile(r"^0\d+$")
# A dot that cannot be a thousands mark ("12.5", "0.25", "1234.5678"): evidence of the decimal point.
_POINT_DECIMAL = re.compile(r"^[-+]?\d*\.(\d{1,2}|\d{4,})$|^[-+]?0\.\d+$|^[-+]?\d{1,3}(,\d{3})+\.\d+$")


def detect_decimal(values: pd.Series, delimiter: str, *, default: str = ".") -> str:
    """The decimal mark the file uses: what its numbers prove, else ``default`` (the contract's locale).

    A comma decimal is only possible if ',' is not the delimiter. Numbers such as "1.234"
    prove nothing (a thousand, or one and a bit): then the locale decides, never a guess.
    """
    return detect_decimal_with_source(values, delimiter, default=default)[0]


def detect_decimal_with_source(values: pd.Series, delimiter: str, *, default: str = ".") -> tuple[str, str]:
    """(decimal mark, why): "file" when the values prove it, "locale" when they do not."""
    if delimiter == ",":
        return ".", "file"
    sample = values.dropna().astype(str)
    if len(sample) > 50_000:  # a seeded sample across all columns, not the head of the first one
        sample = sample.sample(50_000, random_state=0)
    if sample.str.match(_COMMA_DECIMAL).any():
        return ",", "file"
    if sample.str.match(_POINT_DECIMAL).any():
        return ".", "file"
    return default, "locale"


def to_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Parse numbers written as people write them ("1.234,56", "$ 1,234.56"); unparseable -> NaN.

    Runs in Arrow's compute kernels (RE2, C++ casts): this is the clean step's hottest loop,
    84 columns a chunk, and pandas' regex replace falls back to Python per value.
    """
    text = _arrow_text(values)
    if pc.all(pc.match_substring_regex(text, _SIMPLE_NUMBER[decimal])).as_py() is not False:
        # The common case, a machine-written column ("1234,5" or "1234.5" throughout): one
        # check, then the cast, instead of the eight kernels below.
        plain = pc.replace_substring(text, ",", ".") if decimal == "," else text
        return _as_series(pc.cast(plain, pa.float64()), values.index)
    text = pc.replace_substring_regex(text, _SPACES_AND_CURRENCY, "")
    # The other mark is accepted only as a proper thousands grouping ("1.234.567,8"); anything
    # else ("2946.24" in a decimal-comma file) is ambiguous and must fail, not become 294624.
    if decimal == ",":
        grouped = pc.match_substring_regex(text, _DOT_THOUSANDS.pattern)
        stray_point = pc.match_substring(text, ".")
        text = pc.if_else(grouped, pc.replace_substring(text, ".", ""), pc.if_else(stray_point, _null_like(text), text))
        text = pc.replace_substring(text, ",", ".")
    else:
        grouped = pc.match_substring_regex(text, _COMMA_THOUSANDS.pattern)
        text = pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)
    # Only plain decimal notation reaches the cast: "inf", "nan" or "0x1A" are not numbers a
    # spreadsheet user typed, and the cast would otherwise accept some of them.
    readable = pc.match_substring_regex(text, _PLAIN_NUMBER)
    return _as_series(pc.cast(pc.if_else(readable, text, _null_like(text)), pa.float64()), values.index)


def _as_series(numbers: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=index, dtype="float64")  # nulls -> NaN


def _arrow_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The values as an Arrow string array (zero-copy for pandas' Arrow-backed strings)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    return pa.array(values.array)


def _null_like(array: pa.Array | pa.ChunkedArray) -> pa.Scalar:
    return pa.scalar(None, type=array.type)


def to_dates(values: pd.Series, date_format: str | list[str]) -> pd.Series:
    """Parse with the first format that fits each value; unparseable -> NaT."""
    formats = [date_format] if isinstance(date_format, str) else list(date_format)
    parsed = pd.to_datetime(values, format=formats[0], errors="coerce")
    for other in formats[1:]:
        pending = parsed.isna() & values.notna()
        if not pending.any():
            break
        parsed = parsed.mask(pending, pd.to_datetime(values.where(pending), format=other, errors="coerce"))
    return parsed


def swapped_format(date_format: str) -> str | None:
    """The same format with day and month exchanged, or None when it has no day/month pair."""
    if "%d" not in date_format or "%m" not in date_format:
        return None
    return date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def date_order_evidence(values: pd.Series, date_formats: list[str], dates: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """(only_declared, only_swapped): values that are dates in the declared order only, or swapped only.

    "25/12/2026" proves day-first, "12/25/2026" month-first; "03/04/2026" proves nothing.
    A file with only month-first proof is written in the other order; with both, it mixes them.
    ``dates``: the values already parsed with ``date_formats``, when the caller has them.
    """
    swapped = [f for f in (swapped_format(f) for f in date_formats) if f]
    present = values.notna()
    if not swapped:
        empty = pd.Series(False, index=values.index)
        return empty, empty
    declared = (to_dates(values, date_formats) if dates is None else dates).notna()
    other = to_dates(values, swapped).notna()
    return (present & declared & ~other), (present & other & ~declared)


def looks_numeric(values: pd.Series, decimal: str, *, min_share: float = 0.98) -> bool:
    present = values.dropna()
    if present.empty:
        return False
    # Codes with leading zeros (cédulas, postal codes) are text: a number would lose the zero.
    if present.astype(str).str.match(_LEADING_ZERO_CODE).any():
        return False
    return float(to_numbers(present, decimal).notna().mean()) >= min_share


def detect_date_format(values: pd.Series, *, min_share: float = 0.98) -> str | None:
    present = values.dropna().head(2000)
    if present.empty or not present.astype(str).str.contains(r"[/-]").all():
        return None
    for date_format in DATE_FORMATS:
        if float(to_dates(present, date_format).notna().mean()) >= min_share:
            return date_format
    return None


def infer_types(raw: pd.DataFrame, decimal: str | Mapping[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Type a frame of strings for contract inference: numbers, dates, or text. Returns (frame, date formats).

    ``decimal``: one mark for every column, or each column's (shared.ingest.file_evidence decides them).
    """
    typed: dict[str, pd.Series] = {}
    date_columns: dict[str, str] = {}
    for column in raw.columns:
        values = raw[column]
        mark = decimal if isinstance(decimal, str) else decimal.get(column, ".")
        if looks_numeric(values, mark):
            typed[column] = to_numbers(values, mark)
            continue
        date_format = detect_date_format(values)
        if date_format:
            typed[column] = to_dates(values, date_format)
            date_columns[column] = date_format
            continue
        typed[column] = values.astype("string")
    return pd.DataFrame(typed, index=raw.index), date_columns
