"""Opening a warehouse by URI (shared.backends.warehouse.open_warehouse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backends.warehouse import open_warehouse
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.errors import PermanentError


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
