"""BigQuery at our seam: BigQuery has no offline emulator, so a fake client records the calls it gets
and serves results; test_bigquery_live.py does the real round trip when credentials are available."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass
class FakeJob:
    """A query or load job: ``result()`` waits (recorded) and returns rows or raises."""

    rows: FakeRows | None = None
    error: BaseException | None = None
    waited: bool = False
    cancelled: bool = False

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def result(self, timeout: float | None = None) -> FakeRows | None:
        self.waited = True
        if self.error is not None:
            raise self.error
        return self.rows


@dataclass
class FakeRows:
    """What a finished query job gives: iterable rows and ``to_arrow``."""

    arrow_table: pa.Table

    def __iter__(self):
        return iter(self.arrow_table.to_pylist())

    def to_arrow(self, create_bqstorage_client: bool = True, **_: Any) -> pa.Table:
        assert create_bqstorage_client is False
        return self.arrow_table


@dataclass
class RecordedCall:
    kind: str  # "query" or "load"
    sql: str | None = None
    job_config: Any = None
    destination: str | None = None
    rows: list[dict[str, Any]] | None = None
    job: FakeJob | None = None


@dataclass
class FakeBigQueryClient:
    """Records query and load calls; serves queued results and errors."""

    calls: list[RecordedCall] = field(default_factory=list)
    query_results: list[pa.Table] = field(default_factory=list)
    errors: dict[str, list[BaseException]] = field(default_factory=lambda: {"query": [], "load": []})
    closed: bool = False

    def _job(self, kind: str, rows: FakeRows | None) -> FakeJob:
        error = self.errors[kind].pop(0) if self.errors[kind] else None
        return FakeJob(rows=rows, error=error)

    def query(self, sql: str, job_config: Any = None, **_: Any) -> FakeJob:
        served = (
            self.query_results.pop(0)
            if self.query_results
            else pa.table({"present": pa.array([], pa.int64())})
        )
        job = self._job("query", FakeRows(served))
        self.calls.append(RecordedCall("query", sql=sql, job_config=job_config, job=job))
        return job

    def load_table_from_json(
        self, json_rows: Any, destination: str, job_config: Any = None, **_: Any
    ) -> FakeJob:
        rows = list(json_rows)
        json.dumps(rows, allow_nan=False)  # BigQuery takes strict JSON: no NaN, no datetime objects
        job = self._job("load", None)
        self.calls.append(
            RecordedCall("load", job_config=job_config, destination=destination, rows=rows, job=job)
        )
        return job

    def close(self) -> None:
        self.closed = True


def parameters_of(call: RecordedCall) -> dict[str, tuple[str, Any]]:
    return {
        parameter.name: (parameter.type_, parameter.value) for parameter in call.job_config.query_parameters
    }
