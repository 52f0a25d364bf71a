"""The words matched in what people write are written the way they are compared, or they never match."""

from __future__ import annotations

import pytest

from shared.ingest import vocabulary
from shared.ingest.column_names import normalize_name


@pytest.mark.parametrize("words", ["PERSONAL_NAME_WORDS", "PERSONAL_NAME_TOKENS", "NOT_A_PERSON_WORDS", "IDENTIFIER_NAMES"])
def test_name_words_are_in_normalized_form(words: str) -> None:
    """Column names are compared through normalize_name (no accents, lower case, one token each)."""
    for word in getattr(vocabulary, words):
        assert word == normalize_name(word) and "_" not in word, word


@pytest.mark.parametrize("words", ["MISSING_TOKENS", "POSITIVE_CLASS_WORDS", "TRUE_WORDS", "FALSE_WORDS"])
def test_cell_words_are_lower_case_and_stripped(words: str) -> None:
    for word in getattr(vocabulary, words):
        assert word == word.strip().lower(), word


def test_a_word_is_never_both_true_and_false() -> None:
    assert not vocabulary.TRUE_WORDS & vocabulary.FALSE_WORDS
