"""Propose a data contract from a training file: the one inference `dropscore contract infer`, the demo and the tests share.

The whole table is read (a CSV in any dialect, or a workbook's first sheet), each column's decimal
mark is decided from what its values prove — as scoring decides it (shared.ingest.file_evidence) —
types are inferred, and :func:`shared.ingest.contract_drafting.infer_contract` proposes the contract,
personal-data columns included. Columns named by a person ("formalizado" for the file's
"FORMALIZADO") are matched as headers are; a name that matches nothing raises a typed error that
says which columns the file has, so the caller can word it for its reader.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shared.errors import UnknownColumnError, UnknownPositiveError
from shared.i18n import locale_decimal
from shared.ingest.column_names import normalize_name
from shared.ingest.contract import Contract
from shared.ingest.contract_drafting import infer_contract
from shared.ingest.file_evidence import MIXED, POINT, FileEvidence
from shared.ingest.parsing import infer_types
from shared.ingest.workbook_reader import read_whole_table

Task = Literal["binary", "multiclass", "regression"]
# How many of the target's values an unknown --positive lists (a regression-like column has thousands).
_VALUES_SHOWN = 12


@dataclass(frozen=True)
class InferredContract:
    """A proposed contract and the dialect the training file was read in."""

    contract: Contract
    encoding: str
    delimiter: str
    decimal: str  # the training file's decimal mark as its values prove it ("," or ".")

    @property
    def column_types(self) -> dict[str, int]:
        """How many columns of each type, in the contract's column order: {"numeric": 36, "categorical": 48, ...}."""
        counts: dict[str, int] = {}
        for spec in self.contract.columns.values():
            counts[spec.type] = counts.get(spec.type, 0) + 1
        return counts


def infer_contract_from_file(
    path: Path,
    *,
    target: str,
    positive: str | None = None,
    id_column: str | None = None,
    name: str | None = None,
    task: Task = "binary",
) -> InferredContract:
    """Read the whole file at ``path`` and propose its contract.

    ``target`` and ``id_column`` may be written in any case or accents ("formalizado" names the
    file's "FORMALIZADO"); ``positive`` must be one of the target's values (binary task only).
    ``name`` defaults to the file's stem.

    Raises :class:`UnknownColumnError` when ``target`` or ``id_column`` is not a column of the file,
    :class:`UnknownPositiveError` when ``positive`` is not a value of the target.
    """
    with open(path, "rb") as stream:
        raw, dialect = read_whole_table(stream)  # a CSV or an Excel workbook's first sheet
    columns = [str(column) for column in raw.columns]
    target_column = _column_named(target, "target", columns)
    id_name = _column_named(id_column, "id", columns) if id_column is not None else None
    if positive is not None and task == "binary":
        positive = _value_named(positive, target_column, sorted({str(value).strip() for value in raw[target_column].dropna()}))
    # Each column's decimal mark is what its values prove; the locale's mark only breaks ties.
    evidence = FileEvidence()
    evidence.add(raw, list(raw.columns), {})
    hint = locale_decimal(Contract.locale)
    decisions = evidence.decide_decimals(list(raw.columns), delimiter=dialect.delimiter, hint=hint, hint_source="locale")
    # A column that mixes both marks is parsed with the point here: inference only needs its type.
    typed, date_columns = infer_types(raw, {column: POINT if decision.mark == MIXED else decision.mark for column, decision in decisions.items()})
    contract = infer_contract(
        typed,
        target=target_column,
        positive=positive,
        id_column=id_name,
        name=name or path.stem,
        # The training file's mark is not the scoring files' rule: each file is read in its own dialect.
        decimal="auto",
        date_columns=date_columns,
        task=task,
    )
    return InferredContract(contract, dialect.encoding, dialect.delimiter, evidence.file_decimal(decisions, default=hint))


def _column_named(name: str, role: str, columns: list[str]) -> str:
    """The file's column that ``name`` names: itself, or the one header it matches as headers are matched."""
    if name in columns:
        return name
    matches = [column for column in columns if normalize_name(column) == normalize_name(name)]
    if len(matches) == 1:
        return matches[0]
    # Two headers that differ only in case ("Monto", "MONTO") match both ways: suggest the first.
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6) or [column for column in columns if column.lower() == name.lower()]
    raise UnknownColumnError(name, role, columns, close[0] if close else None)


def _value_named(value: str, column: str, values: list[str]) -> str:
    """The target's value that ``value`` names: itself, or the one value it matches ignoring case ("SI" names "si")."""
    if value in values:
        return value
    matches = [candidate for candidate in values if candidate.lower() == value.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    raise UnknownPositiveError(value, column, values[:_VALUES_SHOWN])
