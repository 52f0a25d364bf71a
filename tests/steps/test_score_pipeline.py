"""The score step scores the next batch while a thread of its own writes the last one (warehouse rows,
CSV bytes; shared.delivery.worker_thread). Small batches here, so that a 600-row month makes many and
several wait for the writing thread at once: the predictions file and the warehouse rows must come out
as one batch makes them, and a failure on either side (a write, the scoring, Ctrl-C) must surface in
the caller, stop the thread, and leave neither a predictions file nor warehouse rows of the upload."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import shared.steps.score as score_step
from shared.backends import services
from shared.delivery.worker_thread import WorkerThread
from shared.local.chain import drop_file
from shared.settings import Settings
from shared.steps.clean import clean_object
from shared.steps.score import score_object
from tests.conftest import MONTH_ROWS, SyntheticFiles

BATCH_ROWS = 48


def _cleaned(settings: Settings, path: Path) -> str:
    """A new upload of ``path`` cleaned: its clean object, ready to score (the score function's event)."""
    dropped = drop_file(settings, path, "incoming", run_chain=False)
    return clean_object(settings, dropped["source"]).clean_uri


def _predictions(settings: Settings, clean_uri: str) -> tuple[str, pd.DataFrame]:
    """The upload's warehouse rows, in stored order, without what differs between two runs."""
    warehouse = services.warehouse(settings)
    batches = warehouse.read("batches", where={"clean_uri": clean_uri})
    key = str(batches["batch_key"].iloc[-1]) if len(batches) else ""
    rows = warehouse.read("predictions", where={"batch_key": key}) if key else pd.DataFrame()
    return key, rows.drop(columns=["batch_key", "scored_at"], errors="ignore").reset_index(drop=True)


def _writing_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("dropscore-write")]


def _predictions_folder(settings: Settings) -> list[Path]:
    folder = Path(settings.area_uri("predictions").removeprefix("file://"))
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_many_batches_write_what_one_batch_writes(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    month = synthetic_files.months[1]
    monkeypatch.setattr(score_step, "PARQUET_BATCH_ROWS", 10 * MONTH_ROWS)  # the whole month in one batch: nothing overlaps
    whole = score_object(champion_home, _cleaned(champion_home, month))
    whole_csv = services.store(whole.output).read_bytes(whole.output)
    _, whole_rows = _predictions(champion_home, whole.clean_uri)

    waiting: list[int] = []
    queue_full = threading.Event()

    class Watched(WorkerThread):
        def submit(self, work: Any, *args: Any) -> None:
            super().submit(work, *args)
            waiting.append(self.waiting)
            if self.waiting >= score_step.BATCHES_IN_FLIGHT:
                queue_full.set()

    real_csv_bytes = score_step.csv_bytes

    writing_threads: set[str] = set()

    def held_back(*args: Any, **kwargs: Any) -> bytes:
        writing_threads.add(threading.current_thread().name)
        queue_full.wait(timeout=30)  # the first writes wait until the scoring has filled the queue
        return real_csv_bytes(*args, **kwargs)

    monkeypatch.setattr(score_step, "BATCHES_IN_FLIGHT", 2)  # a deeper queue than the default: several batches wait
    monkeypatch.setattr(score_step, "WorkerThread", Watched)
    monkeypatch.setattr(score_step, "csv_bytes", held_back)
    monkeypatch.setattr(score_step, "PARQUET_BATCH_ROWS", BATCH_ROWS)
    batched = score_object(champion_home, _cleaned(champion_home, month))  # another upload of the same file

    assert batched.rows_scored == whole.rows_scored == MONTH_ROWS
    assert batched.output == whole.output
    assert services.store(batched.output).read_bytes(batched.output) == whole_csv  # every batch once, in order
    key, batched_rows = _predictions(champion_home, batched.clean_uri)
    assert key and len(batched_rows) == MONTH_ROWS
    pd.testing.assert_frame_equal(batched_rows, whole_rows)
    assert len(waiting) >= MONTH_ROWS // BATCH_ROWS and max(waiting) == 2  # overlapped, and bounded
    assert writing_threads == {"dropscore-write_0"}  # written in the writing thread, never the scoring one
    assert not _writing_threads()


def _assert_nothing_of_the_upload(settings: Settings, clean_uri: str) -> None:
    assert _predictions_folder(settings) == []  # no predictions file, whole or half, nor a temporary one
    warehouse = services.warehouse(settings)
    assert warehouse.read("batches", where={"clean_uri": clean_uri}).empty
    assert warehouse.read("predictions").empty  # none of its rows, not even the batches written before the failure
    assert not _writing_threads()


def test_a_failed_write_is_raised_and_leaves_nothing(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    real = score_step.csv_bytes
    written: list[int] = []

    def disk_full(*args: Any, **kwargs: Any) -> bytes:
        written.append(1)
        if len(written) == 4:
            time.sleep(0.05)  # the scoring runs ahead meanwhile
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(score_step, "csv_bytes", disk_full)
    monkeypatch.setattr(score_step, "PARQUET_BATCH_ROWS", BATCH_ROWS)
    clean_uri = _cleaned(champion_home, synthetic_files.months[1])

    with pytest.raises(OSError, match="No space left"):
        score_object(champion_home, clean_uri)

    assert len(written) == 4  # the batches after the failed one were not written
    _assert_nothing_of_the_upload(champion_home, clean_uri)


@pytest.mark.parametrize("failure", [RuntimeError("LightGBM failed"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_failure_while_scoring_stops_the_writing_thread_and_leaves_nothing(
    champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    real_score = score_step.score_batch
    real_csv_bytes = score_step.csv_bytes
    scored: list[int] = []
    written: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        scored.append(1)
        if len(scored) == 6:  # batches are being written and waiting: the failure lands in the scoring
            raise failure
        return real_score(*args, **kwargs)

    def slow_write(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(0.05)
        written.append(1)
        return real_csv_bytes(*args, **kwargs)

    monkeypatch.setattr(score_step, "score_batch", failing)
    monkeypatch.setattr(score_step, "csv_bytes", slow_write)
    monkeypatch.setattr(score_step, "PARQUET_BATCH_ROWS", BATCH_ROWS)
    clean_uri = _cleaned(champion_home, synthetic_files.months[1])

    with pytest.raises(type(failure)):
        score_object(champion_home, clean_uri)

    assert len(written) <= 5  # what was handed over before the failure, at most; then the thread stopped
    _assert_nothing_of_the_upload(champion_home, clean_uri)


def test_the_score_step_opens_the_warehouse_file_once(champion_home: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.backends.warehouse.duckdb import DuckDBWarehouse

    month = synthetic_files.months[1]
    first = score_object(champion_home, _cleaned(champion_home, month))
    second_clean = _cleaned(champion_home, month)  # the same name dropped again: its rows supersede the first upload's
    opened: list[int] = []
    real = DuckDBWarehouse._open_file

    def counted(self: DuckDBWarehouse) -> Any:
        opened.append(1)
        return real(self)

    monkeypatch.setattr(DuckDBWarehouse, "_open_file", counted)
    second = score_object(champion_home, second_clean)

    # The predictions' replace, the batches row, the earlier upload's row read and marked: one open, not four.
    assert len(opened) == 1
    assert first.clean_uri == second.clean_uri  # one clean object, two uploads (generations) of it
    batches = services.warehouse(champion_home).read("batches", where={"clean_uri": second.clean_uri})  # oldest first
    first_key, second_key = batches["batch_key"].tolist()
    assert batches["superseded_by"].tolist()[0] == second_key and pd.isna(batches["superseded_by"].tolist()[1])
    assert len(services.warehouse(champion_home).read("predictions", where={"batch_key": second_key})) == MONTH_ROWS
    assert len(services.warehouse(champion_home).read("predictions", where={"batch_key": first_key})) == MONTH_ROWS  # kept, for history
