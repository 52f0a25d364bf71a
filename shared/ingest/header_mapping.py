"""Which column of a file is which column of the contract: headers matched the lenient way people write
them (case, accents, spacing, separators), and the files refused whole for their header.

Validation (:mod:`shared.ingest.validation`) starts from this mapping; it lives apart because it is
decided once per file, on its header, while validation runs on every chunk of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.column_names import normalize_name
from shared.ingest.contract import Contract
from shared.ingest.personal_data import value_kind


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


def map_header(header: list[str], contract: Contract, kind: str, *, duplicated: Iterable[str] = ()) -> HeaderMapping:
    """Match file headers to contract columns, ignoring case, accents and spacing.

    An exact match wins over other spellings (which stay extra columns, reported). A
    contract column the file carries twice with no exact match to prefer — or exactly the
    same name twice (``duplicated``) — is ambiguous: the file is refused rather than guessed.
    """
    expected, required = expected_columns(contract, kind)
    by_normal = {normalize_name(name): name for name in expected}
    # Second chance without separators: "E-mail" -> email, "R.U.C." -> ruc, "Fecha_Alta" -> fechaalta.
    by_compact = {normalize_name(name).replace("_", ""): name for name in expected}

    def match(source: str) -> str | None:
        normal = normalize_name(source)
        return by_normal.get(normal) or by_compact.get(normal.replace("_", ""))
    duplicated_names = set(duplicated)
    for name in duplicated_names:
        target = name if name in expected else match(name)
        if target is not None:
            _ambiguous(target, [h for h in header if h == name or h.startswith(f"{name} (")])
    exact = {source for source in header if source in expected}
    candidates: dict[str, list[str]] = {}
    for source in header:
        target = source if source in exact else match(source)
        if target is not None:
            candidates.setdefault(target, []).append(source)
    renames: dict[str, str] = {}
    for target, sources in candidates.items():
        if target in exact:
            renames[target] = target
        elif len(sources) == 1:
            renames[sources[0]] = target
        else:
            _ambiguous(target, sources)
    extra = [source for source in header if source not in renames]
    # Passthrough columns (carried to the predictions, not validated) match the same lenient way.
    for name in contract.passthrough:
        if name in renames.values():
            continue
        source = name if name in extra else next((s for s in extra if normalize_name(s) == normalize_name(name)), None)
        if source is not None:
            renames[source] = name
            extra.remove(source)
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
    if header and (not renames or missing_required) and any(value_kind(name) for name in header):
        raise _header_is_data(expected)
    if not renames and header:
        spanish, english = both(
            "no_matching_columns", columns=", ".join(expected[:8]), found=", ".join(header[:30]) or "-"
        )
        raise BadInputError("no_matching_columns", spanish, english)
    if missing_required:
        spanish, english = both(
            "missing_columns", columns=", ".join(missing_required), found=", ".join(header[:30]) or "-"
        )
        raise BadInputError("missing_columns", spanish, english)
    return mapping


def _header_is_data(expected: list[str]) -> BadInputError:
    """A file saved without its header row: its first row, a person's data, would be listed as "columns
    found" in reports people read. Masking catches the cédula or e-mail but never the name beside it,
    so nothing of that row is repeated."""
    columns = ", ".join(expected[:8])
    return BadInputError("header_is_data", *both("header_is_data", columns=columns))


def _ambiguous(target: str, sources: list[str]) -> None:
    spanish, english = both("duplicate_columns", column=target, found=", ".join(f"«{s}»" for s in sources))
    raise BadInputError("duplicate_columns", spanish, english)
