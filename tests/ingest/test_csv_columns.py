"""csv_bytes (whole columns through Arrow) writes what the csv module writes of csv_rows, to the byte."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.ingest.csv_columns import csv_bytes
from shared.ingest.csv_output import csv_rows

DELIMITERS = [";", ",", "\t", "|"]
# Text that exercises every rule: the delimiters, quotes, line breaks, formula triggers, numbers
# that look like formulas, non-ASCII digits (Python's \d, not RE2's), empty and missing cells.
TRICKY = ["", "=1+2", "-12", "-1.234,56", "+593 99", "@SUM(A1)", "\tx", "\rx", "-", "a;b", 'di"jo', "a\nb", "x\r\n", "-٣", "-12\n", "'q", " ", "Peña ↑"]
texts = st.one_of(st.sampled_from(TRICKY), st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8), st.none())
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4).map(lambda x: round(x, 6)),  # what the model's outputs are
    st.integers(min_value=-(10**12), max_value=10**12).map(lambda k: k / 10**6),
    st.sampled_from([0.0, -0.0, 5e-7, -5e-7, 1e-7, 2.0**31, 2.0**31 - 1e-6, 1e16, 0.1 + 0.2, 12.0]),
)


def _written(predictions: pd.DataFrame, clean: pd.DataFrame, columns: list[str], delimiter: str, decimal: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(csv_rows(predictions, clean, columns, decimal, "%d/%m/%Y"))
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    rows=st.integers(min_value=1, max_value=12),
    delimiter=st.sampled_from(DELIMITERS),
    decimal=st.sampled_from([",", "."]),
)
def test_csv_bytes_are_the_csv_writers_bytes(data: st.DataObject, rows: int, delimiter: str, decimal: str) -> None:
    predictions = pd.DataFrame(
        {
            "id": data.draw(st.lists(texts, min_size=rows, max_size=rows)),
            "score": np.array(data.draw(st.lists(floats, min_size=rows, max_size=rows)), dtype=np.float64),
            "label": pd.array(data.draw(st.lists(texts, min_size=rows, max_size=rows)), dtype="string"),
            "flag": np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows))),
            "count": np.array(data.draw(st.lists(st.integers(-(10**15), 10**15), min_size=rows, max_size=rows)), dtype=np.int64),
        }
    )
    mixed = data.draw(st.lists(st.one_of(texts, floats, st.integers(-50, 50), st.booleans()), min_size=rows, max_size=rows))
    days = data.draw(st.lists(st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))), min_size=rows, max_size=rows))
    clean = pd.DataFrame(
        {
            "mixed": pd.Series(mixed, dtype=object),
            "amount": pd.array([None if v is None or v != v else v for v in data.draw(st.lists(floats, min_size=rows, max_size=rows))], dtype="Float64"),
            "day": pd.to_datetime(pd.Series(days, dtype=object)),
            "_source_row": np.arange(2, rows + 2, dtype=np.int64),
        }
    )
    columns = ["id", "score", "label", "flag", "count", "mixed", "amount", "day", "source_row", "absent"]
    assert bytes(csv_bytes(predictions, clean, columns, delimiter, decimal)) == _written(predictions, clean, columns, delimiter, decimal)


@given(cells=st.lists(texts, min_size=1, max_size=6))
def test_a_one_column_file_writes_empty_cells_as_the_csv_module_does(cells: list[str | None]) -> None:
    predictions = pd.DataFrame({"id": pd.array(cells, dtype="string")})
    assert bytes(csv_bytes(predictions, predictions, ["id"], ";", ",")) == _written(predictions, predictions, ["id"], ";", ",")


def test_no_rows_write_nothing() -> None:
    empty = pd.DataFrame({"id": pd.array([], dtype="string"), "score": np.array([], dtype=float)})
    assert bytes(csv_bytes(empty, empty, ["id", "score"], ";", ",")) == b""
