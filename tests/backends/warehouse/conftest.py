"""Fixtures of the warehouse tests: DuckDB in memory and on a file, BigQuery over a recording fake client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.backends.warehouse import open_warehouse
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from tests.backends.warehouse.bigquery_fake import FakeBigQueryClient


@pytest.fixture
def memory_warehouse() -> Iterator[DuckDBWarehouse]:
    warehouse = open_warehouse("duckdb:///:memory:")
    assert isinstance(warehouse, DuckDBWarehouse)
    yield warehouse
    warehouse.close()


@pytest.fixture
def file_uri(tmp_path: Path) -> str:
    return f"duckdb://{tmp_path / 'warehouse' / 'warehouse.duckdb'}"


@pytest.fixture
def fake_client() -> FakeBigQueryClient:
    return FakeBigQueryClient()


@pytest.fixture
def cloud(fake_client: FakeBigQueryClient) -> BigQueryWarehouse:
    return BigQueryWarehouse("my-project", "dropscore", client=fake_client)
