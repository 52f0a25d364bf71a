"""The embedded warehouse (shared.backends.warehouse.duckdb), the real thing: in memory and on files,
with several processes on one file."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import shared.backends.warehouse.duckdb as duckdb_module
from shared.backends.warehouse import Warehouse, open_warehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.backends.warehouse.schema import (
    TABLES,
    partition_column,
)
from shared.errors import PermanentError, TransientError
from tests.backends.warehouse.warehouse_helpers import (
    EXPECTED_COLUMNS,
    T0,
    assert_schema_dtypes,
    plain_records,
    prediction_rows,
    rows_seen_by_another_process,
    sample_rows,
)


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
    conform = duckdb_module.conform_rows
    # A frame the INSERT refuses after the DELETE has run (a column the table lacks).
    monkeypatch.setattr(
        duckdb_module, "conform_rows", lambda *args: conform(*args).assign(not_a_column=1)
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


def test_duckdb_file_is_not_held_open_between_calls(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(3, tag="free"), "key")
    # Another process can open the file read-write while this object is alive.
    assert rows_seen_by_another_process(file_uri) == 3


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


def _write_then_die(uri: str) -> None:
    """Write a large streamed batch (a full row group and a remainder) and a small one, then die
    the way an instance is killed: no interpreter shutdown, no checkpoint."""
    import os
    import signal

    from shared.backends.warehouse import batch_writer

    warehouse = open_warehouse(uri)
    with batch_writer(warehouse, "predictions", "big") as writer:
        for part in range(3):
            writer.append(prediction_rows(50_000, tag=f"big-{part}"))
    warehouse.write_batch("batches", sample_rows("batches"), "small")
    os.kill(os.getpid(), signal.SIGKILL)


def test_committed_rows_survive_a_kill_without_a_checkpoint(file_uri: str) -> None:
    """Sessions close without checkpointing (shared.backends.warehouse.duckdb._open_file): what was
    committed lives in the write-ahead log until DuckDB checkpoints by itself, and must survive a
    process killed right after its writes."""
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_write_then_die, args=(file_uri,))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == -9
    path = Path(file_uri.removeprefix("duckdb://"))
    assert Path(f"{path}.wal").exists(), "the sessions checkpointed on close: this test no longer tests the log"

    warehouse = open_warehouse(file_uri)
    predictions = warehouse.read("predictions")
    assert len(predictions) == 150_000
    assert predictions["row_id"].nunique() == 150_000
    assert len(warehouse.read("batches")) == len(sample_rows("batches"))
    # Replayed, and written on: the log goes on growing from where it was.
    warehouse.write_batch("predictions", prediction_rows(3, tag="after"), "after")
    assert rows_seen_by_another_process(file_uri) == 150_003
