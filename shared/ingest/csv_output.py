"""The predictions CSV people open in Excel: their locale's delimiter and decimal mark, UTF-8 with BOM, safe cells.

- Delimiter and decimal mark: what the contract's locale asks for (``locale.output_delimiter``,
  ``locale.output_decimal``), else the way the file came (the clean step resolves it and
  records it in the manifest as ``output_delimiter`` / ``output_decimal``).
- UTF-8 with BOM, so Excel shows "Peña" and not "PeÃ±a".
- Every text cell goes through :mod:`shared.ingest.spreadsheet_safety` (formula injection);
  numbers are written as numbers (``-0,25`` stays a negative number).
- When the id column is personal (a hashed cédula), the row the prediction came from in the
  user's file is added as ``source_row``: the token alone would not lead people back to it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from shared.ingest.contract import Contract
from shared.ingest.spreadsheet_safety import neutralize_frame, neutralize_row

SOURCE_ROW_COLUMN = "_source_row"      # in the clean Parquet (shared.steps.clean)
SOURCE_ROW_OUTPUT = "source_row"       # in the predictions CSV
FLOAT_DIGITS = 6


@contextmanager
def text_writer(stream: BinaryIO, encoding: str = "utf-8-sig") -> Iterator[io.TextIOWrapper]:
    """Text (for ``csv.writer``) written to a store's write stream (``ObjectStore.open_write``).

    Detached after a flush on the way out, never closed: whether the object is finished or
    dropped is the call of the stream's own ``with`` block.
    """
    handle = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield handle
    finally:
        handle.detach()


def predictions_dialect(details: Mapping[str, Any]) -> tuple[str, str]:
    """(delimiter, decimal mark) for the predictions CSV, from the clean step's manifest details."""
    delimiter = details.get("output_delimiter") or details.get("delimiter") or ","
    decimal = details.get("output_decimal") or details.get("decimal") or "."
    if delimiter == "," and decimal == ",":
        decimal = "."  # never "0,5" in a comma-separated file
    return str(delimiter), str(decimal)


def extra_output_columns(contract: Contract, details: Mapping[str, Any], available: Iterable[str]) -> list[str]:
    """Columns after the model's own: the contract's passthrough, the extra columns it passes through,
    and ``source_row`` when the id is personal."""
    names = set(available)
    columns = [c for c in contract.passthrough if c in names]
    columns += [c for c in details.get("passthrough_extra_columns") or [] if c in names and c not in columns]
    id_spec = contract.columns.get(contract.output_id_column)
    if id_spec is not None and id_spec.personal and SOURCE_ROW_COLUMN in names:
        columns.append(SOURCE_ROW_OUTPUT)
    return columns


def output_date_format(contract: Contract) -> str:
    from shared.i18n import locale_date_format

    return contract.date_format or locale_date_format(contract.locale)


def header_row(columns: list[str]) -> list[str]:
    return neutralize_row(columns)


def format_numbers(values: pd.Series, decimal: str) -> pd.Series:
    if pd.api.types.is_integer_dtype(values):
        return values.astype("string")
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    text = pd.Series(np.char.mod(f"%.{FLOAT_DIGITS}f", numbers.to_numpy()), index=values.index, dtype="string")
    # Trailing zeros say nothing ("0,250000" -> "0,25"), integral values stay integral ("12,0" -> "12").
    text = text.str.replace(r"(\.\d*?[1-9])0+$", r"\1", regex=True).str.replace(r"\.0+$", "", regex=True)
    text = text.mask(text == "-0", "0")
    if decimal == ",":
        text = text.str.replace(".", ",", regex=False)
    return text.mask(numbers.isna())


def csv_rows(predictions: pd.DataFrame, clean: pd.DataFrame, columns: list[str], decimal: str, date_format: str = "%d/%m/%Y") -> Iterator[tuple]:
    """Rows of the predictions CSV for one batch: numbers in the locale's mark, text made safe."""
    out: dict[str, pd.Series] = {}
    for name in columns:
        if name in predictions.columns:
            values = predictions[name]
        elif name == SOURCE_ROW_OUTPUT:
            values = clean[SOURCE_ROW_COLUMN].reset_index(drop=True) if SOURCE_ROW_COLUMN in clean else pd.Series(pd.NA, index=predictions.index)
        else:
            values = clean[name].reset_index(drop=True) if name in clean else pd.Series(pd.NA, index=predictions.index)
        values = values.reset_index(drop=True)
        if pd.api.types.is_bool_dtype(values):
            values = values.astype("string")
        elif pd.api.types.is_numeric_dtype(values):
            values = format_numbers(values, decimal)
        elif pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime(date_format).astype("string")
        out[name] = values
    frame = neutralize_frame(pd.DataFrame(out, columns=columns))
    return frame.astype(object).where(frame.notna(), "").itertuples(index=False, name=None)
