"""Batches written in chunks (shared.backends.warehouse.batch_writer): one idempotent replace on every warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import bigquery

from shared.backends.warehouse import batch_writer, open_warehouse
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.backends.warehouse.schema import TABLES
from shared.errors import PermanentError, TransientError
from tests.backends.warehouse.warehouse_helpers import (
    assert_schema_dtypes,
    plain_records,
    prediction_rows,
    rows_seen_by_another_process,
    sample_rows,
)


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
        assert rows_seen_by_another_process(file_uri) == 1
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


def test_batch_writer_fallback_takes_arrow_chunks_as_frames() -> None:
    import pyarrow as pa

    double = WriteBatchOnly()
    with batch_writer(double, "predictions", "key") as writer:  # type: ignore[arg-type]
        writer.append(prediction_rows(2, tag="a"))
        writer.append(pa.Table.from_pandas(prediction_rows(3, tag="b"), preserve_index=False))
        with pytest.raises(PermanentError, match="unknown columns"):
            writer.append(pa.table({"colour": ["red"]}))
    assert writer.rows_written == 5
    written = double.written["predictions/key"]
    assert isinstance(written, pd.DataFrame)
    assert written["row_id"].tolist() == ["a-0", "a-1", "b-0", "b-1", "b-2"]
    assert written["scored_at"].dt.tz is not None


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
