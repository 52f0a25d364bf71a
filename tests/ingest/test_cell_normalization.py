"""Every cell read from a file: stripped, composed (NFC), missing-value tokens as nulls, in any letter case."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
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
