"""Score a pandas frame of raw rows as `dropscore score` scores a file, one output row per input row.

This is what the registered model's MLflow pyfunc (:mod:`shared.model.pyfunc_model`) runs, so that
``mlflow models predict``, ``mlflow.pyfunc.load_model(...).predict`` and ``mlflow.pyfunc.spark_udf``
give the scores `dropscore score` gives: the same cell normalization as the CSV reader, the same
validation against the contract (:class:`shared.ingest.validation.ChunkValidator`), the same typed clean
rows, the same scoring with reasons (:func:`shared.model.scoring.score_batch`).

Two differences, both because a pyfunc must return one row per input row:

- a row dropscore would quarantine comes back in place, with a NaN score and its reason in
  ``quarantine_code`` / ``quarantine_column`` / ``quarantine_message`` (empty on scored rows);
- a frame dropscore would reject as a whole (a month-first date column, a personal column and
  no ``DROPSCORE_PII_KEY``) comes back with every row marked that way.

A frame is one "file": duplicate ids, the decimal mark and the date order are decided within
it (for ``spark_udf``, within each Arrow batch). Cells are text, as a CSV gives them; a typed
column (numbers, dates) is written back as text first, in the decimal mark the frame is read
with, so no value is parsed in a way the typed value did not mean.
"""

from __future__ import annotations

import datetime as dt
import math
from numbers import Number
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa

from shared.errors import BadInputError
from shared.i18n import locale_decimal
from shared.ingest.cell_normalization import normalize_cells
from shared.ingest.clean_table import arrow_schema, pii_hasher
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.file_evidence import FileEvidence, number_counts
from shared.ingest.pii import PiiHasher
from shared.ingest.row_problems import HEADER_ROW
from shared.ingest.validation import ChunkValidator, expected_columns, map_header
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import (
    class_score_column,
    model_classes,
    model_task,
    prediction_columns,
    score_batch,
)

QUARANTINE_COLUMNS = ["quarantine_code", "quarantine_column", "quarantine_message"]
# A text cell with nothing to say (a scored row's quarantine code, a fourth reason) is empty, as in the
# predictions CSV; not null: spark_udf turns a null in a text column into the text "None".
NO_TEXT = ""
# Rows without an id column in the contract get "<source name>-<row>" as from a file of that name.
DEFAULT_SOURCE_NAME = "input"
FIRST_ROW = HEADER_ROW + 1  # row numbers as in a CSV: the header is row 1


def input_columns(contract: Contract) -> tuple[list[str], set[str]]:
    """(columns a frame may carry, the required ones): what an incoming file may carry, plus passthrough."""
    columns, required = expected_columns(contract, "incoming")
    columns = columns + [name for name in contract.passthrough if name not in columns]
    return columns, required


def output_columns_for(contract: Contract, task: str, classes: list[str]) -> list[tuple[str, str]]:
    """(name, "double" or "string") of every output column: the predictions' columns without
    ``model_version`` (a pyfunc does not know its version number), passthrough columns, the quarantine reason."""
    numeric = {"score", "prediction", "prediction_low", "prediction_high", *(class_score_column(name) for name in classes)}
    names = [name for name in prediction_columns(contract.output_id_column, task, classes) if name != "model_version"]
    names += [name for name in contract.passthrough if name not in names] + QUARANTINE_COLUMNS
    return [(name, "double" if name in numeric else "string") for name in names]


def output_columns(model: LoadedModel) -> list[tuple[str, str]]:
    return output_columns_for(model.contract, model_task(model), model_classes(model))


def score_frame(
    model: LoadedModel,
    frame: pd.DataFrame,
    *,
    language: str = "es",
    decimal: str = "auto",
    source_name: str = DEFAULT_SOURCE_NAME,
    pii_key: str | None = None,
) -> pd.DataFrame:
    """One output row per row of ``frame``, in its order (see the module docstring).

    ``decimal``: "," or "." to read text numbers with; "auto" decides as the clean step does (the
    contract's choice, else what the frame's numbers prove, else the contract locale's mark).
    """
    contract = model.contract
    raw = frame.reset_index(drop=True)
    raw.columns = [str(name) for name in raw.columns]
    hasher: PiiHasher | None = None
    try:
        hasher = pii_hasher(pii_key, contract, "incoming")
        mapping = map_header(list(raw.columns), contract, "incoming")
        specs = {source: contract.columns.get(target) for source, target in mapping.renames.items()}
        chosen = _decimal_for(raw, specs, contract, decimal)
        text = _as_text(raw, specs, contract, chosen)
        # Each column's mark and date order from what the frame proves, as the clean step decides for a file.
        present = set(mapping.renames.values())
        numeric = [n for n, spec in contract.columns.items() if spec.type == "numeric" and n in present]
        date_formats = {n: contract.date_formats_for(spec) for n, spec in contract.columns.items() if spec.type == "date" and n in present}
        evidence = FileEvidence()
        evidence.add(text.rename(columns=mapping.renames), numeric, date_formats)
        decisions = evidence.decide_decimals(numeric, delimiter="", hint=chosen, hint_source="frame")
        validator = ChunkValidator(
            contract, "incoming", mapping, chosen, source_name, hasher=hasher,
            decimals=decisions, date_evidence=evidence.dates,
        )
        result = validator.validate(text, first_row_number=FIRST_ROW)
    except BadInputError as problem:
        # What dropscore does with such a file: it is rejected whole, every row with the reason.
        return _rejected(model, raw, problem, language, hasher, source_name)
    out = _empty_output(model, len(raw))
    if len(result.clean):
        # Typed as the clean Parquet types them: the scorer sees what the score step reads back.
        clean_columns = list(result.clean.columns)
        clean = pa.Table.from_pandas(result.clean, schema=arrow_schema(contract, clean_columns), preserve_index=False).to_pandas()
        predictions = score_batch(model, clean, language=language)
        positions = result.clean_row_numbers - FIRST_ROW
        for name, kind in output_columns(model):
            if name in predictions.columns:
                out.loc[positions, name] = _plain(predictions[name], kind == "double")
    if len(result.quarantine):
        quarantine = result.quarantine
        positions = quarantine["row_number"].to_numpy(dtype=np.int64) - FIRST_ROW
        out.loc[positions, "quarantine_code"] = quarantine["error_code"].to_numpy(dtype=object)
        out.loc[positions, "quarantine_column"] = _plain(quarantine["column"], False)
        out.loc[positions, "quarantine_message"] = quarantine["message_es" if language == "es" else "message_en"].to_numpy(dtype=object)
        id_column = contract.output_id_column
        if id_column in quarantine.columns:  # the quarantine's copy of the row: personal values already hashed
            out.loc[positions, id_column] = _plain(quarantine[id_column], False)
        elif contract.id_column is None:
            out.loc[positions, id_column] = [_generated_id(source_name, int(n)) for n in quarantine["row_number"]]
        for name in contract.passthrough:
            if name in quarantine.columns:
                out.loc[positions, name] = _plain(quarantine[name], False)
    return out


# -- text, as a CSV gives it ------------------------------------------------------------------------


def _decimal_for(raw: pd.DataFrame, specs: dict[str, ColumnSpec | None], contract: Contract, decimal: str) -> str:
    """The mark typed cells are written back in: the caller's, else the one the frame's text numbers
    prove, else the contract's (its mark, else its locale's) — a hint, never a rule over the data."""
    if decimal in (",", "."):
        return decimal
    texts = [raw[source] for source, spec in specs.items() if spec is not None and spec.type == "numeric" and _is_text(raw[source])]
    sample = pd.concat([values[values.map(lambda v: isinstance(v, str))] for values in texts]) if texts else pd.Series([], dtype="string")
    comma, point, _ = number_counts(sample.astype("string"))
    if bool(comma) != bool(point):
        return "," if comma else "."
    return contract.decimal if contract.decimal in (",", ".") else locale_decimal(contract.locale)


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _as_text(raw: pd.DataFrame, specs: dict[str, ColumnSpec | None], contract: Contract, decimal: str) -> pd.DataFrame:
    """Every column as text, normalized like the cells of a CSV (trimmed, missing-value tokens -> missing)."""
    columns = {}
    for name in raw.columns:
        spec = specs.get(name)
        date_format = contract.date_formats_for(spec)[0] if spec is not None and spec.type == "date" and contract.date_formats_for(spec) else None
        cells = raw[name].to_numpy(dtype=object)
        try:  # text already (strings and missing values): as it is
            columns[name] = pa.array(cells, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers, dates, booleans among them
            columns[name] = pa.array([_cell_text(value, decimal, date_format) for value in cells], type=pa.string())
    table = normalize_cells(pa.table(columns)) if columns else pa.table({})
    text = table.to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
    text.index = raw.index
    return text


def _cell_text(value: object, decimal: str, date_format: str | None) -> str | None:
    """One typed cell as the text a spreadsheet would hold: numbers without grouping in ``decimal``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        return stamp.strftime(date_format) if date_format else stamp.isoformat()
    if isinstance(value, Number):
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            return None
        if isinstance(value, (int, np.integer)) or (math.isfinite(number) and number.is_integer() and abs(number) < 2**63):
            return str(int(number))  # 3.0 read from a CSV with gaps is the category "3", not "3.0"
        shortest = repr(number)  # the shortest text that reads back as exactly this float
        return shortest.replace(".", ",") if decimal == "," else shortest
    return str(value)


# -- output -------------------------------------------------------------------------------------------


def _empty_output(model: LoadedModel, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {name: np.full(rows, np.nan) if kind == "double" else np.full(rows, NO_TEXT, dtype=object) for name, kind in output_columns(model)}
    )


def _plain(values: pd.Series, numeric: bool) -> np.ndarray:
    """Floats (NaN for none), or Python strings ("" for none): what MLflow turns into JSON and Spark into a struct."""
    if numeric:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.array([NO_TEXT if pd.isna(value) else str(value) for value in values], dtype=object)


def _generated_id(source_name: str, row_number: int) -> str:
    return f"{PurePosixPath(source_name).stem}-{row_number}"


def _rejected(
    model: LoadedModel, raw: pd.DataFrame, problem: BadInputError, language: str, hasher: PiiHasher | None, source_name: str
) -> pd.DataFrame:
    out = _empty_output(model, len(raw))
    out["quarantine_code"] = problem.code
    out["quarantine_message"] = problem.message(language)
    contract = model.contract
    id_column = contract.output_id_column
    if id_column in raw.columns:
        spec = contract.columns.get(id_column)
        if spec is not None and spec.personal:
            # Never hand a personal value back in the clear: its token, or nothing without the key.
            ids = hasher.tokens(raw[id_column].astype("string"), spec.type) if hasher is not None else pd.Series([NO_TEXT] * len(raw))
        else:
            ids = raw[id_column]
        out[id_column] = _plain(ids, False)
    elif contract.id_column is None:
        out[id_column] = [_generated_id(source_name, FIRST_ROW + position) for position in range(len(raw))]
    return out
