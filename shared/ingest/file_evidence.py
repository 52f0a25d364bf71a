"""What a file's own values prove about how it writes numbers and dates, column by column.

The dialect of a scoring file is the file's, not the contract's: a model trained on a
``1234.5`` export must read the same rows exported by a Spanish Excel as ``1.234,5``, and a
column that holds ``1619.51`` proves its decimal point whatever the contract's locale says.
So the marks and the day/month order are decided per column from the values themselves:

* a value proves the decimal comma when it can only be read that way (``131,00``,
  ``1.234,5``, ``1.250.000``) and the point when it can only be read that way (``1619.51``,
  ``1,234.5``, ``0.250``); ``1.250`` or ``2,125`` prove nothing (one thousand two hundred and
  fifty, or one and a quarter);
* a date proves its order when only one order makes it a date (``25/12/2026``).

A column decides by its own proof; a column with none follows what the file's other columns
prove; only a file that proves nothing at all falls back to the contract (its explicit mark,
else its locale). A column that proves both marks mixes them: each value is read by what it
proves itself, and a value that proves nothing there stays ambiguous and is quarantined,
never read 1000 times too large.

"The whole file's evidence" and streaming: the clean step reads the object as a stream of
chunks. When the first chunk is the whole file (every file up to a few MiB) its evidence is
the file's and nothing else is read. A bigger file is read once more beforehand, only to
count (Arrow's CSV parser and a few RE2 kernels on the numeric and date columns; nothing is
kept but a handful of counters per column), because a value read in chunk 1 cannot be
unread when chunk 40 proves the column uses the other mark. That costs one more pass over
big files (see docs/performance.md) and buys the guarantee that every row is read the same
way whatever the chunk boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest.parsing import _SPACES_AND_CURRENCY, _arrow_text

COMMA, POINT, MIXED = ",", ".", "mixed"
# What a number written with marks looks like: digits grouped by 3 after the first group, an
# optional decimal part. Anything else ("1,2,3", "12.5 kg") is no evidence (and no number).
_NUMBER_SHAPE = r"^[-+]?(\d{1,3}([.,]\d{3})*([.,]\d*)?|\d+([.,]\d*)?|[.,]\d+)$"
# Where the file proves nothing for a column, files with "," as delimiter write a decimal point
# (a decimal comma would need quotes around every number).
_DELIMITER_PRIOR = {",": POINT}


@dataclass
class NumberEvidence:
    comma: int = 0       # values only readable with a decimal comma
    point: int = 0       # values only readable with a decimal point
    ambiguous: int = 0   # "1.250": a thousand and more, or one and a bit


@dataclass
class DateEvidence:
    declared: int = 0    # dates only in the contract's order
    swapped: int = 0     # dates only with day and month exchanged
    example_declared: str | None = None
    example_swapped: str | None = None


# A column whose values prove both marks mixes them when the rarer mark is more than a stray
# paste: at least this share of the proof (and 3 values). Below it the commoner mark is the
# column's; either way a value that proves its own mark is read by it.
MIXED_MARK_SHARE = 0.05


@dataclass(frozen=True)
class DecimalDecision:
    mark: str              # "," | "." | "mixed" (ambiguous values quarantined)
    source: str            # column | file | delimiter | contract | locale
    by_proof: bool = False  # values that prove a mark are read by it (the column holds both); the rest by ``mark``


def number_counts(values: pd.Series | pa.Array | pa.ChunkedArray) -> tuple[int, int, int]:
    """How many values prove the decimal comma, the decimal point, or are ambiguous.

    The evidence pass runs this over every numeric value of a file, so the common shapes (digits,
    a sign, one mark) are classified on the bytes of the Arrow buffer with numpy, a few
    milliseconds a column; values with two marks, spaces or currency signs go through
    :func:`number_classes`.
    """
    text = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else _arrow_text(values)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    text = text.cast(pa.string()) if text.type != pa.string() else text
    count = len(text)
    if count == 0 or text.null_count == count:
        return 0, 0, 0
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + count + 1]
    data_buffer = text.buffers()[2]
    if data_buffer is None or offsets[-1] == offsets[0]:
        return 0, 0, 0
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    bounds = (offsets - offsets[0]).astype(np.int64)
    lengths = np.diff(bounds)

    def per_value(flags: np.ndarray) -> np.ndarray:  # how many bytes of each value are flagged
        running = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
        return running[bounds[1:]] - running[bounds[:-1]]

    is_comma, is_point = data == 44, data == 46
    if not (is_comma.any() or is_point.any()):
        return 0, 0, 0  # whole numbers only (most counts, ages, days): they prove nothing
    is_sign = (data == 45) | (data == 43)
    commas, points, signs = per_value(is_comma), per_value(is_point), per_value(is_sign)
    unusual = per_value((data < 48) | (data > 57)) > commas + points + signs  # anything but digits, marks, signs
    marks = commas + points
    valid = np.ones(count, dtype=bool) if text.null_count == 0 else np.asarray(text.is_valid())
    lone = valid & ~unusual & (marks == 1)
    slow = valid & (marks > 0) & ~lone
    comma_total = point_total = ambiguous_total = 0
    if lone.any():
        # With one mark in a value, the sum of the marks' offsets is the mark's offset.
        position = per_value(np.where(is_comma | is_point, np.arange(len(data), dtype=np.int64), 0)) - bounds[:-1]
        leading = data[np.minimum(bounds[:-1] + signs, len(data) - 1)]
        before = position - signs
        after = lengths - position - 1
        first_byte = data[np.minimum(bounds[:-1], len(data) - 1)]
        sign_first = (first_byte == 45) | (first_byte == 43)
        well_formed = lone & ((signs == 0) | ((signs == 1) & sign_first)) & (after > 0) & (before >= 0)
        ambiguous = well_formed & (after == 3) & (before >= 1) & (before <= 3) & (leading != 48)
        proving = well_formed & ~ambiguous
        value_is_comma = commas > 0
        comma_total += int((proving & value_is_comma).sum())
        point_total += int((proving & ~value_is_comma).sum())
        ambiguous_total += int(ambiguous.sum())
        slow |= lone & ~well_formed
    if slow.any():
        comma, point, ambiguous_mask = number_classes(pc.filter(text, pa.array(slow)))
        comma_total += _count(comma)
        point_total += _count(point)
        ambiguous_total += _count(ambiguous_mask)
    return comma_total, point_total, ambiguous_total


def number_classes(values: pd.Series | pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(proves comma, proves point, ambiguous) masks of the values, nulls as False.

    This runs over every numeric value of a file, so it is built from cheap kernels (counts and
    positions of the marks) behind a single regular expression that admits only number shapes.
    The mark that comes last is the decimal one ("1.234,5"); a mark written twice groups
    thousands ("1.234.567"); a lone mark is a decimal unless exactly three digits follow it and
    one to three (not starting with 0) precede it ("1.250"), which is ambiguous.
    """
    text = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else _arrow_text(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if pc.any(pc.match_substring_regex(text, _SPACES_AND_CURRENCY)).as_py():
        text = pc.replace_substring_regex(text, _SPACES_AND_CURRENCY, "")
    commas = pc.fill_null(pc.count_substring(text, ","), 0)
    points = pc.fill_null(pc.count_substring(text, "."), 0)
    marked = pc.greater(pc.add(commas, points), 0)
    none = pa.array(np.zeros(len(text), dtype=bool))
    if not pc.any(marked).as_py():
        return none, none, none
    shaped = pc.fill_null(pc.and_(marked, pc.match_substring_regex(text, _NUMBER_SHAPE)), False)
    unsigned = pc.utf8_ltrim(text, characters="+-")
    length = pc.utf8_length(unsigned)
    first_comma = pc.find_substring(unsigned, ",")
    first_point = pc.find_substring(unsigned, ".")
    both = pc.and_(pc.greater(commas, 0), pc.greater(points, 0))
    # Both marks: the later one is the decimal.
    comma_last = pc.and_(both, pc.greater(first_comma, first_point))
    point_last = pc.and_(both, pc.greater(first_point, first_comma))
    # One kind of mark, written more than once: thousands, so the other is the decimal.
    commas_group = pc.and_(pc.equal(points, 0), pc.greater(commas, 1))
    points_group = pc.and_(pc.equal(commas, 0), pc.greater(points, 1))
    # One mark alone.
    lone_comma = pc.and_(pc.equal(points, 0), pc.equal(commas, 1))
    lone_point = pc.and_(pc.equal(commas, 0), pc.equal(points, 1))
    position = pc.if_else(lone_comma, first_comma, first_point)
    grouping_like = pc.and_(
        pc.and_(pc.equal(pc.subtract(pc.subtract(length, position), 1), 3), pc.less_equal(position, 3)),
        pc.and_(pc.greater(position, 0), pc.invert(pc.starts_with(unsigned, "0"))),
    )
    lone = pc.or_(lone_comma, lone_point)
    ambiguous = pc.and_(shaped, pc.and_(lone, grouping_like))
    clear = pc.and_(shaped, pc.invert(ambiguous))
    comma = pc.and_(clear, pc.or_(pc.or_(comma_last, points_group), lone_comma))
    point = pc.and_(clear, pc.or_(pc.or_(point_last, commas_group), lone_point))
    return pc.fill_null(comma, False), pc.fill_null(point, False), pc.fill_null(ambiguous, False)


def _date_order_masks(values: pd.Series | pa.Array | pa.ChunkedArray, formats: list[str]) -> tuple[pa.Array | None, pa.Array | None, pa.Array | None]:
    """(the values trimmed, dates only in the declared order, dates only with day and month swapped), or Nones.

    Arrow's strptime (C++) rather than pandas': this runs over every date of a file. It accepts a
    31st of any month, which is still proof of the order (31 is no month).
    """
    from shared.ingest.parsing import swapped_format

    swapped = [f for f in (swapped_format(f) for f in formats) if f]
    if not swapped:
        return None, None, None
    text = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else _arrow_text(values)
    text = pc.utf8_trim_whitespace(text)

    def parses(candidates: list[str]) -> pa.Array:
        found = None
        for candidate in candidates:
            valid = pc.is_valid(pc.strptime(text, format=candidate, unit="s", error_is_null=True))
            found = valid if found is None else pc.or_(found, valid)
        return found

    declared, other = parses(list(formats)), parses(swapped)
    return text, pc.fill_null(pc.and_(declared, pc.invert(other)), False), pc.fill_null(pc.and_(other, pc.invert(declared)), False)


def _count(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


@dataclass
class FileEvidence:
    """Counters per column, added chunk by chunk (so any chunking of a file gives the same totals)."""

    numbers: dict[str, NumberEvidence] = field(default_factory=dict)
    dates: dict[str, DateEvidence] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame | pa.Table, numeric_columns: Iterable[str], date_formats: Mapping[str, list[str]]) -> None:
        """Count what ``frame`` (text: a chunk of pandas strings, or an Arrow table of the evidence pass) proves."""
        names = set(frame.column_names if isinstance(frame, pa.Table) else frame.columns)
        for name in numeric_columns:
            if name not in names:
                continue
            comma, point, ambiguous = number_counts(frame[name])
            seen = self.numbers.setdefault(name, NumberEvidence())
            seen.comma += comma
            seen.point += point
            seen.ambiguous += ambiguous
        for name, formats in date_formats.items():
            if name not in names:
                continue
            text, only_declared, only_swapped = _date_order_masks(frame[name], formats)
            if text is None:
                continue
            seen_dates = self.dates.setdefault(name, DateEvidence())
            seen_dates.declared += _count(only_declared)
            seen_dates.swapped += _count(only_swapped)
            if seen_dates.example_declared is None and seen_dates.declared:
                seen_dates.example_declared = pc.filter(text, only_declared)[0].as_py()
            if seen_dates.example_swapped is None and seen_dates.swapped:
                seen_dates.example_swapped = pc.filter(text, only_swapped)[0].as_py()

    def merge(self, other: FileEvidence) -> None:
        """Add what ``other`` (a later part of the same file) counted."""
        for name, seen in other.numbers.items():
            mine = self.numbers.setdefault(name, NumberEvidence())
            mine.comma += seen.comma
            mine.point += seen.point
            mine.ambiguous += seen.ambiguous
        for name, seen_dates in other.dates.items():
            mine_dates = self.dates.setdefault(name, DateEvidence())
            mine_dates.declared += seen_dates.declared
            mine_dates.swapped += seen_dates.swapped
            mine_dates.example_declared = mine_dates.example_declared or seen_dates.example_declared
            mine_dates.example_swapped = mine_dates.example_swapped or seen_dates.example_swapped

    def decide_decimals(self, columns: Iterable[str], *, delimiter: str, hint: str, hint_source: str) -> dict[str, DecimalDecision]:
        """The decimal mark of each numeric column: its own proof, else the file's, else the delimiter's, else ``hint``."""
        decided: dict[str, DecimalDecision] = {}
        proven: set[str] = set()
        for name in columns:
            seen = self.numbers.get(name, NumberEvidence())
            if seen.comma and seen.point:
                rarer = min(seen.comma, seen.point)
                if rarer >= max(3, MIXED_MARK_SHARE * (seen.comma + seen.point)):
                    decided[name] = DecimalDecision(MIXED, "column", by_proof=True)
                    proven.update((COMMA, POINT))
                else:
                    commoner = COMMA if seen.comma > seen.point else POINT
                    decided[name] = DecimalDecision(commoner, "column", by_proof=True)
                    proven.add(commoner)
            elif seen.comma or seen.point:
                mark = COMMA if seen.comma else POINT
                decided[name] = DecimalDecision(mark, "column")
                proven.add(mark)
        for name in columns:
            if name in decided:
                continue
            seen = self.numbers.get(name, NumberEvidence())
            if len(proven) == 1:
                decided[name] = DecimalDecision(next(iter(proven)), "file")
            elif proven and seen.ambiguous:
                # The file writes both marks and this column proves neither: its "1.250" stays ambiguous.
                decided[name] = DecimalDecision(MIXED, "file", by_proof=True)
            elif delimiter in _DELIMITER_PRIOR and not proven:
                decided[name] = DecimalDecision(_DELIMITER_PRIOR[delimiter], "delimiter")
            else:
                decided[name] = DecimalDecision(hint, hint_source)
        return decided

    def file_decimal(self, decisions: Mapping[str, DecimalDecision], default: str) -> str:
        """One mark to describe the file (manifest, output dialect): the one its columns prove, else ``default``."""
        proven = {d.mark for d in decisions.values() if d.mark != MIXED and d.source in ("column", "file")}
        if len(proven) == 1:
            return proven.pop()
        assumed = {d.mark for d in decisions.values() if d.mark != MIXED}
        return assumed.pop() if not proven and len(assumed) == 1 else default


def to_numbers_by_proof(values: pd.Series, ambiguous_as: str | None = None) -> tuple[pd.Series, pd.Series]:
    """(numbers, ambiguous) for a column that writes both marks: each value read by what it proves.

    "1,5" and "1.234,5" with a decimal comma, "1619.51" with a point, "1250" either way; "1.250"
    proves nothing: read with ``ambiguous_as`` (the column's commoner mark), or, with None (the
    column really mixes), NaN and flagged ambiguous (the caller quarantines it).
    """
    from shared.ingest.parsing import to_numbers

    comma, _, ambiguous = number_classes(values)
    with_comma = to_numbers(values, COMMA)
    with_point = to_numbers(values, POINT)
    comma_mask = comma.to_numpy(zero_copy_only=False).astype(bool)
    ambiguous_mask = pd.Series(ambiguous.to_numpy(zero_copy_only=False).astype(bool), index=values.index)
    if ambiguous_as == COMMA:
        comma_mask = comma_mask | ambiguous_mask.to_numpy()
    numbers = with_point.where(~comma_mask, with_comma)
    if ambiguous_as is None:
        return numbers.mask(ambiguous_mask), ambiguous_mask
    return numbers, pd.Series(False, index=values.index)


def decide_date_order(evidence: DateEvidence | None, declared_formats: list[str]) -> tuple[list[str], bool]:
    """(formats the column is read with, whether they are the declared ones swapped).

    The order most of the column's dates prove wins; with no proof, the contract's. Whether
    the column mixes both orders is :func:`is_mixed_date_order`'s question.
    """
    from shared.ingest.parsing import swapped_format

    swapped_formats = [f for f in (swapped_format(f) for f in declared_formats) if f]
    if evidence is None or not swapped_formats or evidence.swapped <= evidence.declared:
        return declared_formats, False
    return swapped_formats, True


def is_mixed_date_order(evidence: DateEvidence | None, *, mixed_share: float) -> bool:
    """More than a stray typo in the minority order (at least 3 values and ``mixed_share`` of the
    proof): the column mixes day-first and month-first, and "03/04" could be either."""
    if evidence is None:
        return False
    minority = min(evidence.declared, evidence.swapped)
    return bool(minority) and minority >= max(3, mixed_share * (evidence.declared + evidence.swapped))
