"""Rows given as an Arrow table (shared.backends.warehouse.frames.conform_arrow) are checked and stored
exactly as the pandas frame Arrow makes of them: the same errors, the same staged Arrow table (what
DuckDB inserts), the same frame (what BigQuery loads), on every table and every column type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.backends.warehouse import batch_writer
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.backends.warehouse.frames import (
    arrow_to_pandas_dtype,
    conform_arrow,
    conform_rows,
    conformed_arrow,
    conformed_frame,
)
from shared.backends.warehouse.schema import TABLES, table_fields
from shared.errors import PermanentError
from tests.backends.warehouse.bigquery_fake import FakeBigQueryClient

KEY = "gs://clean/incoming/a.csv.parquet#1"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

# Text a user's file or a model may put in a cell: accents, quotes, separators, what looks like a
# number or a missing value, nothing at all, and characters outside the Basic Multilingual Plane.
odd_text = st.one_of(
    st.sampled_from(["", " ", "nan", "None", "NULL", "1,5", "=1+1", '"x";y', "%s %r", "cédula Ñandú", "línea\nnueva", "\t", "😀"]),
    st.text(max_size=8),
)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))


def _with_nulls(values: st.SearchStrategy, size: int) -> st.SearchStrategy:
    return st.lists(st.one_of(st.none(), values), min_size=size, max_size=size)


@st.composite
def arrow_column(draw: st.DrawFn, field_type: str, size: int) -> pa.Array:
    """A column meant for a field of ``field_type``: of that type, of a near type, or of a wrong one."""
    if field_type == "STRING":
        kind = draw(st.sampled_from(["string", "large_string", "dictionary", "int64", "null"]))
        if kind == "int64":
            return pa.array(draw(_with_nulls(st.integers(-(2**63), 2**63 - 1), size)), pa.int64())
        if kind == "null":
            return pa.nulls(size)
        text = pa.array(draw(_with_nulls(odd_text, size)), pa.large_string() if kind == "large_string" else pa.string())
        return text.dictionary_encode() if kind == "dictionary" else text
    if field_type == "FLOAT64":
        kind = draw(st.sampled_from(["float64", "float64", "float32", "int64", "text"]))
        if kind == "int64":
            return pa.array(draw(_with_nulls(st.integers(-(2**40), 2**40), size)), pa.int64())
        if kind == "text":
            return pa.array(draw(_with_nulls(st.sampled_from(["1.5", "-0", "1e3", "inf", "uno"]), size)), pa.string())
        # NaN given as NaN (not NULL) too: pandas cannot tell them apart, so NULL is what is stored.
        values = draw(st.lists(st.one_of(st.none(), floats), min_size=size, max_size=size))
        return pa.array(values, pa.float32() if kind == "float32" else pa.float64())
    if field_type == "INT64":
        kind = draw(st.sampled_from(["int64", "int32", "float64", "null"]))
        if kind == "null":
            return pa.nulls(size)
        if kind == "float64":
            return pa.array(draw(_with_nulls(st.sampled_from([0.0, 3.0, -2.0, 1.5]), size)), pa.float64())
        bits = 63 if kind == "int64" else 31
        return pa.array(draw(_with_nulls(st.integers(-(2**bits), 2**bits - 1), size)), getattr(pa, kind)())
    if field_type == "BOOL":
        return pa.array(draw(_with_nulls(st.booleans(), size)), pa.bool_())
    kind = draw(st.sampled_from(["us_utc", "ns_utc", "naive", "bogota", "null"]))
    if kind == "null":
        return pa.nulls(size, pa.timestamp("us", tz="UTC"))
    stamps = draw(_with_nulls(instants, size))
    if kind == "naive":
        return pa.array(stamps, pa.timestamp("us"))
    if kind == "bogota":
        zone = timezone(timedelta(hours=-5))
        return pa.array([None if at is None else at.replace(tzinfo=zone) for at in stamps], pa.timestamp("us", tz="America/Bogota"))
    unit = "ns" if kind == "ns_utc" else "us"
    return pa.array([None if at is None else at.replace(tzinfo=UTC) for at in stamps], pa.timestamp(unit, tz="UTC"))


@st.composite
def arrow_rows(draw: st.DrawFn) -> tuple[str, pa.Table]:
    table = draw(st.sampled_from(TABLES))
    fields = {field["name"]: field["type"] for field in table_fields(table)}
    size = draw(st.integers(0, 5))
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
    columns = [draw(arrow_column(fields[name], size)) for name in names]
    if draw(st.integers(0, 9)) == 0:  # a column the table does not have
        names.append("colour")
        columns.append(pa.array(["red"] * size))
    if names and draw(st.integers(0, 9)) == 0:  # a name given twice
        names.append(names[0])
        columns.append(columns[0])
    return table, pa.Table.from_arrays(columns, names=names) if names else pa.table({})


def _outcome(convert):  # noqa: ANN001, ANN202
    try:
        return "stored", convert()
    except PermanentError as exc:
        return "refused", str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrow_rows())
def test_an_arrow_table_is_stored_as_the_frame_arrow_makes_of_it(case: tuple[str, pa.Table]) -> None:
    table, rows = case
    frame = rows.to_pandas(types_mapper=arrow_to_pandas_dtype)
    expected_kind, expected = _outcome(lambda: conformed_arrow(table, frame, KEY))
    actual_kind, actual = _outcome(lambda: conform_arrow(table, rows, KEY))
    assert (actual_kind, actual if actual_kind == "refused" else None) == (expected_kind, expected if expected_kind == "refused" else None)
    if actual_kind == "stored":
        # What DuckDB stages and inserts: the same Arrow values, NULLs (a float NaN included) where the frame has them.
        assert actual.schema == expected.schema
        assert actual.equals(expected), (actual.to_pydict(), expected.to_pydict())
        # What BigQuery loads: the same frame, dtypes and all.
        pd.testing.assert_frame_equal(conformed_frame(table, rows, KEY), conform_rows(table, frame, KEY))


def test_nan_in_an_arrow_float_column_is_stored_as_null(memory_warehouse: DuckDBWarehouse) -> None:
    rows = pa.table({"row_id": ["a", "b", "c"], "score": pa.array([0.5, np.nan, None], pa.float64()), "scored_at": pa.array([T0] * 3, pa.timestamp("us", tz="UTC"))})
    with batch_writer(memory_warehouse, "predictions", KEY) as writer:
        assert writer.append(rows) == 3
    stored = memory_warehouse._select("predictions", "SELECT row_id, score IS NULL AS missing FROM predictions ORDER BY row_id", [])
    assert stored.column("missing").to_pylist() == [False, True, True]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (pa.table({"colour": ["red"], "scored_at": pa.array([T0], pa.timestamp("us", tz="UTC"))}), r"predictions: unknown columns \['colour'\]"),
        (pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["row_id", "row_id"]), "repeated column names"),
        (pa.table({"row_id": ["a", "b"], "scored_at": pa.array([T0, None], pa.timestamp("us", tz="UTC"))}), "predictions.scored_at is required but 1 of 2 rows have no value"),
        (pa.table({"row_id": ["a"]}), "predictions.scored_at is required but 1 of 1 rows have no value"),
        (pa.table({"score": ["uno"], "scored_at": pa.array([T0], pa.timestamp("us", tz="UTC"))}), "predictions.score: the values cannot be stored as FLOAT64"),
        ([{"row_id": "a"}], "rows must be a pandas DataFrame or an Arrow table, got list"),
    ],
)
def test_bad_arrow_rows_are_refused_with_the_frame_paths_message(rows: object, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        conform_arrow("predictions", rows, KEY)  # type: ignore[arg-type]
    with pytest.raises(PermanentError, match="batch_key must be a non-empty string"):
        conform_arrow("predictions", pa.table({"row_id": ["a"]}), "")


def test_bigquery_loads_the_same_json_rows_from_arrow_as_from_a_frame() -> None:
    rows = pa.table(
        {
            "row_id": pa.array(["a", None, "ñ"]), "score": pa.array([0.25, np.nan, 1.0]), "label": pa.array(["sí", "no", None]),
            "scored_at": pa.array([T0, T0, T0], pa.timestamp("us", tz="UTC")), "class_scores": pa.array(['{"Alto": 0.5}', None, "{}"]),
        }
    )
    loaded = []
    for given_rows in (rows.to_pandas(types_mapper=arrow_to_pandas_dtype), rows):
        client = FakeBigQueryClient()
        with batch_writer(BigQueryWarehouse("p", "d", client=client), "predictions", KEY) as writer:
            writer.append(given_rows)
        loaded.append([row for call in client.calls if call.kind == "load" for row in call.rows])
    assert loaded[0] == loaded[1] and len(loaded[1]) == 3
    assert loaded[1][1]["score"] is None and loaded[1][2]["label"] is None
