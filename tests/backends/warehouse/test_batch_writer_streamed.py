"""A streamed batch much bigger than DuckDB's memory cap for the write (``DUCKDB_WRITE_MEMORY_LIMIT``,
on ``DUCKDB_WRITE_THREADS`` threads) still replaces the previous one: the delete and the insert spill
or write their row groups to the file instead of failing for memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from shared.backends.warehouse import batch_writer, open_warehouse

CHUNKS = 8
CHUNK_ROWS = 50_000


def _chunk(index: int, tag: str) -> pd.DataFrame:
    rng = np.random.default_rng(index)
    numbers = rng.integers(0, 10**9, CHUNK_ROWS)
    return pd.DataFrame(
        {
            "source_uri": f"gs://clean/{tag}.parquet",
            "row_id": [f"{tag}-{index}-{i}" for i in range(CHUNK_ROWS)],
            "score": rng.random(CHUNK_ROWS),
            "label": np.where(numbers % 2 == 0, "si", "no"),
            "reason_1": [f"ventas_mensuales {n} alto ↑" for n in numbers],
            "reason_2": [f"region = {n % 977} ↓" for n in numbers],
            "reason_3": [f"anios_operacion {n % 13} bajo ↓" for n in numbers],
            "model_version": "3",
            "model_role": "champion",
            "scored_at": datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=index),
        }
    )


def _stream(uri: str, tag: str) -> int:
    with batch_writer(open_warehouse(uri), "predictions", "gs://clean/big.parquet") as writer:
        for index in range(CHUNKS):
            writer.append(_chunk(index, tag))
    return writer.rows_written


def test_a_batch_bigger_than_the_write_cap_replaces_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    uri = f"duckdb://{path}"
    assert _stream(uri, "first") == CHUNKS * CHUNK_ROWS
    assert _stream(uri, "second") == CHUNKS * CHUNK_ROWS  # deletes as many rows as it inserts

    with duckdb.connect(str(path), read_only=True) as connection:
        count, tags, reasons = connection.execute(
            "SELECT count(*), count(DISTINCT split_part(row_id, '-', 1)), count(DISTINCT reason_1) FROM predictions"
        ).fetchone()
    assert count == CHUNKS * CHUNK_ROWS and tags == 1 and reasons > CHUNK_ROWS
