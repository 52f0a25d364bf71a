"""Personal values however people group their digits or spell their e-mails: what the column judge
calls personal, the cell mask hides too, and amounts stay amounts (issue 13, item 6)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.identifiers import is_valid
from shared.ingest.personal_data import MASKED_VALUE, PersonalDataMasker, judge_column, mask_text, value_kind
from shared.ingest.pii import PiiHasher


def _with_check_digit(prefix: str, kind: str, length: int) -> str | None:
    for digit in "0123456789":
        if is_valid(prefix + digit + "001"[: length - len(prefix) - 1], kind):
            return prefix + digit + "001"[: length - len(prefix) - 1]
    return None


@st.composite
def cedulas(draw: st.DrawFn) -> str:
    province = draw(st.integers(1, 24))
    body = f"{province:02d}{draw(st.integers(0, 5))}{draw(st.integers(0, 999_999)):06d}"
    number = _with_check_digit(body, "cedula", 10)
    assert number is not None
    return number


phones = st.one_of(
    st.integers(0, 99_999_999).map(lambda n: f"09{n:08d}"),                       # mobile
    st.tuples(st.sampled_from("234567"), st.integers(0, 9_999_999)).map(lambda p: f"0{p[0]}{p[1]:07d}"),  # landline
)


@st.composite
def grouped(draw: st.DrawFn, digits: str) -> str:
    """The digits split into groups by one separator, as people type them: "0912 345 675", "091.234.567-5"."""
    separator = draw(st.sampled_from([" ", ".", "-"]))
    cuts = sorted(draw(st.sets(st.integers(2, len(digits) - 1), min_size=2, max_size=3)))
    parts = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    return separator.join(parts)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_grouped_cedula_or_phone_is_masked_in_any_text(data: st.DataObject) -> None:
    digits = data.draw(st.one_of(cedulas(), phones), label="digits")
    written = data.draw(grouped(digits), label="written")
    before = data.draw(st.sampled_from(["", "CI ", "cel: ", "llamar al ", "(", "ced. "]), label="before")
    after = data.draw(st.sampled_from(["", " ", ")", " urgente", "."]), label="after")
    assert value_kind(written) in ("cedula", "phone"), written
    masked = mask_text(before + written + after)
    assert digits not in masked.replace(" ", "").replace(".", "").replace("-", ""), masked
    assert MASKED_VALUE in masked


@settings(max_examples=150, deadline=None)
@given(value=st.one_of(cedulas(), phones).flatmap(lambda digits: st.one_of(st.just(digits), grouped(digits))))
def test_what_the_column_judge_calls_personal_the_cell_mask_hides(value: str) -> None:
    if value_kind(value) is not None:
        assert mask_text(value) == MASKED_VALUE


@pytest.mark.parametrize(
    "address", ["josé.pérez@correo.ec", "peña@empresa.com.ec", "ANA.PEREZ@CORREO.EC", "núñez_2@mail.com"]
)
def test_e_mails_with_accents_are_masked(address: str) -> None:
    assert value_kind(address) == "email"
    assert mask_text(f"escribir a {address} mañana") == f"escribir a {MASKED_VALUE} mañana"


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(10**9, 10**13 - 1), mark=st.sampled_from([".", ",", " "]), cents=st.sampled_from(["", ",50", ".05"]))
def test_amounts_with_thousands_marks_or_a_decimal_point_are_never_masked(amount: int, mark: str, cents: str) -> None:
    grouped_amount = f"{amount:,}".replace(",", mark) + (cents if mark != cents[:1] else "")
    assert value_kind(grouped_amount) is None
    if mark != " ":  # in running text "10 020 000 000" also holds the landline "020 000 000": masked, by design
        assert mask_text(grouped_amount) == grouped_amount
    with_decimals = f"{amount // 100}.{amount % 100:02d}"  # "12345678.90": one point is a decimal mark
    assert mask_text(with_decimals) == with_decimals and value_kind(with_decimals, restore_zero=True) is None


@settings(max_examples=25, deadline=None)
@given(numbers=st.lists(cedulas().filter(lambda number: number.startswith("0")), min_size=3, max_size=12, unique=True))
def test_a_column_of_rucs_read_from_excel_as_numbers_is_personal_and_tokenized_like_the_csv(numbers: list[str]) -> None:
    """Excel drops the leading zero of a RUC from provinces 01-09 ("0912345675001" -> 912345675001):
    12 digits, which passed for an ordinary number in a column the contract does not name."""
    rucs = [number + "001" for number in numbers]
    as_text = pd.Series(rucs, dtype="string")
    as_excel = pd.Series([ruc.lstrip("0") for ruc in rucs], dtype="string")
    judgement = judge_column("documento", as_excel)
    assert judgement.personal and judgement.by == "values" and judgement.kind == "ruc"
    hasher = PiiHasher("k" * 32)
    masker_excel, masker_text = PersonalDataMasker(hasher), PersonalDataMasker(hasher)
    masker_excel.judge(pd.DataFrame({"documento": as_excel}), ["documento"])
    masker_text.judge(pd.DataFrame({"documento": as_text}), ["documento"])
    # the same people, the same tokens, whichever way the file was saved
    assert masker_excel.mask("documento", as_excel).tolist() == masker_text.mask("documento", as_text).tolist()
