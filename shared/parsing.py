"""Turn text values into typed values, locale-aware, reporting what failed instead of hiding it."""

from __future__ import annotations

import re

import pandas as pd

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S")
_COMMA_DECIMAL = re.compile(r"^[-+]?\d{1,3}(\.\d{3})*,\d+$|^[-+]?\d+,\d+$")
_COMMA_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DOT_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")
_LEADING_ZERO_CODE = re.compile(r"^0\d+$")


def detect_decimal(values: pd.Series, delimiter: str) -> str:
    """"," when the sample writes decimals with a comma (only possible if ',' is not the delimiter)."""
    if delimiter == ",":
        return "."
    sample = values.dropna().astype(str)
    if len(sample) > 50_000:  # a seeded sample across all columns, not the head of the first one
        sample = sample.sample(50_000, random_state=0)
    return "," if sample.str.match(_COMMA_DECIMAL).any() else "."


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


def to_dates(values: pd.Series, date_format: str) -> pd.Series:
    return pd.to_datetime(values, format=date_format, errors="coerce")


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
