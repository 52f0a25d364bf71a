"""The data contract: what a file must look like, inferred once from training data and edited by people.

The contract is a readable YAML document. Every later step (clean, train, score, drift,
retrain) reads it; a copy is stored with every model version so a model is always
scored against the contract it was trained with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from shared.errors import ContractError
from shared.i18n import both
from shared.i18n.files import CONTRACT_YAML_HEADER
from shared.ingest.vocabulary import FALSE_WORDS, TRUE_WORDS

ColumnType = Literal["numeric", "categorical", "date", "identifier", "text", "cedula", "ruc"]
COLUMN_TYPES: tuple[str, ...] = ("numeric", "categorical", "date", "identifier", "text", "cedula", "ruc")
# Personal columns are replaced by a keyed hash, so they can only be kinds of text, never model features.
PERSONAL_TYPES: tuple[str, ...] = ("identifier", "text", "cedula", "ruc")
EXTRA_COLUMN_POLICIES: tuple[str, ...] = ("ignore", "passthrough")

# From the reference MLOps report this product grew out of (business floors).
DEFAULT_GATES: dict[str, float] = {"roc_auc": 0.80, "precision": 0.60, "recall": 0.65}
DEFAULT_CHALLENGER_MARGIN = 0.005
# Model lifecycle defaults (issue 5): tasks, their gates, shadow comparison, rollback, training budget.
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
DEFAULT_GATES_BY_TASK: dict[str, dict[str, float]] = {
    "binary": DEFAULT_GATES,
    "multiclass": {"macro_f1": 0.50, "accuracy": 0.50},
    "regression": {"r2": 0.30},  # add rmse/mae (ceilings, in the target's unit) in the contract
}
DECISION_KEYS: tuple[str, ...] = ("value_true_positive", "cost_false_positive", "cost_false_negative", "value_true_negative")
DEFAULT_SHADOW_MIN_LABELS = 500
DEFAULT_ROLLBACK_TOLERANCE = 0.05
DEFAULT_FAIRNESS_MIN_RATIO = 0.8
DEFAULT_TRAINING_BUDGET_SECONDS = 60.0
GENERATED_ID_COLUMN = "row_id"

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

# The same loader on libyaml's parser where PyYAML has it: a trained contract (80 columns and their
# observed values) took 0.14 s to read in pure Python, 0.015 s with libyaml, and `dropscore score` reads
# it twice before its first batch is scored (the contract in force, the champion's own). Same resolvers
# and constructors: what the pure-Python parser reads, libyaml reads the same (property-tested). YAML
# libyaml refuses is read again by the pure-Python parser, which raises its own error as before; libyaml
# is laxer on a few texts that parser refuses ("[{0?: yes}]"), and reads them as they are written.
_FastContractLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastContractLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        pass

    _FastContractLoader.yaml_implicit_resolvers = _ContractLoader.yaml_implicit_resolvers


def _load_yaml(text: str) -> Any:
    if _FastContractLoader is not None:
        try:
            return yaml.load(text, Loader=_FastContractLoader)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_ContractLoader)


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
    format: str | list[str] | None = None  # date format(s) (strftime), tried in order; None = the locale's
    observed: dict[str, Any] = field(default_factory=dict)  # informational: what training data looked like
    description: str = ""
    personal: bool = False         # personal data (LOPDP): replaced by a keyed hash before leaving the raw area

    @property
    def date_formats(self) -> list[str]:
        if self.format is None:
            return []
        return [self.format] if isinstance(self.format, str) else list(self.format)

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
        if self.personal:
            out["personal"] = True
        if self.observed:
            out["observed"] = self.observed
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ColumnSpec:
        if not isinstance(data, dict):
            raise ContractError(*both("contract_column_not_mapping", column=name, value=repr(data)))
        column_type = data.get("type")
        if column_type not in COLUMN_TYPES:
            raise ContractError(*both("contract_column_type", column=name, types=", ".join(COLUMN_TYPES), value=repr(column_type)))
        unknown = data.get("unknown", "missing")
        if unknown not in ("missing", "quarantine"):
            raise ContractError(*both("contract_column_unknown", column=name))
        values = data.get("values")
        return cls(
            name=name,
            type=column_type,
            required=_flag(data.get("required", True), f"columns.{name}.required"),
            nullable=_flag(data.get("nullable", True), f"columns.{name}.nullable"),
            min=_optional_float(data.get("min"), f"columns.{name}.min"),
            max=_optional_float(data.get("max"), f"columns.{name}.max"),
            values=[str(v) for v in values] if values is not None else None,
            unknown=unknown,
            format=_date_formats(data.get("format"), f"columns.{name}.format"),
            observed=dict(data.get("observed") or {}),
            description=str(data.get("description") or ""),
            personal=_personal(data.get("personal", False), name, column_type),
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
    # -- locale and file shape (issue 4): how files are read and how CSVs for people are written --
    locale: str = "es-EC"          # decides the defaults below (decimal mark, date order)
    date_format: str | None = None  # date columns without their own format; None = the locale's (dd/mm/yyyy for es)
    output_delimiter: str = "auto"  # predictions/quarantine CSVs: ";" "," "\t" "|", locale (es-EC: ";") or auto (as the file came)
    output_decimal: str = "auto"    # "," ".", locale (es-EC: ",") or auto (as the file came)
    extra_columns: str = "ignore"   # columns the contract does not name: ignore | passthrough (to predictions)
    sheet: str | None = None        # the sheet read from an Excel workbook; None = the first visible one
    task: str = "binary"
    # -- model lifecycle (issue 5); every field has a default, so older contracts read unchanged --
    classes: list[str] = field(default_factory=list)          # multiclass: the target's classes, in this order
    decision: dict[str, float] = field(default_factory=dict)  # binary: value_true_positive, cost_false_positive, cost_false_negative
    sensitive_columns: list[str] = field(default_factory=list)  # fairness: per-group figures in reports and model card
    fairness_min_ratio: float = DEFAULT_FAIRNESS_MIN_RATIO    # the four-fifths rule
    fairness_gate: bool = False                               # refuse promotion when a group's ratio is below it
    leakage_allowed: list[str] = field(default_factory=list)  # columns the leakage guard must keep anyway
    shadow_min_labels: int = DEFAULT_SHADOW_MIN_LABELS        # labeled rows before champion and challenger are compared
    rollback_tolerance: float = DEFAULT_ROLLBACK_TOLERANCE    # a new champion this far (relative) below validation rolls back
    training_budget_seconds: float = DEFAULT_TRAINING_BUDGET_SECONDS  # the configuration search's time budget

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
            "target": self._target_section(),
            "id_column": self.id_column,
            "locale": self._locale_section(),
            "extra_columns": self.extra_columns,
            # Written only when set: contracts without it serialize (and fingerprint) as before.
            **({"sheet": self.sheet} if self.sheet else {}),
            "gates": dict(self.gates),
            "challenger_margin": self.challenger_margin,
            "passthrough": list(self.passthrough),
            **self._lifecycle_sections(),
            "columns": {name: spec.to_dict() for name, spec in self.columns.items()},
        }

    def _locale_section(self) -> dict[str, Any]:
        section: dict[str, Any] = {"name": self.locale, "decimal": self.decimal}
        if self.date_format:
            section["date_format"] = self.date_format
        section["output_delimiter"] = self.output_delimiter
        section["output_decimal"] = self.output_decimal
        return section

    @property
    def personal_columns(self) -> list[str]:
        return [name for name, spec in self.columns.items() if spec.personal]

    def date_formats_for(self, spec: ColumnSpec) -> list[str]:
        """The formats a date column is read with: its own, else the contract's, else the locale's."""
        from shared.i18n import locale_date_format

        return spec.date_formats or [self.date_format or locale_date_format(self.locale)]

    def _lifecycle_sections(self) -> dict[str, Any]:
        sections: dict[str, Any] = {}
        if self.decision:
            sections["decision"] = dict(self.decision)
        sections["fairness"] = {"sensitive_columns": list(self.sensitive_columns), "min_ratio": self.fairness_min_ratio, "gate": self.fairness_gate}
        sections["leakage"] = {"allow": list(self.leakage_allowed)}
        sections["lifecycle"] = {"shadow_min_labels": self.shadow_min_labels, "rollback_tolerance": self.rollback_tolerance}
        sections["training"] = {"time_budget_seconds": self.training_budget_seconds}
        return sections

    def _target_section(self) -> dict[str, Any]:
        if self.task == "multiclass":
            return {"column": self.target, "classes": list(self.classes)}
        if self.task == "regression":
            return {"column": self.target}
        return {"column": self.target, "positive": self.positive, "negative": self.negative}

    def to_yaml(self) -> str:
        return CONTRACT_YAML_HEADER + yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=100)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_yaml().encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contract:
        try:
            target = data["target"]
            columns_data = data["columns"]
        except (KeyError, TypeError) as exc:
            raise ContractError(*both("contract_missing_section", section=str(exc))) from exc
        task = str(data.get("task") or "binary")
        if task not in TASKS:
            raise ContractError(*both("contract_task", tasks=", ".join(TASKS), value=repr(task)))
        if not isinstance(target, dict) or "column" not in target or (task == "binary" and "positive" not in target):
            raise ContractError(*both("contract_target_section"))
        if not isinstance(columns_data, dict):
            raise ContractError(*both("contract_columns_section"))
        columns = {str(name): ColumnSpec.from_dict(str(name), spec or {}) for name, spec in columns_data.items()}
        if target["column"] not in columns:
            raise ContractError(*both("contract_target_not_a_column", column=target["column"]))
        id_column = data.get("id_column")
        if id_column is not None and id_column not in columns:
            raise ContractError(*both("contract_id_not_a_column", column=id_column))
        gates = {**DEFAULT_GATES_BY_TASK[task], **{str(k): _number(v, f"gates.{k}") for k, v in (data.get("gates") or {}).items()}}
        classes = [str(c) for c in (target.get("classes") or columns[target["column"]].values or [])] if task == "multiclass" else []
        if task == "multiclass" and len(classes) < 2:
            raise ContractError(*both("contract_multiclass_classes", column=target["column"]))
        if task == "regression" and columns[target["column"]].type != "numeric":
            raise ContractError(*both("contract_regression_numeric", column=target["column"], type=columns[target["column"]].type))
        lifecycle = _lifecycle_from_dict(data)
        return cls(
            name=str(data.get("name") or "dropscore"),
            target=str(target["column"]),
            positive=str(target.get("positive", "")),
            negative=str(target.get("negative", "")),
            id_column=id_column,
            columns=columns,
            gates=gates,
            challenger_margin=_number(data.get("challenger_margin", DEFAULT_CHALLENGER_MARGIN), "challenger_margin"),
            passthrough=[str(c) for c in data.get("passthrough") or []],
            **_locale_from_dict(data),
            sheet=_sheet(data.get("sheet")),
            task=task,
            classes=classes,
            **lifecycle,
        )

    @classmethod
    def from_yaml(cls, text: str) -> Contract:
        try:
            data = _load_yaml(text)  # SafeLoader subclasses: plain data only
        except yaml.YAMLError as exc:
            raise ContractError(*both("contract_not_yaml", detail=exc)) from exc
        if not isinstance(data, dict):
            raise ContractError(*both("contract_not_mapping"))
        return cls.from_dict(data)

    def without_target(self) -> Contract:
        """The contract for files to score: the target may be absent."""
        columns = dict(self.columns)
        columns[self.target] = ColumnSpec(**{**columns[self.target].__dict__, "required": False, "nullable": True})
        return Contract(**{**self.__dict__, "columns": columns})


def _lifecycle_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    """The optional sections of issue 5: decision values, fairness, leakage allow-list, lifecycle, training."""
    decision_data = data.get("decision") or {}
    if not isinstance(decision_data, dict):
        raise ContractError(*both("contract_decision_section"))
    unknown = sorted(set(map(str, decision_data)) - set(DECISION_KEYS))
    if unknown:
        raise ContractError(*both("contract_decision_keys", keys=unknown, known=", ".join(DECISION_KEYS)))
    decision = {str(k): _number(v, f"decision.{k}") for k, v in decision_data.items() if v is not None}
    fairness = data.get("fairness") or {}
    leakage = data.get("leakage") or {}
    lifecycle = data.get("lifecycle") or {}
    training = data.get("training") or {}
    for section, value in (("fairness", fairness), ("leakage", leakage), ("lifecycle", lifecycle), ("training", training)):
        if not isinstance(value, dict):
            raise ContractError(*both("contract_section_mapping", section=repr(section)))
    shadow_min_labels = int(_number(lifecycle.get("shadow_min_labels", DEFAULT_SHADOW_MIN_LABELS), "lifecycle.shadow_min_labels"))
    budget = _number(training.get("time_budget_seconds", DEFAULT_TRAINING_BUDGET_SECONDS), "training.time_budget_seconds")
    if shadow_min_labels < 1 or budget <= 0:
        raise ContractError(*both("contract_lifecycle_positive"))
    return {
        "decision": decision,
        "sensitive_columns": [str(c) for c in fairness.get("sensitive_columns") or []],
        "fairness_min_ratio": _number(fairness.get("min_ratio", DEFAULT_FAIRNESS_MIN_RATIO), "fairness.min_ratio"),
        "fairness_gate": _flag(fairness.get("gate", False), "fairness.gate"),
        "leakage_allowed": [str(c) for c in leakage.get("allow") or []],
        "shadow_min_labels": shadow_min_labels,
        "rollback_tolerance": _number(lifecycle.get("rollback_tolerance", DEFAULT_ROLLBACK_TOLERANCE), "lifecycle.rollback_tolerance"),
        "training_budget_seconds": budget,
    }


def _date_order(date_format: str) -> str | None:
    """"day" when the day comes before the month, "month" when after, None when no such pair."""
    day, month = date_format.find("%d"), date_format.find("%m")
    if day < 0 or month < 0:
        return None
    return "day" if day < month else "month"


def _date_formats(value: Any, where: str) -> str | list[str] | None:
    """The date format(s) at ``where`` (e.g. ``columns.alta.format``), checked: strftime patterns of one day/month order."""
    if value is None or value == "":
        return None
    formats = [value] if isinstance(value, str) else value
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and "%" in f for f in formats):
        raise ContractError(*both("contract_date_format", where=where))
    orders = {_date_order(f) for f in formats} - {None}
    if len(orders) > 1:
        # "03/04/2026" would be read one way or the other depending on the row: never allowed.
        raise ContractError(*both("contract_date_orders", where=where, formats=formats))
    return formats[0] if len(formats) == 1 else list(formats)


def _personal(value: Any, name: str, column_type: str) -> bool:
    personal = _flag(value, f"columns.{name}.personal")
    if personal and column_type not in PERSONAL_TYPES:
        raise ContractError(*both("contract_personal_type", column=name, types=", ".join(PERSONAL_TYPES), type=column_type))
    return personal


def _locale_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    """The locale section and the extra-columns policy (issue 4)."""
    from shared.i18n import normalize_locale

    locale = data.get("locale") or {}
    if not isinstance(locale, dict):
        raise ContractError(*both("contract_locale_section"))
    decimal = str(locale.get("decimal", "auto"))
    output_decimal = str(locale.get("output_decimal", "auto"))
    output_delimiter = str(locale.get("output_delimiter", "auto"))
    for what, value, allowed in (
        ("decimal", decimal, ("auto", ",", ".")),
        ("output_decimal", output_decimal, ("auto", "locale", ",", ".")),
        ("output_delimiter", output_delimiter, ("auto", "locale", ",", ";", "\t", "|")),
    ):
        if value not in allowed:
            raise ContractError(*both("contract_locale_choice", key=what, allowed=", ".join(repr(a) for a in allowed), value=repr(value)))
    date_format = locale.get("date_format")
    if date_format is not None:
        _date_formats(date_format, "locale.date_format")
        if not isinstance(date_format, str):
            raise ContractError(*both("contract_locale_date_format"))
    extra = str(data.get("extra_columns", "ignore"))
    if extra not in EXTRA_COLUMN_POLICIES:
        raise ContractError(*both("contract_extra_columns", allowed=", ".join(EXTRA_COLUMN_POLICIES), value=repr(extra)))
    return {
        "decimal": decimal,
        "locale": normalize_locale(locale.get("name")),
        "date_format": date_format,
        "output_delimiter": output_delimiter,
        "output_decimal": output_decimal,
        "extra_columns": extra,
    }


def _sheet(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ContractError(*both("contract_sheet"))
    return str(value)


def _optional_float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    return _number(value, where)


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ContractError(*both("contract_flag", where=where, value=repr(value)))


def _number(value: Any, where: str) -> float:
    """``value`` as a number; ``where`` is its place in the YAML (``gates.roc_auc``), for the message."""
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ContractError(*both("contract_number", where=where, value=repr(value))) from exc
