"""Check rows against the contract: every row comes out clean (typed) or quarantined with its reason.

Personal columns (``personal: true`` in the contract) leave this module only as keyed-hash
tokens: in the clean rows and in the copy of the original row the quarantine keeps, and
their values are never echoed in a message. Columns outside the contract are judged by
:mod:`shared.ingest.personal_data` (name and values): personal ones leave as tokens (or ``***``
without a key), and in every other cell people read an e-mail, phone or cédula is masked.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shared.errors import BadInputError, PiiKeyError
from shared.i18n import both
from shared.ingest.cell_normalization import string_frame
from shared.ingest.column_names import normalize_name
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.file_evidence import (
    MIXED,
    DateEvidence,
    DecimalDecision,
    FileEvidence,
    decide_date_order,
    is_mixed_date_order,
    to_numbers_by_proof,
)
from shared.ingest.header_mapping import HeaderMapping, expected_columns, map_header
from shared.ingest.identifiers import IDENTIFIER_TYPES, check_identifiers
from shared.ingest.parsing import date_order_evidence, to_dates, to_numbers
from shared.ingest.personal_data import PersonalDataMasker, mask_cells, mask_text
from shared.ingest.pii import PiiHasher
from shared.ingest.plain_columns import all_known, plain_dates, plain_numbers
from shared.ingest.row_problems import HEADER_ROW, RowProblem
from shared.ingest.seen_ids import SeenIds
from shared.ingest.text_chunk import TextChunk

KINDS = ("incoming", "labels", "training")
QUARANTINE_COLUMNS = ["row_number", "column", "error_code", "message_es", "message_en"]
MASKED_VALUE = "***"  # what a message shows instead of a personal value
# A file where at least this share of the dates that prove an order prove the other one
# mixes day-first and month-first; below it, the odd ones out are row problems.
MIXED_DATE_ORDER_SHARE = 0.05
MAX_UNKNOWN_EXAMPLES = 5  # unknown categories shown per column (CLI summary, manifest)
__all__ = ["HEADER_ROW", "QUARANTINE_COLUMNS", "ChunkValidator", "HeaderMapping", "expected_columns", "map_header"]


@dataclass
class ChunkResult:
    clean_table: pa.Table            # the clean rows, typed: numbers float64, dates timestamps, the rest text
    quarantine: pd.DataFrame
    unknown_categories: int = 0
    clean_row_numbers: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # The columns every value of which was plain (shared.ingest.plain_columns): numeric column -> the
    # one mark its values wrote, date column -> "date" (all in the first of its formats).
    plain_columns: dict[str, str] = field(default_factory=dict)

    @cached_property
    def clean(self) -> pd.DataFrame:
        """The clean rows as pandas (text as strings with ``pd.NA``, numbers with NaN, dates with NaT)."""
        return string_frame(self.clean_table)


class _Rows:
    """The chunk's rows and the first problem found in each: code, column, value as written, limit, extras;
    with the plain-column answers given for the chunk (``ahead``) and the columns found plain."""

    def __init__(self, chunk: TextChunk, ahead: Mapping[tuple[str, str], object] | None = None) -> None:
        self.chunk = chunk
        self.ahead: Mapping[tuple[str, str], object] = ahead or {}
        self.plain: dict[str, str] = {}
        count = len(chunk)
        self.code = np.full(count, None, dtype=object)
        self.column = np.full(count, None, dtype=object)
        self.value = np.full(count, None, dtype=object)
        self.limit = np.full(count, None, dtype=object)
        self.extra: dict[int, dict[str, object]] = {}
        self.bad = np.zeros(count, dtype=bool)

    def flag(self, mask: np.ndarray, code: str, column: str, values: pa.Array | pd.Series | None, limit: object = "") -> np.ndarray:
        """Give ``code`` to the rows of ``mask`` with no problem yet (the first problem found is each row's); returns them."""
        fresh = np.asarray(mask, dtype=bool) & ~self.bad
        if fresh.any():
            self.code[fresh] = code
            self.column[fresh] = column
            if values is None:
                self.value[fresh] = ""
            elif isinstance(values, pd.Series):
                self.value[fresh] = values.to_numpy(dtype=object)[fresh]
            else:
                self.value[fresh] = values.filter(pa.array(fresh)).to_numpy(zero_copy_only=False)
            self.limit[fresh] = limit
            self.bad |= fresh
        return fresh

    @staticmethod
    def has_duplicates(ids: pa.Array | pd.Series) -> bool:
        """Whether some id appears twice in the chunk (usually not: then pandas' duplicated() is not needed)."""
        if isinstance(ids, pd.Series):
            return True
        present = len(ids) - ids.null_count
        return pc.count_distinct(ids, mode="only_valid").as_py() != present


def _series(values: pa.Array | pd.Series) -> pd.Series:
    """A column as pandas strings (the general code's input)."""
    if isinstance(values, pd.Series):
        return values
    return pd.Series(pd.arrays.ArrowStringArray(values) if values.type == pa.string() else values.to_pandas(), dtype="string")


@dataclass
class ChunkValidator:
    contract: Contract
    kind: str
    mapping: HeaderMapping
    decimal: str
    source_name: str
    hasher: PiiHasher | None = None
    extra_policy: str | None = None          # None: the contract's extra_columns
    # Formats read besides the contract's: a workbook's real dates arrive as ISO text (shared.ingest.workbook_reader).
    extra_date_formats: tuple[str, ...] = ()
    _seen_ids: SeenIds = field(default_factory=SeenIds)  # every id of the file read so far
    repaired: dict[str, list[int]] = field(default_factory=dict)     # column -> row numbers whose leading zero was restored
    error_counts: Counter = field(default_factory=Counter)           # error code -> rows
    masker: PersonalDataMasker = field(default_factory=PersonalDataMasker)  # columns outside the contract
    # Per numeric column: how it writes numbers (shared.ingest.file_evidence), decided on the whole file; else ``decimal``.
    decimals: Mapping[str, DecimalDecision | str] = field(default_factory=dict)
    # Per date column: what the whole file proves about day/month order; None: decided on the first chunk.
    date_evidence: Mapping[str, DateEvidence] | None = None
    unknown_by_column: Counter = field(default_factory=Counter)      # categorical column -> values scored as missing
    unknown_examples: dict[str, list[str]] = field(default_factory=dict)  # column -> a few of those values (masked if personal)
    matched_categories: Counter = field(default_factory=Counter)     # column -> values matched to a category written otherwise
    date_formats_used: dict[str, list[str]] = field(default_factory=dict)  # date column -> formats it is read with

    def __post_init__(self) -> None:
        self._source_stem = PurePosixPath(self.source_name).stem
        personal = [name for name in self.contract.personal_columns if name in self.mapping.expected or name in self.contract.passthrough]
        if personal and self.hasher is None:
            raise PiiKeyError(f"the contract marks {', '.join(personal)} as personal and no DROPSCORE_PII_KEY is set")
        if self.extra_policy is None:
            self.extra_policy = self.contract.extra_columns
        self.masker.hasher = self.masker.hasher or self.hasher
        self._personal_in_contract = bool(personal)
        # Columns the contract does not describe: extra ones and passthrough names without a spec.
        self._outside_contract = list(self.mapping.extra) + [n for n in self.contract.passthrough if n not in self.contract.columns]

    def _personal_data_present(self) -> bool:
        """Personal data in this file: a ragged row may then hold it in any position."""
        return self._personal_in_contract or bool(self.masker.personal_columns)

    def _is_personal(self, name: str) -> bool:
        spec = self.contract.columns.get(name)
        return bool(spec is not None and spec.personal)

    def plain_answers(self, chunk: TextChunk) -> dict[tuple[str, str], object]:
        """What :mod:`shared.ingest.plain_columns` answers for each contract column of ``chunk`` (as read),
        keyed by (column, mark / "categories" / date format). Nothing here depends on the chunks before:
        the reading thread asks it of the next chunk while this one is validated (shared.ingest.clean_table)."""
        answers: dict[tuple[str, str], object] = {}
        expected = set(self.mapping.expected)
        for source in chunk.columns:
            name = self.mapping.renames.get(source, source)
            spec = self.contract.columns.get(name)
            if spec is None or name not in expected:
                continue
            if spec.type == "numeric":
                mark, by_proof = self._mark(name)
                if not by_proof:
                    answers[(name, mark)] = plain_numbers(chunk.text(source), mark)
            elif spec.type == "categorical":
                answers[(name, "categories")] = all_known(chunk.text(source), spec.values or [])
            elif spec.type == "date":
                formats = self.date_formats_used.get(name)  # decided on the first chunk; until then, not ahead
                if formats is not None:
                    first_format = [*formats, *self.extra_date_formats][0]
                    answers[(name, first_format)] = plain_dates(chunk.text(source), first_format)
        return answers

    def _mark(self, name: str) -> tuple[str, bool]:
        """(the decimal mark column ``name`` is read with, whether each value is read by what it proves)."""
        decision = self.decimals.get(name, self.decimal)
        return (decision.mark, decision.by_proof) if isinstance(decision, DecimalDecision) else (decision, decision == MIXED)

    def validate(
        self,
        raw: pd.DataFrame | TextChunk,
        first_row_number: int,
        problems: Mapping[int, RowProblem] | None = None,
        plain: Mapping[tuple[str, str], object] | None = None,
    ) -> ChunkResult:
        """Every row of ``raw`` (a chunk of text: Arrow from the CSV reader, or a pandas frame of strings)
        clean and typed, or quarantined with its first problem. ``plain``: :meth:`plain_answers` for this
        chunk, when computed ahead."""
        chunk = raw if isinstance(raw, TextChunk) else TextChunk.of(raw, first_row_number)
        names = chunk.columns
        chunk = TextChunk(chunk.table.rename_columns([self.mapping.renames.get(n, n) for n in names]), chunk.row_numbers)
        rows = _Rows(chunk, plain)
        outside = [name for name in self._outside_contract if name in chunk.columns]
        if outside:
            self.masker.judge(chunk.frame(outside), outside)  # before anything of the chunk is copied for people
        row_numbers = chunk.row_numbers
        flag = rows.flag

        # 1. Rows that could not be read as written: their values are not where the header says.
        unreadable: list[int] = []
        if problems:
            positions = {int(n): i for i, n in enumerate(row_numbers)}
            for number, problem in problems.items():
                position = positions.get(int(number))
                if position is None:
                    continue
                mask = np.zeros(len(chunk), dtype=bool)
                mask[position] = True
                if flag(mask, problem.code, "", None, problem.expected).any():
                    rows.value[position] = problem.fields
                    # The row as written may hold personal data in any position: show it only without personal columns.
                    rows.extra[position] = {"excerpt": MASKED_VALUE if self._personal_data_present() else mask_text(problem.excerpt)}
                    unreadable.append(position)
        # 2. Rows with nothing in them (Excel's ";;;;" lines at the end of a sheet).
        if chunk.columns:
            flag(chunk.null_mask, "empty_row", "", None)

        clean: dict[str, pa.Array | pd.Series] = {}
        unknown_values: dict[str, pd.Series] = {}
        id_column = self.contract.output_id_column
        for name in self.mapping.expected:
            if name == id_column and self.contract.id_column is None and name not in chunk.columns:
                clean[name] = pa.array([f"{self._source_stem}-{n}" for n in row_numbers], pa.string())
                continue
            clean[name] = self._column(name, rows, unknown_values)
        if id_column in clean:
            ids = _series(clean[id_column])
            # Every id read so far, clean or not, as ids.duplicated() does inside a chunk: the
            # outcome must not depend on where the chunk boundaries fall.
            duplicated = self._seen_ids.seen_then_add(ids)
            if rows.has_duplicates(clean[id_column]):
                duplicated |= ids.duplicated().to_numpy()
            flag(duplicated & ~ids.isna().to_numpy(), "duplicate_id", id_column, ids)
        for name in self.contract.passthrough:
            if name in chunk.columns and name not in clean:
                clean[name] = chunk.text(name)
        if self.extra_policy == "passthrough":
            for name in self.mapping.extra:
                if name not in clean:  # the same columns in every chunk, so the Parquet schema holds
                    clean[name] = chunk.text(name) if name in chunk.columns else pa.nulls(len(chunk), pa.string())

        bad = rows.bad
        self.error_counts.update(rows.code[bad].tolist())
        unknown_categories = self._count_unknown(unknown_values, bad)
        return ChunkResult(
            clean_table=self._pseudonymized_table(clean, ~bad),
            quarantine=self._quarantine_rows(chunk, rows, unreadable),
            unknown_categories=unknown_categories,
            clean_row_numbers=row_numbers[~bad],
            plain_columns=rows.plain,
        )

    def _column(self, name: str, rows: _Rows, unknown_values: dict[str, pd.Series]) -> pa.Array | pd.Series:
        """One contract column of the chunk typed, its problems flagged on ``rows``; Arrow when every value
        is plain (shared.ingest.plain_columns), else the general pandas reading."""
        chunk, flag = rows.chunk, rows.flag
        spec = self._spec(name)
        text = chunk.text(name) if name in chunk.columns else pa.nulls(len(chunk), pa.string())
        missing = text.is_null().to_numpy(zero_copy_only=False)
        if name == self.contract.output_id_column or (name == self.contract.target and self.kind != "incoming"):
            required_code = "missing_id" if name == self.contract.output_id_column else "bad_target"
            flag(missing, required_code, name, text)
        elif not spec.nullable:
            flag(missing, "missing_value", name, text)
        ahead = rows.ahead
        if spec.type == "numeric":
            mark, by_proof = self._mark(name)
            plain = None if by_proof else (ahead[(name, mark)] if (name, mark) in ahead else plain_numbers(text, mark))
            if plain is not None:
                rows.plain[name] = mark
                result: pa.Array | pd.Series = plain[0]
                bounds_checked = plain[1]
            else:
                values = _series(text)
                if by_proof:
                    parsed, ambiguous = to_numbers_by_proof(values, ambiguous_as=None if mark == MIXED else mark)
                    flag(ambiguous.to_numpy(), "ambiguous_number", name, text)
                else:
                    parsed = to_numbers(values, mark)
                flag(~missing & parsed.isna().to_numpy(), "not_a_number", name, text)
                bounds_checked, result = parsed.to_numpy(), parsed
            if spec.min is not None:
                flag(bounds_checked < spec.min, "below_min", name, text, spec.min)
            if spec.max is not None:
                flag(bounds_checked > spec.max, "above_max", name, text, spec.max)
            return result
        if spec.type == "date":
            values = _series(text)
            date_formats = [*self._date_formats(name, spec, values), *self.extra_date_formats]
            key = (name, date_formats[0])  # every date in the first format: none proves another order
            dates = ahead[key] if key in ahead else plain_dates(text, date_formats[0])
            if dates is not None:
                rows.plain[name] = "date"
                return dates
            shown = " | ".join(date_formats)
            parsed_dates = to_dates(values, date_formats)
            self._check_date_order(name, values, date_formats, parsed_dates, flag)
            flag(~missing & parsed_dates.isna().to_numpy(), "bad_date", name, text, shown)
            return parsed_dates
        if spec.type in IDENTIFIER_TYPES:
            checked = check_identifiers(_series(text), spec.type)
            fresh = flag(checked.invalid, f"invalid_{spec.type}", name, text)
            for position in np.flatnonzero(fresh):
                reason_es, reason_en = checked.reasons[position] or ("", "")
                rows.extra[int(position)] = {"reason_es": reason_es, "reason_en": reason_en}
            repaired = checked.repaired & ~rows.bad
            if repaired.any():
                self.repaired.setdefault(name, []).extend(int(n) for n in chunk.row_numbers[repaired])
            return checked.values
        if spec.type == "categorical":
            categories = spec.values or []
            if ahead[(name, "categories")] if (name, "categories") in ahead else all_known(text, categories):
                return text
            values = _series(text)
            known = values.isin(categories).to_numpy() | missing
            if not known.all():
                values = self._match_categories(name, values, ~known, categories)
                known = values.isin(categories).to_numpy() | missing
            if name == self.contract.target:
                flag(~known, "bad_target", name, values)
            elif spec.unknown == "quarantine":
                flag(~known, "unknown_category", name, values)
            elif not known.all():
                unknown_values[name] = values[~known]  # counted below, for the rows that are scored
                values = values.mask(~known)  # scored as missing, counted and shown to the user
            return values.astype("string")
        return text

    def _date_formats(self, name: str, spec: ColumnSpec, values: pd.Series) -> list[str]:
        """The formats this column is read with: the contract's, or swapped when the file's dates prove the other order.

        Decided once per file, on the whole file's evidence when the caller gathered it, else on
        the first chunk. A column that mixes both orders refuses the file: "03/04" could be either.
        """
        if name in self.date_formats_used:
            return self.date_formats_used[name]
        declared = self.contract.date_formats_for(spec)
        if self.date_evidence is not None:
            evidence = self.date_evidence.get(name)
        else:
            first = FileEvidence()
            first.add(pd.DataFrame({name: values}), (), {name: declared})
            evidence = first.dates.get(name)
        if is_mixed_date_order(evidence, mixed_share=MIXED_DATE_ORDER_SHARE):
            assert evidence is not None
            value = self._shown(name, evidence.example_swapped)
            other = self._shown(name, evidence.example_declared)
            spanish, english = both("mixed_date_order", column=name, value=value, other=other)
            raise BadInputError("mixed_date_order", spanish, english)
        formats, _ = decide_date_order(evidence, declared)
        self.date_formats_used[name] = formats
        return formats

    def _check_date_order(self, name: str, values: pd.Series, date_formats: list[str], dates: pd.Series, flag) -> None:
        """Never read one row day-first and the next month-first: a stray date that is a date only
        in the other order than the column's is a row problem."""
        _, only_other = date_order_evidence(values, date_formats, dates)
        if only_other.any():
            flag(only_other.to_numpy(), "date_order", name, values, " | ".join(date_formats))

    def _count_unknown(self, unknown_values: dict[str, pd.Series], bad: np.ndarray) -> int:
        """Categories scored as missing in rows that are scored (quarantined rows are not): counted and kept as examples."""
        total = 0
        for name, values in unknown_values.items():
            scored = values[~bad[values.index.to_numpy()]]
            if scored.empty:
                continue
            total += len(scored)
            self.unknown_by_column[name] += len(scored)
            examples = self.unknown_examples.setdefault(name, [])
            for value in scored.drop_duplicates().head(MAX_UNKNOWN_EXAMPLES).tolist():
                shown = self._shown(name, value)
                if len(examples) < MAX_UNKNOWN_EXAMPLES and shown not in examples:
                    examples.append(shown)
        return total

    def _match_categories(self, name: str, values: pd.Series, outside: np.ndarray, categories: list[str]) -> pd.Series:
        """Values written as a known category in another form ("AGRÍCOLA", "agricola", decomposed
        accents) become that category, matched the way headers are (case, accents, spacing).

        Only an unambiguous match counts: when two categories share a form, neither is guessed.
        """
        if not categories:
            return values
        by_form: dict[str, str | None] = {}
        for category in categories:
            form = normalize_name(category)
            by_form[form] = None if form in by_form and by_form[form] != category else category
        distinct = values[outside].drop_duplicates()
        lookup = {value: by_form.get(normalize_name(value)) for value in distinct.tolist()}
        lookup = {value: category for value, category in lookup.items() if category is not None}
        if not lookup:
            return values
        matched = values.map(lookup)
        self.matched_categories[name] += int(matched.notna().sum())
        return values.mask(matched.notna(), matched)

    def _shown(self, name: str, value: object) -> str:
        return MASKED_VALUE if self._is_personal(name) or self.masker.is_personal(name) else mask_text(str(value))

    def _pseudonymize(self, frame: pd.DataFrame, *, for_people: bool = False) -> pd.DataFrame:
        """Contracted personal columns as tokens; columns outside the contract as :class:`PersonalDataMasker` says.

        ``for_people`` (the quarantine copy): the contract's other columns get their personal-looking
        cells masked too. Clean rows keep those as the contract describes them: they are the model's data.
        """
        outside = set(self._outside_contract)
        for name in frame.columns:
            spec = self.contract.columns.get(name)
            if spec is not None and spec.personal:
                if self.hasher is not None:
                    frame[name] = self.hasher.tokens(frame[name], spec.type)
            elif name in outside:
                frame[name] = self.masker.mask(name, frame[name])
            elif for_people and name in self.contract.columns:
                frame[name] = mask_cells(frame[name])
        return frame

    def _spec(self, name: str) -> ColumnSpec:
        if name in self.contract.columns:
            return self.contract.columns[name]
        return ColumnSpec(name, "identifier", nullable=False)  # the generated id column

    def _pseudonymized_table(self, clean: dict[str, pa.Array | pd.Series], keep: np.ndarray) -> pa.Table:
        """The clean rows (``keep``) as one Arrow table, personal columns as tokens (:meth:`_pseudonymize`)."""
        outside = set(self._outside_contract)
        arrays = []
        for name, values in clean.items():
            spec = self.contract.columns.get(name)
            if isinstance(values, pd.Series) or (spec is not None and spec.personal) or name in outside:
                arrays.append(None)  # through pandas, below
            else:
                arrays.append(values if keep.all() else values.filter(pa.array(keep)))
        through_pandas = [name for name, array in zip(clean, arrays, strict=True) if array is None]
        if through_pandas:
            frame = pd.DataFrame({name: _series(clean[name]) if not isinstance(clean[name], pd.Series) else clean[name] for name in through_pandas})
            frame = self._pseudonymize(frame[keep].reset_index(drop=True))
            for position, name in enumerate(clean):
                if arrays[position] is None:
                    arrays[position] = _arrow_column(frame[name], self.contract.columns.get(name))
        return pa.Table.from_arrays(arrays, names=list(clean))

    def _quarantine_rows(self, chunk: TextChunk, rows: _Rows, unreadable: list[int]) -> pd.DataFrame:
        bad = rows.bad
        if not bad.any():
            return _no_rows(tuple(QUARANTINE_COLUMNS + chunk.columns))
        messages = []
        for position in np.flatnonzero(bad):
            column, value = rows.column[position], rows.value[position]
            shown = "" if pd.isna(value) else (self._shown(column, value) if column else mask_text(str(value)))
            messages.append(both(rows.code[position], column=column, value=shown, limit=rows.limit[position], **rows.extra.get(int(position), {})))
        report = pd.DataFrame(
            {
                "row_number": chunk.row_numbers[bad],
                "column": rows.column[bad],
                "error_code": rows.code[bad],
                "message_es": [m[0] for m in messages],
                "message_en": [m[1] for m in messages],
            }
        )
        copy = chunk.frame(rows=bad)
        if unreadable and self._personal_data_present():
            # A ragged row's cells are not where the header says: a cédula may sit under "monto".
            # With personal data in the file, none of them is copied (the row number leads to the original).
            copy.iloc[(np.cumsum(bad) - 1)[unreadable]] = pd.NA
        original = self._pseudonymize(copy, for_people=True)
        return pd.concat([report, original], axis=1)


@functools.lru_cache(maxsize=8)
def _no_rows(columns: tuple[str, ...]) -> pd.DataFrame:
    """The quarantine of a chunk without a refused row (most chunks): built once per header, not per chunk."""
    return pd.DataFrame(columns=list(columns))


def _arrow_column(values: pd.Series, spec: ColumnSpec | None) -> pa.Array:
    """A pandas column of the clean rows as the clean table stores it."""
    if spec is not None and spec.type == "numeric":
        return pa.array(values.to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(), from_pandas=True)
    if spec is not None and spec.type == "date":
        return pa.array(values, type=pa.timestamp("ns"), from_pandas=True)
    return pa.array(values.astype("string").array, type=pa.string())
