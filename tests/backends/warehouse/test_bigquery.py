"""The cloud warehouse (shared.backends.warehouse.bigquery) at our seam: a fake client that records
the calls it gets (tests/backends/warehouse/bigquery_fake.py)."""

from __future__ import annotations

import concurrent.futures
import json
import math
from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import bigquery

from shared.backends.warehouse import open_warehouse
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.schema import SCHEMA_FOLDER
from shared.errors import PermanentError, TransientError
from tests.backends.warehouse.bigquery_fake import FakeBigQueryClient, parameters_of
from tests.backends.warehouse.warehouse_helpers import (
    EXPECTED_COLUMNS,
    T0,
    assert_schema_dtypes,
    prediction_rows,
    sample_rows,
)


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
