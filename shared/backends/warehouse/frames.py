"""Rows on their way in and out of the warehouse: conformed to a table's schema (columns, order, dtypes).

Both backends write :func:`conform_rows`' frame and read back through :func:`frame_from_arrow`, so
a frame comes out of DuckDB exactly as it comes out of BigQuery. Naive timestamps are read as UTC,
the rule BigQuery applies to a timestamp without a zone, so both backends store the same instant.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.backends.warehouse.schema import (
    BATCH_KEY_COLUMN,
    PANDAS_DTYPES,
    STRING_DTYPE,
    TIMESTAMP_DTYPE,
    check_table,
    field_types,
    table_fields,
)
from shared.errors import PermanentError

if TYPE_CHECKING:
    import pyarrow


def is_missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def json_text_if_container(value: object) -> object:
    # evidence and metrics are JSON text columns: accept the dict itself.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value


def to_utc_timestamps(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        converted = values.dt.tz_localize("UTC")
    else:
        converted = pd.to_datetime(values, utc=True, format="ISO8601")
    return converted.astype(TIMESTAMP_DTYPE)


def coerce_series(values: pd.Series, field_type: str, label: str) -> pd.Series:
    """``values`` converted to the pandas dtype of a schema type, or PermanentError naming ``label``."""
    try:
        if field_type == "STRING":
            if values.dtype == STRING_DTYPE:
                return values
            if values.dtype == object:
                values = values.map(json_text_if_container)
            return values.astype(STRING_DTYPE)
        if field_type == "FLOAT64":
            return pd.to_numeric(values, errors="raise").astype("float64")
        if field_type == "INT64":
            # astype refuses 1.5 -> Int64 instead of silently truncating it.
            return pd.to_numeric(values, errors="raise").astype(pd.Int64Dtype())
        if field_type == "BOOL":
            return values.astype(pd.BooleanDtype())
        if field_type == "TIMESTAMP":
            return to_utc_timestamps(values)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PermanentError(f"{label}: the values cannot be stored as {field_type}: {exc}") from exc
    raise PermanentError(f"{label}: unsupported schema type {field_type}")


def conform_rows(table: str, rows: pd.DataFrame, batch_key: str) -> pd.DataFrame:
    """``rows`` as a frame with exactly the table's columns, in schema order and schema dtypes."""
    check_table(table)
    if not isinstance(batch_key, str) or not batch_key:
        raise PermanentError(f"{table}: batch_key must be a non-empty string, got {batch_key!r}")
    if not isinstance(rows, pd.DataFrame):
        raise PermanentError(f"{table}: rows must be a pandas DataFrame, got {type(rows).__name__}")
    names = [str(column) for column in rows.columns]
    if len(set(names)) != len(names):
        raise PermanentError(f"{table}: repeated column names in rows: {sorted(names)}")
    known = field_types(table)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise PermanentError(
            f"{table}: unknown columns {unknown}; the table's columns are defined in "
            f"shared/backends/warehouse/schemas/{table}.json ({', '.join(known)})"
        )
    source = rows.set_axis(names, axis=1).reset_index(drop=True)
    index = pd.RangeIndex(len(source))
    data: dict[str, pd.Series] = {}
    for field in table_fields(table):
        name, field_type = field["name"], field["type"]
        if name == BATCH_KEY_COLUMN:
            series = pd.Series([batch_key] * len(index), index=index, dtype=STRING_DTYPE)
        elif name in source.columns:
            series = coerce_series(source[name], field_type, f"{table}.{name}")
        else:
            series = pd.Series(index=index, dtype=PANDAS_DTYPES[field_type])
        if field.get("mode") == "REQUIRED" and bool(series.isna().any()):
            missing = int(series.isna().sum())
            raise PermanentError(
                f"{table}.{name} is required but {missing} of {len(index)} rows have no value"
            )
        data[name] = series
    return pd.DataFrame(data, index=index)


def arrow_to_pandas_dtype(arrow_type: pyarrow.DataType) -> Any:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()  # default conversion turns integers with NULLs into floats
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return STRING_DTYPE
    return None


def frame_from_arrow(arrow_table: pyarrow.Table, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A query result as a frame with ``columns`` in that order and in schema dtypes."""
    frame = arrow_table.to_pandas(types_mapper=arrow_to_pandas_dtype)
    index = pd.RangeIndex(arrow_table.num_rows)
    frame = frame.reset_index(drop=True)
    types = field_types(table)
    data: dict[str, pd.Series] = {}
    for name in columns:
        if name in frame.columns:
            data[name] = coerce_series(frame[name], types[name], f"{table}.{name}")
        else:
            data[name] = pd.Series(index=index, dtype=PANDAS_DTYPES[types[name]])
    return pd.DataFrame(data, index=index)


def arrow_schema(table: str) -> pyarrow.Schema:
    import pyarrow as pa

    types = {
        "STRING": pa.string(),
        "FLOAT64": pa.float64(),
        "INT64": pa.int64(),
        "BOOL": pa.bool_(),
        "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([pa.field(field["name"], types[field["type"]]) for field in table_fields(table)])
