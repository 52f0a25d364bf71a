"""CSV rows Arrow cannot fit: trimmed or flagged, never dropped, and numbered as the user sees them."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.csv_row_repair import RowRepair, rows_with_nul, split_row, unclosed_quote_at_end
from shared.ingest.row_problems import HEADER_ROW, excerpt_of


def _row(number: int, text: str) -> SimpleNamespace:
    """What Arrow hands an invalid_row_handler: the record's text and its number."""
    return SimpleNamespace(number=number, text=text)


def test_surplus_empty_fields_are_trimmed_without_a_problem() -> None:
    repair = RowRepair(";", named_width=2, width=2)
    assert repair.on_invalid_row(_row(1, "1;2;;")) == "skip"
    (row,) = repair.drain()
    assert (row.number, row.fields, row.problem) == (1, ["1", "2"], None)


def test_a_row_with_values_beyond_the_header_is_ragged() -> None:
    repair = RowRepair(",", named_width=2, width=2)
    repair.on_invalid_row(_row(2, "3,4,5,6"))
    (row,) = repair.drain()
    assert row.fields == ["3", "4"]
    assert row.problem is not None
    assert (row.problem.code, row.problem.fields, row.problem.expected, row.problem.excerpt) == ("ragged_row", 4, 2, "3,4,5,6")


def test_a_quote_left_open_across_lines_is_an_unclosed_quote() -> None:
    repair = RowRepair(";", named_width=3, width=3)
    repair.on_invalid_row(_row(1, '1;"abierta\n2;3'))
    (row,) = repair.drain()
    assert row.problem is not None and row.problem.code == "unclosed_quote"
    assert "\n" not in row.problem.excerpt


def test_a_blank_line_of_spaces_is_kept_without_a_problem() -> None:
    repair = RowRepair(";", named_width=3, width=3)
    repair.on_invalid_row(_row(1, "   "))
    (row,) = repair.drain()
    assert row.problem is None and len(row.fields) == 3


@settings(max_examples=60, deadline=None)
@given(
    invalid=st.sets(st.integers(min_value=1, max_value=40), max_size=15),
    total=st.integers(min_value=1, max_value=40),
    batch=st.integers(min_value=1, max_value=9),
)
def test_good_and_invalid_rows_together_number_every_record_once(invalid: set[int], total: int, batch: int) -> None:
    """Arrow reports each invalid record before the block holding it; the good ones fill the gaps."""
    invalid = {n for n in invalid if n <= total}
    good = [n for n in range(1, total + 1) if n not in invalid]
    repair = RowRepair(",", named_width=2, width=2)
    numbered: list[int] = []
    reported = sorted(invalid)
    for start in range(0, len(good), batch):
        piece = good[start : start + batch]
        while reported and reported[0] <= piece[-1]:
            repair.on_invalid_row(_row(reported.pop(0), "1,2,3"))
        numbers, between = repair.number(len(piece))
        assert numbers.tolist() == piece  # good rows keep their own record numbers
        numbered += numbers.tolist() + [row.number for row in between]
    for number in reported:
        repair.on_invalid_row(_row(number, "1,2,3"))
    numbered += [row.number for row in repair.drain()]
    assert sorted(numbered) == list(range(1, total + 1))


def test_split_row_joins_a_record_spread_over_lines() -> None:
    assert split_row('1;"a;b";3', ";") == ["1", "a;b", "3"]
    assert split_row("", ";") == [""]


def test_rows_with_nul_are_found_by_their_row_number() -> None:
    table = pa.table({"a": ["x", "y\x00", None], "b": ["\x00", "z", "w"]})
    assert rows_with_nul(table, np.array([2, 3, 4])) == [2, 3]


def test_an_odd_quote_swallowing_the_tail_flags_the_last_row() -> None:
    table = pa.table({"a": ["1", "2"], "b": ["ok", 'abierta\n3;4\n5;6']})
    numbers = np.array([1, 2])
    problems = unclosed_quote_at_end(table, numbers, quotes=1, delimiter=";", expected=2)
    assert list(problems) == [2 + HEADER_ROW] and problems[3].code == "unclosed_quote"
    assert unclosed_quote_at_end(table, numbers, quotes=2, delimiter=";", expected=2) == {}  # paired quotes: the cell's own lines


def test_excerpt_is_one_line_of_at_most_the_limit() -> None:
    assert excerpt_of("a\r\nb") == "a  b"
    assert excerpt_of("x" * 200) == "x" * 117 + "..."
