"""The duplicate-id memory of a file: the same answers as a set of every id, chunk after chunk."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.seen_ids import SeenIds


def _ids(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def test_an_id_from_an_earlier_chunk_is_seen_and_missing_ids_never_are() -> None:
    seen = SeenIds()
    assert seen.seen_then_add(_ids("0912345678", None, "A-7")).tolist() == [False, False, False]
    assert seen.seen_then_add(_ids("A-7", "0912345678", "new", None)).tolist() == [True, True, False, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=12), max_size=12), st.integers(1, 8))
def test_same_answers_as_a_set_across_merges(chunks: list[list[str | None]], merge_at: int) -> None:
    seen = SeenIds()
    seen.MERGE_AT = merge_at  # merge often, so the history and the recent hashes both answer
    reference: set[str] = set()
    for chunk in chunks:
        ids = _ids(*chunk)
        assert seen.seen_then_add(ids).tolist() == [value is not None and value in reference for value in chunk]
        reference.update(value for value in chunk if value is not None)

