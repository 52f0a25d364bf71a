"""The warehouse: keyed tables of predictions, processed files, drift results, alerts
and model events, behind one small Protocol.

Two backends, chosen by URI scheme (:func:`open_warehouse`):

- ``duckdb:///abs/path/file.duckdb`` (the embedded default) or ``duckdb:///:memory:``;
- ``bigquery://PROJECT/DATASET`` (the cloud), optionally ``?location=REGION``.

The table definitions live in ``shared/schemas/``: one BigQuery JSON schema per table
(``<table>.json``) plus ``tables.json`` with each table's partitioning and clustering.
Terraform reads the same files to create the BigQuery tables, and the DuckDB backend
creates its tables from them, so a column is added in exactly one place.

Every write is keyed: :meth:`Warehouse.write_batch` replaces whatever the table held for
its ``batch_key``, because event delivery is at least once and a retried handler must
not leave duplicate rows behind. A batch too big to hold in memory at once is written with
:func:`batch_writer`: the same replace, fed chunk by chunk (``append``), so a scored file
of a million rows streams into the warehouse.

Timestamps are timezone-aware UTC on the way out. On the way in, naive timestamps are
read as UTC, the same rule BigQuery applies to a timestamp without a zone, so both
backends store the same instant.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from shared.errors import DropscoreError, PermanentError, TransientError

if TYPE_CHECKING:
    import duckdb
    import pyarrow

__all__ = [
    "TABLES",
    "BatchWriter",
    "BigQueryWarehouse",
    "DuckDBWarehouse",
    "Warehouse",
    "batch_writer",
    "load_schema",
    "load_table_options",
    "open_warehouse",
    "partition_column",
]

TABLES: tuple[str, ...] = ("predictions", "batches", "drift_results", "alerts", "model_events")

BATCH_KEY_COLUMN = "batch_key"

# Several function servers of the local stack may share one DuckDB file, and DuckDB lets
# only one process hold it read-write: wait this long for the others before giving up
# with a TransientError (the caller's retry then takes over).
DUCKDB_LOCK_WAIT_SECONDS = 30.0
# Memory and threads DuckDB may use while replacing a streamed batch (see DuckDBWarehouse.batch_writer).
DUCKDB_WRITE_MEMORY_LIMIT = "32MB"
DUCKDB_WRITE_THREADS = 1
_LOCK_FIRST_DELAY_SECONDS = 0.01
_LOCK_MAX_DELAY_SECONDS = 0.25

# A function has 540 s per event; leave room for the rest of the handler.
BIGQUERY_JOB_TIMEOUT_SECONDS = 240.0
# A streamed batch becomes one BigQuery load job per this many rows (appends are buffered up to
# it): few enough jobs for the 1 500 load jobs per table and day, JSON rows of a few tens of MB.
BIGQUERY_ROWS_PER_LOAD = 50_000

_SCHEMA_PACKAGE = "shared"
_SCHEMA_FOLDER = "schemas"
_TABLE_OPTIONS_FILE = "tables.json"

_FIELD_TYPES = ("STRING", "FLOAT64", "INT64", "BOOL", "TIMESTAMP")
_FIELD_MODES = ("NULLABLE", "REQUIRED")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

_DUCKDB_TYPES: dict[str, str] = {
    "STRING": "VARCHAR",
    "FLOAT64": "DOUBLE",
    "INT64": "BIGINT",
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
}

# pandas' own default string dtype (pandas >= 3), so frames read back compare equal to
# frames built by the rest of the code; nullable Int64/boolean so a NULL does not turn
# integers into floats or booleans into objects.
_STRING_DTYPE = pd.StringDtype(na_value=np.nan)
_TIMESTAMP_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")  # both backends store microseconds
_PANDAS_DTYPES: dict[str, Any] = {
    "STRING": _STRING_DTYPE,
    "FLOAT64": np.dtype("float64"),
    "INT64": pd.Int64Dtype(),
    "BOOL": pd.BooleanDtype(),
    "TIMESTAMP": _TIMESTAMP_DTYPE,
}

# Rows that share a timestamp still come back in one order on both backends.
_TIE_BREAKERS: dict[str, tuple[str, ...]] = {
    "predictions": ("batch_key", "row_id", "model_role"),
    "batches": ("batch_key",),
    "drift_results": ("batch_key", "feature", "kind", "method"),
    "alerts": ("batch_key", "alert_id"),
    "model_events": ("batch_key", "event_id"),
}

_RFC3339_MICROS = "%Y-%m-%dT%H:%M:%S.%fZ"


# --------------------------------------------------------------------------- schemas


def _schema_folder() -> Traversable:
    try:
        return files(_SCHEMA_PACKAGE).joinpath(_SCHEMA_FOLDER)
    except (NotADirectoryError, TypeError):
        # While shared/ has no __init__.py it is a namespace package, and under an editable
        # install its __path__ holds a placeholder entry that Python 3.11's MultiplexedPath
        # rejects; the schema files still sit next to this module.
        return Path(__file__).resolve().parents[1] / _SCHEMA_FOLDER


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise PermanentError(f"unknown warehouse table {table!r}; the tables are {', '.join(TABLES)}")


@cache
def _read_json_resource(name: str) -> Any:
    resource = _schema_folder().joinpath(name)
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PermanentError(f"cannot read warehouse schema file {_SCHEMA_FOLDER}/{name}: {exc}") from exc


@cache
def _fields(table: str) -> tuple[Mapping[str, str], ...]:
    _check_table(table)
    fields = _read_json_resource(f"{table}.json")
    if not isinstance(fields, list) or not fields:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json must be a non-empty list of fields")
    names: set[str] = set()
    for field in fields:
        name = field.get("name") if isinstance(field, dict) else None
        # Names are written into SQL (quoted), so only plain identifiers are allowed.
        if not isinstance(name, str) or not _IDENTIFIER.match(name) or name in names:
            raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json: bad or repeated column name {name!r}")
        if field.get("type") not in _FIELD_TYPES or field.get("mode", "NULLABLE") not in _FIELD_MODES:
            raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json: unsupported type or mode for {name!r}")
        names.add(name)
    if BATCH_KEY_COLUMN not in names:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json has no {BATCH_KEY_COLUMN} column")
    return tuple(fields)


def load_schema(table: str) -> list[dict[str, str]]:
    """The BigQuery JSON schema of ``table`` (a list of ``name``/``type``/``mode``/``description``).

    Read from ``shared/schemas/<table>.json``, the file Terraform also reads. The result is
    a fresh copy: callers may modify it.
    """
    return copy.deepcopy([dict(field) for field in _fields(table)])


def load_table_options(table: str) -> dict[str, Any]:
    """Partitioning, clustering and description of ``table`` from ``shared/schemas/tables.json``.

    The keys follow Terraform's ``google_bigquery_table``: ``time_partitioning`` (``type``,
    ``field``), ``clustering`` (list of columns) and ``description``.
    """
    _check_table(table)
    options = _read_json_resource(_TABLE_OPTIONS_FILE)
    if not isinstance(options, dict) or table not in options:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{_TABLE_OPTIONS_FILE} has no entry for {table!r}")
    return copy.deepcopy(options[table])


@cache
def partition_column(table: str) -> str:
    """The TIMESTAMP column ``table`` is partitioned on (the default time column of reads)."""
    column = load_table_options(table).get("time_partitioning", {}).get("field")
    if _field_types(table).get(column) != "TIMESTAMP":
        raise PermanentError(
            f"{_SCHEMA_FOLDER}/{_TABLE_OPTIONS_FILE}: {table} must partition on a TIMESTAMP column"
        )
    return column


def _column_names(table: str) -> tuple[str, ...]:
    return tuple(field["name"] for field in _fields(table))


@cache
def _field_types(table: str) -> dict[str, str]:
    return {field["name"]: field["type"] for field in _fields(table)}


# --------------------------------------------------------------------------- the protocol


@runtime_checkable
class Warehouse(Protocol):
    """What the handlers need from a warehouse. Implementations are safe to share between threads."""

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        """Make ``table`` hold exactly ``rows`` for ``batch_key`` and return how many rows were written.

        A retry or a duplicate delivery replaces the batch, never duplicates it. The
        ``batch_key`` column is set here; columns missing from ``rows`` are written as NULL;
        a column the table does not have raises :class:`PermanentError`.
        """
        ...

    def has_batch(self, table: str, batch_key: str) -> bool:
        """Whether ``table`` holds at least one row for ``batch_key``."""
        ...

    def read(
        self,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        time_column: str | None = None,
        where: dict[str, object] | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> pd.DataFrame:
        """Rows of ``table`` with ``since <= time_column < until`` and the ``where`` equalities.

        ``time_column`` defaults to the table's partition column. A ``where`` value of
        ``None`` matches NULL. Rows come ordered by the time column (oldest first unless
        ``newest_first``); columns in schema order, or in the order of ``columns``, with
        stable dtypes: ``str``, ``float64``, ``Int64``, ``boolean``, ``datetime64[us, UTC]``.
        """
        ...

    def close(self) -> None:
        """Release what the backend holds. Safe to call twice."""
        ...


@runtime_checkable
class BatchWriter(Protocol):
    """One batch being written in chunks; see :func:`batch_writer`."""

    rows_written: int

    def append(self, rows: pd.DataFrame) -> int:
        """Add ``rows`` (conformed like :meth:`Warehouse.write_batch`'s) to the batch; how many."""
        ...


@contextmanager
def batch_writer(warehouse: Warehouse, table: str, batch_key: str) -> Iterator[BatchWriter]:
    """Write one batch of ``table`` in several appends, as one idempotent replace.

    When the ``with`` block ends normally the table holds exactly the appended rows for
    ``batch_key`` (none if nothing was appended): a retry replaces, never duplicates, as
    with :meth:`Warehouse.write_batch`. Chunks are checked and converted as they come, so a
    bad chunk raises at its ``append``; memory holds one chunk, not the batch.

    - DuckDB: chunks are staged in a local Parquet file; at the end one transaction deletes
      the key and inserts the file, so readers see the old batch or the new one, never a mix,
      and the database file is locked for the insert only, not while the caller works.
    - BigQuery: the key is deleted when the block starts and every
      :data:`BIGQUERY_ROWS_PER_LOAD` rows go in one load job. A failure part way leaves some
      chunks loaded; the platform's retry starts again with the delete, as ``write_batch``'s does.
    - Any other warehouse (a test double with ``write_batch`` only): rows are collected and
      written with one ``write_batch`` at the end.

    If the block raises, DuckDB keeps the batch it had; BigQuery may have deleted it.
    """
    native = getattr(warehouse, "batch_writer", None)
    if native is not None:
        with native(table, batch_key) as writer:
            yield writer
        return
    _check_table(table)
    collected = _CollectingWriter(table, batch_key)
    yield collected
    frames = collected.frames
    warehouse.write_batch(table, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), batch_key)


class _CollectingWriter:
    def __init__(self, table: str, batch_key: str) -> None:
        self.table, self.batch_key = table, batch_key
        self.frames: list[pd.DataFrame] = []
        self.rows_written = 0

    def append(self, rows: pd.DataFrame) -> int:
        _conform_rows(self.table, rows, self.batch_key)  # refuse a bad chunk now, as the real writers do
        self.frames.append(rows)
        self.rows_written += len(rows)
        return len(rows)


# --------------------------------------------------------------------------- frames


def _json_text_if_container(value: object) -> object:
    # evidence and metrics are JSON text columns: accept the dict itself.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value


def _to_utc_timestamps(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        converted = values.dt.tz_localize("UTC")
    else:
        converted = pd.to_datetime(values, utc=True, format="ISO8601")
    return converted.astype(_TIMESTAMP_DTYPE)


def _coerce_series(values: pd.Series, field_type: str, label: str) -> pd.Series:
    """``values`` converted to the pandas dtype of a schema type, or PermanentError naming ``label``."""
    try:
        if field_type == "STRING":
            if values.dtype == _STRING_DTYPE:
                return values
            if values.dtype == object:
                values = values.map(_json_text_if_container)
            return values.astype(_STRING_DTYPE)
        if field_type == "FLOAT64":
            return pd.to_numeric(values, errors="raise").astype("float64")
        if field_type == "INT64":
            # astype refuses 1.5 -> Int64 instead of silently truncating it.
            return pd.to_numeric(values, errors="raise").astype(pd.Int64Dtype())
        if field_type == "BOOL":
            return values.astype(pd.BooleanDtype())
        if field_type == "TIMESTAMP":
            return _to_utc_timestamps(values)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PermanentError(f"{label}: the values cannot be stored as {field_type}: {exc}") from exc
    raise PermanentError(f"{label}: unsupported schema type {field_type}")


def _conform_rows(table: str, rows: pd.DataFrame, batch_key: str) -> pd.DataFrame:
    """``rows`` as a frame with exactly the table's columns, in schema order and schema dtypes."""
    _check_table(table)
    if not isinstance(batch_key, str) or not batch_key:
        raise PermanentError(f"{table}: batch_key must be a non-empty string, got {batch_key!r}")
    if not isinstance(rows, pd.DataFrame):
        raise PermanentError(f"{table}: rows must be a pandas DataFrame, got {type(rows).__name__}")
    names = [str(column) for column in rows.columns]
    if len(set(names)) != len(names):
        raise PermanentError(f"{table}: repeated column names in rows: {sorted(names)}")
    known = _field_types(table)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise PermanentError(
            f"{table}: unknown columns {unknown}; the table's columns are defined in "
            f"shared/schemas/{table}.json ({', '.join(known)})"
        )
    source = rows.set_axis(names, axis=1).reset_index(drop=True)
    index = pd.RangeIndex(len(source))
    data: dict[str, pd.Series] = {}
    for field in _fields(table):
        name, field_type = field["name"], field["type"]
        if name == BATCH_KEY_COLUMN:
            series = pd.Series([batch_key] * len(index), index=index, dtype=_STRING_DTYPE)
        elif name in source.columns:
            series = _coerce_series(source[name], field_type, f"{table}.{name}")
        else:
            series = pd.Series(index=index, dtype=_PANDAS_DTYPES[field_type])
        if field.get("mode") == "REQUIRED" and bool(series.isna().any()):
            missing = int(series.isna().sum())
            raise PermanentError(
                f"{table}.{name} is required but {missing} of {len(index)} rows have no value"
            )
        data[name] = series
    return pd.DataFrame(data, index=index)


def _arrow_to_pandas_dtype(arrow_type: pyarrow.DataType) -> Any:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()  # default conversion turns integers with NULLs into floats
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return _STRING_DTYPE
    return None


def _frame_from_arrow(arrow_table: pyarrow.Table, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A query result as a frame with ``columns`` in that order and in schema dtypes."""
    frame = arrow_table.to_pandas(types_mapper=_arrow_to_pandas_dtype)
    index = pd.RangeIndex(arrow_table.num_rows)
    frame = frame.reset_index(drop=True)
    types = _field_types(table)
    data: dict[str, pd.Series] = {}
    for name in columns:
        if name in frame.columns:
            data[name] = _coerce_series(frame[name], types[name], f"{table}.{name}")
        else:
            data[name] = pd.Series(index=index, dtype=_PANDAS_DTYPES[types[name]])
    return pd.DataFrame(data, index=index)


def _arrow_schema(table: str) -> pyarrow.Schema:
    import pyarrow as pa

    types = {
        "STRING": pa.string(),
        "FLOAT64": pa.float64(),
        "INT64": pa.int64(),
        "BOOL": pa.bool_(),
        "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([pa.field(field["name"], types[field["type"]]) for field in _fields(table)])


# --------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class _Condition:
    column: str
    operator: str  # "=", ">=", "<" (value bound as a parameter) or "IS NULL" (no value)
    value: object
    field_type: str


@dataclass(frozen=True)
class _ReadPlan:
    table: str
    columns: tuple[str, ...]
    conditions: tuple[_Condition, ...]
    time_column: str
    tie_breakers: tuple[str, ...]
    newest_first: bool
    limit: int | None


def _to_utc_datetime(value: object, label: str) -> datetime:
    if not isinstance(value, (datetime, str, np.datetime64)):
        raise PermanentError(f"{label}: expected a datetime, got {type(value).__name__}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"{label}: not a timestamp: {value!r}") from exc
    if pd.isna(stamp):
        raise PermanentError(f"{label}: not a timestamp: {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _parameter_value(value: object, field_type: str, label: str) -> object:
    """``value`` as the plain Python type both database drivers bind for ``field_type``."""
    try:
        if field_type == "STRING":
            return str(value)
        if field_type == "FLOAT64":
            return float(value)  # type: ignore[arg-type]
        if field_type == "INT64":
            if isinstance(value, (bool, np.bool_)):
                raise TypeError("a boolean is not an integer")
            number = int(value)  # type: ignore[call-overload]
            if number != value:
                raise ValueError(f"{value!r} is not a whole number")
            return number
        if field_type == "BOOL":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{value!r} is not a boolean")
            return bool(value)
        if field_type == "TIMESTAMP":
            return _to_utc_datetime(value, label)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PermanentError(f"{label}: cannot compare with {value!r} as {field_type}: {exc}") from exc
    raise PermanentError(f"{label}: unsupported schema type {field_type}")


def _is_missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _plan_read(
    table: str,
    *,
    since: datetime | None,
    until: datetime | None,
    time_column: str | None,
    where: Mapping[str, object] | None,
    columns: list[str] | None,
    limit: int | None,
    newest_first: bool,
) -> _ReadPlan:
    """Validate a read against the schema; every name that reaches SQL comes from the schema."""
    _check_table(table)
    types = _field_types(table)

    def known(name: object, role: str) -> str:
        if not isinstance(name, str) or name not in types:
            raise PermanentError(f"{table}: unknown {role} {name!r}; columns are {', '.join(types)}")
        return name

    selected = (
        tuple(known(name, "column") for name in columns) if columns is not None else _column_names(table)
    )
    if not selected:
        raise PermanentError(f"{table}: columns must name at least one column")
    if len(set(selected)) != len(selected):
        raise PermanentError(f"{table}: repeated names in columns: {list(selected)}")

    time_name = known(time_column, "time column") if time_column is not None else partition_column(table)
    if types[time_name] != "TIMESTAMP":
        raise PermanentError(f"{table}: time column {time_name!r} is {types[time_name]}, not TIMESTAMP")

    conditions: list[_Condition] = []
    if since is not None:
        conditions.append(_Condition(time_name, ">=", _to_utc_datetime(since, "since"), "TIMESTAMP"))
    if until is not None:
        conditions.append(_Condition(time_name, "<", _to_utc_datetime(until, "until"), "TIMESTAMP"))
    for name, value in (where or {}).items():
        column = known(name, "where column")
        if _is_missing(value):
            conditions.append(_Condition(column, "IS NULL", None, types[column]))
        else:
            bound = _parameter_value(value, types[column], f"{table}.{column}")
            conditions.append(_Condition(column, "=", bound, types[column]))

    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0
    ):
        raise PermanentError(f"{table}: limit must be a non-negative integer, got {limit!r}")

    tie_breakers = tuple(name for name in _TIE_BREAKERS[table] if name != time_name and name in types)
    return _ReadPlan(
        table=table,
        columns=selected,
        conditions=tuple(conditions),
        time_column=time_name,
        tie_breakers=tie_breakers,
        newest_first=bool(newest_first),
        limit=int(limit) if limit is not None else None,
    )


def _render_select(
    plan: _ReadPlan, table_sql: str, quote: Callable[[str], str], placeholder: Callable[[int], str]
) -> tuple[str, list[_Condition]]:
    """SQL text for ``plan`` and the conditions whose values bind to its placeholders, in order.

    Values never enter the text; only schema-checked column names and an integer limit do.
    """
    bound: list[_Condition] = []
    clauses: list[str] = []
    for condition in plan.conditions:
        if condition.operator == "IS NULL":
            clauses.append(f"{quote(condition.column)} IS NULL")
        else:
            clauses.append(f"{quote(condition.column)} {condition.operator} {placeholder(len(bound))}")
            bound.append(condition)
    sql = f"SELECT {', '.join(quote(name) for name in plan.columns)} FROM {table_sql}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    # Explicit NULLS LAST: DuckDB and BigQuery disagree on the default.
    direction = "DESC" if plan.newest_first else "ASC"
    order = [f"{quote(plan.time_column)} {direction} NULLS LAST"]
    order += [f"{quote(name)} ASC NULLS LAST" for name in plan.tie_breakers]
    sql += " ORDER BY " + ", ".join(order)
    if plan.limit is not None:
        sql += f" LIMIT {plan.limit:d}"
    return sql, bound


# --------------------------------------------------------------------------- DuckDB

_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    # Threads of one process share DuckDB's database instance, so the file lock does not
    # order them; this does, and keeps their DELETE+INSERT transactions from conflicting.
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(str(path), threading.Lock())


def _is_lock_conflict(exc: BaseException) -> bool:
    return "could not set lock" in str(exc).lower()


def _quote_duckdb(name: str) -> str:
    return f'"{name}"'


def _duckdb_column_sql(field: Mapping[str, str], *, allow_not_null: bool) -> str:
    sql = f"{_quote_duckdb(field['name'])} {_DUCKDB_TYPES[field['type']]}"
    if allow_not_null and field.get("mode") == "REQUIRED":
        sql += " NOT NULL"
    return sql


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    # The error that made us roll back is the one to report, not a failed rollback.
    with suppress(duckdb.Error):
        connection.rollback()


def _translate_duckdb_error(exc: Exception, action: str, location: str) -> DropscoreError:
    import duckdb

    message = f"DuckDB warehouse {location}: {action} failed: {exc}"
    if _is_lock_conflict(exc) or isinstance(
        exc, (duckdb.TransactionException, duckdb.OutOfMemoryException, duckdb.InterruptException)
    ):
        return TransientError(message)
    if isinstance(exc, duckdb.IOException):
        text = str(exc).lower()
        if "permission denied" in text or "read-only file system" in text:
            return PermanentError(message)
        return TransientError(message)  # a full disk or a flaky mount may recover
    return PermanentError(message)


class DuckDBWarehouse:
    """The embedded warehouse: one DuckDB file (or an in-memory database for tests).

    A file is opened for each operation and closed right after, because DuckDB allows one
    read-write process per file and the local stack runs one function server per process;
    a process that finds the file locked waits up to ``lock_wait_seconds``.
    An in-memory database lives only as long as this object, so it keeps its connection.
    """

    _INCOMING_VIEW = "dropscore_incoming_rows"

    def __init__(self, path: str | Path, *, lock_wait_seconds: float = DUCKDB_LOCK_WAIT_SECONDS) -> None:
        self._in_memory = str(path) == ":memory:"
        self._path = None if self._in_memory else Path(path)
        self._lock_wait_seconds = lock_wait_seconds
        self._memory_connection: duckdb.DuckDBPyConnection | None = None
        self._memory_lock = threading.Lock()
        self._closed = False

    @property
    def location(self) -> str:
        """The database file path, or ``:memory:``."""
        return ":memory:" if self._path is None else str(self._path)

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.location!r})"

    def __enter__(self) -> DuckDBWarehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- connections

    def _open_file(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        assert self._path is not None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentError(
                f"cannot create the folder of the DuckDB warehouse {self._path}: {exc}"
            ) from exc
        deadline = time.monotonic() + self._lock_wait_seconds
        delay = _LOCK_FIRST_DELAY_SECONDS
        while True:
            try:
                return duckdb.connect(str(self._path))
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc):
                    raise _translate_duckdb_error(exc, "open", self.location) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransientError(
                        f"DuckDB warehouse {self._path} stayed locked by another process for "
                        f"{self._lock_wait_seconds:g} s: {exc}"
                    ) from exc
                # Jitter so that waiting processes do not retry in lockstep.
                time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))
                delay = min(delay * 1.6, _LOCK_MAX_DELAY_SECONDS)

    @staticmethod
    def _prepare(connection: duckdb.DuckDBPyConnection) -> None:
        # TIMESTAMPTZ values come back in the session time zone, which defaults to the
        # machine's; UTC keeps results the same on every laptop.
        connection.execute("SET TimeZone = 'UTC'")
        existing: dict[str, set[str]] = {}
        for table_name, column_name in connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = current_schema()"
        ).fetchall():
            existing.setdefault(table_name, set()).add(column_name)
        statements: list[str] = []
        for table in TABLES:
            fields = _fields(table)
            if table not in existing:
                columns_sql = ", ".join(_duckdb_column_sql(field, allow_not_null=True) for field in fields)
                statements.append(f"CREATE TABLE IF NOT EXISTS {_quote_duckdb(table)} ({columns_sql})")
                continue
            # A column added to the JSON schema after the file was created: add it as
            # nullable, since the rows already there have no value for it.
            for field in fields:
                if field["name"] not in existing[table]:
                    statements.append(
                        f"ALTER TABLE {_quote_duckdb(table)} ADD COLUMN IF NOT EXISTS "
                        f"{_duckdb_column_sql(field, allow_not_null=False)}"
                    )
        if not statements:
            return
        connection.begin()
        try:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
        except BaseException:
            _rollback_quietly(connection)
            raise

    @contextmanager
    def _session(self, action: str) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        if self._closed:
            raise PermanentError(f"{self!r} is closed")
        try:
            if self._in_memory:
                with self._memory_lock:
                    if self._memory_connection is None:
                        self._memory_connection = duckdb.connect(":memory:")
                        self._prepare(self._memory_connection)
                    yield self._memory_connection
                return
            assert self._path is not None
            with _path_lock(self._path):
                connection = self._open_file()
                try:
                    self._prepare(connection)
                    yield connection
                finally:
                    connection.close()
        except duckdb.Error as exc:
            raise _translate_duckdb_error(exc, action, self.location) from exc

    # -- the protocol

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        import duckdb

        frame = _conform_rows(table, rows, batch_key)
        table_sql = _quote_duckdb(table)
        columns_sql = ", ".join(_quote_duckdb(name) for name in frame.columns)
        with self._session(f"write {table} batch {batch_key!r}") as connection:
            # Delete and insert in one transaction: a reader, or a crash in between, never
            # sees the batch half replaced.
            connection.begin()
            registered = False
            try:
                connection.execute(f"DELETE FROM {table_sql} WHERE batch_key = ?", [batch_key])
                if len(frame):
                    connection.register(self._INCOMING_VIEW, frame)
                    registered = True
                    connection.execute(
                        f"INSERT INTO {table_sql} ({columns_sql}) SELECT {columns_sql} FROM {self._INCOMING_VIEW}"
                    )
                connection.commit()
            except BaseException:
                _rollback_quietly(connection)
                raise
            finally:
                # After the rollback: an aborted transaction refuses even this, and its
                # error would hide the one that matters.
                if registered:
                    with suppress(duckdb.Error):
                        connection.unregister(self._INCOMING_VIEW)
        return len(frame)

    @contextmanager
    def batch_writer(self, table: str, batch_key: str) -> Iterator[_DuckDBBatchWriter]:
        """See :func:`batch_writer`: chunks staged in local Parquet, one replace transaction at the end."""
        _conform_rows(table, pd.DataFrame(), batch_key)  # the table and key are checked before any work
        with tempfile.TemporaryDirectory(prefix="dropscore-warehouse-") as scratch:
            writer = _DuckDBBatchWriter(table, batch_key, Path(scratch) / "batch.parquet")
            try:
                yield writer
            finally:
                writer.close()
            table_sql = _quote_duckdb(table)
            columns_sql = ", ".join(_quote_duckdb(name) for name in _column_names(table))
            with self._session(f"write {table} batch {batch_key!r}") as connection:
                if not self._in_memory:
                    # DuckDB's buffer pool may take 80 % of the machine: the delete scans the whole
                    # table and the insert builds the batch in memory. Capped, both spill to disk and
                    # the insert writes its row groups to the file as it goes. Every thread reads and
                    # compresses row groups of its own, with buffers of its own: one thread is as fast
                    # for this insert (I/O and compression) and lighter. Replacing a million
                    # predictions, measured: +213 MiB uncapped, +109 at 128 MB on 2 threads, +70 at
                    # 32 MB on one; five million rows at 32 MB on one thread: +76 MiB in 4.4 s (128 MB,
                    # 2 threads: +131 MiB, 5.5 s). This replace came last in the score step, on top of
                    # the batches' memory, and was its peak. The connection closes after this write,
                    # so the settings go with it; an in-memory database is not capped.
                    connection.execute(f"SET memory_limit = '{DUCKDB_WRITE_MEMORY_LIMIT}'")
                    connection.execute(f"SET threads = {DUCKDB_WRITE_THREADS}")
                connection.begin()
                try:
                    connection.execute(f"DELETE FROM {table_sql} WHERE batch_key = ?", [batch_key])
                    if writer.rows_written:
                        connection.execute(
                            f"INSERT INTO {table_sql} ({columns_sql}) SELECT {columns_sql} FROM read_parquet(?)", [str(writer.path)]
                        )
                    connection.commit()
                except BaseException:
                    _rollback_quietly(connection)
                    raise

    def has_batch(self, table: str, batch_key: str) -> bool:
        _check_table(table)
        with self._session(f"look up {table} batch {batch_key!r}") as connection:
            found = connection.execute(
                f"SELECT 1 FROM {_quote_duckdb(table)} WHERE batch_key = ? LIMIT 1", [str(batch_key)]
            ).fetchone()
        return found is not None

    def read(
        self,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        time_column: str | None = None,
        where: dict[str, object] | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> pd.DataFrame:
        plan = _plan_read(
            table,
            since=since,
            until=until,
            time_column=time_column,
            where=where,
            columns=columns,
            limit=limit,
            newest_first=newest_first,
        )
        sql, bound = _render_select(plan, _quote_duckdb(table), _quote_duckdb, lambda _position: "?")
        with self._session(f"read {table}") as connection:
            arrow_table = connection.sql(
                sql, params=[condition.value for condition in bound]
            ).to_arrow_table()
        return _frame_from_arrow(arrow_table, table, plan.columns)

    def close(self) -> None:
        with self._memory_lock:
            self._closed = True
            if self._memory_connection is not None:
                self._memory_connection.close()
                self._memory_connection = None


# --------------------------------------------------------------------------- BigQuery

_BIGQUERY_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,127}$")
_BIGQUERY_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")

# Error reasons BigQuery reports for faults that pass: rate limits, quota windows,
# backend hiccups.
_BIGQUERY_TRANSIENT_REASONS = frozenset(
    {"rateLimitExceeded", "quotaExceeded", "backendError", "internalError", "jobBackendError"}
)


def _bigquery_json_rows(frame: pd.DataFrame, table: str) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts for a load job: NULL as None, timestamps as RFC 3339 UTC."""
    types = _field_types(table)
    values_by_column: list[list[object]] = []
    for name in frame.columns:
        field_type = types[name]
        values: list[object] = []
        for value in frame[name].astype(object):
            if _is_missing(value):
                values.append(None)
            elif field_type == "TIMESTAMP":
                values.append(value.strftime(_RFC3339_MICROS))
            elif field_type == "INT64":
                values.append(int(value))
            elif field_type == "FLOAT64":
                number = float(value)
                # JSON has no NaN or infinity; BigQuery would reject the whole file.
                values.append(number if math.isfinite(number) else None)
            elif field_type == "BOOL":
                values.append(bool(value))
            else:
                values.append(str(value))
        values_by_column.append(values)
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*values_by_column, strict=True)]


class BigQueryWarehouse:
    """The cloud warehouse: tables in one BigQuery dataset, created by infra/ (Terraform).

    ``client`` is a ``google.cloud.bigquery.Client`` or anything with the same ``query``
    and ``load_table_from_json`` methods (tests pass a recording fake). Without one, a
    client is built on first use and reused.
    """

    def __init__(
        self,
        project: str,
        dataset: str,
        *,
        client: Any | None = None,
        location: str | None = None,
        job_timeout_seconds: float = BIGQUERY_JOB_TIMEOUT_SECONDS,
    ) -> None:
        # Project and dataset are written into SQL as a quoted table path, so check them.
        if not _BIGQUERY_PROJECT.match(project or ""):
            raise PermanentError(f"not a BigQuery project id: {project!r}")
        if not _BIGQUERY_DATASET.match(dataset or ""):
            raise PermanentError(f"not a BigQuery dataset name: {dataset!r}")
        self.project = project
        self.dataset = dataset
        self.location = location
        self._job_timeout_seconds = job_timeout_seconds
        self._client_instance = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BigQueryWarehouse({self.project!r}, {self.dataset!r})"

    def __enter__(self) -> BigQueryWarehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _client(self) -> Any:
        if self._client_instance is None:
            with self._client_lock:
                if self._client_instance is None:
                    from google.auth.exceptions import DefaultCredentialsError
                    from google.cloud import bigquery

                    try:
                        self._client_instance = bigquery.Client(project=self.project, location=self.location)
                    except DefaultCredentialsError as exc:
                        raise PermanentError(
                            f"no Google credentials to reach BigQuery project {self.project}: {exc}"
                        ) from exc
        return self._client_instance

    def table_id(self, table: str) -> str:
        """``PROJECT.DATASET.TABLE`` of a warehouse table."""
        _check_table(table)
        return f"{self.project}.{self.dataset}.{table}"

    def _table_sql(self, table: str) -> str:
        return f"`{self.table_id(table)}`"

    @staticmethod
    def _schema_fields(table: str) -> list[Any]:
        from google.cloud import bigquery

        return [bigquery.SchemaField.from_api_repr(field) for field in load_schema(table)]

    def _translate(self, exc: BaseException, action: str, table: str) -> DropscoreError | None:
        """The dropscore error for a vendor error, or None when it is not a BigQuery fault."""
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
        from requests import exceptions as requests_exceptions

        where = self.table_id(table)
        text = str(exc)
        errors = getattr(exc, "errors", None) or []
        reasons = {error.get("reason") for error in errors if isinstance(error, dict)}
        if (
            isinstance(exc, (api_exceptions.ServerError, api_exceptions.TooManyRequests))
            or reasons & _BIGQUERY_TRANSIENT_REASONS
            # Two DML statements on one table at once: BigQuery aborts one of them.
            or "concurrent update" in text.lower()
        ):
            return TransientError(f"BigQuery {action} on {where} failed; retry: {text}")
        if isinstance(
            exc,
            (
                api_exceptions.RetryError,
                auth_exceptions.TransportError,
                requests_exceptions.ConnectionError,
                requests_exceptions.Timeout,
                ConnectionError,
                TimeoutError,  # also what job.result(timeout=...) raises
            ),
        ):
            return TransientError(f"BigQuery {action} on {where} did not complete; retry: {text}")
        if isinstance(exc, api_exceptions.NotFound):
            if re.search(r"not found:\s*dataset", text, re.IGNORECASE):
                return PermanentError(
                    f"BigQuery dataset {self.project}.{self.dataset} does not exist (or these credentials "
                    f"cannot see it). infra/ creates it with its tables: run terraform apply in infra/, or "
                    f"point DROPSCORE_WAREHOUSE at the right bigquery://PROJECT/DATASET. ({text})"
                )
            return PermanentError(
                f"BigQuery table {where} does not exist. infra/ creates the tables from "
                f"shared/schemas/*.json: run terraform apply in infra/. ({text})"
            )
        if isinstance(
            exc, (api_exceptions.Forbidden, api_exceptions.Unauthorized, auth_exceptions.RefreshError)
        ):
            return PermanentError(
                f"BigQuery refused {action} on {where}: the service account needs "
                f"roles/bigquery.dataEditor on dataset {self.project}.{self.dataset} and "
                f"roles/bigquery.jobUser on project {self.project}. ({text})"
            )
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            return PermanentError(f"BigQuery rejected {action} on {where}: {text}")
        return None

    @contextmanager
    def _vendor_errors(self, action: str, table: str) -> Iterator[None]:
        try:
            yield
        except DropscoreError:
            raise
        except Exception as exc:
            translated = self._translate(exc, action, table)
            if translated is None:
                raise
            raise translated from exc

    def _run_query(self, sql: str, parameters: list[Any], action: str, table: str) -> Any:
        from google.cloud import bigquery

        client = self._client()
        with self._vendor_errors(action, table):
            job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters))
            return job.result(timeout=self._job_timeout_seconds)

    # -- the protocol

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        frame = _conform_rows(table, rows, batch_key)
        # BigQuery cannot delete and load in one transaction, so this is two steps. It is
        # still safe under at-least-once delivery: a load job is all or nothing, and if
        # anything fails after the delete (the load, the wait, the function before it
        # acknowledges the event), the retry runs the delete again, removing the rows a
        # finished load left, and loads the batch anew. The DELETE may follow a load at once
        # because load jobs, unlike streaming inserts, leave no streaming buffer.
        # Limits: two deliveries of one event running at the same moment can interleave
        # (delete, delete, load, load) and leave the batch twice, so handlers must not work
        # on the same event concurrently; and a load that outlives its wait is cancelled
        # (in _load) so that it cannot land after the retry's delete.
        self._delete_batch(table, batch_key)
        if not len(frame):
            return 0
        self._load(table, frame, batch_key)
        return len(frame)

    def _delete_batch(self, table: str, batch_key: str) -> None:
        from google.cloud import bigquery

        self._run_query(
            f"DELETE FROM {self._table_sql(table)} WHERE batch_key = @batch_key",
            [bigquery.ScalarQueryParameter("batch_key", "STRING", batch_key)],
            f"delete of batch {batch_key!r}",
            table,
        )

    def _load(self, table: str, frame: pd.DataFrame, batch_key: str) -> None:
        """One load job of conformed rows, waited for; cancelled if it outlives the wait."""
        from google.cloud import bigquery

        job_config = bigquery.LoadJobConfig(
            schema=self._schema_fields(table),
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            # Never let a load create the table: it would come out without partitioning and
            # clustering. A missing table is a deployment error that infra/ fixes.
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        client = self._client()
        with self._vendor_errors(f"load of batch {batch_key!r}", table):
            job = client.load_table_from_json(_bigquery_json_rows(frame, table), self.table_id(table), job_config=job_config)
            try:
                job.result(timeout=self._job_timeout_seconds)
            except TimeoutError:
                self._cancel_quietly(job)
                raise

    @contextmanager
    def batch_writer(self, table: str, batch_key: str, *, rows_per_load: int = BIGQUERY_ROWS_PER_LOAD) -> Iterator[_BigQueryBatchWriter]:
        """See :func:`batch_writer`: one delete, then a load job per ``rows_per_load`` appended rows."""
        _conform_rows(table, pd.DataFrame(), batch_key)
        # The same reasoning as write_batch: delete first, then loads (all or nothing each). A
        # failure after the delete leaves the batch partly loaded until the retry, which deletes
        # again and loads it all anew.
        self._delete_batch(table, batch_key)
        writer = _BigQueryBatchWriter(self, table, batch_key, rows_per_load)
        yield writer
        writer.flush()

    @staticmethod
    def _cancel_quietly(job: Any) -> None:
        # Best effort: the TimeoutError being raised is what the caller needs to see.
        try:
            job.cancel()
        except Exception:  # whatever goes wrong here, the original error is the one to raise
            pass

    def has_batch(self, table: str, batch_key: str) -> bool:
        from google.cloud import bigquery

        result = self._run_query(
            f"SELECT 1 AS present FROM {self._table_sql(table)} WHERE batch_key = @batch_key LIMIT 1",
            [bigquery.ScalarQueryParameter("batch_key", "STRING", str(batch_key))],
            f"look-up of batch {batch_key!r}",
            table,
        )
        with self._vendor_errors(f"look-up of batch {batch_key!r}", table):
            return any(True for _row in result)

    def read(
        self,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        time_column: str | None = None,
        where: dict[str, object] | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> pd.DataFrame:
        from google.cloud import bigquery

        plan = _plan_read(
            table,
            since=since,
            until=until,
            time_column=time_column,
            where=where,
            columns=columns,
            limit=limit,
            newest_first=newest_first,
        )
        sql, bound = _render_select(
            plan, self._table_sql(table), lambda name: f"`{name}`", lambda position: f"@p{position}"
        )
        parameters = [
            bigquery.ScalarQueryParameter(f"p{position}", condition.field_type, condition.value)
            for position, condition in enumerate(bound)
        ]
        result = self._run_query(sql, parameters, "read", table)
        with self._vendor_errors("read", table):
            # REST pages, not the BigQuery Storage API: google-cloud-bigquery-storage is not a
            # dependency, and asking for it would only log a warning on every read.
            arrow_table = result.to_arrow(create_bqstorage_client=False)
        return _frame_from_arrow(arrow_table, table, plan.columns)

    def close(self) -> None:
        # An injected client belongs to the caller; only the one built here is closed (and
        # forgotten, so a later call builds a fresh one).
        if not self._owns_client:
            return
        with self._client_lock:
            client, self._client_instance = self._client_instance, None
        if client is not None:
            client.close()


# --------------------------------------------------------------------------- streamed batches


class _DuckDBBatchWriter:
    """Conforms each chunk and appends it to a local Parquet file (one row group per chunk)."""

    def __init__(self, table: str, batch_key: str, path: Path) -> None:
        self.table, self.batch_key, self.path = table, batch_key, path
        self.rows_written = 0
        self._schema = _arrow_schema(table)
        self._writer: Any = None

    def append(self, rows: pd.DataFrame) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = _conform_rows(self.table, rows, self.batch_key)
        if not len(frame):
            return 0
        arrow_table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        self._writer.write_table(arrow_table)
        self.rows_written += len(frame)
        return len(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _BigQueryBatchWriter:
    """Conforms each chunk at once; loads whenever ``rows_per_load`` rows are waiting."""

    def __init__(self, warehouse: BigQueryWarehouse, table: str, batch_key: str, rows_per_load: int) -> None:
        self._warehouse, self.table, self.batch_key = warehouse, table, batch_key
        self._rows_per_load = max(1, int(rows_per_load))
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self.rows_written = 0
        self.loads = 0

    def append(self, rows: pd.DataFrame) -> int:
        frame = _conform_rows(self.table, rows, self.batch_key)
        if len(frame):
            self._pending.append(frame)
            self._pending_rows += len(frame)
            self.rows_written += len(frame)
        while self._pending_rows >= self._rows_per_load:
            self._load(self._rows_per_load)
        return len(frame)

    def flush(self) -> None:
        if self._pending_rows:
            self._load(self._pending_rows)

    def _load(self, count: int) -> None:
        waiting = pd.concat(self._pending, ignore_index=True) if len(self._pending) > 1 else self._pending[0]
        self._warehouse._load(self.table, waiting.iloc[:count].reset_index(drop=True), self.batch_key)
        self.loads += 1
        rest = waiting.iloc[count:].reset_index(drop=True)
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)


# --------------------------------------------------------------------------- opening


def _duckdb_path(uri: str) -> str:
    rest = uri[len("duckdb://") :]
    bare = rest.lstrip("/")
    if bare == ":memory:":
        return ":memory:"
    if not rest.startswith("/") or not bare:
        raise PermanentError(
            f"a DuckDB warehouse URI needs an absolute path: duckdb:///abs/path/file.duckdb, got {uri!r}"
        )
    if re.match(r"^[A-Za-z]:[/\\]", bare):
        return bare  # duckdb:///C:/folder/file.duckdb
    # settings builds f"duckdb:///{absolute_path}", which has four slashes: take any run
    # of leading slashes as the root.
    return "/" + bare


def open_warehouse(uri: str) -> Warehouse:
    """The warehouse named by ``uri``.

    - ``duckdb:///abs/path/file.duckdb``: an embedded file, created with its tables on first use;
    - ``duckdb:///:memory:``: an in-memory database (tests);
    - ``bigquery://PROJECT/DATASET`` (optionally ``?location=REGION``): tables created by infra/.
    """
    text = (uri or "").strip()
    if text.startswith("duckdb://"):
        return DuckDBWarehouse(_duckdb_path(text))
    if text.startswith("bigquery://"):
        parts = urlsplit(text)
        project = parts.netloc
        dataset = parts.path.strip("/")
        if not project or not dataset or "/" in dataset:
            raise PermanentError(f"a BigQuery warehouse URI is bigquery://PROJECT/DATASET, got {uri!r}")
        location = (parse_qs(parts.query).get("location") or [None])[0]
        return BigQueryWarehouse(project, dataset, location=location)
    raise PermanentError(
        f"unsupported warehouse URI {uri!r}: use duckdb:///abs/path/file.duckdb or bigquery://PROJECT/DATASET"
    )
