"""A few DuckDB operations in a row share one open of the file (shared.backends.warehouse.one_connection):
opened at the first of them, not before; closed when the block ends, whatever happened; other threads
wait for the block; an error does not leave a broken connection or a held lock behind."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from shared.backends.warehouse import batch_writer, one_connection, open_warehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.errors import PermanentError, TransientError
from tests.backends.warehouse.warehouse_helpers import prediction_rows, rows_seen_by_another_process


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that opened the DuckDB file, one entry per open."""
    opened: list[str] = []
    real = DuckDBWarehouse._open_file

    def counted(self: DuckDBWarehouse):  # noqa: ANN202
        opened.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(DuckDBWarehouse, "_open_file", counted)
    return opened


def test_the_operations_of_a_block_open_the_file_once(file_uri: str, opens: list[str]) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(2, tag="old"), "old-key")
    opens.clear()

    with one_connection(warehouse):
        assert opens == []  # not before the first operation: the block may start long before it
        with batch_writer(warehouse, "predictions", "key") as writer:
            writer.append(prediction_rows(3, tag="a"))
        warehouse.write_batch("predictions", prediction_rows(1, tag="b"), "other-key")
        seen = warehouse.read("predictions")
        assert warehouse.has_batch("predictions", "key")
    assert len(opens) == 1
    assert sorted(seen["batch_key"]) == ["key", "key", "key", "old-key", "old-key", "other-key"]
    assert rows_seen_by_another_process(file_uri) == 6  # closed when the block ends: another process writes


def test_without_a_block_every_operation_opens_the_file(file_uri: str, opens: list[str]) -> None:
    warehouse = open_warehouse(file_uri)
    warehouse.write_batch("predictions", prediction_rows(1, tag="a"), "key")
    warehouse.read("predictions")
    assert len(opens) == 2


def test_an_error_in_a_block_reopens_for_the_next_operation_and_releases_the_file(file_uri: str, opens: list[str]) -> None:
    warehouse = open_warehouse(file_uri)
    real_prepare = DuckDBWarehouse._prepare
    failures: list[int] = []

    def failing_once(connection: duckdb.DuckDBPyConnection) -> None:
        if not failures:
            failures.append(1)
            raise duckdb.IOException("IO Error: the disk went away")
        real_prepare(connection)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DuckDBWarehouse, "_prepare", staticmethod(failing_once))
        with one_connection(warehouse):
            with pytest.raises(TransientError, match="disk went away"):
                warehouse.write_batch("predictions", prediction_rows(1, tag="a"), "key")
            warehouse.write_batch("predictions", prediction_rows(2, tag="b"), "key")  # opens again, and works
            with pytest.raises(PermanentError, match="unknown columns"):
                warehouse.write_batch("predictions", prediction_rows(1, tag="c").assign(colour="red"), "key")
            assert len(warehouse.read("predictions")) == 2
    assert len(opens) == 2
    assert rows_seen_by_another_process(file_uri) == 2


def test_other_threads_wait_for_the_block(file_uri: str) -> None:
    warehouse = open_warehouse(file_uri)
    order: list[str] = []

    def other() -> None:
        warehouse.write_batch("predictions", prediction_rows(1, tag="other"), "other")
        order.append("other thread wrote")

    with one_connection(warehouse):
        warehouse.write_batch("predictions", prediction_rows(1, tag="block"), "block")
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.3)
        order.append("block ended")
    thread.join(timeout=30)
    assert order == ["block ended", "other thread wrote"]
    assert sorted(warehouse.read("predictions")["batch_key"]) == ["block", "other"]


def test_nested_blocks_and_memory_warehouses_keep_their_one_connection(file_uri: str, opens: list[str]) -> None:
    warehouse = open_warehouse(file_uri)
    with one_connection(warehouse):
        warehouse.write_batch("predictions", prediction_rows(1, tag="a"), "a")
        with one_connection(warehouse):
            warehouse.write_batch("predictions", prediction_rows(1, tag="b"), "b")
        warehouse.write_batch("predictions", prediction_rows(1, tag="c"), "c")  # the outer block's connection still
    assert len(opens) == 1
    memory = open_warehouse("duckdb:///:memory:")
    with one_connection(memory):
        memory.write_batch("predictions", prediction_rows(1, tag="m"), "m")
    assert len(memory.read("predictions")) == 1
