"""Property-based tests of the CSV reader: any table, written in any supported dialect and encoding, reads back equal.

"Equal" means equal after the reader's documented normalization: values are stripped of
surrounding spaces, and missing-value tokens ("", "NA", "n/a", ...) become missing. Rows
are numbered as Excel shows them (header = row 1), whatever the chunk and block sizes.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.ingest.csv_reader import CsvChunks
from shared.ingest.vocabulary import MISSING_TOKENS

DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16"]
LINE_ENDS = ["\r\n", "\n"]
QUOTING = [csv.QUOTE_MINIMAL, csv.QUOTE_ALL]

# Anything a cell may hold, in every encoding we write: quotes, delimiters, line breaks, accents.
ANY_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 .-_/'\"") + [",", ";", "\t", "|", "\n", "\r"] + list("áéíóúñÑÁÉ¿¡«»€$%")),
    max_size=25,
)
# For sniffing the encoding: non-ASCII letters only (no cp1252 byte 0x80-0xBF, which could make
# two accented letters look like one UTF-8 character; real Spanish text does not pair them so).
SNIFF_TEXT = st.text(alphabet=st.sampled_from(list("abcdexyz XYZ0189.,;-/:\"'\t|\n") + list("áéíóúñüÁÉÍÓÚÑÜ")), max_size=25)
NAME = st.text(alphabet=st.sampled_from(list("abcdefghxyz_ ") + list("áéñÓ")), min_size=1, max_size=12)


def _normalized(value: str) -> str | None:
    stripped = value.strip()
    return None if stripped.lower() in MISSING_TOKENS else stripped


@st.composite
def tables(draw: st.DrawFn, text: st.SearchStrategy[str], *, min_columns: int = 1) -> tuple[list[str], list[list[str]]]:
    names = draw(
        st.lists(NAME.map(str.strip).filter(lambda n: n and not n.lower().startswith(("unnamed", "sep="))), min_size=min_columns, max_size=5, unique=True)
    )
    rows = draw(st.lists(st.lists(text, min_size=len(names), max_size=len(names)), min_size=1, max_size=30))
    return names, rows


def _write(names: list[str], rows: list[list[str]], *, delimiter: str, encoding: str, line_end: str, quoting: int) -> bytes:
    """Write CSV as Excel does: a cell with the delimiter, a quote or any line break is quoted.

    (Python's csv.writer only quotes the characters of its own line terminator, so with "\n"
    endings a lone "\r" would go out bare and split the row for every reader, Excel included.)
    """

    def cell(value: str) -> str:
        if quoting == csv.QUOTE_ALL or any(mark in value for mark in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    def line(values: list[str]) -> str:
        if values == [""]:
            return '""'  # a lone empty cell is not a blank line
        return delimiter.join(cell(value) for value in values)

    return "".join(line(values) + line_end for values in [names, *rows]).encode(encoding)


def _read(data: bytes, **options) -> tuple[list[str], pd.DataFrame, CsvChunks]:
    chunks = CsvChunks(io.BytesIO(data), **options)
    frames, problems = [], {}
    for frame in chunks:
        frames.append(frame)
        problems.update(chunks.last_problems)
    assert not problems, problems
    frame = pd.concat(frames) if frames else pd.DataFrame()
    return list(chunks.header), frame, chunks


def _expected(names: list[str], rows: list[list[str]]) -> list[list[str | None]]:
    return [[_normalized(value) for value in row] for row in rows]


def _actual(frame: pd.DataFrame, names: list[str]) -> list[list[str | None]]:
    return [[None if pd.isna(value) else value for value in row] for row in frame[names].itertuples(index=False)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(ANY_TEXT),
    delimiter=st.sampled_from(DELIMITERS),
    encoding=st.sampled_from(ENCODINGS),
    line_end=st.sampled_from(LINE_ENDS),
    quoting=st.sampled_from(QUOTING),
    chunk_rows=st.integers(1, 40),
    block_bytes=st.sampled_from([4096, 1 << 20]),
)
def test_any_table_in_a_known_dialect_reads_back_equal(table, delimiter, encoding, line_end, quoting, chunk_rows, block_bytes) -> None:
    names, rows = table
    data = _write(names, rows, delimiter=delimiter, encoding=encoding, line_end=line_end, quoting=quoting)
    header, frame, chunks = _read(data, encoding=encoding, delimiter=delimiter, chunk_rows=chunk_rows, block_bytes=block_bytes)
    assert header[: len(names)] == names
    assert frame.index.tolist() == list(range(2, len(rows) + 2))  # Excel row numbers, chunking or not
    assert _actual(frame, names) == _expected(names, rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(SNIFF_TEXT, min_columns=2),
    delimiter=st.sampled_from(DELIMITERS),
    encoding=st.sampled_from(ENCODINGS),
    line_end=st.sampled_from(LINE_ENDS),
    quoting=st.sampled_from(QUOTING),
)
def test_dialect_and_encoding_are_sniffed(table, delimiter, encoding, line_end, quoting) -> None:
    names, rows = table
    data = _write(names, rows, delimiter=delimiter, encoding=encoding, line_end=line_end, quoting=quoting)
    header, frame, chunks = _read(data)
    assert chunks.dialect.delimiter == delimiter
    assert header == names
    assert _actual(frame, names) == _expected(names, rows)


@settings(max_examples=100, deadline=None)
@given(
    names=st.lists(st.sampled_from(["id", "monto", "fecha", "zona", "nota"]), min_size=2, max_size=5, unique=True),
    shapes=st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=1, max_size=40),
    delimiter=st.sampled_from(DELIMITERS),
    chunk_rows=st.integers(1, 15),
)
def test_ragged_rows_are_flagged_at_their_row_and_the_rest_reads_on(names, shapes, delimiter, chunk_rows) -> None:
    """Rows with a wrong number of fields: flagged at their Excel row; empty surplus is trimmed and kept."""
    width = len(names)
    lines, expected_problems, expected_rows = [], {}, []
    for index, (offset, surplus_empty) in enumerate(shapes):
        count = max(1, width + offset)
        fields = [f"v{index}_{i}" for i in range(min(count, width))]
        if count > width:
            fields += ["" if surplus_empty else f"x{i}" for i in range(count - width)]
        lines.append(fields)
        row_number = index + 2
        if count < width or (count > width and not surplus_empty):
            expected_problems[row_number] = count
        expected_rows.append(row_number)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(lines)
    chunks = CsvChunks(io.BytesIO(buffer.getvalue().encode()), delimiter=delimiter, chunk_rows=chunk_rows)
    seen_rows, problems = [], {}
    for frame in chunks:
        seen_rows += frame.index.tolist()
        problems.update({number: problem.fields for number, problem in chunks.last_problems.items()})
        for number in frame.index:
            if number not in chunks.last_problems:
                position = number - 2
                assert frame.loc[number, names[0]] == f"v{position}_0"
                assert frame.loc[number, names[-1]] == f"v{position}_{width - 1}"
    assert seen_rows == expected_rows  # every row once, in order, ragged or not
    assert problems == expected_problems


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_late_accents_and_huge_cells_in_any_chunking(encoding: str) -> None:
    rows = [[str(i), "x" * (70_000 if i == 3 else 5), "Peña «Muñoz»" if i == 900 else "a"] for i in range(1000)]
    data = _write(["id", "texto", "nombre"], rows, delimiter=";", encoding=encoding, line_end="\r\n", quoting=csv.QUOTE_MINIMAL)
    header, frame, _ = _read(data, chunk_rows=97)
    assert len(frame) == 1000 and frame.loc[902, "nombre"] == "Peña «Muñoz»"
    assert len(frame.loc[5, "texto"]) == 70_000
