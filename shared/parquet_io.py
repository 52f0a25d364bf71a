"""Read Parquet objects from any store.

Parquet keeps its schema in a footer, so the reader must seek. Local files and GCS
blob readers can; an S3 streaming body cannot, so it is read into memory first. Clean
batches are compressed Parquet, a fraction of the CSV they came from, and files too big
for one instance are split into shards before they get here.
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
