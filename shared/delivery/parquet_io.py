"""Read Parquet objects from any store, and write the clean step's.

Parquet keeps its schema in a footer, so the reader must seek. Every store's
``open_read`` gives a seekable stream (S3 and GCS fetch byte ranges pinned to one
generation), so row groups are read without loading the object. A stream that cannot
seek (a store added later) is read into memory as a last resort.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shared.backends import services

# Compressed bytes of row groups read at once when a file is streamed (:func:`iter_batches`): one
# forward read per window, held until the window's rows have been handed out. The clean step's row
# groups are ~0.5 MB, so a window holds a few batches' rows and few batches are cut short at its end
# (68 batches of at most 16 384 rows for 1 000 000 rows, against 62 over the whole file). Forward
# reads cost few requests: GCS's reader fetches 8 MiB a request (two windows), S3's keeps its GET open.
STREAM_WINDOW_BYTES = 4 * 1024 * 1024


# The clean objects are read once or twice, by the score step and the drift check, right after they
# are written: the write is on every file's path, so it is made cheap. Measured on the bench file
# (200 000 x 84, 41 row groups), writing and reading back: zstd with every column dictionary-encoded
# and string statistics, 0.67 s + 0.18 s and 18.4 MB; LZ4 with dictionaries only where they pay,
# 0.39 s + 0.13 s and 20.5 MB.
CLEAN_PARQUET_COMPRESSION = "lz4"
# A column is dictionary-encoded when its first chunk has at most this share of distinct values
# (categories, flags, dates, amounts in round figures). Encoding ids, names or continuous amounts
# builds a dictionary that Arrow throws away once it grows past its page limit: all cost, no gain.
DICTIONARY_MAX_DISTINCT_SHARE = 0.5


def clean_parquet_writer(stream: BinaryIO, first: pa.Table) -> pq.ParquetWriter:
    """A writer of clean rows into ``stream``, its encodings chosen on the first table it will write.

    Statistics are kept for numbers and dates (readers skip row groups by them) and not for text:
    the minimum and maximum of free text serve no reader of ours, and cost a pass over every string.
    """
    dictionary = [name for name, column in zip(first.column_names, first.columns, strict=True) if _repeats(column, first.num_rows)]
    statistics = [field.name for field in first.schema if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type))]
    return pq.ParquetWriter(
        stream, first.schema, compression=CLEAN_PARQUET_COMPRESSION, use_dictionary=dictionary or False, write_statistics=statistics or False
    )


def _repeats(column: pa.ChunkedArray, rows: int) -> bool:
    try:
        return pc.count_distinct(column, mode="all").as_py() <= DICTIONARY_MAX_DISTINCT_SHARE * max(rows, 1)
    except pa.ArrowNotImplementedError:
        return False  # a type with no such kernel (a column of nulls only): no dictionary to gain


def _open_stream(uri: str) -> BinaryIO:
    store = services.store(uri)
    stream = store.open_read(uri)
    seekable = False
    try:
        seekable = bool(stream.seekable())
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        stream.close()
        stream = io.BytesIO(store.read_bytes(uri))
    return stream


def open_parquet(uri: str) -> pq.ParquetFile:
    return pq.ParquetFile(_open_stream(uri))


@contextmanager
def streamed_parquet(uri: str) -> Iterator[pq.ParquetFile]:
    """The object opened to be read with :func:`iter_batches`; its stream is closed on the way out."""
    stream = _open_stream(uri)
    try:
        parquet = pq.ParquetFile(stream, pre_buffer=True)  # iter_batches pre-buffers a window at a time
        try:
            yield parquet
        finally:
            parquet.close()
    finally:
        stream.close()


def iter_batches(parquet: pq.ParquetFile, batch_size: int, window_bytes: int = STREAM_WINDOW_BYTES) -> Iterator[pa.RecordBatch]:
    """Every row of the file in order, in batches of at most ``batch_size`` rows, holding one window of
    row groups (``window_bytes`` compressed, at least one row group) in memory, never the file.

    ``parquet.iter_batches`` over the whole file pre-buffers every row group it will read into one
    cache that lives until the file is closed: memory followed the file (a 1 000 000-row clean file
    of 92 MB: +140 MiB by its last batch). Without pre-buffering it reads a column chunk at a time,
    jumping back to the first row group of the batch for every column: thousands of backward seeks,
    each a new ranged request on GCS and S3. A window at a time is pre-buffered as one forward read
    and replaced by the next. A batch does not span two windows, so a window's last batch may be short.
    """
    for row_groups in _row_group_windows(parquet.metadata, window_bytes):
        yield from parquet.iter_batches(batch_size=batch_size, row_groups=row_groups)


def _row_group_windows(metadata: pq.FileMetaData, window_bytes: int) -> Iterator[list[int]]:
    window: list[int] = []
    size = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        group_bytes = sum(group.column(column).total_compressed_size for column in range(group.num_columns))
        if window and size + group_bytes > window_bytes:
            yield window
            window, size = [], 0
        window.append(index)
        size += group_bytes
    if window:
        yield window


def read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    parquet = open_parquet(uri)
    try:
        wanted = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
        return parquet.read(columns=wanted).to_pandas()
    finally:
        parquet.close()
