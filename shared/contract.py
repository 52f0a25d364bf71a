"""The data contract: what a file must look like, inferred once from training data and edited by people.

The contract is a readable YAML document. Every later step (clean, train, score, drift,
retrain) reads it; a copy is stored with every model version so a model is always
scored against the contract it was trained with.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import yaml

from shared.errors import ContractError

ColumnType = Literal["numeric", "categorical", "date", "identifier", "text"]
COLUMN_TYPES: tuple[str, ...] = ("numeric", "categorical", "date", "identifier", "text")

# From the reference MLOps report this product grew out of (business floors).
DEFAULT_GATES: dict[str, float] = {"roc_auc": 0.80, "precision": 0.60, "recall": 0.65}
DEFAULT_CHALLENGER_MARGIN = 0.005
GENERATED_ID_COLUMN = "row_id"

_POSITIVE_WORDS = ("1", "si", "sí", "yes", "true", "verdadero", "s", "y", "positivo", "positive")
_MAX_CATEGORIES = 50


class _ContractLoader(yaml.SafeLoader):
    """YAML 1.1 reads unquoted yes/no/on/off as booleans, turning a category "No" into "False".

    In a contract people write Spanish and English values by hand, so only true/false are booleans.
    """


_ContractLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ContractLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def normalize_name(name: str) -> str:
    """Case-, accent- and spacing-insensitive form of a column name, used to match headers."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", without_accents.strip().lower()).strip("_")


@dataclass
class ColumnSpec:
    name: str
    type: str
    required: bool = True          # the column must be present in a file
    nullable: bool = True          # a row may leave it empty
    min: float | None = None       # hard validity bounds: values outside are quarantined
    max: float | None = None
    values: list[str] | None = None  # categorical: the categories the model knows
    unknown: str = "missing"       # categorical value outside `values`: "missing" (score it as missing) or "quarantine"
    format: str | None = None      # date format (strftime)
    observed: dict[str, Any] = field(default_factory=dict)  # informational: what training data looked like
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "required": self.required, "nullable": self.nullable}
        if self.type == "numeric":
            out["min"] = self.min
            out["max"] = self.max
        if self.type == "categorical":
            out["values"] = list(self.values or [])
            out["unknown"] = self.unknown
        if self.type == "date":
            out["format"] = self.format
        if self.observed:
            out["observed"] = self.observed
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ColumnSpec:
        if not isinstance(data, dict):
            raise ContractError(f"column {name!r}: expected a mapping such as {{type: numeric}}, not {data!r}")
        column_type = data.get("type")
        if column_type not in COLUMN_TYPES:
            raise ContractError(f"column {name!r}: type must be one of {', '.join(COLUMN_TYPES)}, not {column_type!r}")
        unknown = data.get("unknown", "missing")
        if unknown not in ("missing", "quarantine"):
            raise ContractError(f"column {name!r}: unknown must be 'missing' or 'quarantine'")
        values = data.get("values")
        return cls(
            name=name,
            type=column_type,
            required=_flag(data.get("required", True), f"column {name!r}: required"),
            nullable=_flag(data.get("nullable", True), f"column {name!r}: nullable"),
            min=_optional_float(data.get("min"), f"column {name!r}: min"),
            max=_optional_float(data.get("max"), f"column {name!r}: max"),
            values=[str(v) for v in values] if values is not None else None,
            unknown=unknown,
            format=data.get("format"),
            observed=dict(data.get("observed") or {}),
            description=str(data.get("description") or ""),
        )


@dataclass
class Contract:
    name: str
    target: str
    positive: str
    negative: str
    id_column: str | None
    columns: dict[str, ColumnSpec]
    gates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GATES))
    challenger_margin: float = DEFAULT_CHALLENGER_MARGIN
    passthrough: list[str] = field(default_factory=list)
    decimal: str = "auto"          # "," or "." or "auto" (decided per file)
    task: str = "binary"

    @property
    def output_id_column(self) -> str:
        return self.id_column or GENERATED_ID_COLUMN

    @property
    def feature_columns(self) -> list[str]:
        """Columns the model learns from: numeric and categorical, never the target, ids, text or dates."""
        return [
            name
            for name, spec in self.columns.items()
            if name not in (self.target, self.id_column) and spec.type in ("numeric", "categorical")
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "target": {"column": self.target, "positive": self.positive, "negative": self.negative},
            "id_column": self.id_column,
            "locale": {"decimal": self.decimal},
            "gates": dict(self.gates),
            "challenger_margin": self.challenger_margin,
            "passthrough": list(self.passthrough),
            "columns": {name: spec.to_dict() for name, spec in self.columns.items()},
        }

    def to_yaml(self) -> str:
        header = (
            "# dropscore data contract. Edit it freely: every step reads it.\n"
            "# Contrato de datos de dropscore. Puede editarlo: cada paso lo lee.\n"
            "# types / tipos: numeric, categorical, date, identifier, text\n"
            "# required: the column must be in the file / la columna debe venir en el archivo\n"
            "# nullable: a row may leave it empty / una fila puede dejarla vacía\n"
            "# min/max: values outside are quarantined / valores fuera de rango van a cuarentena\n"
            "# unknown: what to do with a category not in values: missing | quarantine\n"
        )
        return header + yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=100)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_yaml().encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contract:
        try:
            target = data["target"]
            columns_data = data["columns"]
        except (KeyError, TypeError) as exc:
            raise ContractError(f"contract is missing the section {exc}") from exc
        if not isinstance(target, dict) or "column" not in target or "positive" not in target:
            raise ContractError("section 'target' must be a mapping with 'column' and 'positive', e.g. {column: churn, positive: 'sí'}")
        if not isinstance(columns_data, dict):
            raise ContractError("section 'columns' must be a mapping of column name -> {type: ...}")
        columns = {str(name): ColumnSpec.from_dict(str(name), spec or {}) for name, spec in columns_data.items()}
        if target["column"] not in columns:
            raise ContractError(f"target column {target['column']!r} is not among the contract's columns")
        id_column = data.get("id_column")
        if id_column is not None and id_column not in columns:
            raise ContractError(f"id column {id_column!r} is not among the contract's columns")
        gates = {**DEFAULT_GATES, **{str(k): _number(v, f"gate {k!r}") for k, v in (data.get("gates") or {}).items()}}
        return cls(
            name=str(data.get("name") or "dropscore"),
            target=str(target["column"]),
            positive=str(target["positive"]),
            negative=str(target.get("negative", "")),
            id_column=id_column,
            columns=columns,
            gates=gates,
            challenger_margin=_number(data.get("challenger_margin", DEFAULT_CHALLENGER_MARGIN), "challenger_margin"),
            passthrough=[str(c) for c in data.get("passthrough") or []],
            decimal=str((data.get("locale") or {}).get("decimal", "auto")),
            task=str(data.get("task", "binary")),
        )

    @classmethod
    def from_yaml(cls, text: str) -> Contract:
        try:
            data = yaml.load(text, Loader=_ContractLoader)  # a SafeLoader subclass: plain data only
        except yaml.YAMLError as exc:
            raise ContractError(f"the contract is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ContractError("the contract must be a YAML mapping")
        return cls.from_dict(data)

    def without_target(self) -> Contract:
        """The contract for files to score: the target may be absent."""
        columns = dict(self.columns)
        columns[self.target] = ColumnSpec(**{**columns[self.target].__dict__, "required": False, "nullable": True})
        return Contract(**{**self.__dict__, "columns": columns})


def _optional_float(value: Any, what: str = "value") -> float | None:
    if value is None or value == "":
        return None
    return _number(value, what)


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "on", "si", "sí", "1"):
        return True
    if text in ("no", "off", "0"):
        return False
    raise ContractError(f"{what} must be true or false, not {value!r}")


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{what} must be a number, not {value!r}") from exc


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
) -> Contract:
    """Infer a contract from a frame already parsed by :func:`shared.parsing.infer_types`.

    ``typed_frame`` holds numbers as floats, dates as datetimes and everything else as
    strings (missing = NA). ``date_columns`` maps the date columns to the format found.
    """
    if target not in typed_frame.columns:
        raise ContractError(f"target column {target!r} is not in the file; columns: {', '.join(typed_frame.columns)}")
    if id_column is not None and id_column not in typed_frame.columns:
        raise ContractError(f"id column {id_column!r} is not in the file")
    target_values = typed_frame[target].dropna()
    if pd.api.types.is_numeric_dtype(target_values) and (target_values == target_values.round()).all():
        # infer_types read "0"/"1" as 0.0/1.0; files (and validation) carry the text "0"/"1".
        target_values = target_values.astype("int64")
    target_values = target_values.astype(str)
    classes = sorted(target_values.unique().tolist())
    if len(classes) != 2:
        raise ContractError(
            f"target {target!r} must have exactly two classes for a binary model; found {len(classes)}: {classes[:10]}"
        )
    if positive is None:
        positive = next((c for c in classes if c.strip().lower() in _POSITIVE_WORDS), None)
        if positive is None:  # the minority class is what people usually want to find
            positive = str(target_values.value_counts().idxmin())
    if positive not in classes:
        raise ContractError(f"positive class {positive!r} is not a value of {target!r}: {classes}")
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
            looks_like_id = distinct == len(values) and distinct > _MAX_CATEGORIES
            if looks_like_id or normalize_name(column) in ("id", "cedula", "ruc") or normalize_name(column).startswith("id_"):
                spec = ColumnSpec(column, "identifier", nullable=nullable, observed=observed)
            elif distinct <= _MAX_CATEGORIES:
                counts = values.value_counts()
                observed["shares"] = {str(k): round(float(v) / max(len(values), 1), 4) for k, v in counts.items()}
                spec = ColumnSpec(column, "categorical", nullable=nullable, values=sorted(counts.index.tolist()), observed=observed)
            else:
                spec = ColumnSpec(column, "text", nullable=True, required=False, observed=observed)
        columns[column] = spec
    return Contract(
        name=name,
        target=target,
        positive=positive,
        negative=negative,
        id_column=id_column,
        columns=columns,
        decimal=decimal,
    )
