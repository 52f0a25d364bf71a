"""Rows, expectations and checks the warehouse tests share."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from shared.backends.warehouse.schema import load_schema, partition_column

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


def rows_seen_by_another_process(file_uri: str) -> int:
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
