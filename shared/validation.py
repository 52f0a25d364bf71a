"""Check rows against the contract: every row comes out clean (typed) or quarantined with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from shared.contract import ColumnSpec, Contract, normalize_name
from shared.errors import BadInputError
from shared.i18n import both
from shared.parsing import to_dates, to_numbers

KINDS = ("incoming", "labels", "training")
QUARANTINE_COLUMNS = ["row_number", "column", "error_code", "message_es", "message_en"]
HEADER_ROW = 1  # row numbers follow what the user sees in Excel: the header is row 1


@dataclass
class HeaderMapping:
    renames: dict[str, str]            # header as written in the file -> contract column
    expected: list[str]                # contract columns this kind of file may carry
    missing_required: list[str]
    missing_optional: list[str]
    extra: list[str]

    @property
    def renamed(self) -> dict[str, str]:
        return {source: target for source, target in self.renames.items() if source != target}


def expected_columns(contract: Contract, kind: str) -> tuple[list[str], set[str]]:
    """(columns a file of this kind may carry, the subset that must be present)."""
    id_column = contract.output_id_column
    if kind == "labels":
        return [id_column, contract.target], {id_column, contract.target}
    columns = [name for name in contract.columns if kind == "training" or name != contract.target]
    required = {name for name in columns if contract.columns[name].required}
    if kind == "training":
        required.add(contract.target)
    if contract.id_column is None:
        # No id in the contract: the validator generates "<file stem>-<row>" (labels/ must carry it back).
        columns.insert(0, id_column)
    return columns, required


def map_header(header: list[str], contract: Contract, kind: str) -> HeaderMapping:
    """Match file headers to contract columns, ignoring case, accents and spacing."""
    expected, required = expected_columns(contract, kind)
    by_normal = {normalize_name(name): name for name in expected}
    renames: dict[str, str] = {}
    extra: list[str] = []
    for source in header:
        target = source if source in expected else by_normal.get(normalize_name(source))
        if target is None or target in renames.values():
            extra.append(source)
        else:
            renames[source] = target
    present = set(renames.values())
    missing = [name for name in expected if name not in present]
    missing_required = [name for name in missing if name in required]
    generated = contract.output_id_column if contract.id_column is None else None
    mapping = HeaderMapping(
        renames=renames,
        expected=expected,
        missing_required=missing_required,
        missing_optional=[name for name in missing if name not in required and name != generated],
        extra=extra,
    )
    if missing_required:
        spanish, english = both(
            "missing_columns", columns=", ".join(missing_required), found=", ".join(header[:30]) or "-"
        )
        raise BadInputError("missing_columns", spanish, english)
    return mapping


@dataclass
class ChunkResult:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    unknown_categories: int = 0


@dataclass
class ChunkValidator:
    contract: Contract
    kind: str
    mapping: HeaderMapping
    decimal: str
    source_name: str
    _seen_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._source_stem = PurePosixPath(self.source_name).stem

    def validate(self, raw: pd.DataFrame, first_row_number: int) -> ChunkResult:
        raw = raw.rename(columns=self.mapping.renames)
        row_numbers = np.arange(first_row_number, first_row_number + len(raw))
        error_code = np.full(len(raw), None, dtype=object)
        error_column = np.full(len(raw), None, dtype=object)
        error_value = np.full(len(raw), None, dtype=object)
        error_limit = np.full(len(raw), None, dtype=object)

        def flag(mask: np.ndarray, code: str, column: str, values: pd.Series, limit: object = "") -> None:
            fresh = mask & pd.isna(error_code)  # keep the first problem found for each row
            if fresh.any():
                error_code[fresh] = code
                error_column[fresh] = column
                error_value[fresh] = values.to_numpy(dtype=object)[fresh]
                error_limit[fresh] = limit

        clean: dict[str, pd.Series] = {}
        unknown_categories = 0
        id_column = self.contract.output_id_column
        for name in self.mapping.expected:
            spec = self._spec(name)
            values = raw[name] if name in raw.columns else pd.Series(pd.NA, index=raw.index, dtype="string")
            missing = values.isna().to_numpy()
            if name == id_column and self.contract.id_column is None and name not in raw.columns:
                clean[name] = pd.Series([f"{self._source_stem}-{n}" for n in row_numbers], index=raw.index, dtype="string")
                continue
            if name == id_column or (name == self.contract.target and self.kind != "incoming"):
                required_code = "missing_id" if name == id_column else "bad_target"
                flag(missing, required_code, name, values)
            elif not spec.nullable:
                flag(missing, "missing_value", name, values)
            if spec.type == "numeric":
                numbers = to_numbers(values, self.decimal)
                flag(~missing & numbers.isna().to_numpy(), "not_a_number", name, values)
                if spec.min is not None:
                    flag((numbers < spec.min).to_numpy(), "below_min", name, values, spec.min)
                if spec.max is not None:
                    flag((numbers > spec.max).to_numpy(), "above_max", name, values, spec.max)
                clean[name] = numbers
            elif spec.type == "date":
                date_format = spec.format or "%d/%m/%Y"
                dates = to_dates(values, date_format)
                flag(~missing & dates.isna().to_numpy(), "bad_date", name, values, date_format)
                clean[name] = dates
            elif spec.type == "categorical":
                known = values.isin(spec.values or []).to_numpy() | missing
                if name == self.contract.target:
                    flag(~known, "bad_target", name, values)
                elif spec.unknown == "quarantine":
                    flag(~known, "unknown_category", name, values)
                else:
                    unknown_categories += int((~known).sum())
                    values = values.mask(~known)  # scored as missing, counted in the manifest
                clean[name] = values.astype("string")
            else:
                clean[name] = values.astype("string")
        if id_column in clean:
            ids = clean[id_column]
            duplicated = ids.duplicated().to_numpy() | ids.isin(self._seen_ids).to_numpy()
            flag(duplicated & ~ids.isna().to_numpy(), "duplicate_id", id_column, ids)
        for name in self.contract.passthrough:
            if name in raw.columns and name not in clean:
                clean[name] = raw[name].astype("string")

        bad = ~pd.isna(error_code)
        clean_frame = pd.DataFrame(clean, index=raw.index)[~bad]
        if id_column in clean:
            # Every id read so far, clean or not, as ids.duplicated() does inside a chunk: the
            # outcome must not depend on where the chunk boundaries fall.
            self._seen_ids.update(clean[id_column].dropna().tolist())
        return ChunkResult(
            clean=clean_frame.reset_index(drop=True),
            quarantine=self._quarantine_rows(raw, bad, row_numbers, error_code, error_column, error_value, error_limit),
            unknown_categories=unknown_categories,
        )

    def _spec(self, name: str) -> ColumnSpec:
        if name in self.contract.columns:
            return self.contract.columns[name]
        return ColumnSpec(name, "identifier", nullable=False)  # the generated id column

    def _quarantine_rows(self, raw, bad, row_numbers, codes, columns, values, limits) -> pd.DataFrame:
        if not bad.any():
            return pd.DataFrame(columns=QUARANTINE_COLUMNS + list(raw.columns))
        messages = [
            both(code, column=column, value="" if pd.isna(value) else value, limit=limit)
            for code, column, value, limit in zip(codes[bad], columns[bad], values[bad], limits[bad], strict=True)
        ]
        report = pd.DataFrame(
            {
                "row_number": row_numbers[bad],
                "column": columns[bad],
                "error_code": codes[bad],
                "message_es": [m[0] for m in messages],
                "message_en": [m[1] for m in messages],
            }
        )
        original = raw[bad].reset_index(drop=True).astype("string")
        return pd.concat([report, original], axis=1)
