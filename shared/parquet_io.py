"""Read Parquet objects from any store.

Parquet keeps its schema in a footer, so the reader must seek. Every store's
``open_read`` gives a seekable stream (S3 and GCS fetch byte ranges pinned to one
generation), so row groups are read without loading the object. A stream that cannot
seek (a store added later) is read into memory as a last resort.
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq

from shared import services


def open_parquet(uri: str) -> pq.ParquetFile:
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
    return pq.ParquetFile(stream)


def read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    parquet = open_parquet(uri)
    try:
        wanted = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
        return parquet.read(columns=wanted).to_pandas()
    finally:
        parquet.close()
