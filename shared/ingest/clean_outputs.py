"""The clean step's outputs, streamed to the store as they are written: nothing staged in /tmp,
which counts against a function's memory.

The clean rows (Parquet) and the quarantined rows (CSV) of a file are each opened at their first
row and appear only when published, in the order the flow needs (quarantine first, then the
manifest, then the clean object, whose finalize event starts scoring). If anything fails first,
:meth:`CleanOutputs.discard` drops both: a rejected or crashed run leaves no partial object.
"""

from __future__ import annotations

import contextlib
import csv
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shared.backends import services
from shared.delivery.parquet_io import clean_parquet_writer
from shared.ingest.csv_output import text_writer
from shared.ingest.spreadsheet_safety import neutralize_frame, neutralize_row

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"


class CleanOutputs:
    def __init__(self, clean_uri: str, quarantine_uri: str) -> None:
        self.clean_uri, self.quarantine_uri = clean_uri, quarantine_uri
        self._clean = ExitStack()
        self._quarantine = ExitStack()
        self._parquet: pq.ParquetWriter | None = None
        self._csv: Any = None
        self._quarantine_columns: list[str] = []

    def write_clean(self, table: pa.Table) -> None:
        if self._parquet is None:
            stream = self._clean.enter_context(services.store(self.clean_uri).open_write(self.clean_uri, PARQUET_CONTENT_TYPE))
            self._parquet = clean_parquet_writer(stream, table)
        self._parquet.write_table(table)

    def write_quarantine(self, rows: pd.DataFrame, columns: list[str], delimiter: str) -> None:
        """Append quarantined rows, laid out as ``columns`` (the header, written with the first rows)."""
        if self._csv is None:
            stream = self._quarantine.enter_context(services.store(self.quarantine_uri).open_write(self.quarantine_uri, "text/csv"))
            self._csv = csv.writer(self._quarantine.enter_context(text_writer(stream)), delimiter=delimiter)
            self._quarantine_columns = columns
            self._csv.writerow(neutralize_row(columns))
        shown = neutralize_frame(rows.reindex(columns=self._quarantine_columns))  # safe to open in Excel
        self._csv.writerows(shown.astype(object).where(shown.notna(), "").itertuples(index=False))

    def source_described(self, details: dict[str, Any]) -> None:
        """What the file turned out to be, known before its first clean row (its delimiter and decimal
        mark, the output's, passthrough columns): nothing to do for stored rows; a sink that scores
        them (shared.local.direct_scoring) writes its predictions in that dialect."""

    @property
    def schema(self) -> pa.Schema | None:
        return None if self._parquet is None else self._parquet.schema

    def publish_quarantine(self) -> str | None:
        """Finish the quarantine object (None: no row was quarantined)."""
        if self._csv is None:
            return None
        self._quarantine.close()
        return self.quarantine_uri

    def publish_clean(self) -> str | None:
        """Finish the clean object, which triggers scoring (None: no clean row)."""
        if self._parquet is None:
            return None
        self._parquet.close()  # the footer, still into the stream
        self._clean.close()
        return self.clean_uri

    def discard(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        """Drop whatever was not published (called with the exception that stopped the run)."""
        if self._parquet is not None:
            with contextlib.suppress(Exception):  # the stream may be what failed
                self._parquet.close()  # its footer goes into the stream about to be dropped
            self._parquet = None
        self._quarantine.__exit__(exc_type, exc, traceback)
        self._clean.__exit__(exc_type, exc, traceback)
