"""Every cell read from a file: stripped, composed (NFC), missing-value tokens as nulls, in any letter case."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from shared.ingest.cell_normalization import normalize_cells, string_frame
from shared.ingest.vocabulary import MISSING_TOKENS


@given(token=st.sampled_from(sorted(MISSING_TOKENS)), data=st.data())
def test_a_missing_token_in_any_letter_case_and_padding_is_null(token: str, data: st.DataObject) -> None:
    spelled = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in token)
    padded = data.draw(st.sampled_from(["", " ", "\u00a0"])) + spelled + data.draw(st.sampled_from(["", "  ", "\t"]))
    out = normalize_cells(pa.table({"c": [padded]}))
    assert out.column("c").to_pylist() == [None]


def test_decomposed_accents_are_composed_and_values_kept() -> None:
    decomposed = unicodedata.normalize("NFD", "Logroño")
    out = normalize_cells(pa.table({"c": [decomposed, " 0 ", "-"], "d": ["a", "b", None]}))
    assert out.column("c").to_pylist() == ["Logroño", "0", "-"]
    assert out.column("d").to_pylist() == ["a", "b", None]


def test_string_frame_is_indexed_by_row_number() -> None:
    frame = string_frame(pa.table({"c": ["x", None]}), np.array([2, 5]))
    assert frame.index.tolist() == [2, 5] and frame.index.name == "row_number"
    assert isinstance(frame["c"].dtype, pd.StringDtype) and frame["c"].isna().tolist() == [False, True]


def _every_step_on_every_column(table: pa.Table) -> pa.Table:
    """What normalize_cells did before it learned to skip the steps a column does not need."""
    from shared.ingest.cell_normalization import _MISSING_TOKENS_ARRAY

    columns = []
    for column in table.columns:
        stripped = pc.utf8_trim_whitespace(column)
        composed = pa.array([None if v is None else unicodedata.normalize("NFC", v) for v in stripped.to_pylist()], pa.string())
        columns.append(pc.if_else(pc.is_in(composed, value_set=_MISSING_TOKENS_ARRAY), pa.scalar(None, pa.string()), composed))
    return pa.table(columns, names=table.column_names)


EDGES = ["", " ", "\t", "\x1c", "\x1f", "\u00a0", "\u3000", "\u2003", "\u0085", "é", "\n"]
CORES = ["12", "NA", "n/a", "Sin Dato", "Logroño", unicodedata.normalize("NFD", "Logroño"), "a b", "", "-", "ñ"]


@given(cells=st.lists(st.one_of(st.none(), st.builds(lambda a, b, c: a + b + c, st.sampled_from(EDGES), st.sampled_from(CORES), st.sampled_from(EDGES))), min_size=1, max_size=8))
def test_skipping_unneeded_steps_changes_no_cell(cells: list[str | None]) -> None:
    table = pa.table({"c": pa.array(cells, pa.string())})
    assert normalize_cells(table).equals(_every_step_on_every_column(table))


@given(cells=st.lists(st.one_of(st.none(), st.sampled_from(CORES)), min_size=1, max_size=8))
def test_tokens_the_parser_nulled_are_not_looked_for_again_unless_trimmed(cells: list[str | None]) -> None:
    """The CSV parser nulls the tokens written exactly; what it leaves is normalized as before."""
    from shared.ingest.cell_normalization import MISSING_SPELLINGS

    parsed = pa.table({"c": pa.array([None if c in MISSING_SPELLINGS else c for c in cells], pa.string())})
    assert normalize_cells(parsed, tokens_already_null=True).equals(_every_step_on_every_column(pa.table({"c": pa.array(cells, pa.string())})))


@given(
    cells=st.lists(st.one_of(st.none(), st.builds(lambda a, b, c: a + b + c, st.sampled_from(EDGES), st.sampled_from(CORES), st.sampled_from(EDGES))), min_size=1, max_size=10),
    bounds=st.tuples(st.integers(0, 10), st.integers(0, 10)),
)
def test_a_slice_of_a_longer_column_is_normalized_as_the_same_cells_alone(cells: list[str | None], bounds: tuple[int, int]) -> None:
    """A chunk's column may be a slice of the parser's buffers: only its own bytes decide (the values
    around it may hold the spaces or accents it does not)."""
    start, length = min(bounds), abs(bounds[1] - bounds[0])
    whole = pa.array(cells, pa.string())
    sliced = pa.table({"c": whole.slice(start, length)})
    alone = pa.table({"c": pa.array(cells[start : start + length], pa.string())})
    assert normalize_cells(sliced).equals(_every_step_on_every_column(alone))
