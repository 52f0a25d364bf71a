"""The warehouse: keyed tables of predictions, processed files, drift results, alerts
and model events, behind one small Protocol.

Two backends, chosen by URI scheme (:func:`open_warehouse`):

- ``duckdb:///abs/path/file.duckdb`` (the embedded default) or ``duckdb:///:memory:``;
- ``bigquery://PROJECT/DATASET`` (the cloud), optionally ``?location=REGION``.

The package, by job: :mod:`.schema` (the table definitions, read from ``schemas/`` beside it,
the files Terraform reads too), :mod:`.frames` (rows conformed to a table on the way in and out),
:mod:`.sql` (the read both engines share), :mod:`.duckdb` and :mod:`.bigquery` (the engines).
This module is what callers use: the Protocols, :func:`batch_writer` and :func:`open_warehouse`.

Every write is keyed: :meth:`Warehouse.write_batch` replaces whatever the table held for
its ``batch_key``, because event delivery is at least once and a retried handler must
not leave duplicate rows behind. A batch too big to hold in memory at once is written with
:func:`batch_writer`: the same replace, fed chunk by chunk (``append``), so a scored file
of a million rows streams into the warehouse.

Timestamps are timezone-aware UTC on the way out. On the way in, naive timestamps are
read as UTC, the same rule BigQuery applies to a timestamp without a zone, so both
backends store the same instant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.backends.warehouse.duckdb import DuckDBWarehouse
from shared.backends.warehouse.frames import Rows, conform_rows, conformed_frame
from shared.backends.warehouse.schema import check_table
from shared.errors import PermanentError


@runtime_checkable
class Warehouse(Protocol):
    """What the handlers need from a warehouse. Implementations are safe to share between threads."""

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        """Make ``table`` hold exactly ``rows`` for ``batch_key`` and return how many rows were written.

        A retry or a duplicate delivery replaces the batch, never duplicates it. The
        ``batch_key`` column is set here; columns missing from ``rows`` are written as NULL;
        a column the table does not have raises :class:`PermanentError`.
        """
        ...

    def has_batch(self, table: str, batch_key: str) -> bool:
        """Whether ``table`` holds at least one row for ``batch_key``."""
        ...

    def read(
        self,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        time_column: str | None = None,
        where: dict[str, object] | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> pd.DataFrame:
        """Rows of ``table`` with ``since <= time_column < until`` and the ``where`` equalities.

        ``time_column`` defaults to the table's partition column. A ``where`` value of
        ``None`` matches NULL. Rows come ordered by the time column (oldest first unless
        ``newest_first``); columns in schema order, or in the order of ``columns``, with
        stable dtypes: ``str``, ``float64``, ``Int64``, ``boolean``, ``datetime64[us, UTC]``.
        """
        ...

    def close(self) -> None:
        """Release what the backend holds. Safe to call twice."""
        ...


@runtime_checkable
class BatchWriter(Protocol):
    """One batch being written in chunks; see :func:`batch_writer`."""

    rows_written: int

    def append(self, rows: Rows) -> int:
        """Add ``rows`` (a pandas frame or an Arrow table, conformed like :meth:`Warehouse.write_batch`'s)
        to the batch; how many."""
        ...


@contextmanager
def batch_writer(warehouse: Warehouse, table: str, batch_key: str) -> Iterator[BatchWriter]:
    """Write one batch of ``table`` in several appends, as one idempotent replace.

    When the ``with`` block ends normally the table holds exactly the appended rows for
    ``batch_key`` (none if nothing was appended): a retry replaces, never duplicates, as
    with :meth:`Warehouse.write_batch`. Chunks are checked and converted as they come, so a
    bad chunk raises at its ``append``; memory holds one chunk, not the batch.

    - DuckDB: chunks are staged in a local Parquet file; at the end one transaction deletes
      the key and inserts the file, so readers see the old batch or the new one, never a mix,
      and the database file is locked for the insert only, not while the caller works.
    - BigQuery: the key is deleted when the block starts and every
      :data:`BIGQUERY_ROWS_PER_LOAD` rows go in one load job. A failure part way leaves some
      chunks loaded; the platform's retry starts again with the delete, as ``write_batch``'s does.
    - Any other warehouse (a test double with ``write_batch`` only): rows are collected and
      written with one ``write_batch`` at the end.

    If the block raises, DuckDB keeps the batch it had; BigQuery may have deleted it.
    """
    native = getattr(warehouse, "batch_writer", None)
    if native is not None:
        with native(table, batch_key) as writer:
            yield writer
        return
    check_table(table)
    collected = _CollectingWriter(table, batch_key)
    yield collected
    frames = collected.frames
    warehouse.write_batch(table, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), batch_key)


@contextmanager
def one_connection(warehouse: Warehouse) -> Iterator[None]:
    """The warehouse operations of this block (in this thread) share one connection where the backend
    opens one per operation: DuckDB opens its file once, at the first of them, instead of once each
    (:meth:`DuckDBWarehouse.kept_open`). Elsewhere (BigQuery, a test double) nothing changes.

    For a few operations in a row: the DuckDB file stays locked from the first to the end of the block.
    """
    keep = getattr(warehouse, "kept_open", None)
    if keep is None:
        yield
        return
    with keep():
        yield


class _CollectingWriter:
    def __init__(self, table: str, batch_key: str) -> None:
        self.table, self.batch_key = table, batch_key
        self.frames: list[pd.DataFrame] = []
        self.rows_written = 0

    def append(self, rows: Rows) -> int:
        if isinstance(rows, pd.DataFrame):
            conform_rows(self.table, rows, self.batch_key)  # refuse a bad chunk now, as the real writers do
        else:
            rows = conformed_frame(self.table, rows, self.batch_key)  # write_batch takes frames
        self.frames.append(rows)
        self.rows_written += len(rows)
        return len(rows)


def _duckdb_path(uri: str) -> str:
    rest = uri[len("duckdb://") :]
    bare = rest.lstrip("/")
    if bare == ":memory:":
        return ":memory:"
    if not rest.startswith("/") or not bare:
        raise PermanentError(
            f"a DuckDB warehouse URI needs an absolute path: duckdb:///abs/path/file.duckdb, got {uri!r}"
        )
    if re.match(r"^[A-Za-z]:[/\\]", bare):
        return bare  # duckdb:///C:/folder/file.duckdb
    # settings builds f"duckdb:///{absolute_path}", which has four slashes: take any run
    # of leading slashes as the root.
    return "/" + bare


def open_warehouse(uri: str) -> Warehouse:
    """The warehouse named by ``uri``.

    - ``duckdb:///abs/path/file.duckdb``: an embedded file, created with its tables on first use;
    - ``duckdb:///:memory:``: an in-memory database (tests);
    - ``bigquery://PROJECT/DATASET`` (optionally ``?location=REGION``): tables created by infra/.
    """
    text = (uri or "").strip()
    if text.startswith("duckdb://"):
        return DuckDBWarehouse(_duckdb_path(text))
    if text.startswith("bigquery://"):
        parts = urlsplit(text)
        project = parts.netloc
        dataset = parts.path.strip("/")
        if not project or not dataset or "/" in dataset:
            raise PermanentError(f"a BigQuery warehouse URI is bigquery://PROJECT/DATASET, got {uri!r}")
        location = (parse_qs(parts.query).get("location") or [None])[0]
        return BigQueryWarehouse(project, dataset, location=location)
    raise PermanentError(
        f"unsupported warehouse URI {uri!r}: use duckdb:///abs/path/file.duckdb or bigquery://PROJECT/DATASET"
    )
