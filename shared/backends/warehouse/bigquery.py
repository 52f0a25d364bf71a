"""The cloud warehouse: tables in one BigQuery dataset, created by infra/ (Terraform) from the same
schema files (shared/backends/warehouse/schemas/).

BigQuery cannot delete and load in one transaction, so a batch is replaced in two steps (a DML
DELETE, then load jobs, each all or nothing); a retry starts again with the delete. Vendor errors
are translated here: rate limits and backend faults are transient, missing tables and missing
permissions permanent, with what to do about them.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.backends.warehouse.frames import Rows, conform_rows, conformed_frame, is_missing
from shared.backends.warehouse.schema import check_table, field_types, load_schema
from shared.backends.warehouse.sql import Condition, SqlReads
from shared.errors import DropscoreError, PermanentError, TransientError

if TYPE_CHECKING:
    import pyarrow

# A function has 540 s per event; leave room for the rest of the handler.
BIGQUERY_JOB_TIMEOUT_SECONDS = 240.0
# A streamed batch becomes one BigQuery load job per this many rows (appends are buffered up to
# it): few enough jobs for the 1 500 load jobs per table and day, JSON rows of a few tens of MB.
BIGQUERY_ROWS_PER_LOAD = 50_000

_RFC3339_MICROS = "%Y-%m-%dT%H:%M:%S.%fZ"
_BIGQUERY_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,127}$")
_BIGQUERY_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")

# Error reasons BigQuery reports for faults that pass: rate limits, quota windows,
# backend hiccups.
_BIGQUERY_TRANSIENT_REASONS = frozenset(
    {"rateLimitExceeded", "quotaExceeded", "backendError", "internalError", "jobBackendError"}
)


def _bigquery_json_rows(frame: pd.DataFrame, table: str) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts for a load job: NULL as None, timestamps as RFC 3339 UTC."""
    types = field_types(table)
    values_by_column: list[list[object]] = []
    for name in frame.columns:
        field_type = types[name]
        values: list[object] = []
        for value in frame[name].astype(object):
            if is_missing(value):
                values.append(None)
            elif field_type == "TIMESTAMP":
                values.append(value.strftime(_RFC3339_MICROS))
            elif field_type == "INT64":
                values.append(int(value))
            elif field_type == "FLOAT64":
                number = float(value)
                # JSON has no NaN or infinity; BigQuery would reject the whole file.
                values.append(number if math.isfinite(number) else None)
            elif field_type == "BOOL":
                values.append(bool(value))
            else:
                values.append(str(value))
        values_by_column.append(values)
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*values_by_column, strict=True)]


class BigQueryWarehouse(SqlReads):
    """The cloud warehouse: tables in one BigQuery dataset, created by infra/ (Terraform).

    ``client`` is a ``google.cloud.bigquery.Client`` or anything with the same ``query``
    and ``load_table_from_json`` methods (tests pass a recording fake). Without one, a
    client is built on first use and reused.
    """

    def __init__(
        self,
        project: str,
        dataset: str,
        *,
        client: Any | None = None,
        location: str | None = None,
        job_timeout_seconds: float = BIGQUERY_JOB_TIMEOUT_SECONDS,
    ) -> None:
        # Project and dataset are written into SQL as a quoted table path, so check them.
        if not _BIGQUERY_PROJECT.match(project or ""):
            raise PermanentError(f"not a BigQuery project id: {project!r}")
        if not _BIGQUERY_DATASET.match(dataset or ""):
            raise PermanentError(f"not a BigQuery dataset name: {dataset!r}")
        self.project = project
        self.dataset = dataset
        self.location = location
        self._job_timeout_seconds = job_timeout_seconds
        self._client_instance = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BigQueryWarehouse({self.project!r}, {self.dataset!r})"

    def __enter__(self) -> BigQueryWarehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _client(self) -> Any:
        if self._client_instance is None:
            with self._client_lock:
                if self._client_instance is None:
                    from google.auth.exceptions import DefaultCredentialsError
                    from google.cloud import bigquery

                    try:
                        self._client_instance = bigquery.Client(project=self.project, location=self.location)
                    except DefaultCredentialsError as exc:
                        raise PermanentError(
                            f"no Google credentials to reach BigQuery project {self.project}: {exc}"
                        ) from exc
        return self._client_instance

    def table_id(self, table: str) -> str:
        """``PROJECT.DATASET.TABLE`` of a warehouse table."""
        check_table(table)
        return f"{self.project}.{self.dataset}.{table}"

    def _table_sql(self, table: str) -> str:
        return f"`{self.table_id(table)}`"

    @staticmethod
    def _schematable_fields(table: str) -> list[Any]:
        from google.cloud import bigquery

        return [bigquery.SchemaField.from_api_repr(field) for field in load_schema(table)]

    def _translate(self, exc: BaseException, action: str, table: str) -> DropscoreError | None:
        """The dropscore error for a vendor error, or None when it is not a BigQuery fault."""
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
        from requests import exceptions as requests_exceptions

        where = self.table_id(table)
        text = str(exc)
        errors = getattr(exc, "errors", None) or []
        reasons = {error.get("reason") for error in errors if isinstance(error, dict)}
        if (
            isinstance(exc, (api_exceptions.ServerError, api_exceptions.TooManyRequests))
            or reasons & _BIGQUERY_TRANSIENT_REASONS
            # Two DML statements on one table at once: BigQuery aborts one of them.
            or "concurrent update" in text.lower()
        ):
            return TransientError(f"BigQuery {action} on {where} failed; retry: {text}")
        if isinstance(
            exc,
            (
                api_exceptions.RetryError,
                auth_exceptions.TransportError,
                requests_exceptions.ConnectionError,
                requests_exceptions.Timeout,
                ConnectionError,
                TimeoutError,  # also what job.result(timeout=...) raises
            ),
        ):
            return TransientError(f"BigQuery {action} on {where} did not complete; retry: {text}")
        if isinstance(exc, api_exceptions.NotFound):
            if re.search(r"not found:\s*dataset", text, re.IGNORECASE):
                return PermanentError(
                    f"BigQuery dataset {self.project}.{self.dataset} does not exist (or these credentials "
                    f"cannot see it). infra/ creates it with its tables: run terraform apply in infra/, or "
                    f"point DROPSCORE_WAREHOUSE at the right bigquery://PROJECT/DATASET. ({text})"
                )
            return PermanentError(
                f"BigQuery table {where} does not exist. infra/ creates the tables from "
                f"shared/backends/warehouse/schemas/*.json: run terraform apply in infra/. ({text})"
            )
        if isinstance(
            exc, (api_exceptions.Forbidden, api_exceptions.Unauthorized, auth_exceptions.RefreshError)
        ):
            return PermanentError(
                f"BigQuery refused {action} on {where}: the service account needs "
                f"roles/bigquery.dataEditor on dataset {self.project}.{self.dataset} and "
                f"roles/bigquery.jobUser on project {self.project}. ({text})"
            )
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            return PermanentError(f"BigQuery rejected {action} on {where}: {text}")
        return None

    @contextmanager
    def _vendor_errors(self, action: str, table: str) -> Iterator[None]:
        try:
            yield
        except DropscoreError:
            raise
        except Exception as exc:
            translated = self._translate(exc, action, table)
            if translated is None:
                raise
            raise translated from exc

    def _run_query(self, sql: str, parameters: list[Any], action: str, table: str) -> Any:
        from google.cloud import bigquery

        client = self._client()
        with self._vendor_errors(action, table):
            job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters))
            return job.result(timeout=self._job_timeout_seconds)

    # -- the protocol

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        frame = conform_rows(table, rows, batch_key)
        # BigQuery cannot delete and load in one transaction, so this is two steps. It is
        # still safe under at-least-once delivery: a load job is all or nothing, and if
        # anything fails after the delete (the load, the wait, the function before it
        # acknowledges the event), the retry runs the delete again, removing the rows a
        # finished load left, and loads the batch anew. The DELETE may follow a load at once
        # because load jobs, unlike streaming inserts, leave no streaming buffer.
        # Limits: two deliveries of one event running at the same moment can interleave
        # (delete, delete, load, load) and leave the batch twice, so handlers must not work
        # on the same event concurrently; and a load that outlives its wait is cancelled
        # (in _load) so that it cannot land after the retry's delete.
        self._delete_batch(table, batch_key)
        if not len(frame):
            return 0
        self._load(table, frame, batch_key)
        return len(frame)

    def _delete_batch(self, table: str, batch_key: str) -> None:
        from google.cloud import bigquery

        self._run_query(
            f"DELETE FROM {self._table_sql(table)} WHERE batch_key = @batch_key",
            [bigquery.ScalarQueryParameter("batch_key", "STRING", batch_key)],
            f"delete of batch {batch_key!r}",
            table,
        )

    def _load(self, table: str, frame: pd.DataFrame, batch_key: str) -> None:
        """One load job of conformed rows, waited for; cancelled if it outlives the wait."""
        from google.cloud import bigquery

        job_config = bigquery.LoadJobConfig(
            schema=self._schematable_fields(table),
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            # Never let a load create the table: it would come out without partitioning and
            # clustering. A missing table is a deployment error that infra/ fixes.
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        client = self._client()
        with self._vendor_errors(f"load of batch {batch_key!r}", table):
            job = client.load_table_from_json(_bigquery_json_rows(frame, table), self.table_id(table), job_config=job_config)
            try:
                job.result(timeout=self._job_timeout_seconds)
            except TimeoutError:
                self._cancel_quietly(job)
                raise

    @contextmanager
    def batch_writer(self, table: str, batch_key: str, *, rows_per_load: int = BIGQUERY_ROWS_PER_LOAD) -> Iterator[_BigQueryBatchWriter]:
        """See :func:`batch_writer`: one delete, then a load job per ``rows_per_load`` appended rows."""
        conform_rows(table, pd.DataFrame(), batch_key)
        # The same reasoning as write_batch: delete first, then loads (all or nothing each). A
        # failure after the delete leaves the batch partly loaded until the retry, which deletes
        # again and loads it all anew.
        self._delete_batch(table, batch_key)
        writer = _BigQueryBatchWriter(self, table, batch_key, rows_per_load)
        yield writer
        writer.flush()

    @staticmethod
    def _cancel_quietly(job: Any) -> None:
        # Best effort: the TimeoutError being raised is what the caller needs to see.
        try:
            job.cancel()
        except Exception:  # whatever goes wrong here, the original error is the one to raise
            pass

    def has_batch(self, table: str, batch_key: str) -> bool:
        from google.cloud import bigquery

        result = self._run_query(
            f"SELECT 1 AS present FROM {self._table_sql(table)} WHERE batch_key = @batch_key LIMIT 1",
            [bigquery.ScalarQueryParameter("batch_key", "STRING", str(batch_key))],
            f"look-up of batch {batch_key!r}",
            table,
        )
        with self._vendor_errors(f"look-up of batch {batch_key!r}", table):
            return any(True for _row in result)

    # -- the one read() (shared.backends.warehouse.sql.SqlReads), in BigQuery's dialect

    def _quote(self, name: str) -> str:
        return f"`{name}`"

    def _placeholder(self, position: int) -> str:
        return f"@p{position}"

    def _select(self, table: str, sql: str, bound: list[Condition]) -> pyarrow.Table:
        from google.cloud import bigquery

        parameters = [
            bigquery.ScalarQueryParameter(f"p{position}", condition.field_type, condition.value)
            for position, condition in enumerate(bound)
        ]
        result = self._run_query(sql, parameters, "read", table)
        with self._vendor_errors("read", table):
            # REST pages, not the BigQuery Storage API: google-cloud-bigquery-storage is not a
            # dependency, and asking for it would only log a warning on every read.
            return result.to_arrow(create_bqstorage_client=False)

    def close(self) -> None:
        # An injected client belongs to the caller; only the one built here is closed (and
        # forgotten, so a later call builds a fresh one).
        if not self._owns_client:
            return
        with self._client_lock:
            client, self._client_instance = self._client_instance, None
        if client is not None:
            client.close()


class _BigQueryBatchWriter:
    """Conforms each chunk at once; loads whenever ``rows_per_load`` rows are waiting."""

    def __init__(self, warehouse: BigQueryWarehouse, table: str, batch_key: str, rows_per_load: int) -> None:
        self._warehouse, self.table, self.batch_key = warehouse, table, batch_key
        self._rows_per_load = max(1, int(rows_per_load))
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self.rows_written = 0
        self.loads = 0

    def append(self, rows: Rows) -> int:
        frame = conformed_frame(self.table, rows, self.batch_key)  # load jobs take JSON rows made from frames
        if len(frame):
            self._pending.append(frame)
            self._pending_rows += len(frame)
            self.rows_written += len(frame)
        while self._pending_rows >= self._rows_per_load:
            self._load(self._rows_per_load)
        return len(frame)

    def flush(self) -> None:
        if self._pending_rows:
            self._load(self._pending_rows)

    def _load(self, count: int) -> None:
        waiting = pd.concat(self._pending, ignore_index=True) if len(self._pending) > 1 else self._pending[0]
        self._warehouse._load(self.table, waiting.iloc[:count].reset_index(drop=True), self.batch_key)
        self.loads += 1
        rest = waiting.iloc[count:].reset_index(drop=True)
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)
