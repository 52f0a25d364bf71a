"""The table definitions (shared.backends.warehouse.schema): the JSON files Terraform reads too."""

from __future__ import annotations

import json

import pytest
from google.cloud import bigquery

from shared.backends.warehouse.schema import (
    SCHEMA_FOLDER,
    TABLES,
    load_schema,
    load_table_options,
    partition_column,
)
from shared.errors import PermanentError
from tests.backends.warehouse.warehouse_helpers import (
    EXPECTED_COLUMNS,
    EXPECTED_DTYPES,
)


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
