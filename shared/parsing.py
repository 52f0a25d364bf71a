"""Turn text values into typed values, locale-aware, reporting what failed instead of hiding it."""

from __future__ import annotations

import re

import pandas as pd

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S")
_COMMA_DECIMAL = re.compile(r"^[-+]?\d{1,3}(\.\d{3})*,\d+$|^[-+]?\d+,\d+$")
_COMMA_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DOT_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")
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
    """Parse numbers written as people write them ("1.234,56", "$ 1,234.56"); unparseable -> NaN."""
    text = values.astype("string").str.replace(r"[\s$]", "", regex=True)
    # The other mark is accepted only as a proper thousands grouping ("1.234.567,8"); anything
    # else ("2946.24" in a decimal-comma file) is ambiguous and must fail, not become 294624.
    if decimal == ",":
        grouped = text.str.match(_DOT_THOUSANDS).fillna(False)
        text = text.mask(grouped, text.str.replace(".", "", regex=False))
        text = text.mask(~grouped & text.str.contains(".", regex=False).fillna(False), "invalid")
        text = text.str.replace(",", ".", regex=False)
    else:
        grouped = text.str.match(_COMMA_THOUSANDS).fillna(False)
        text = text.mask(grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


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


def date_order_evidence(values: pd.Series, date_formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """(only_declared, only_swapped): values that are dates in the declared order only, or swapped only.

    "25/12/2026" proves day-first, "12/25/2026" month-first; "03/04/2026" proves nothing.
    A file with only month-first proof is written in the other order; with both, it mixes them.
    """
    swapped = [f for f in (swapped_format(f) for f in date_formats) if f]
    present = values.notna()
    if not swapped:
        empty = pd.Series(False, index=values.index)
        return empty, empty
    declared = to_dates(values, date_formats).notna()
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


def infer_types(raw: pd.DataFrame, decimal: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Type a frame of strings for contract inference: numbers, dates, or text. Returns (frame, date formats)."""
    typed: dict[str, pd.Series] = {}
    date_columns: dict[str, str] = {}
    for column in raw.columns:
        values = raw[column]
        if looks_numeric(values, decimal):
            typed[column] = to_numbers(values, decimal)
            continue
        date_format = detect_date_format(values)
        if date_format:
            typed[column] = to_dates(values, date_format)
            date_columns[column] = date_format
            continue
        typed[column] = values.astype("string")
    return pd.DataFrame(typed, index=raw.index), date_columns
