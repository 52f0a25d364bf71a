"""Rows on their way in and out of the warehouse: conformed to a table's schema (columns, order, dtypes).

Rows come in as a pandas frame (:func:`conform_rows`) or as an Arrow table (:func:`conform_arrow`,
what the score step writes: no pandas object columns to build and convert, a tenth of the cost for
the predictions of a big file); both are checked the same way and store the same values. Both
backends read back through :func:`frame_from_arrow`, so a frame comes out of DuckDB exactly as it
comes out of BigQuery. Naive timestamps are read as UTC, the rule BigQuery applies to a timestamp
without a zone, so both backends store the same instant.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeAlias, Union

import pandas as pd

from shared.backends.warehouse.schema import (
    BATCH_KEY_COLUMN,
    PANDAS_DTYPES,
    STRING_DTYPE,
    TIMESTAMP_DTYPE,
    check_table,
    column_names,
    field_types,
    table_fields,
)
from shared.errors import PermanentError

if TYPE_CHECKING:
    import pyarrow

# What a warehouse write accepts: a pandas frame, or an Arrow table (pyarrow is imported only when used).
Rows: TypeAlias = Union[pd.DataFrame, "pyarrow.Table"]


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


def _check_names(table: str, names: list[str]) -> None:
    """The column checks every write makes before converting a value."""
    if len(set(names)) != len(names):
        raise PermanentError(f"{table}: repeated column names in rows: {sorted(names)}")
    known = field_types(table)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise PermanentError(
            f"{table}: unknown columns {unknown}; the table's columns are defined in "
            f"shared/backends/warehouse/schemas/{table}.json ({', '.join(known)})"
        )


def _check_key(table: str, batch_key: str) -> None:
    check_table(table)
    if not isinstance(batch_key, str) or not batch_key:
        raise PermanentError(f"{table}: batch_key must be a non-empty string, got {batch_key!r}")


def _required_error(table: str, name: str, missing: int, rows: int) -> PermanentError:
    return PermanentError(f"{table}.{name} is required but {missing} of {rows} rows have no value")


def conform_rows(table: str, rows: pd.DataFrame, batch_key: str) -> pd.DataFrame:
    """``rows`` as a frame with exactly the table's columns, in schema order and schema dtypes."""
    _check_key(table, batch_key)
    if not isinstance(rows, pd.DataFrame):
        raise PermanentError(f"{table}: rows must be a pandas DataFrame, got {type(rows).__name__}")
    names = [str(column) for column in rows.columns]
    _check_names(table, names)
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
            raise _required_error(table, name, int(series.isna().sum()), len(index))
        data[name] = series
    return pd.DataFrame(data, index=index)


def conform_arrow(table: str, rows: pyarrow.Table, batch_key: str) -> pyarrow.Table:
    """``rows`` (Arrow) as a table in :func:`arrow_schema`, checked and converted as :func:`conform_rows`
    checks and converts a frame: the same errors, and the same values stored as for the frame Arrow
    makes of ``rows`` (``to_pandas`` with :func:`arrow_to_pandas_dtype`).

    A column already of its schema type is taken as it is, but for NaN in a FLOAT64 column, which
    becomes NULL as a frame's NaN does; a column of any other type goes through the frame path's own
    conversion (:func:`coerce_series`), so the rules live in one place.
    """
    import pyarrow as pa

    _check_key(table, batch_key)
    if not isinstance(rows, pa.Table):
        raise PermanentError(f"{table}: rows must be a pandas DataFrame or an Arrow table, got {type(rows).__name__}")
    names = list(rows.column_names)
    _check_names(table, names)
    schema = arrow_schema(table)
    count = rows.num_rows
    columns: list[pa.ChunkedArray | pa.Array] = []
    for field, arrow_field in zip(table_fields(table), schema, strict=True):
        name = field["name"]
        if name == BATCH_KEY_COLUMN:
            column: pa.ChunkedArray | pa.Array = pa.repeat(pa.scalar(batch_key, pa.string()), count)
        elif name in names:
            column = _arrow_column(rows.column(name), arrow_field.type, field["type"], f"{table}.{name}")
        else:
            column = pa.nulls(count, arrow_field.type)
        if field.get("mode") == "REQUIRED" and column.null_count:
            raise _required_error(table, name, column.null_count, count)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _arrow_column(column: pyarrow.ChunkedArray, arrow_type: pyarrow.DataType, field_type: str, label: str) -> pyarrow.ChunkedArray | pyarrow.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type == arrow_type:
        if field_type == "FLOAT64" and column.null_count < len(column) and pc.any(pc.is_nan(column)).as_py():
            # A frame cannot tell NaN from a missing value and stores both as NULL; so does this path.
            return pc.if_else(pc.is_nan(column), pa.scalar(None, arrow_type), column)
        return column
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), arrow_type)
    series = coerce_series(column.to_pandas(types_mapper=arrow_to_pandas_dtype), field_type, label)
    # Instants as UTC wall time: what Arrow reads from a zoned Series without pandas' deprecated .values.
    values = series.dt.tz_convert(None).to_numpy() if field_type == "TIMESTAMP" else series
    try:
        return pa.array(values, type=arrow_type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # e.g. nanoseconds that microseconds cannot hold
        raise PermanentError(f"{label}: the values cannot be stored as {field_type}: {exc}") from exc


def conformed_arrow(table: str, rows: Rows, batch_key: str) -> pyarrow.Table:
    """Rows of either kind conformed, as an Arrow table in :func:`arrow_schema` (what DuckDB stages)."""
    import pyarrow as pa

    if isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(conform_rows(table, rows, batch_key), schema=arrow_schema(table), preserve_index=False)
    return conform_arrow(table, rows, batch_key)


def conformed_frame(table: str, rows: Rows, batch_key: str) -> pd.DataFrame:
    """Rows of either kind conformed, as :func:`conform_rows`' frame (what BigQuery loads)."""
    if isinstance(rows, pd.DataFrame):
        return conform_rows(table, rows, batch_key)
    return frame_from_arrow(conform_arrow(table, rows, batch_key), table, column_names(table))


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
