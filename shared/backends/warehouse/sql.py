"""The SQL both engines share: a read planned against the schema, rendered for DuckDB or BigQuery, and
the one ``read()`` both warehouses run (:class:`SqlReads`).

Values never enter SQL text: they bind to placeholders (``?`` in DuckDB, ``@pN`` in BigQuery).
Only column names checked against the schema and an integer limit are written into it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shared.backends.warehouse.frames import frame_from_arrow, is_missing
from shared.backends.warehouse.schema import check_table, column_names, field_types, partition_column
from shared.errors import PermanentError

if TYPE_CHECKING:
    import pyarrow

# Rows that share a timestamp still come back in one order on both backends.
TIE_BREAKERS: dict[str, tuple[str, ...]] = {
    "predictions": ("batch_key", "row_id", "model_role"),
    "batches": ("batch_key",),
    "drift_results": ("batch_key", "feature", "kind", "method"),
    "alerts": ("batch_key", "alert_id"),
    "model_events": ("batch_key", "event_id"),
}


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str  # "=", ">=", "<" (value bound as a parameter) or "IS NULL" (no value)
    value: object
    field_type: str


@dataclass(frozen=True)
class ReadPlan:
    table: str
    columns: tuple[str, ...]
    conditions: tuple[Condition, ...]
    time_column: str
    tie_breakers: tuple[str, ...]
    newest_first: bool
    limit: int | None


def to_utc_datetime(value: object, label: str) -> datetime:
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


def parameter_value(value: object, field_type: str, label: str) -> object:
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
            return to_utc_datetime(value, label)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PermanentError(f"{label}: cannot compare with {value!r} as {field_type}: {exc}") from exc
    raise PermanentError(f"{label}: unsupported schema type {field_type}")


def plan_read(
    table: str,
    *,
    since: datetime | None,
    until: datetime | None,
    time_column: str | None,
    where: Mapping[str, object] | None,
    columns: list[str] | None,
    limit: int | None,
    newest_first: bool,
) -> ReadPlan:
    """Validate a read against the schema; every name that reaches SQL comes from the schema."""
    check_table(table)
    types = field_types(table)

    def known(name: object, role: str) -> str:
        if not isinstance(name, str) or name not in types:
            raise PermanentError(f"{table}: unknown {role} {name!r}; columns are {', '.join(types)}")
        return name

    selected = (
        tuple(known(name, "column") for name in columns) if columns is not None else column_names(table)
    )
    if not selected:
        raise PermanentError(f"{table}: columns must name at least one column")
    if len(set(selected)) != len(selected):
        raise PermanentError(f"{table}: repeated names in columns: {list(selected)}")

    time_name = known(time_column, "time column") if time_column is not None else partition_column(table)
    if types[time_name] != "TIMESTAMP":
        raise PermanentError(f"{table}: time column {time_name!r} is {types[time_name]}, not TIMESTAMP")

    conditions: list[Condition] = []
    if since is not None:
        conditions.append(Condition(time_name, ">=", to_utc_datetime(since, "since"), "TIMESTAMP"))
    if until is not None:
        conditions.append(Condition(time_name, "<", to_utc_datetime(until, "until"), "TIMESTAMP"))
    for name, value in (where or {}).items():
        column = known(name, "where column")
        if is_missing(value):
            conditions.append(Condition(column, "IS NULL", None, types[column]))
        else:
            bound = parameter_value(value, types[column], f"{table}.{column}")
            conditions.append(Condition(column, "=", bound, types[column]))

    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0
    ):
        raise PermanentError(f"{table}: limit must be a non-negative integer, got {limit!r}")

    tie_breakers = tuple(name for name in TIE_BREAKERS[table] if name != time_name and name in types)
    return ReadPlan(
        table=table,
        columns=selected,
        conditions=tuple(conditions),
        time_column=time_name,
        tie_breakers=tie_breakers,
        newest_first=bool(newest_first),
        limit=int(limit) if limit is not None else None,
    )


def render_select(
    plan: ReadPlan, table_sql: str, quote: Callable[[str], str], placeholder: Callable[[int], str]
) -> tuple[str, list[Condition]]:
    """SQL text for ``plan`` and the conditions whose values bind to its placeholders, in order.

    Values never enter the text; only schema-checked column names and an integer limit do.
    """
    bound: list[Condition] = []
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


class SqlReads:
    """The one ``read()`` of both warehouses: plan it against the schema, render it in the engine's
    dialect, run it, and conform what comes back. An engine says how it quotes a name, writes a
    placeholder and names a table, and how it runs a SELECT into an Arrow table."""

    def _quote(self, name: str) -> str:
        raise NotImplementedError

    def _placeholder(self, position: int) -> str:
        raise NotImplementedError

    def _table_sql(self, table: str) -> str:
        raise NotImplementedError

    def _select(self, table: str, sql: str, bound: list[Condition]) -> pyarrow.Table:
        """Run ``sql`` with ``bound``'s values on its placeholders, in order; vendor errors made ours."""
        raise NotImplementedError

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
        """See :meth:`shared.backends.warehouse.Warehouse.read`."""
        plan = plan_read(
            table,
            since=since,
            until=until,
            time_column=time_column,
            where=where,
            columns=columns,
            limit=limit,
            newest_first=newest_first,
        )
        sql, bound = render_select(plan, self._table_sql(table), self._quote, self._placeholder)
        return frame_from_arrow(self._select(table, sql, bound), table, plan.columns)
