"""Rows that cannot be used as read, and how rows are numbered: shared by every reader and by validation.

Every frame a reader yields is indexed by the row number the user sees in Excel (the header is
row 1), so nothing downstream has to count. A row the reader could not fit to the header is
still yielded, with a :class:`RowProblem`, so validation quarantines it with its reason and its
original row number instead of losing it.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_ROW = 1  # row numbers follow what the user sees in Excel: the header is row 1

# The quarantine codes of rows a reader could not use as written (messages: shared.i18n.files).
ROW_PROBLEM_RAGGED = "ragged_row"
ROW_PROBLEM_UNCLOSED_QUOTE = "unclosed_quote"
ROW_PROBLEM_CONTROL = "control_character"


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot be used as read: validation quarantines it with this code."""

    code: str            # ragged_row | unclosed_quote | control_character | cell_outside_table
    fields: int = 0      # how many fields the row had
    expected: int = 0    # how many the header has
    excerpt: str = ""    # the start of the row as written, for the message


def excerpt_of(text: str, limit: int = 120) -> str:
    """The start of a row as written, on one line, for a quarantine message."""
    shown = text if len(text) <= limit else text[: limit - 3] + "..."
    return shown.replace("\r", " ").replace("\n", " ")
