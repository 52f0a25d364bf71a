"""Locale-aware parsing: numbers as people write them, dates, and type inference for contracts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shared.ingest.parsing import (
    detect_date_format,
    detect_decimal,
    infer_types,
    looks_numeric,
    to_dates,
    to_numbers,
)


def _s(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def _values(series: pd.Series) -> list[float | None]:
    return [None if math.isnan(v) else v for v in series.tolist()]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1234,56", 1234.56),
        ("1.234,56", 1234.56),
        ("1.234.567,8", 1234567.8),
        ("1.234", 1234.0),  # a proper thousands grouping
        ("-3,5", -3.5),
        ("+0,25", 0.25),
        ("$ 1.234,50", 1234.5),
        ("$-7", -7.0),
        (" 12 ", 12.0),
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),  # Excel's no-break space as a thousands mark
        ("42", 42.0),
    ],
)
def test_to_numbers_decimal_comma(text: str, number: float) -> None:
    assert to_numbers(_s(text), ",").iloc[0] == pytest.approx(number)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1234.56", 1234.56),
        ("1,234.56", 1234.56),
        ("1,234,567", 1234567.0),
        ("$1,234.5", 1234.5),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
    ],
)
def test_to_numbers_decimal_point(text: str, number: float) -> None:
    assert to_numbers(_s(text), ".").iloc[0] == pytest.approx(number)


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("2946.24", ","),  # ambiguous in a decimal-comma file: must fail, not become 294624
        ("1,234.56", ","),
        ("12.34.5", ","),
        ("1.23,4.5", ","),
        ("1,5", "."),
        ("12,34", "."),
        ("abc", ","),
        ("1,2,3", "."),
        ("", ","),
        ("inf", "."),  # not a number anyone typed in a sheet
        ("nan", ","),
        ("0x1A", "."),
        ("1,5 €", ","),
    ],
)
def test_to_numbers_refuses_what_it_cannot_read_safely(text: str, decimal: str) -> None:
    assert math.isnan(to_numbers(_s(text), decimal).iloc[0])


def test_to_numbers_keeps_index_and_missing() -> None:
    values = pd.Series(["1,5", None, "x"], index=[10, 11, 12], dtype="string")
    parsed = to_numbers(values, ",")
    assert parsed.dtype == np.float64
    assert parsed.index.tolist() == [10, 11, 12]
    assert _values(parsed) == [1.5, None, None]


def test_to_numbers_takes_plain_python_strings() -> None:
    parsed = to_numbers(pd.Series(["1.234,5", None, "7"], dtype=object), ",")
    assert _values(parsed) == [1234.5, None, 7.0]


def test_detect_decimal() -> None:
    assert detect_decimal(_s("10", "1,5", None), ";") == ","
    assert detect_decimal(_s("1.234,56"), "\t") == ","
    assert detect_decimal(_s("10", "1.5"), ";") == "."
    assert detect_decimal(_s("10", "20"), ";") == "."
    assert detect_decimal(_s("1,5"), ",") == "."  # a comma-delimited file cannot use decimal commas


def test_looks_numeric() -> None:
    assert looks_numeric(_s("1,5", "2", "-3,25", None), ",")
    assert looks_numeric(_s("0", "0,5", "10"), ",")
    assert not looks_numeric(_s("1,5", "abc"), ",")
    assert not looks_numeric(_s(None, None), ",")
    assert not looks_numeric(pd.Series([], dtype="string"), ".")


def test_looks_numeric_refuses_leading_zero_codes() -> None:
    cedulas = _s("0912345678", "1712345678", "0102030405")
    assert not looks_numeric(cedulas, ".")
    assert not looks_numeric(_s("1000", "0042"), ",")
    assert looks_numeric(_s("1712345678", "1000"), ".")


def test_looks_numeric_share_threshold() -> None:
    mostly = _s(*[str(i) for i in range(99)], "n/d")
    assert looks_numeric(mostly, ".")  # 99 % parse: numeric, the odd value gets quarantined later
    assert not looks_numeric(mostly, ".", min_share=1.0)


@pytest.mark.parametrize(
    ("values", "date_format"),
    [
        (("31/12/2024", "01/02/2023", None), "%d/%m/%Y"),
        (("2024-12-31", "2023-02-01"), "%Y-%m-%d"),
        (("31-12-2024", "01-02-2023"), "%d-%m-%Y"),
        (("31/12/2024 10:30", "01/02/2023 08:05"), "%d/%m/%Y %H:%M"),
        (("2024-12-31 10:30:00",), "%Y-%m-%d %H:%M:%S"),
        (("12/31/2024", "01/31/2023"), "%m/%d/%Y"),  # proven month-first (31 is no month): read so, not refused (issue 13)
        (("hola", "mundo"), None),
        (("3-4", "abc/def"), None),
        ((None,), None),
    ],
)
def test_detect_date_format(values: tuple[str | None, ...], date_format: str | None) -> None:
    assert detect_date_format(_s(*values)) == date_format


def test_to_dates_day_first() -> None:
    parsed = to_dates(_s("05/03/2024", "31/02/2024", None), "%d/%m/%Y")
    assert parsed.iloc[0] == pd.Timestamp(2024, 3, 5)
    assert pd.isna(parsed.iloc[1])  # 31 February does not exist
    assert pd.isna(parsed.iloc[2])


def test_infer_types() -> None:
    raw = pd.DataFrame(
        {
            "monto": _s("1.234,5", "10", None),
            "fecha": _s("31/12/2024", None, "01/01/2025"),
            "cedula": _s("0912345678", "0923456789", "1712345678"),
            "zona": _s("Norte", "Sur", "Norte"),
            "mixto": _s("1", "dos", "3"),
        }
    ).set_axis([5, 6, 7])  # a later chunk of a file: the index does not start at 0
    typed, date_columns = infer_types(raw, ",")
    assert date_columns == {"fecha": "%d/%m/%Y"}
    assert typed["monto"].dtype == np.float64
    assert _values(typed["monto"]) == [1234.5, 10.0, None]
    assert pd.api.types.is_datetime64_any_dtype(typed["fecha"])
    assert typed["fecha"].iloc[2] == pd.Timestamp(2025, 1, 1)
    assert typed["cedula"].tolist() == ["0912345678", "0923456789", "1712345678"]
    assert isinstance(typed["zona"].dtype, pd.StringDtype)
    assert isinstance(typed["mixto"].dtype, pd.StringDtype)
    assert typed.index.tolist() == [5, 6, 7]
