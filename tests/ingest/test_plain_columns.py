"""The plain-column fast paths answer exactly what the general reading answers, or step aside (issue 16).

Validation asks :mod:`shared.ingest.plain_columns` first; whatever it types must be what
:mod:`shared.ingest.parsing` and the pandas paths of validation give for the same text, value by
value. Checked on generated text, and on whole chunks validated with and without the fast paths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import BadInputError
from shared.ingest import validation
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.parsing import to_dates, to_numbers
from shared.ingest.plain_columns import all_known, plain_dates, plain_numbers
from shared.ingest.validation import ChunkValidator, map_header

NUMBER_TEXT = st.one_of(
    st.none(),
    st.text(alphabet="0123456789,.-+eE $", max_size=9),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "Infinity", "1e400", "0x1A", "1_000", "١٢", "1,5", "1.5", ".5", "5.", ",5", "-0", "+3"]),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(NUMBER_TEXT, min_size=1, max_size=12), mark=st.sampled_from([",", "."]))
def test_plain_numbers_are_the_general_readings_numbers(values: list[str | None], mark: str) -> None:
    fast = plain_numbers(pa.array(values, pa.string()), mark)
    if fast is None:
        return
    general = to_numbers(pd.Series(values, dtype="string"), mark).to_numpy()
    assert np.array_equal(fast[0].to_numpy(zero_copy_only=False), general, equal_nan=True)
    assert np.array_equal(fast[1], general, equal_nan=True)


DATE_TEXT = st.one_of(
    st.none(),
    st.builds(lambda d, m, y, sep: f"{d}{sep}{m}{sep}{y}", st.sampled_from(["1", "01", "05", "12", "13", "29", "30", "31", "00"]),
              st.sampled_from(["1", "02", "04", "07", "12", "13"]), st.sampled_from(["2021", "2024", "21", "1600", "2300"]), st.sampled_from(["/", "-"])),
    st.sampled_from(["2021-07-05", "05/07/2021 14:30", "", "hoy"]),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(DATE_TEXT, min_size=1, max_size=10), date_format=st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y %H:%M"]))
def test_plain_dates_are_the_general_readings_dates(values: list[str | None], date_format: str) -> None:
    fast = plain_dates(pa.array(values, pa.string()), date_format)
    if fast is None:
        return
    general = to_dates(pd.Series(values, dtype="string"), [date_format])
    assert fast.to_pandas().astype("datetime64[ns]").tolist() == general.astype("datetime64[ns]").tolist()


@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["si", "no", "Si", "sí", " si", "", "1"])), min_size=1, max_size=10))
def test_all_known_means_every_present_value_is_a_category(values: list[str | None]) -> None:
    if all_known(pa.array(values, pa.string()), ["si", "no"]):
        assert pd.Series(values, dtype="string").dropna().isin(["si", "no"]).all()


def test_categories_that_are_not_text_go_the_general_way() -> None:
    assert not all_known(pa.array(["1", "2"]), [1, 2])


def _contract() -> Contract:
    specs = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric", min=0, max=5000),
        "fecha": ColumnSpec("fecha", "date", format="%d/%m/%Y"),
        "sector": ColumnSpec("sector", "categorical", values=["Comercio", "Servicios"]),
        "y": ColumnSpec("y", "categorical", values=["no", "si"]),
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=specs)


CELLS = {
    "id": st.one_of(st.none(), st.sampled_from(["A1", "A2", "A3", "B1"])),
    "monto": st.one_of(st.none(), st.sampled_from(["1,5", "12", "-3", "9000", "1.250", "1.234,5", "abc", "$ 20", "nan"])),
    "fecha": st.one_of(st.none(), st.sampled_from(["05/07/2021", "31/02/2021", "12/25/2020", "5/7/2021", "2021-07-05"])),
    "sector": st.one_of(st.none(), st.sampled_from(["Comercio", "Servicios", "COMERCIO", "Minería"])),
}


def _validate(frame: pd.DataFrame, *, date_formats_decided: dict[str, list[str]] | None = None) -> tuple[validation.ChunkResult | str, dict[str, list[str]]]:
    """(the chunk's result, or the code of the error that refuses it whole; the date formats it decided).

    ``date_formats_decided``: the plain columns are typed beforehand (ChunkValidator.plain_answers), as
    the reading thread does for the chunks after the first, once the first has decided the dates' order.
    """
    from shared.ingest.text_chunk import TextChunk

    contract = _contract()
    validator = ChunkValidator(contract, "incoming", map_header(list(frame.columns), contract, "incoming"), ",", "f.csv")
    chunk = TextChunk.of(frame, 2)
    plain = None
    if date_formats_decided is not None:
        validator.date_formats_used.update(date_formats_decided)
        plain = validator.plain_answers(chunk)
    try:
        return validator.validate(chunk, first_row_number=2, plain=plain), dict(validator.date_formats_used)
    except BadInputError as refused:
        return refused.code, {}


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries(CELLS), min_size=1, max_size=12))
def test_a_chunk_validates_the_same_with_and_without_the_fast_paths(rows: list[dict[str, str | None]]) -> None:
    frame = pd.DataFrame(rows, columns=list(CELLS)).astype("string")
    fast, decided = _validate(frame)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(validation, "plain_numbers", lambda text, mark: None)
        patched.setattr(validation, "plain_dates", lambda text, date_format: None)
        patched.setattr(validation, "all_known", lambda text, categories: False)
        general, _ = _validate(frame)
    ahead, _ = _validate(frame, date_formats_decided=decided)
    if isinstance(fast, str) or isinstance(general, str):
        assert fast == general  # refused whole (dates mixing both orders), by both
        return
    if not isinstance(ahead, str):
        assert ahead.clean_table.equals(fast.clean_table)
        pd.testing.assert_frame_equal(ahead.quarantine, fast.quarantine)
    assert fast.clean_table.schema == general.clean_table.schema
    assert fast.clean_table.equals(general.clean_table)
    pd.testing.assert_frame_equal(fast.quarantine, general.quarantine)
    assert fast.clean_row_numbers.tolist() == general.clean_row_numbers.tolist()
