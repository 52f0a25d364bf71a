"""Live round trip of the BigQuery warehouse against the real service.

Skipped unless GOOGLE_APPLICATION_CREDENTIALS and DROPSCORE_TEST_BQ_DATASET are set.
DROPSCORE_TEST_BQ_DATASET is ``PROJECT.DATASET`` (or ``DATASET`` in the credentials'
project): a scratch dataset. Missing tables are created there from shared/backends/warehouse/schemas, with
the same partitioning and clustering infra/ applies, which also proves BigQuery accepts
the schema files. Rows written here use a unique batch key and are deleted at the end.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.schema import load_schema, load_table_options
from shared.errors import PermanentError

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (
            os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") and os.environ.get("DROPSCORE_TEST_BQ_DATASET")
        ),
        reason="needs GOOGLE_APPLICATION_CREDENTIALS and DROPSCORE_TEST_BQ_DATASET",
    ),
]

LIVE_TABLES = ("predictions", "drift_results")


@pytest.fixture(scope="module")
def client():
    from google.cloud import bigquery

    dataset_text = os.environ["DROPSCORE_TEST_BQ_DATASET"]
    project = dataset_text.rpartition(".")[0] or None
    bigquery_client = bigquery.Client(project=project)
    yield bigquery_client
    bigquery_client.close()


@pytest.fixture(scope="module")
def warehouse(client) -> BigQueryWarehouse:
    from google.cloud import bigquery

    dataset_name = os.environ["DROPSCORE_TEST_BQ_DATASET"].rpartition(".")[2]
    dataset = client.create_dataset(bigquery.Dataset(f"{client.project}.{dataset_name}"), exists_ok=True)
    for table_name in LIVE_TABLES:
        options = load_table_options(table_name)
        table = bigquery.Table(
            f"{dataset.project}.{dataset.dataset_id}.{table_name}",
            schema=[bigquery.SchemaField.from_api_repr(field) for field in load_schema(table_name)],
        )
        table.time_partitioning = bigquery.TimePartitioning(
            type_=options["time_partitioning"]["type"], field=options["time_partitioning"]["field"]
        )
        table.clustering_fields = options["clustering"] or None
        table.description = options["description"]
        client.create_table(table, exists_ok=True)
    return BigQueryWarehouse(dataset.project, dataset.dataset_id, client=client)


def test_round_trip_replace_and_delete(warehouse: BigQueryWarehouse) -> None:
    batch_key = f"live-test-{uuid.uuid4()}"
    scored_at = datetime.now(UTC).replace(microsecond=0)
    first = pd.DataFrame(
        {
            "source_uri": ["gs://live-test/clean.parquet"] * 3,
            "row_id": ["1", "2", "3"],
            "score": [0.1, None, 0.9],
            "label": ["no", None, "yes"],
            "model_version": ["1"] * 3,
            "model_role": ["champion"] * 3,
            "scored_at": [scored_at + timedelta(seconds=index) for index in range(3)],
        }
    )
    try:
        assert warehouse.write_batch("predictions", first, batch_key) == 3
        assert warehouse.has_batch("predictions", batch_key)
        result = warehouse.read(
            "predictions", where={"batch_key": batch_key}, since=scored_at - timedelta(hours=1)
        )
        assert result["row_id"].tolist() == ["1", "2", "3"]
        assert result["label"].isna().tolist() == [False, True, False]
        assert result["scored_at"].iloc[0] == pd.Timestamp(scored_at)
        assert str(result["scored_at"].dtype) == "datetime64[us, UTC]"

        # A retry with different content replaces the batch.
        warehouse.write_batch("predictions", first.iloc[:2], batch_key)
        again = warehouse.read("predictions", where={"batch_key": batch_key}, newest_first=True)
        assert again["row_id"].tolist() == ["2", "1"]
    finally:
        warehouse.write_batch("predictions", first.iloc[:0], batch_key)
    assert not warehouse.has_batch("predictions", batch_key)


def test_types_survive_the_round_trip(warehouse: BigQueryWarehouse) -> None:
    check_id = f"live-check-{uuid.uuid4()}"
    now = datetime.now(UTC).replace(microsecond=0)
    rows = pd.DataFrame(
        {
            "check_id": [check_id, check_id],
            "checked_at": [now, now],
            "feature": ["age", "income"],
            "kind": ["numeric", "numeric"],
            "method": ["ks", "ks"],
            "effect_size": [0.05, 0.4],
            "p_value": [0.3, None],
            "drifted": [False, True],
            "insufficient_data": [False, None],
            "rows_reference": [1000, 1000],
            "rows_current": [900, None],
            "window_start": [now - timedelta(days=30)] * 2,
        }
    )
    try:
        warehouse.write_batch("drift_results", rows, check_id)
        result = warehouse.read("drift_results", where={"check_id": check_id, "drifted": True})
        assert result["feature"].tolist() == ["income"]
        assert pd.isna(result.loc[0, "rows_current"]) and pd.isna(result.loc[0, "insufficient_data"])
        assert str(result["rows_reference"].dtype) == "Int64"
        assert str(result["drifted"].dtype) == "boolean"
    finally:
        warehouse.write_batch("drift_results", rows.iloc[:0], check_id)


def test_missing_dataset_says_so(client) -> None:
    missing = BigQueryWarehouse(client.project, f"dropscore_missing_{uuid.uuid4().hex[:8]}", client=client)
    with pytest.raises(PermanentError, match="infra/"):
        missing.has_batch("alerts", "any")
