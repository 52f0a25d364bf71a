"""The clean objects' Parquet writer (shared.delivery.parquet_io.clean_parquet_writer): whatever the
columns are called and hold, the rows read back exactly; dictionaries and statistics go where they pay."""

from __future__ import annotations

import io
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.delivery.parquet_io import CLEAN_PARQUET_COMPRESSION, clean_parquet_writer

# Column names as users write headers (passthrough columns keep theirs): dots, spaces, accents, quotes.
NAMES = st.text(alphabet=st.sampled_from("aé.ñ _\"'$;,#Ü0-"), min_size=1, max_size=8)
TEXT = st.one_of(st.none(), st.text(max_size=6))
NUMBER = st.one_of(st.none(), st.floats(allow_nan=False), st.sampled_from([0.0, 1.5, -2.25]))


def _written(tables: list[pa.Table]) -> bytes:
    sink = io.BytesIO()
    writer = clean_parquet_writer(sink, tables[0])
    for table in tables:
        writer.write_table(table)
    writer.close()
    return sink.getvalue()


@st.composite
def clean_tables(draw: st.DrawFn) -> list[pa.Table]:
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    kinds = [draw(st.sampled_from(["text", "number", "repeated", "nulls", "flag", "whole", "bytes"])) for _ in names]
    chunks = []
    for rows in draw(st.lists(st.integers(0, 12), min_size=1, max_size=3)):
        columns = []
        for kind in kinds:
            if kind == "text":
                columns.append(pa.array(draw(st.lists(TEXT, min_size=rows, max_size=rows)), pa.string()))
            elif kind == "number":
                columns.append(pa.array(draw(st.lists(NUMBER, min_size=rows, max_size=rows)), pa.float64()))
            elif kind == "repeated":
                columns.append(pa.array([draw(st.sampled_from(["sí", "no"])) for _ in range(rows)], pa.string()))
            elif kind == "nulls":
                columns.append(pa.nulls(rows))  # a type with no count_distinct kernel
            elif kind == "flag":
                columns.append(pa.array(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=rows, max_size=rows)), pa.bool_()))
            elif kind == "whole":
                columns.append(pa.array(draw(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=rows, max_size=rows)), pa.int64()))
            else:
                columns.append(pa.array(draw(st.lists(st.one_of(st.none(), st.binary(max_size=4)), min_size=rows, max_size=rows)), pa.binary()))
        chunks.append(pa.table(columns, names=names))
    return chunks


@given(clean_tables())
@settings(max_examples=80, deadline=None)
def test_rows_read_back_exactly(tables: list[pa.Table]) -> None:
    back = pq.read_table(io.BytesIO(_written(tables)))
    assert back.schema == tables[0].schema
    assert back.to_pylist() == pa.concat_tables(tables).to_pylist()


def test_dictionaries_where_values_repeat_and_statistics_for_numbers_and_dates() -> None:
    rows = 1000
    table = pa.table(
        {
            "provincia": pa.array(["Pichincha", "Guayas", "Azuay", None] * (rows // 4)),
            "cedula": pa.array([f"17{index:08d}" for index in range(rows)]),
            "ventas.mensuales": pa.array([index * 1.25 for index in range(rows)]),
            "fecha": pa.array([datetime(2026, 1, 1 + index % 28) for index in range(rows)], pa.timestamp("ms")),
        }
    )
    metadata = pq.ParquetFile(io.BytesIO(_written([table]))).metadata
    columns = {metadata.row_group(0).column(i).path_in_schema: metadata.row_group(0).column(i) for i in range(table.num_columns)}
    dictionary = {name for name, column in columns.items() if any("DICT" in encoding for encoding in column.encodings)}
    assert dictionary == {"provincia", "fecha"}
    with_statistics = {name for name, column in columns.items() if column.is_stats_set}
    assert with_statistics == {"ventas.mensuales", "fecha"}
    assert {column.compression for column in columns.values()} == {CLEAN_PARQUET_COMPRESSION.upper()}
