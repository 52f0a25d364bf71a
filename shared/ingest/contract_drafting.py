"""The first draft of a contract, inferred from a training frame: what people then review and edit.

``contract infer`` (and the demo, the benchmarks, the tests) hand a frame typed by
:func:`shared.ingest.parsing.infer_types` to :func:`infer_contract`; it proposes each column's
type and bounds, the target's classes, and which columns hold personal data (by check digits
and by :mod:`shared.ingest.personal_data`, the detector that also masks columns outside the
contract). The result is an ordinary :class:`shared.ingest.contract.Contract`, written as YAML.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from shared.errors import ContractError
from shared.i18n import both
from shared.ingest.column_names import normalize_name
from shared.ingest.contract import DEFAULT_GATES_BY_TASK, TASKS, ColumnSpec, Contract
from shared.ingest.identifiers import check_identifiers
from shared.ingest.personal_data import judge_column
from shared.ingest.vocabulary import IDENTIFIER_NAMES, POSITIVE_CLASS_WORDS

# A text column with more distinct values than this is free text or an identifier, not a category.
MAX_CATEGORIES = 50


def _round_nice(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return float(value)
    digits = 4 - int(math.floor(math.log10(abs(value))))
    return float(round(value, max(digits, 0)))


def infer_contract(
    typed_frame: pd.DataFrame,
    *,
    target: str,
    positive: str | None = None,
    id_column: str | None = None,
    name: str = "dropscore",
    decimal: str = "auto",
    date_columns: dict[str, str] | None = None,
    task: str = "binary",
) -> Contract:
    """Infer a contract from a frame already parsed by :func:`shared.ingest.parsing.infer_types`.

    ``typed_frame`` holds numbers as floats, dates as datetimes and everything else as
    strings (missing = NA). ``date_columns`` maps the date columns to the format found.
    """
    if target not in typed_frame.columns:
        raise ContractError(*both("contract_target_not_in_file", column=target, columns=", ".join(map(str, typed_frame.columns))))
    if id_column is not None and id_column not in typed_frame.columns:
        raise ContractError(*both("contract_id_not_in_file", column=id_column))
    if task not in TASKS:
        raise ContractError(*both("contract_task", tasks=", ".join(TASKS), value=repr(task)))
    if task != "binary":
        return _infer_other_task(typed_frame, target=target, id_column=id_column, name=name, decimal=decimal, date_columns=date_columns, task=task)
    target_values = typed_frame[target].dropna()
    if pd.api.types.is_numeric_dtype(target_values) and (target_values == target_values.round()).all():
        # infer_types read "0"/"1" as 0.0/1.0; files (and validation) carry the text "0"/"1".
        target_values = target_values.astype("int64")
    target_values = target_values.astype(str)
    classes = sorted(target_values.unique().tolist())
    if len(classes) != 2:
        raise ContractError(*both("contract_binary_two_classes", column=target, count=len(classes), classes=classes[:10]))
    if positive is None:
        positive = next((c for c in classes if c.strip().lower() in POSITIVE_CLASS_WORDS), None)
        if positive is None:  # the minority class is what people usually want to find
            positive = str(target_values.value_counts().idxmin())
    if positive not in classes:
        raise ContractError(*both("contract_positive_not_a_value", positive=repr(positive), column=target, classes=classes))
    negative = next(c for c in classes if c != positive)
    dates = date_columns or {}
    rows = len(typed_frame)
    columns: dict[str, ColumnSpec] = {}
    for column in typed_frame.columns:
        series = typed_frame[column]
        missing_share = float(series.isna().mean()) if rows else 0.0
        observed: dict[str, Any] = {"missing_share": round(missing_share, 4)}
        nullable = missing_share > 0
        if column == target:
            spec = ColumnSpec(column, "categorical", values=classes, nullable=False, observed=observed)
        elif column == id_column:
            spec = ColumnSpec(column, "identifier", nullable=False, observed=observed)
        elif column in dates:
            spec = ColumnSpec(column, "date", nullable=nullable, format=dates[column], observed=observed)
        elif pd.api.types.is_numeric_dtype(series):
            values = series.dropna()
            observed.update(
                min=_round_nice(float(values.min())) if len(values) else None,
                max=_round_nice(float(values.max())) if len(values) else None,
                mean=_round_nice(float(values.mean())) if len(values) else None,
            )
            # Only the sign is a hard rule by default: business values grow, so no upper bound.
            minimum = 0.0 if len(values) and float(values.min()) >= 0 else None
            spec = ColumnSpec(column, "numeric", nullable=nullable, min=minimum, observed=observed)
        else:
            values = series.dropna().astype(str)
            distinct = values.nunique()
            looks_like_id = distinct == len(values) and distinct > MAX_CATEGORIES
            if looks_like_id or normalize_name(column) in IDENTIFIER_NAMES or normalize_name(column).startswith("id_"):
                spec = ColumnSpec(column, "identifier", nullable=nullable, observed=observed)
            elif distinct <= MAX_CATEGORIES:
                counts = values.value_counts()
                observed["shares"] = {str(k): round(float(v) / max(len(values), 1), 4) for k, v in counts.items()}
                spec = ColumnSpec(column, "categorical", nullable=nullable, values=sorted(counts.index.tolist()), observed=observed)
            else:
                spec = ColumnSpec(column, "text", nullable=True, required=False, observed=observed)
        columns[column] = spec
    _infer_identifiers_and_personal(typed_frame, columns, target=target)
    return Contract(
        name=name,
        target=target,
        positive=positive,
        negative=negative,
        id_column=id_column,
        columns=columns,
        decimal=decimal,
    )


def _infer_identifiers_and_personal(typed_frame: pd.DataFrame, columns: dict[str, ColumnSpec], *, target: str, min_share: float = 0.95) -> None:
    """Cédula / RUC columns by their check digits, and personal data by :mod:`shared.ingest.personal_data`
    (the one detector that also masks columns outside the contract: by name or by values, LOPDP).

    Marking personal is a suggestion people can undo in the YAML; it is the safe default,
    because an unmarked cédula would be stored in the clear. A personal column is never a model
    feature, so a categorical column judged personal (a small file's names) and a numeric one
    whose values are cédulas or phones become text; a numeric column only *named* like personal
    data ("telefono_llamadas", a count) keeps its type and stays a feature.
    """
    for name, spec in columns.items():
        if name == target or spec.type not in ("identifier", "text", "categorical", "numeric"):
            continue
        judgement = judge_column(name, typed_frame[name])
        if spec.type == "numeric" and judgement.by != "values":
            continue
        if spec.type == "categorical" and not judgement.personal:
            continue
        if spec.type in ("numeric", "categorical"):
            spec.type, spec.values, spec.min, spec.max, spec.required = "text", None, None, None, False
            spec.observed = {"missing_share": spec.observed.get("missing_share", 0.0)}
        present = typed_frame[name].dropna()
        if pd.api.types.is_float_dtype(present) and len(present) and (present == present.round()).all():
            present = present.astype("int64")
        present = present.astype("string")
        for kind in ("cedula", "ruc"):
            if len(present) and float((~check_identifiers(present.head(5000), kind).invalid).mean()) >= min_share:
                spec.type = kind
                break
        if spec.type in ("cedula", "ruc") or judgement.personal:
            spec.personal = True
            if not spec.description and judgement.personal:
                # Why, in the YAML people review: "personal: the name contains 'correo'".
                spec.description = f"personal: {judgement.reason('es')} / {judgement.reason('en')}"


def _infer_other_task(
    typed_frame: pd.DataFrame,
    *,
    target: str,
    id_column: str | None,
    name: str,
    decimal: str,
    date_columns: dict[str, str] | None,
    task: str,
) -> Contract:
    """Multiclass or regression: the binary inference for every other column, then the target's own spec."""
    values = typed_frame[target].dropna()
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(values):
            raise ContractError(*both("contract_regression_text", column=target, examples=values.astype(str).head(3).tolist()))
    else:
        if pd.api.types.is_numeric_dtype(values) and (values == values.round()).all():
            values = values.astype("int64")
        values = values.astype(str)
        if values.nunique() < 2:
            raise ContractError(*both("contract_two_classes_at_least", column=target, classes=sorted(values.unique().tolist())))
    # Infer the rest as if the target were a two-class placeholder, then replace the target's spec.
    placeholder = typed_frame.assign(**{target: pd.array(["a", "b"] * (len(typed_frame) // 2) + ["a"] * (len(typed_frame) % 2), dtype="string")})
    contract = infer_contract(placeholder, target=target, positive="a", id_column=id_column, name=name, decimal=decimal, date_columns=date_columns)
    missing_share = round(float(typed_frame[target].isna().mean()) if len(typed_frame) else 0.0, 4)
    if task == "regression":
        observed = {"missing_share": missing_share, "min": _round_nice(float(values.min())), "max": _round_nice(float(values.max())), "mean": _round_nice(float(values.mean()))}
        contract.columns[target] = ColumnSpec(target, "numeric", nullable=False, observed=observed)
        classes: list[str] = []
    else:
        counts = values.value_counts()
        classes = sorted(counts.index.tolist())
        observed = {"missing_share": missing_share, "shares": {str(k): round(float(v) / max(len(values), 1), 4) for k, v in counts.items()}}
        contract.columns[target] = ColumnSpec(target, "categorical", values=classes, nullable=False, observed=observed)
    contract.task = task
    contract.classes = classes
    contract.positive = contract.negative = ""
    contract.gates = dict(DEFAULT_GATES_BY_TASK[task])
    return contract
