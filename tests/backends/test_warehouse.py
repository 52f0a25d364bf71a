"""Tests of shared.backends.warehouse.

DuckDB is the real thing (in memory and on files, with several processes on one file).
BigQuery has no offline emulator, so its backend is tested at our seam: a fake client
that records the calls it gets and serves results; tests/test_warehouse_bigquery_live.py
does the real round trip when credentials are available.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import multiprocessing
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import bigquery

import shared.backends.warehouse as warehouse_module
from shared.backends.warehouse import (
    TABLES,
    BigQueryWarehouse,
    DuckDBWarehouse,
    Warehouse,
    batch_writer,
    load_schema,
    load_table_options,
    open_warehouse,
    partition_column,
)
from shared.errors import PermanentError, TransientError

SCHEMA_FOLDER = Path(warehouse_module.__file__).resolve().parents[1] / "schemas"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

EXPECTED_DTYPES = {
    "STRING": "str",
    "FLOAT64": "float64",
    "INT64": "Int64",
    "BOOL": "boolean",
    "TIMESTAMP": "datetime64[us, UTC]",
}

# The columns other modules code against; a change here is a change of interface.
EXPECTED_COLUMNS = {
    "predictions": [
        "batch_key", "source_uri", "row_id", "score", "label", "reason_1", "reason_2", "reason_3",
        "model_version", "model_role", "scored_at", "prediction_low", "prediction_high", "class_scores",
    ],
    "batches": [
        "batch_key", "kind", "source_uri", "clean_uri", "predictions_uri", "quarantine_uri", "rows_in",
        "rows_clean", "rows_quarantined", "rows_scored", "model_version", "status", "processed_at",
        "source_generation", "superseded_by", "unknown_categories",
    ],
    "drift_results": [
        "batch_key", "check_id", "checked_at", "model_version", "feature", "kind", "method", "effect_size",
        "p_value", "p_value_adjusted", "psi", "severity", "drifted", "insufficient_data", "rows_reference",
        "rows_current", "window_start", "window_end", "importance", "effect_size_previous",
        "p_value_previous_adjusted", "pattern", "window_rows", "check_status", "retrain_requested",
    ],
    "alerts": [
        "batch_key", "alert_id", "created_at", "check_id", "severity", "category", "title_es", "title_en",
        "evidence", "action_es", "action_en", "priority", "delivery",
    ],
    "model_events": [
        "batch_key", "event_id", "occurred_at", "model_name", "event", "version", "previous_version", "actor",
        "reason", "metrics",
    ],
}  # fmt: skip


# --------------------------------------------------------------------------- helpers


def sample_rows(table: str, count: int = 3, *, tag: str = "a", start: datetime = T0) -> pd.DataFrame:
    """Rows with every column but batch_key filled with its type; row 1 holds NULLs where allowed."""
    partition = partition_column(table)
    data: dict[str, list[Any]] = {}
    for field_spec in load_schema(table):
        name, field_type = field_spec["name"], field_spec["type"]
        if name == "batch_key":
            continue
        if field_type == "STRING":
            values: list[Any] = [f"{tag}-{name}-{index}" for index in range(count)]
        elif field_type == "FLOAT64":
            values = [index + 0.25 for index in range(count)]
        elif field_type == "INT64":
            values = [10 * index for index in range(count)]
        elif field_type == "BOOL":
            values = [index % 2 == 0 for index in range(count)]
        else:
            values = [start + timedelta(hours=index) for index in range(count)]
        if count > 1 and field_spec["mode"] != "REQUIRED" and name != partition:
            values[1] = None
        data[name] = values
    return pd.DataFrame(data)


def prediction_rows(count: int, *, tag: str, start: datetime = T0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_uri": [f"gs://demo-clean/{tag}.parquet"] * count,
            "row_id": [f"{tag}-{index}" for index in range(count)],
            "score": [round(index / max(count, 1), 3) for index in range(count)],
            "model_version": ["3"] * count,
            "model_role": ["champion"] * count,
            "scored_at": [start + timedelta(minutes=index) for index in range(count)],
        }
    )


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain values with every kind of missing value as None, for comparison."""
    records = []
    for record in frame.astype(object).to_dict("records"):
        records.append({key: None if pd.isna(value) else value for key, value in record.items()})
    return records


def assert_schema_dtypes(frame: pd.DataFrame, table: str) -> None:
    types = {field_spec["name"]: field_spec["type"] for field_spec in load_schema(table)}
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
        name: EXPECTED_DTYPES[types[name]] for name in frame.columns
    }


@pytest.fixture
def memory_warehouse() -> DuckDBWarehouse:
    warehouse = open_warehouse("duckdb:///:memory:")
    assert isinstance(warehouse, DuckDBWarehouse)
    yield warehouse
    warehouse.close()


@pytest.fixture
def file_uri(tmp_path: Path) -> str:
    return f"duckdb://{tmp_path / 'warehouse' / 'warehouse.duckdb'}"


# --------------------------------------------------------------------------- schema files


def test_schema_files_are_valid_bigquery_json_schemas() -> None:
    for table in TABLES:
        on_disk = json.loads((SCHEMA_FOLDER / f"{table}.json").read_text(encoding="utf-8"))
        assert load_schema(table) == on_disk
        assert [field_spec["name"] for field_spec in on_disk] == EXPECTED_COLUMNS[table]
        for field_spec in on_disk:
            assert set(field_spec) == {"name", "type", "mode", "description"}, field_spec
            assert field_spec["type"] in EXPECTED_DTYPES
            assert field_spec["mode"] in ("NULLABLE", "REQUIRED")
            assert len(field_spec["description"]) > 10, field_spec["name"]
            # The client library parses it as Terraform's provider does.
            assert bigquery.SchemaField.from_api_repr(field_spec).to_api_repr() == field_spec
        assert on_disk[0] == {**on_disk[0], "name": "batch_key", "type": "STRING"}


def test_spec_types_and_modes() -> None:
    predictions = {f["name"]: (f["type"], f["mode"]) for f in load_schema("predictions")}
    assert predictions["scored_at"] == ("TIMESTAMP", "REQUIRED")
    assert predictions["score"] == ("FLOAT64", "NULLABLE")
    drift = {f["name"]: f["type"] for f in load_schema("drift_results")}
    assert drift["drifted"] == drift["insufficient_data"] == "BOOL"
    assert drift["rows_reference"] == "INT64"
    assert drift["window_end"] == "TIMESTAMP"
    required = [(t, f["name"]) for t in TABLES for f in load_schema(t) if f["mode"] == "REQUIRED"]
    assert required == [("predictions", "scored_at")]


def test_every_table_has_its_partition_column() -> None:
    options = json.loads((SCHEMA_FOLDER / "tables.json").read_text(encoding="utf-8"))
    assert set(options) == set(TABLES)
    expected_partitions = {
        "predictions": "scored_at",
        "batches": "processed_at",
        "drift_results": "checked_at",
        "alerts": "created_at",
        "model_events": "occurred_at",
    }
    for table in TABLES:
        types = {f["name"]: f["type"] for f in load_schema(table)}
        table_options = load_table_options(table)
        assert table_options["time_partitioning"] == {"type": "DAY", "field": expected_partitions[table]}
        assert partition_column(table) == expected_partitions[table]
        assert types[partition_column(table)] == "TIMESTAMP"
        assert len(table_options["clustering"]) <= 4  # BigQuery's limit
        assert all(column in types for column in table_options["clustering"])
        assert table_options["description"]
    assert load_table_options("predictions")["clustering"] == ["model_version", "source_uri"]
    assert load_table_options("drift_results")["clustering"] == ["feature"]


def test_load_schema_returns_a_copy_and_refuses_unknown_tables() -> None:
    schema = load_schema("alerts")
    schema[0]["name"] = "changed"
    assert load_schema("alerts")[0]["name"] == "batch_key"
    with pytest.raises(PermanentError, match="unknown warehouse table"):
        load_schema("nope")


# --------------------------------------------------------------------------- DuckDB


@pytest.mark.parametrize("table", TABLES)
def test_duckdb_round_trip_per_table(file_uri: str, table: str) -> None:
    warehouse = open_warehouse(file_uri)
    assert isinstance(warehouse, Warehouse)
    rows = sample_rows(table)
    assert warehouse.write_batch(table, rows, "batch-1") == 3
    assert warehouse.has_batch(table, "batch-1")

    result = warehouse.read(table)

    assert list(result.columns) == EXPECTED_COLUMNS[table]
    assert_schema_dtypes(result, table)
    assert result["batch_key"].tolist() == ["batch-1"] * 3
    assert plain_records(result.drop(columns="batch_key")) == plain_records(rows[result.columns[1:]])
    assert str(result[partition_column(table)].dt.tz) == "UTC"
    warehouse.close()


def test_write_batch_twice_with_same_key_replaces(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(3, tag="first"), "gs://raw/a.csv#1")
    written = memory_warehouse.write_batch(
        "predictions", prediction_rows(2, tag="second"), "gs://raw/a.csv#1"
    )

    result = memory_warehouse.read("predictions")
    assert written == 2
    assert result["row_id"].tolist() == ["second-0", "second-1"]
    assert set(result["batch_key"]) == {"gs://raw/a.csv#1"}


def test_a_retry_with_the_same_rows_does_not_duplicate(memory_warehouse: DuckDBWarehouse) -> None:
    rows = prediction_rows(4, tag="retry")
    for _attempt in range(3):
        memory_warehouse.write_batch("predictions", rows, "key")
    assert len(memory_warehouse.read("predictions")) == 4


def test_different_keys_coexist(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(2, tag="one"), "key-1")
    memory_warehouse.write_batch("predictions", prediction_rows(3, tag="two"), "key-2")
    memory_warehouse.write_batch("predictions", prediction_rows(1, tag="one-again"), "key-1")

    result = memory_warehouse.read("predictions")
    assert result.groupby("batch_key").size().to_dict() == {"key-1": 1, "key-2": 3}
    assert memory_warehouse.has_batch("predictions", "key-2")
    assert not memory_warehouse.has_batch("predictions", "key-3")
    assert not memory_warehouse.has_batch("batches", "key-1")


def test_writing_no_rows_empties_the_batch(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(2, tag="x"), "key")
    assert memory_warehouse.write_batch("predictions", prediction_rows(0, tag="x"), "key") == 0
    assert not memory_warehouse.has_batch("predictions", "key")


def test_write_batch_sets_batch_key_and_fills_missing_columns(memory_warehouse: DuckDBWarehouse) -> None:
    rows = pd.DataFrame(
        {"kind": ["incoming"], "rows_in": [10], "processed_at": [T0], "batch_key": ["ignored"]},
        index=[42],  # the caller's index does not matter
    )
    memory_warehouse.write_batch("batches", rows, "gs://raw/incoming/a.csv#7")

    result = memory_warehouse.read("batches")
    assert result.loc[0, "batch_key"] == "gs://raw/incoming/a.csv#7"
    assert result.loc[0, "rows_in"] == 10
    assert result["rows_scored"].isna().all() and result["clean_uri"].isna().all()
    assert_schema_dtypes(result, "batches")


def test_unknown_column_raises_permanent_error_and_keeps_the_table(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(2, tag="kept"), "key")
    bad_rows = prediction_rows(1, tag="bad").assign(probability=0.5)

    with pytest.raises(PermanentError, match="probability"):
        memory_warehouse.write_batch("predictions", bad_rows, "key")
    assert memory_warehouse.read("predictions")["row_id"].tolist() == ["kept-0", "kept-1"]


def test_bad_inputs_raise_permanent_errors(memory_warehouse: DuckDBWarehouse) -> None:
    with pytest.raises(PermanentError, match="scored_at is required"):
        memory_warehouse.write_batch("predictions", pd.DataFrame({"row_id": ["1"]}), "key")
    with pytest.raises(PermanentError, match="rows_in"):
        memory_warehouse.write_batch("batches", pd.DataFrame({"rows_in": [1.5]}), "key")
    with pytest.raises(PermanentError, match="batch_key"):
        memory_warehouse.write_batch("batches", pd.DataFrame({"rows_in": [1]}), "")
    with pytest.raises(PermanentError, match="unknown warehouse table"):
        memory_warehouse.write_batch("scores", pd.DataFrame(), "key")
    with pytest.raises(PermanentError, match="unknown where column"):
        memory_warehouse.read("predictions", where={"nope": 1})
    with pytest.raises(PermanentError, match="unknown column"):
        memory_warehouse.read("predictions", columns=["score", "nope"])
    with pytest.raises(PermanentError, match="not TIMESTAMP"):
        memory_warehouse.read("predictions", time_column="score")
    with pytest.raises(PermanentError, match="limit"):
        memory_warehouse.read("predictions", limit=-1)


def test_values_are_converted_to_the_schema_types(memory_warehouse: DuckDBWarehouse) -> None:
    rows = pd.DataFrame(
        {
            "alert_id": [7],  # a number in a STRING column is stored as text
            "created_at": ["2024-03-01T09:00:00-03:00"],  # ISO text with an offset
            "evidence": [{"feature": "income", "psi": 0.31}],  # JSON text columns take the dict
        }
    )
    memory_warehouse.write_batch("alerts", rows, "check-1")
    naive = pd.DataFrame({"event_id": ["e"], "occurred_at": [datetime(2024, 3, 1, 12, 0)]})
    memory_warehouse.write_batch("model_events", naive, "event-1")

    alert = memory_warehouse.read("alerts").iloc[0]
    assert alert["alert_id"] == "7"
    assert alert["created_at"] == pd.Timestamp("2024-03-01T12:00:00Z")
    assert json.loads(alert["evidence"]) == {"feature": "income", "psi": 0.31}
    # A naive timestamp is UTC, as BigQuery reads one.
    assert memory_warehouse.read("model_events").loc[0, "occurred_at"] == pd.Timestamp("2024-03-01T12:00:00Z")


def test_read_filters(memory_warehouse: DuckDBWarehouse) -> None:
    day = timedelta(days=1)
    for index in range(5):
        rows = prediction_rows(2, tag=f"day{index}", start=T0 + index * day)
        rows["model_role"] = ["champion", "challenger"]
        memory_warehouse.write_batch("predictions", rows, f"key-{index}")

    window = memory_warehouse.read("predictions", since=T0 + day, until=T0 + 3 * day)
    assert sorted(set(window["batch_key"])) == ["key-1", "key-2"]  # since inclusive, until exclusive

    champions = memory_warehouse.read("predictions", where={"model_role": "champion", "model_version": "3"})
    assert len(champions) == 5 and set(champions["model_role"]) == {"champion"}

    newest = memory_warehouse.read("predictions", newest_first=True, limit=3, columns=["scored_at", "row_id"])
    assert list(newest.columns) == ["scored_at", "row_id"]
    assert newest["row_id"].tolist() == ["day4-1", "day4-0", "day3-1"]
    assert newest["scored_at"].is_monotonic_decreasing

    oldest = memory_warehouse.read("predictions", limit=2)
    assert oldest["row_id"].tolist() == ["day0-0", "day0-1"]
    assert memory_warehouse.read("predictions", limit=0).empty

    naive_since = memory_warehouse.read("predictions", since=datetime(2024, 3, 5, 12, 0))
    assert set(naive_since["batch_key"]) == {"key-4"}
    other_zone = timezone(timedelta(hours=-3))
    same_instant = memory_warehouse.read("predictions", since=datetime(2024, 3, 5, 9, 0, tzinfo=other_zone))
    assert set(same_instant["batch_key"]) == {"key-4"}


def test_read_where_none_matches_null_and_values_are_bound(memory_warehouse: DuckDBWarehouse) -> None:
    rows = prediction_rows(2, tag="n")
    rows["label"] = ["yes", None]
    memory_warehouse.write_batch("predictions", rows, "key")

    assert memory_warehouse.read("predictions", where={"label": None})["row_id"].tolist() == ["n-1"]
    # A value is a value, never SQL.
    assert memory_warehouse.read("predictions", where={"label": "yes' OR '1'='1"}).empty


def test_read_with_another_time_column(memory_warehouse: DuckDBWarehouse) -> None:
    rows = sample_rows("drift_results", 3)
    rows["window_start"] = [T0 - timedelta(days=30)] * 2 + [T0]
    memory_warehouse.write_batch("drift_results", rows, "check-1")

    recent = memory_warehouse.read("drift_results", time_column="window_start", since=T0 - timedelta(days=1))
    assert recent["feature"].tolist() == ["a-feature-2"]
    assert memory_warehouse.read("drift_results", where={"drifted": True, "rows_current": 20})[
        "feature"
    ].tolist() == ["a-feature-2"]


def test_read_of_an_empty_table_keeps_columns_and_dtypes(memory_warehouse: DuckDBWarehouse) -> None:
    for table in TABLES:
        result = memory_warehouse.read(table)
        assert result.empty
        assert list(result.columns) == EXPECTED_COLUMNS[table]
        assert_schema_dtypes(result, table)


def test_failed_insert_rolls_back_the_delete(
    memory_warehouse: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(2, tag="kept"), "key")
    conform = warehouse_module._conform_rows
    # A frame the INSERT refuses after the DELETE has run (a column the table lacks).
    monkeypatch.setattr(
        warehouse_module, "_conform_rows", lambda *args: conform(*args).assign(not_a_column=1)
    )

    with pytest.raises(PermanentError, match="not_a_column"):
        memory_warehouse.write_batch("predictions", prediction_rows(3, tag="lost"), "key")
    assert memory_warehouse.read("predictions")["row_id"].tolist() == ["kept-0", "kept-1"]


def test_duckdb_file_gains_columns_added_to_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE predictions (batch_key VARCHAR, row_id VARCHAR, scored_at TIMESTAMPTZ NOT NULL)"
    )
    connection.execute("INSERT INTO predictions VALUES ('old', '1', TIMESTAMPTZ '2024-01-01 00:00:00+00')")
    connection.close()

    warehouse = open_warehouse(f"duckdb://{path}")
    result = warehouse.read("predictions")
    assert list(result.columns) == EXPECTED_COLUMNS["predictions"]
    assert result.loc[0, "row_id"] == "1" and pd.isna(result.loc[0, "model_role"])


def _rows_seen_by_another_process(file_uri: str) -> int:
    """Predictions rows counted by a separate process opening the DuckDB file read-write."""
    count_rows = (
        "import duckdb, sys\n"
        "connection = duckdb.connect(sys.argv[1])\n"
        "print(connection.execute('SELECT count(*) FROM predictions').fetchone()[0])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", count_rows, file_uri.removeprefix("duckdb://")], capture_output=True, text=True, timeout=60, check=True
    )
    return int(completed.stdout.strip())


def test_duckdb_file_is_not_held_open_between_calls(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(3, tag="free"), "key")
    # Another process can open the file read-write while this object is alive.
    assert _rows_seen_by_another_process(file_uri) == 3


def _concurrent_writer(uri: str, worker: int, batches: int, rows_per_batch: int, start: Any) -> None:
    warehouse = open_warehouse(uri)
    start.wait(timeout=60)
    for batch in range(batches):
        rows = prediction_rows(rows_per_batch, tag=f"w{worker}-b{batch}")
        warehouse.write_batch("predictions", rows, f"worker-{worker}-batch-{batch}")
    # Every worker also delivers the same batch: it must land once, whole, from one writer.
    warehouse.write_batch("predictions", prediction_rows(rows_per_batch, tag=f"shared-w{worker}"), "shared")


def test_concurrent_writers_from_several_processes_land_exactly_once(file_uri: str) -> None:
    workers, batches, rows_per_batch = 4, 5, 7
    context = multiprocessing.get_context("spawn")  # fork after DuckDB/Arrow threads start can deadlock
    start = context.Barrier(workers)
    processes = [
        context.Process(target=_concurrent_writer, args=(file_uri, worker, batches, rows_per_batch, start))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * workers

    result = open_warehouse(file_uri).read("predictions")
    counts = result.groupby("batch_key").size().to_dict()
    expected = {f"worker-{w}-batch-{b}": rows_per_batch for w in range(workers) for b in range(batches)}
    assert counts == {**expected, "shared": rows_per_batch}
    shared_sources = set(result.loc[result["batch_key"] == "shared", "source_uri"])
    assert len(shared_sources) == 1


def _hold_file_open(path: str, ready: Any, release: Any) -> None:
    connection = duckdb.connect(path)
    ready.set()
    release.wait(timeout=60)
    connection.close()


def test_locked_file_waits_then_raises_transient_error(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.duckdb")
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_file_open, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(timeout=60)
        impatient = DuckDBWarehouse(path, lock_wait_seconds=0.3)
        with pytest.raises(TransientError, match="locked"):
            impatient.write_batch("predictions", prediction_rows(1, tag="x"), "key")

        # A writer that waits gets through once the other process lets go.
        threading.Timer(0.3, release.set).start()
        patient = DuckDBWarehouse(path, lock_wait_seconds=30)
        assert patient.write_batch("predictions", prediction_rows(2, tag="y"), "key") == 2
    finally:
        release.set()
        holder.join(timeout=60)
    assert holder.exitcode == 0


def test_threads_sharing_one_file_warehouse(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)  # services.py shares one object between threads

    def write(index: int) -> int:
        return warehouse.write_batch("predictions", prediction_rows(3, tag=f"t{index}"), f"key-{index % 4}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(write, range(12))) == 36
    assert warehouse.read("predictions").groupby("batch_key").size().to_dict() == {
        f"key-{index}": 3 for index in range(4)
    }


def test_closed_warehouse_refuses_work(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.close()
    memory_warehouse.close()
    with pytest.raises(PermanentError, match="closed"):
        memory_warehouse.read("predictions")


# --------------------------------------------------------------------------- URIs


def test_open_warehouse_uris(tmp_path: Path) -> None:
    # settings builds f"duckdb:///{absolute_path}", i.e. four slashes.
    four_slashes = open_warehouse(f"duckdb:///{tmp_path / 'a.duckdb'}")
    assert isinstance(four_slashes, DuckDBWarehouse)
    assert four_slashes.location == str(tmp_path / "a.duckdb")
    assert open_warehouse(f"duckdb://{tmp_path / 'a.duckdb'}").location == str(tmp_path / "a.duckdb")
    assert open_warehouse("duckdb:///:memory:").location == ":memory:"

    cloud = open_warehouse("bigquery://my-project/dropscore_prod?location=southamerica-east1")
    assert isinstance(cloud, BigQueryWarehouse)
    assert (cloud.project, cloud.dataset, cloud.location) == (
        "my-project",
        "dropscore_prod",
        "southamerica-east1",
    )
    assert cloud.table_id("alerts") == "my-project.dropscore_prod.alerts"
    assert cloud._client_instance is None  # built on first use, not at open

    for bad in ("duckdb://relative.duckdb", "bigquery://project", "bigquery://p/d/x", "postgres://x/y", ""):
        with pytest.raises(PermanentError):
            open_warehouse(bad)
    with pytest.raises(PermanentError, match="dataset"):
        BigQueryWarehouse("project", "bad`name")


# --------------------------------------------------------------------------- BigQuery at our seam


@dataclass
class FakeJob:
    """A query or load job: ``result()`` waits (recorded) and returns rows or raises."""

    rows: FakeRows | None = None
    error: BaseException | None = None
    waited: bool = False
    cancelled: bool = False

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def result(self, timeout: float | None = None) -> FakeRows | None:
        self.waited = True
        if self.error is not None:
            raise self.error
        return self.rows


@dataclass
class FakeRows:
    """What a finished query job gives: iterable rows and ``to_arrow``."""

    arrow_table: pa.Table

    def __iter__(self):
        return iter(self.arrow_table.to_pylist())

    def to_arrow(self, create_bqstorage_client: bool = True, **_: Any) -> pa.Table:
        assert create_bqstorage_client is False
        return self.arrow_table


@dataclass
class RecordedCall:
    kind: str  # "query" or "load"
    sql: str | None = None
    job_config: Any = None
    destination: str | None = None
    rows: list[dict[str, Any]] | None = None
    job: FakeJob | None = None


@dataclass
class FakeBigQueryClient:
    """Records query and load calls; serves queued results and errors."""

    calls: list[RecordedCall] = field(default_factory=list)
    query_results: list[pa.Table] = field(default_factory=list)
    errors: dict[str, list[BaseException]] = field(default_factory=lambda: {"query": [], "load": []})
    closed: bool = False

    def _job(self, kind: str, rows: FakeRows | None) -> FakeJob:
        error = self.errors[kind].pop(0) if self.errors[kind] else None
        return FakeJob(rows=rows, error=error)

    def query(self, sql: str, job_config: Any = None, **_: Any) -> FakeJob:
        served = (
            self.query_results.pop(0)
            if self.query_results
            else pa.table({"present": pa.array([], pa.int64())})
        )
        job = self._job("query", FakeRows(served))
        self.calls.append(RecordedCall("query", sql=sql, job_config=job_config, job=job))
        return job

    def load_table_from_json(
        self, json_rows: Any, destination: str, job_config: Any = None, **_: Any
    ) -> FakeJob:
        rows = list(json_rows)
        json.dumps(rows, allow_nan=False)  # BigQuery takes strict JSON: no NaN, no datetime objects
        job = self._job("load", None)
        self.calls.append(
            RecordedCall("load", job_config=job_config, destination=destination, rows=rows, job=job)
        )
        return job

    def close(self) -> None:
        self.closed = True


def parameters_of(call: RecordedCall) -> dict[str, tuple[str, Any]]:
    return {
        parameter.name: (parameter.type_, parameter.value) for parameter in call.job_config.query_parameters
    }


@pytest.fixture
def fake_client() -> FakeBigQueryClient:
    return FakeBigQueryClient()


@pytest.fixture
def cloud(fake_client: FakeBigQueryClient) -> BigQueryWarehouse:
    return BigQueryWarehouse("my-project", "dropscore", client=fake_client)


def test_bigquery_write_deletes_the_batch_then_loads_it(cloud: BigQueryWarehouse, fake_client) -> None:
    rows = prediction_rows(2, tag="bq")
    rows.loc[1, "score"] = float("nan")

    assert cloud.write_batch("predictions", rows, "gs://clean/a.parquet#3") == 2

    delete, load = fake_client.calls
    assert delete.kind == "query" and load.kind == "load"  # the delete precedes the load
    assert delete.sql == "DELETE FROM `my-project.dropscore.predictions` WHERE batch_key = @batch_key"
    assert parameters_of(delete) == {"batch_key": ("STRING", "gs://clean/a.parquet#3")}
    assert delete.job.waited and load.job.waited  # each step finished before the next

    assert load.destination == "my-project.dropscore.predictions"
    config = load.job_config
    assert [schema_field.to_api_repr() for schema_field in config.schema] == json.loads(
        (SCHEMA_FOLDER / "predictions.json").read_text(encoding="utf-8")
    )
    assert config.write_disposition == bigquery.WriteDisposition.WRITE_APPEND
    assert config.create_disposition == bigquery.CreateDisposition.CREATE_NEVER
    assert config.source_format == bigquery.SourceFormat.NEWLINE_DELIMITED_JSON

    first, second = load.rows
    assert list(first) == EXPECTED_COLUMNS["predictions"]
    assert first["batch_key"] == "gs://clean/a.parquet#3"
    assert first["scored_at"] == "2024-03-01T12:00:00.000000Z"
    assert first["label"] is None and second["score"] is None
    assert first["score"] == 0.0 and second["row_id"] == "bq-1"


def test_bigquery_json_rows_keep_types(cloud: BigQueryWarehouse, fake_client) -> None:
    cloud.write_batch("drift_results", sample_rows("drift_results", 2), "check-9")
    first, second = fake_client.calls[1].rows
    assert first["drifted"] is True and first["rows_current"] == 0 and first["psi"] == 0.25
    assert second["drifted"] is None and second["rows_current"] is None
    assert first["window_end"] == "2024-03-01T12:00:00.000000Z"
    assert first["batch_key"] == second["batch_key"] == "check-9"


def test_bigquery_retry_after_a_failed_load_deletes_again(cloud: BigQueryWarehouse, fake_client) -> None:
    fake_client.errors["load"].append(api_exceptions.ServiceUnavailable("backend unavailable"))
    rows = prediction_rows(3, tag="retry")

    with pytest.raises(TransientError):
        cloud.write_batch("predictions", rows, "key")
    cloud.write_batch("predictions", rows, "key")  # what the platform's retry does

    assert [call.kind for call in fake_client.calls] == ["query", "load", "query", "load"]
    assert all(call.sql.startswith("DELETE") for call in fake_client.calls if call.kind == "query")


def test_bigquery_load_that_outlives_its_wait_is_cancelled(cloud: BigQueryWarehouse, fake_client) -> None:
    fake_client.errors["load"].append(concurrent.futures.TimeoutError())
    with pytest.raises(TransientError, match="did not complete"):
        cloud.write_batch("predictions", prediction_rows(1, tag="slow"), "key")
    load = fake_client.calls[-1]
    assert load.kind == "load" and load.job.cancelled  # so it cannot land after the retry's delete


def test_bigquery_empty_batch_only_deletes(cloud: BigQueryWarehouse, fake_client) -> None:
    assert cloud.write_batch("alerts", sample_rows("alerts", 0), "key") == 0
    assert [call.kind for call in fake_client.calls] == ["query"]


def test_bigquery_checks_rows_before_calling(cloud: BigQueryWarehouse, fake_client) -> None:
    with pytest.raises(PermanentError, match="unknown columns"):
        cloud.write_batch("alerts", pd.DataFrame({"colour": ["red"]}), "key")
    with pytest.raises(PermanentError):
        cloud.read("alerts", where={"severity; DROP TABLE alerts": "x"})
    assert fake_client.calls == []


def test_bigquery_read_is_parameterized(cloud: BigQueryWarehouse, fake_client) -> None:
    served = pa.table(
        {
            "row_id": pa.array(["7", None], pa.string()),
            "score": pa.array([0.9, None], pa.float64()),
            "scored_at": pa.array([T0, T0 + timedelta(hours=1)], pa.timestamp("us", tz="UTC")),
        }
    )
    fake_client.query_results.append(served)
    since, until = T0 - timedelta(days=30), T0 + timedelta(days=1)

    result = cloud.read(
        "predictions",
        since=since,
        until=until,
        where={"model_role": "champion", "label": None},
        columns=["row_id", "score", "scored_at"],
        limit=100,
        newest_first=True,
    )

    (call,) = fake_client.calls
    assert call.sql == (
        "SELECT `row_id`, `score`, `scored_at` FROM `my-project.dropscore.predictions` "
        "WHERE `scored_at` >= @p0 AND `scored_at` < @p1 AND `model_role` = @p2 AND `label` IS NULL "
        "ORDER BY `scored_at` DESC NULLS LAST, `batch_key` ASC NULLS LAST, `row_id` ASC NULLS LAST, "
        "`model_role` ASC NULLS LAST LIMIT 100"
    )
    assert "champion" not in call.sql
    assert parameters_of(call) == {
        "p0": ("TIMESTAMP", since),
        "p1": ("TIMESTAMP", until),
        "p2": ("STRING", "champion"),
    }
    assert list(result.columns) == ["row_id", "score", "scored_at"]
    assert_schema_dtypes(result, "predictions")
    assert result["row_id"].tolist()[0] == "7" and math.isnan(result.loc[1, "score"])


def test_bigquery_read_parameter_types_follow_the_schema(cloud: BigQueryWarehouse, fake_client) -> None:
    cloud.read("drift_results", where={"drifted": True, "rows_current": 20, "psi": 0.1, "feature": "age"})
    assert parameters_of(fake_client.calls[0]) == {
        "p0": ("BOOL", True),
        "p1": ("INT64", 20),
        "p2": ("FLOAT64", 0.1),
        "p3": ("STRING", "age"),
    }
    assert "ORDER BY `checked_at` ASC NULLS LAST" in fake_client.calls[0].sql


def test_bigquery_has_batch(cloud: BigQueryWarehouse, fake_client) -> None:
    fake_client.query_results.append(pa.table({"present": [1]}))
    assert cloud.has_batch("batches", "gs://raw/incoming/a.csv#1")
    assert not cloud.has_batch("batches", "gs://raw/incoming/b.csv#1")
    call = fake_client.calls[0]
    assert (
        call.sql
        == "SELECT 1 AS present FROM `my-project.dropscore.batches` WHERE batch_key = @batch_key LIMIT 1"
    )
    assert parameters_of(call) == {"batch_key": ("STRING", "gs://raw/incoming/a.csv#1")}


@pytest.mark.parametrize(
    ("vendor_error", "expected", "message"),
    [
        (api_exceptions.ServiceUnavailable("unavailable"), TransientError, "retry"),
        (api_exceptions.InternalServerError("backend"), TransientError, "retry"),
        (api_exceptions.GatewayTimeout("slow"), TransientError, "retry"),
        (api_exceptions.TooManyRequests("slow down"), TransientError, "retry"),
        (
            api_exceptions.Forbidden("Exceeded rate limits", errors=[{"reason": "rateLimitExceeded"}]),
            TransientError,
            "retry",
        ),
        (
            api_exceptions.BadRequest("Could not serialize access to table due to concurrent update"),
            TransientError,
            "retry",
        ),
        (concurrent.futures.TimeoutError(), TransientError, "did not complete"),
        (api_exceptions.BadRequest("Syntax error"), PermanentError, "rejected"),
        (
            api_exceptions.NotFound("Not found: Dataset my-project:dropscore was not found in location US"),
            PermanentError,
            r"dataset my-project\.dropscore does not exist.*infra/",
        ),
        (
            api_exceptions.NotFound("Not found: Table my-project:dropscore.alerts was not found"),
            PermanentError,
            r"table my-project\.dropscore\.alerts does not exist.*infra/",
        ),
        (api_exceptions.Forbidden("Access Denied"), PermanentError, "roles/bigquery.dataEditor"),
    ],
)
def test_bigquery_errors_are_translated(
    cloud: BigQueryWarehouse, fake_client, vendor_error: BaseException, expected: type, message: str
) -> None:
    fake_client.errors["query"].append(vendor_error)
    with pytest.raises(expected, match=message) as raised:
        cloud.read("alerts")
    assert raised.value.__cause__ is vendor_error
    if expected is PermanentError:
        assert not isinstance(raised.value, TransientError)


def test_bigquery_load_errors_are_translated(cloud: BigQueryWarehouse, fake_client) -> None:
    fake_client.errors["load"].append(api_exceptions.BadRequest("Provided Schema does not match Table"))
    with pytest.raises(PermanentError, match="load of batch 'key'.*does not match"):
        cloud.write_batch("alerts", sample_rows("alerts", 1), "key")


def test_bigquery_client_is_built_lazily_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[FakeBigQueryClient] = []

    def build_client(project: str, location: str | None = None) -> FakeBigQueryClient:
        assert project == "my-project" and location == "EU"
        built.append(FakeBigQueryClient())
        return built[-1]

    monkeypatch.setattr(bigquery, "Client", build_client)
    warehouse = open_warehouse("bigquery://my-project/dropscore?location=EU")
    assert built == []
    warehouse.has_batch("alerts", "a")
    warehouse.read("alerts")
    assert len(built) == 1 and len(built[0].calls) == 2
    warehouse.close()
    assert built[0].closed


def test_bigquery_injected_client_is_not_closed(cloud: BigQueryWarehouse, fake_client) -> None:
    cloud.close()
    assert not fake_client.closed
    cloud.has_batch("alerts", "a")  # still usable: the caller owns the client
    assert len(fake_client.calls) == 1


# --------------------------------------------------------------------------- streamed batches


def test_batch_writer_appends_chunks_as_one_replace(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(5, tag="old"), "key")
    warehouse.write_batch("predictions", prediction_rows(2, tag="other"), "other-key")

    with batch_writer(warehouse, "predictions", "key") as writer:
        assert writer.append(prediction_rows(3, tag="a")) == 3
        assert writer.append(prediction_rows(0, tag="empty")) == 0
        # Readers still see the old batch while the chunks come in.
        assert warehouse.read("predictions", where={"batch_key": "key"})["row_id"].str.startswith("old").all()
        writer.append(prediction_rows(4, tag="b"))
    assert writer.rows_written == 7

    result = warehouse.read("predictions")
    assert result.groupby("batch_key").size().to_dict() == {"key": 7, "other-key": 2}
    kept = result[result["batch_key"] == "key"]
    assert sorted(kept["row_id"]) == sorted([f"a-{i}" for i in range(3)] + [f"b-{i}" for i in range(4)])
    assert_schema_dtypes(result, "predictions")
    assert str(kept["scored_at"].dt.tz) == "UTC"


def test_batch_writer_round_trip_keeps_every_type(memory_warehouse: DuckDBWarehouse) -> None:
    for table in TABLES:
        rows = sample_rows(table, 4)
        with batch_writer(memory_warehouse, table, "streamed") as writer:
            writer.append(rows.iloc[:1])
            writer.append(rows.iloc[1:])
        expected = memory_warehouse.read(table)
        memory_warehouse.write_batch(table, rows, "whole")
        whole = memory_warehouse.read(table, where={"batch_key": "whole"})
        streamed = expected.drop(columns="batch_key").reset_index(drop=True)
        assert plain_records(streamed) == plain_records(whole.drop(columns="batch_key").reset_index(drop=True))


def test_batch_writer_retry_replaces_and_nothing_appended_empties(memory_warehouse: DuckDBWarehouse) -> None:
    for _attempt in range(2):
        with batch_writer(memory_warehouse, "predictions", "key") as writer:
            writer.append(prediction_rows(2, tag="x"))
            writer.append(prediction_rows(1, tag="y"))
    assert len(memory_warehouse.read("predictions")) == 3
    with batch_writer(memory_warehouse, "predictions", "key"):
        pass
    assert not memory_warehouse.has_batch("predictions", "key")


def test_batch_writer_failure_keeps_the_previous_batch(memory_warehouse: DuckDBWarehouse) -> None:
    memory_warehouse.write_batch("predictions", prediction_rows(2, tag="kept"), "key")
    with pytest.raises(RuntimeError, match="scoring failed"):
        with batch_writer(memory_warehouse, "predictions", "key") as writer:
            writer.append(prediction_rows(3, tag="lost"))
            raise RuntimeError("scoring failed half way")
    with pytest.raises(PermanentError, match="probability"):
        with batch_writer(memory_warehouse, "predictions", "key") as writer:
            writer.append(prediction_rows(3, tag="lost"))
            writer.append(prediction_rows(1, tag="bad").assign(probability=0.5))  # refused at its append
    assert memory_warehouse.read("predictions")["row_id"].tolist() == ["kept-0", "kept-1"]
    with pytest.raises(PermanentError, match="unknown warehouse table"):
        with batch_writer(memory_warehouse, "scores", "key"):
            pass
    with pytest.raises(PermanentError, match="batch_key"):
        with batch_writer(memory_warehouse, "predictions", ""):
            pass


def test_batch_writer_does_not_hold_the_duckdb_file_while_the_caller_works(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(1, tag="before"), "before")
    with batch_writer(warehouse, "predictions", "slow-batch") as writer:
        writer.append(prediction_rows(2, tag="slow"))
        # Another process opens the file read-write in the middle of the streamed batch.
        assert _rows_seen_by_another_process(file_uri) == 1
        writer.append(prediction_rows(1, tag="slow-end"))
    assert len(warehouse.read("predictions")) == 4


@dataclass
class WriteBatchOnly:
    """A warehouse with write_batch only, like the doubles other tests use."""

    written: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        self.written[f"{table}/{batch_key}"] = rows
        return len(rows)


def test_batch_writer_falls_back_to_one_write_batch() -> None:
    double = WriteBatchOnly()
    with batch_writer(double, "predictions", "key") as writer:  # type: ignore[arg-type]
        writer.append(prediction_rows(2, tag="a"))
        writer.append(prediction_rows(3, tag="b"))
        with pytest.raises(PermanentError, match="unknown columns"):
            writer.append(pd.DataFrame({"colour": ["red"]}))
    assert writer.rows_written == 5
    assert double.written["predictions/key"]["row_id"].tolist() == ["a-0", "a-1", "b-0", "b-1", "b-2"]


def test_bigquery_batch_writer_deletes_once_then_loads_in_chunks(cloud: BigQueryWarehouse, fake_client) -> None:
    with cloud.batch_writer("predictions", "gs://clean/big.parquet", rows_per_load=5) as writer:
        assert [call.kind for call in fake_client.calls] == ["query"]  # the delete comes first
        writer.append(prediction_rows(3, tag="a"))
        assert len(fake_client.calls) == 1  # buffered: fewer, bigger load jobs
        writer.append(prediction_rows(9, tag="b"))  # 12 waiting: two loads of 5, 2 left
        assert [call.kind for call in fake_client.calls] == ["query", "load", "load"]
    delete, *loads = fake_client.calls
    assert delete.sql == "DELETE FROM `my-project.dropscore.predictions` WHERE batch_key = @batch_key"
    assert [len(load.rows) for load in loads] == [5, 5, 2]
    assert all(load.job.waited for load in loads)
    loaded = [row["row_id"] for load in loads for row in load.rows]
    assert loaded == [f"a-{i}" for i in range(3)] + [f"b-{i}" for i in range(9)]
    assert {row["batch_key"] for load in loads for row in load.rows} == {"gs://clean/big.parquet"}
    assert loads[0].job_config.create_disposition == bigquery.CreateDisposition.CREATE_NEVER
    assert writer.rows_written == 12 and writer.loads == 3


def test_bigquery_batch_writer_retry_after_a_failed_load_starts_with_the_delete(cloud: BigQueryWarehouse, fake_client) -> None:
    fake_client.errors["load"].extend([None, api_exceptions.ServiceUnavailable("backend unavailable")])  # type: ignore[list-item]

    def write() -> None:
        with cloud.batch_writer("predictions", "key", rows_per_load=2) as writer:
            writer.append(prediction_rows(2, tag="a"))
            writer.append(prediction_rows(2, tag="b"))

    with pytest.raises(TransientError):
        write()
    write()  # the platform's retry
    assert [call.kind for call in fake_client.calls] == ["query", "load", "load", "query", "load", "load"]


def test_bigquery_batch_writer_with_nothing_appended_only_deletes(cloud: BigQueryWarehouse, fake_client) -> None:
    with batch_writer(cloud, "predictions", "key") as writer:
        writer.append(prediction_rows(0, tag="none"))
    assert [call.kind for call in fake_client.calls] == ["query"]
