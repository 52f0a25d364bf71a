"""The warehouse tables: their columns, types, partitioning and clustering, read from ``schemas/`` beside this module.

One BigQuery JSON schema per table (``schemas/<table>.json``) plus ``schemas/tables.json`` with each
table's partitioning and clustering. Terraform reads the same files to create the BigQuery tables
(infra/bigquery.tf), and the DuckDB backend creates its tables from them, so a column is added in
exactly one place. Here too: the pandas dtype each schema type comes back as.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shared.errors import PermanentError

TABLES: tuple[str, ...] = ("predictions", "batches", "drift_results", "alerts", "model_events")

BATCH_KEY_COLUMN = "batch_key"

SCHEMA_FOLDER = Path(__file__).resolve().parent / "schemas"
# How messages name the folder: its path in the repository.
_SCHEMA_FOLDER = "shared/backends/warehouse/schemas"
_TABLE_OPTIONS_FILE = "tables.json"

FIELD_TYPES = ("STRING", "FLOAT64", "INT64", "BOOL", "TIMESTAMP")
_FIELD_MODES = ("NULLABLE", "REQUIRED")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

# pandas' own default string dtype (pandas >= 3), so frames read back compare equal to
# frames built by the rest of the code; nullable Int64/boolean so a NULL does not turn
# integers into floats or booleans into objects.
STRING_DTYPE = pd.StringDtype(na_value=np.nan)
TIMESTAMP_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")  # both backends store microseconds
PANDAS_DTYPES: dict[str, Any] = {
    "STRING": STRING_DTYPE,
    "FLOAT64": np.dtype("float64"),
    "INT64": pd.Int64Dtype(),
    "BOOL": pd.BooleanDtype(),
    "TIMESTAMP": TIMESTAMP_DTYPE,
}


def check_table(table: str) -> None:
    if table not in TABLES:
        raise PermanentError(f"unknown warehouse table {table!r}; the tables are {', '.join(TABLES)}")


@cache
def _read_json_resource(name: str) -> Any:
    resource = SCHEMA_FOLDER / name
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PermanentError(f"cannot read warehouse schema file {_SCHEMA_FOLDER}/{name}: {exc}") from exc


@cache
def table_fields(table: str) -> tuple[Mapping[str, str], ...]:
    check_table(table)
    fields = _read_json_resource(f"{table}.json")
    if not isinstance(fields, list) or not fields:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json must be a non-empty list of fields")
    names: set[str] = set()
    for field in fields:
        name = field.get("name") if isinstance(field, dict) else None
        # Names are written into SQL (quoted), so only plain identifiers are allowed.
        if not isinstance(name, str) or not _IDENTIFIER.match(name) or name in names:
            raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json: bad or repeated column name {name!r}")
        if field.get("type") not in FIELD_TYPES or field.get("mode", "NULLABLE") not in _FIELD_MODES:
            raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json: unsupported type or mode for {name!r}")
        names.add(name)
    if BATCH_KEY_COLUMN not in names:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{table}.json has no {BATCH_KEY_COLUMN} column")
    return tuple(fields)


def load_schema(table: str) -> list[dict[str, str]]:
    """The BigQuery JSON schema of ``table`` (a list of ``name``/``type``/``mode``/``description``).

    Read from ``shared/backends/warehouse/schemas/<table>.json``, the file Terraform also reads. The result is
    a fresh copy: callers may modify it.
    """
    return copy.deepcopy([dict(field) for field in table_fields(table)])


def load_table_options(table: str) -> dict[str, Any]:
    """Partitioning, clustering and description of ``table`` from ``shared/backends/warehouse/schemas/tables.json``.

    The keys follow Terraform's ``google_bigquery_table``: ``time_partitioning`` (``type``,
    ``field``), ``clustering`` (list of columns) and ``description``.
    """
    check_table(table)
    options = _read_json_resource(_TABLE_OPTIONS_FILE)
    if not isinstance(options, dict) or table not in options:
        raise PermanentError(f"{_SCHEMA_FOLDER}/{_TABLE_OPTIONS_FILE} has no entry for {table!r}")
    return copy.deepcopy(options[table])


@cache
def partition_column(table: str) -> str:
    """The TIMESTAMP column ``table`` is partitioned on (the default time column of reads)."""
    column = load_table_options(table).get("time_partitioning", {}).get("field")
    if field_types(table).get(column) != "TIMESTAMP":
        raise PermanentError(
            f"{_SCHEMA_FOLDER}/{_TABLE_OPTIONS_FILE}: {table} must partition on a TIMESTAMP column"
        )
    return column


def column_names(table: str) -> tuple[str, ...]:
    return tuple(field["name"] for field in table_fields(table))


@cache
def field_types(table: str) -> dict[str, str]:
    return {field["name"]: field["type"] for field in table_fields(table)}
