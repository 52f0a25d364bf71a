"""The score step reads the clean Parquet a window of row groups at a time (shared.delivery.parquet_io.iter_batches):
what it holds follows the window, not the file, and it reads the file forward in a few large reads.

Arrow's ``iter_batches`` over the whole file pre-buffers every row group into one cache that lives
until the file is closed: a million-row file held ~140 MiB more by its last batch than by its first.
Without pre-buffering it jumps back for every column, and every jump is a new ranged request on GCS
and S3. The stores hand the reader Python streams, so the cache is made of Python bytes, which
tracemalloc sees; the batches themselves live in Arrow's pool, which it does not.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.delivery import parquet_io
from shared.delivery.parquet_io import iter_batches, streamed_parquet
from shared.settings import Settings
from tests.conftest_services import moto_server, s3_bucket_uri  # noqa: F401  (fixtures)

ROWS = 200_000
ROW_GROUP_ROWS = 4_000  # like the clean step's (~4 900 rows a group): many row groups
BATCH_ROWS = 16_384
WINDOW_BYTES = 2 * 1024 * 1024


def _write_clean_like_file(settings: Settings) -> tuple[str, int]:
    uri = settings.object_uri("clean", "incoming/streamed.parquet")
    path = Path(uri.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_parquet(path)
    return uri, path.stat().st_size


def _write_parquet(path: Path) -> None:
    rng = np.random.default_rng(8)
    # Compressing like clean data (amounts in cents, categories, one id): row groups of ~0.2 MB.
    columns = {"id": pa.array(np.char.add("N", np.arange(ROWS).astype(str)))}
    columns |= {f"numero_{i}": rng.integers(0, 100_000, ROWS) / 100 for i in range(12)}
    columns |= {f"texto_{i}": pa.array(rng.choice(["norte", "sur", "este", "oeste", "centro"], ROWS)) for i in range(8)}
    pq.write_table(pa.table(columns), path, row_group_size=ROW_GROUP_ROWS, compression="zstd")


def _python_peak(batches: Iterator[pa.RecordBatch]) -> tuple[int, list[pa.RecordBatch]]:
    """Peak of Python memory while the batches are read (each one's first column is kept, to check the rows)."""
    kept = []
    tracemalloc.start()
    try:
        for batch in batches:
            kept.append(batch.select([0]))
            del batch
        return tracemalloc.get_traced_memory()[1], kept
    finally:
        tracemalloc.stop()


class _RecordingStream(io.RawIOBase):
    """A file that records where each read starts and how long it is."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this stream
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        start = self._file.tell()
        count = self._file.readinto(buffer)
        self.reads.append((start, count))
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def test_streamed_batches_hold_a_window_not_the_file(home: Settings) -> None:
    uri, size = _write_clean_like_file(home)

    with streamed_parquet(uri) as parquet:
        expected = parquet.read(columns=["id"]).column(0)
        streamed_peak, kept = _python_peak(iter_batches(parquet, BATCH_ROWS, window_bytes=WINDOW_BYTES))
    assert pa.chunked_array([batch.column(0) for batch in kept]).equals(expected)  # every row, in order
    assert max(batch.num_rows for batch in kept) == BATCH_ROWS
    assert size > 4 * WINDOW_BYTES and streamed_peak < 1.5 * WINDOW_BYTES, (streamed_peak, size)

    # What the windows avoid: Arrow's iter_batches over the whole file holds the whole file.
    with streamed_parquet(uri) as parquet:
        whole_file_peak, _ = _python_peak(parquet.iter_batches(batch_size=BATCH_ROWS))
    assert whole_file_peak > size / 2, (whole_file_peak, size)


def test_streamed_batches_read_the_file_forward_a_window_at_a_time(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    uri, size = _write_clean_like_file(home)
    streams: list[_RecordingStream] = []

    def recording_open(target: str) -> BinaryIO:
        streams.append(_RecordingStream(Path(target.removeprefix("file://"))))
        return streams[-1]  # type: ignore[return-value]

    monkeypatch.setattr(parquet_io, "_open_stream", recording_open)
    with streamed_parquet(uri) as parquet:
        footer_reads = len(streams[0].reads)
        rows = sum(batch.num_rows for batch in iter_batches(parquet, BATCH_ROWS, window_bytes=WINDOW_BYTES))
        windows = len(list(parquet_io._row_group_windows(parquet.metadata, WINDOW_BYTES)))
        column_chunks = parquet.metadata.num_row_groups * parquet.metadata.num_columns
    assert rows == ROWS and streams[0].closed

    data_reads = streams[0].reads[footer_reads:]
    starts = [start for start, _ in data_reads]
    assert starts == sorted(starts)  # never back: a backward seek is a new request on GCS and S3
    assert 1 < windows <= len(data_reads) <= 2 * windows < column_chunks / 50  # a read or two a window, not one a column chunk


def test_streaming_from_s3_takes_a_few_requests(s3_bucket_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from shared.backends import services

    local = tmp_path / "clean.parquet"
    _write_parquet(local)
    uri = f"{s3_bucket_uri}/incoming/streamed.parquet"
    store = services.store(uri)
    store.upload_file(uri, local)
    requests: list[object] = []
    get_object = store.client.get_object

    def counting_get_object(**kwargs: object) -> object:
        requests.append(kwargs.get("Range"))
        return get_object(**kwargs)

    monkeypatch.setattr(store.client, "get_object", counting_get_object)
    with streamed_parquet(uri) as parquet:
        rows = sum(batch.num_rows for batch in iter_batches(parquet, BATCH_ROWS, window_bytes=WINDOW_BYTES))
        windows = len(list(parquet_io._row_group_windows(parquet.metadata, WINDOW_BYTES)))
    assert rows == ROWS
    # The footer, then forward reads the open body serves: one GET per window at most. (Without
    # pre-buffering: one per column chunk and batch, ~3 000 for a 200 000-row clean file.)
    assert len(requests) <= windows + 3, requests
