"""The embedded warehouse: one DuckDB file (or an in-memory database for tests).

A file is opened for each operation and closed right after, because DuckDB allows one read-write
process per file and the local stack runs one function server per process. A batch is replaced
(delete, insert) in one transaction, so a reader, or a crash, never sees it half replaced.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.backends.warehouse.frames import Rows, arrow_schema, conform_rows, conformed_arrow
from shared.backends.warehouse.schema import TABLES, check_table, column_names, table_fields
from shared.backends.warehouse.sql import Condition, SqlReads
from shared.errors import DropscoreError, PermanentError, TransientError

if TYPE_CHECKING:
    import duckdb
    import pyarrow

# Several function servers of the local stack may share one DuckDB file, and DuckDB lets
# only one process hold it read-write: wait this long for the others before giving up
# with a TransientError (the caller's retry then takes over).
DUCKDB_LOCK_WAIT_SECONDS = 30.0
# Memory and threads DuckDB may use while replacing a streamed batch (see DuckDBWarehouse.batch_writer).
DUCKDB_WRITE_MEMORY_LIMIT = "32MB"
DUCKDB_WRITE_THREADS = 1
# The staged chunks of a streamed batch. A function's /tmp counts against its memory, so the smallest
# file: 200 000 predictions (issue 16) take 1.7 MiB with zstd, 2.5 lz4, 2.7 snappy, 4.8 uncompressed,
# staged in 0.05-0.07 s and inserted in 0.16-0.20 s whichever (the differences are noise).
STAGING_COMPRESSION = "zstd"
_LOCK_FIRST_DELAY_SECONDS = 0.01
_LOCK_MAX_DELAY_SECONDS = 0.25

_DUCKDB_TYPES: dict[str, str] = {
    "STRING": "VARCHAR",
    "FLOAT64": "DOUBLE",
    "INT64": "BIGINT",
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
}

_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    # Threads of one process share DuckDB's database instance, so the file lock does not
    # order them; this does, and keeps their DELETE+INSERT transactions from conflicting.
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(str(path), threading.Lock())


def _is_lock_conflict(exc: BaseException) -> bool:
    return "could not set lock" in str(exc).lower()


def _quote_duckdb(name: str) -> str:
    return f'"{name}"'


def _duckdb_column_sql(field: Mapping[str, str], *, allow_not_null: bool) -> str:
    sql = f"{_quote_duckdb(field['name'])} {_DUCKDB_TYPES[field['type']]}"
    if allow_not_null and field.get("mode") == "REQUIRED":
        sql += " NOT NULL"
    return sql


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    # The error that made us roll back is the one to report, not a failed rollback.
    with suppress(duckdb.Error):
        connection.rollback()


def _translate_duckdb_error(exc: Exception, action: str, location: str) -> DropscoreError:
    import duckdb

    message = f"DuckDB warehouse {location}: {action} failed: {exc}"
    if _is_lock_conflict(exc) or isinstance(
        exc, (duckdb.TransactionException, duckdb.OutOfMemoryException, duckdb.InterruptException)
    ):
        return TransientError(message)
    if isinstance(exc, duckdb.IOException):
        text = str(exc).lower()
        if "permission denied" in text or "read-only file system" in text:
            return PermanentError(message)
        return TransientError(message)  # a full disk or a flaky mount may recover
    return PermanentError(message)


class DuckDBWarehouse(SqlReads):
    """The embedded warehouse: one DuckDB file (or an in-memory database for tests).

    A file is opened for each operation and closed right after, because DuckDB allows one
    read-write process per file and the local stack runs one function server per process;
    a process that finds the file locked waits up to ``lock_wait_seconds``.
    An in-memory database lives only as long as this object, so it keeps its connection.
    """

    _INCOMING_VIEW = "dropscore_incoming_rows"

    def __init__(self, path: str | Path, *, lock_wait_seconds: float = DUCKDB_LOCK_WAIT_SECONDS) -> None:
        self._in_memory = str(path) == ":memory:"
        self._path = None if self._in_memory else Path(path)
        self._lock_wait_seconds = lock_wait_seconds
        self._memory_connection: duckdb.DuckDBPyConnection | None = None
        self._memory_lock = threading.Lock()
        self._kept = threading.local()  # .session: this thread's kept_open block, if any
        self._closed = False

    @property
    def location(self) -> str:
        """The database file path, or ``:memory:``."""
        return ":memory:" if self._path is None else str(self._path)

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.location!r})"

    def __enter__(self) -> DuckDBWarehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- connections

    def _open_file(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        assert self._path is not None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentError(
                f"cannot create the folder of the DuckDB warehouse {self._path}: {exc}"
            ) from exc
        deadline = time.monotonic() + self._lock_wait_seconds
        delay = _LOCK_FIRST_DELAY_SECONDS
        while True:
            try:
                connection = duckdb.connect(str(self._path))
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc):
                    raise _translate_duckdb_error(exc, "open", self.location) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransientError(
                        f"DuckDB warehouse {self._path} stayed locked by another process for "
                        f"{self._lock_wait_seconds:g} s: {exc}"
                    ) from exc
                # Jitter so that waiting processes do not retry in lockstep.
                time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))
                delay = min(delay * 1.6, _LOCK_MAX_DELAY_SECONDS)
                continue
            try:
                # Closing the last connection checkpoints by default: the rows written since the last
                # checkpoint are compressed again and merged into the row groups before them. Every
                # score step paid that on top of its insert, twice (its predictions, then its batches
                # row): 0.3-0.5 s for 200 000 predictions after a small file. Committed rows are
                # durable in the write-ahead log either way (a large insert's row groups are already
                # in the file; the log points to them) and the next open replays it in milliseconds;
                # DuckDB checkpoints by itself when the log passes its checkpoint_threshold, so the
                # merging is paid once per many writes instead of once per write.
                connection.execute("PRAGMA disable_checkpoint_on_shutdown")
            except BaseException:
                connection.close()
                raise
            return connection

    @staticmethod
    def _prepare(connection: duckdb.DuckDBPyConnection) -> None:
        # TIMESTAMPTZ values come back in the session time zone, which defaults to the
        # machine's; UTC keeps results the same on every laptop.
        connection.execute("SET TimeZone = 'UTC'")
        existing: dict[str, set[str]] = {}
        for table_name, column_name in connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = current_schema()"
        ).fetchall():
            existing.setdefault(table_name, set()).add(column_name)
        statements: list[str] = []
        for table in TABLES:
            fields = table_fields(table)
            if table not in existing:
                columns_sql = ", ".join(_duckdb_column_sql(field, allow_not_null=True) for field in fields)
                statements.append(f"CREATE TABLE IF NOT EXISTS {_quote_duckdb(table)} ({columns_sql})")
                continue
            # A column added to the JSON schema after the file was created: add it as
            # nullable, since the rows already there have no value for it.
            for field in fields:
                if field["name"] not in existing[table]:
                    statements.append(
                        f"ALTER TABLE {_quote_duckdb(table)} ADD COLUMN IF NOT EXISTS "
                        f"{_duckdb_column_sql(field, allow_not_null=False)}"
                    )
        if not statements:
            return
        connection.begin()
        try:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
        except BaseException:
            _rollback_quietly(connection)
            raise

    @contextmanager
    def _session(self, action: str) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        if self._closed:
            raise PermanentError(f"{self!r} is closed")
        kept: _KeptSession | None = None
        try:
            if self._in_memory:
                with self._memory_lock:
                    if self._memory_connection is None:
                        self._memory_connection = duckdb.connect(":memory:")
                        self._prepare(self._memory_connection)
                    yield self._memory_connection
                return
            assert self._path is not None
            kept = getattr(self._kept, "session", None)
            if kept is not None:  # inside this thread's kept_open block: its one connection
                yield kept.connection(self)
                return
            with _path_lock(self._path):
                connection = self._open_file()
                try:
                    self._prepare(connection)
                    yield connection
                finally:
                    connection.close()
        except duckdb.Error as exc:
            if kept is not None:
                kept.close()  # a connection an error went through is not trusted again: the next use reopens
            raise _translate_duckdb_error(exc, action, self.location) from exc

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """This thread's reads and writes inside the block share one connection to the file, opened at the
        first of them and closed when the block ends (see :func:`shared.backends.warehouse.one_connection`).

        Every open replays the write-ahead log and checks the tables: 0.02-0.06 s each, four times in
        a score step's last writes (its predictions, its batches row, the earlier upload's batches row
        read and marked). The file stays locked from the first use to the end of the block, so a block
        should hold a few writes in a row, not work between them. Other threads wait for the block.
        """
        if self._in_memory or getattr(self._kept, "session", None) is not None:
            yield  # one connection already (in memory), or an outer block keeps it
            return
        self._kept.session = _KeptSession()
        try:
            yield
        finally:
            session, self._kept.session = self._kept.session, None
            session.close()

    # -- the protocol

    def write_batch(self, table: str, rows: pd.DataFrame, batch_key: str) -> int:
        import duckdb

        frame = conform_rows(table, rows, batch_key)
        table_sql = _quote_duckdb(table)
        columns_sql = ", ".join(_quote_duckdb(name) for name in frame.columns)
        with self._session(f"write {table} batch {batch_key!r}") as connection:
            # Delete and insert in one transaction: a reader, or a crash in between, never
            # sees the batch half replaced.
            connection.begin()
            registered = False
            try:
                connection.execute(f"DELETE FROM {table_sql} WHERE batch_key = ?", [batch_key])
                if len(frame):
                    connection.register(self._INCOMING_VIEW, frame)
                    registered = True
                    connection.execute(
                        f"INSERT INTO {table_sql} ({columns_sql}) SELECT {columns_sql} FROM {self._INCOMING_VIEW}"
                    )
                connection.commit()
            except BaseException:
                _rollback_quietly(connection)
                raise
            finally:
                # After the rollback: an aborted transaction refuses even this, and its
                # error would hide the one that matters.
                if registered:
                    with suppress(duckdb.Error):
                        connection.unregister(self._INCOMING_VIEW)
        return len(frame)

    @contextmanager
    def batch_writer(self, table: str, batch_key: str) -> Iterator[_DuckDBBatchWriter]:
        """See :func:`batch_writer`: chunks staged in local Parquet, one replace transaction at the end."""
        conform_rows(table, pd.DataFrame(), batch_key)  # the table and key are checked before any work
        with tempfile.TemporaryDirectory(prefix="dropscore-warehouse-") as scratch:
            writer = _DuckDBBatchWriter(table, batch_key, Path(scratch) / "batch.parquet")
            try:
                yield writer
            finally:
                writer.close()
            table_sql = _quote_duckdb(table)
            columns_sql = ", ".join(_quote_duckdb(name) for name in column_names(table))
            with self._session(f"write {table} batch {batch_key!r}") as connection:
                if not self._in_memory:
                    # DuckDB's buffer pool may take 80 % of the machine: the delete scans the whole
                    # table and the insert builds the batch in memory. Capped, both spill to disk and
                    # the insert writes its row groups to the file as it goes. Every thread reads and
                    # compresses row groups of its own, with buffers of its own: one thread is as fast
                    # for this insert (I/O and compression) and lighter. Replacing a million
                    # predictions, measured: +213 MiB uncapped, +109 at 128 MB on 2 threads, +70 at
                    # 32 MB on one; five million rows at 32 MB on one thread: +76 MiB in 4.4 s (128 MB,
                    # 2 threads: +131 MiB, 5.5 s). This replace came last in the score step, on top of
                    # the batches' memory, and was its peak. The connection closes after this write
                    # (or after the few small writes of a kept_open block that follow it), so the
                    # settings go with it; an in-memory database is not capped.
                    connection.execute(f"SET memory_limit = '{DUCKDB_WRITE_MEMORY_LIMIT}'")
                    connection.execute(f"SET threads = {DUCKDB_WRITE_THREADS}")
                connection.begin()
                try:
                    connection.execute(f"DELETE FROM {table_sql} WHERE batch_key = ?", [batch_key])
                    if writer.rows_written:
                        connection.execute(
                            f"INSERT INTO {table_sql} ({columns_sql}) SELECT {columns_sql} FROM read_parquet(?)", [str(writer.path)]
                        )
                    connection.commit()
                except BaseException:
                    _rollback_quietly(connection)
                    raise

    def has_batch(self, table: str, batch_key: str) -> bool:
        check_table(table)
        with self._session(f"look up {table} batch {batch_key!r}") as connection:
            found = connection.execute(
                f"SELECT 1 FROM {_quote_duckdb(table)} WHERE batch_key = ? LIMIT 1", [str(batch_key)]
            ).fetchone()
        return found is not None

    # -- the one read() (shared.backends.warehouse.sql.SqlReads), in DuckDB's dialect

    def _quote(self, name: str) -> str:
        return _quote_duckdb(name)

    def _placeholder(self, position: int) -> str:
        return "?"

    def _table_sql(self, table: str) -> str:
        return _quote_duckdb(table)

    def _select(self, table: str, sql: str, bound: list[Condition]) -> pyarrow.Table:
        with self._session(f"read {table}") as connection:
            return connection.sql(sql, params=[condition.value for condition in bound]).to_arrow_table()

    def close(self) -> None:
        with self._memory_lock:
            self._closed = True
            if self._memory_connection is not None:
                self._memory_connection.close()
                self._memory_connection = None


class _KeptSession:
    """The connection of a kept_open block: opened (under the file's thread lock) at its first use."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._connection: duckdb.DuckDBPyConnection | None = None

    def connection(self, warehouse: DuckDBWarehouse) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            assert warehouse._path is not None
            try:
                self._stack.enter_context(_path_lock(warehouse._path))  # other threads wait until the block ends
                connection = warehouse._open_file()
                self._stack.callback(connection.close)
                warehouse._prepare(connection)
            except BaseException:
                self.close()  # the lock too: the next use starts again
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        self._connection = None
        self._stack.close()  # the connection closed, then the lock released


class _DuckDBBatchWriter:
    """Conforms each chunk and appends it to a local Parquet file (one row group per chunk)."""

    def __init__(self, table: str, batch_key: str, path: Path) -> None:
        self.table, self.batch_key, self.path = table, batch_key, path
        self.rows_written = 0
        self._schema = arrow_schema(table)
        self._writer: Any = None

    def append(self, rows: Rows) -> int:
        import pyarrow.parquet as pq

        arrow_table = conformed_arrow(self.table, rows, self.batch_key)
        if not arrow_table.num_rows:
            return 0
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema, compression=STAGING_COMPRESSION)
        self._writer.write_table(arrow_table)
        self.rows_written += arrow_table.num_rows
        return arrow_table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
