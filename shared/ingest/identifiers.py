"""Ecuadorian identifiers: cédula (CI, 10 digits) and RUC (13 digits), checked with python-stdnum.

The check-digit rules (province code, third digit, modulo 10 / 11 by kind of RUC) come
from python-stdnum, a maintained library with published test vectors, not from rules
typed in here. Values are always text: a cédula of Guayas starts with 0, and a number
would lose it.

Excel is the usual culprit when a value is wrong: a column formatted as number turns
``0912345675`` into ``912345675``. When putting the zero back yields a valid check digit
(and only then), the value is repaired and the repair is counted, never silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from stdnum import exceptions as stdnum_errors
from stdnum.ec import ci as stdnum_ci
from stdnum.ec import ruc as stdnum_ruc

from shared.i18n import both

IDENTIFIER_TYPES = ("cedula", "ruc")
_LENGTH = {"cedula": 10, "ruc": 13}
_MODULES = {"cedula": stdnum_ci, "ruc": stdnum_ruc}

# stdnum's exception class -> (es, en) reason shown to the user (shared.i18n.files).
_REASONS: dict[type, tuple[str, str]] = {
    stdnum_errors.InvalidChecksum: both("id_check_digit"),
    stdnum_errors.InvalidLength: both("id_length"),
    stdnum_errors.InvalidFormat: both("id_digits_only"),
    stdnum_errors.InvalidComponent: both("id_component"),
}
_GENERIC_REASON = both("id_format")
_EXCEL_NUMBER_HINT = both("id_excel_number")


@dataclass(frozen=True)
class IdentifierCheck:
    """The outcome for one column of one chunk (arrays aligned with the input)."""

    values: pd.Series          # normalized (compact, repaired) where valid; the input elsewhere
    invalid: np.ndarray        # bool: not a valid identifier (missing values are not invalid)
    repaired: np.ndarray       # bool: valid only after restoring the leading zero Excel dropped
    reasons: np.ndarray        # (es, en) reason for invalid values, None elsewhere


def _check_one(kind: str, value: str) -> tuple[str | None, bool, tuple[str, str] | None]:
    """(normalized value or None, repaired, reason when invalid)."""
    module = _MODULES[kind]
    try:
        return module.validate(value), False, None
    except stdnum_errors.ValidationError as problem:
        compact = module.compact(value)
        if compact.isdigit() and len(compact) == _LENGTH[kind] - 1:
            try:
                return module.validate("0" + compact), True, None
            except stdnum_errors.ValidationError:
                pass
        if any(mark in compact.upper() for mark in ("E+", ".", ",")) and compact.replace(".", "").replace(",", "").replace("E+", "").replace("e+", "").isdigit():
            return None, False, _EXCEL_NUMBER_HINT
        if not compact.isdigit():
            return None, False, _REASONS[stdnum_errors.InvalidFormat]
        return None, False, _REASONS.get(type(problem), _GENERIC_REASON)


def check_identifiers(values: pd.Series, kind: str) -> IdentifierCheck:
    """Validate a column of cédulas or RUCs; missing values pass through (nullability is checked elsewhere)."""
    if kind not in _MODULES:
        raise ValueError(f"unknown identifier type {kind!r}; known: {', '.join(IDENTIFIER_TYPES)}")
    raw = values.astype("string").to_numpy(dtype=object, na_value=None)
    count = len(raw)
    normalized = np.empty(count, dtype=object)
    invalid = np.zeros(count, dtype=bool)
    repaired = np.zeros(count, dtype=bool)
    reasons = np.full(count, None, dtype=object)
    outcomes: dict[str, tuple[str | None, bool, tuple[str, str] | None]] = {}
    for position, value in enumerate(raw):
        if value is None:
            normalized[position] = None
            continue
        outcome = outcomes.get(value)
        if outcome is None:
            outcome = outcomes[value] = _check_one(kind, value)
        fixed, was_repaired, reason = outcome
        normalized[position] = fixed if fixed is not None else value
        invalid[position] = fixed is None
        repaired[position] = was_repaired
        reasons[position] = reason
    return IdentifierCheck(pd.Series(normalized, index=values.index, dtype="string"), invalid, repaired, reasons)


def is_valid(value: str, kind: str) -> bool:
    normalized, _, _ = _check_one(kind, value)
    return normalized is not None
