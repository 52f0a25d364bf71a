"""`dropscore score` scores batches in a thread of its own while the clean step validates the next chunks.

Small batches and small CSV blocks here, so that a 600-row month makes many batches and several
are in the scoring thread's hands at once: the file must come out as one batch makes it, and a
failure on either side (the model, the file write, Ctrl-C in the validation) must surface in the
caller, stop the thread and leave no predictions file, whole or half.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import shared.ingest.clean_table
import shared.model.scoring
from shared.errors import ModelIntegrityError
from shared.local import direct_scoring
from shared.local.chain import score_file
from shared.settings import Settings
from shared.steps.clean import CleanRun
from tests.conftest import MONTH_ROWS, SyntheticFiles

BATCH_ROWS = 48


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct_scoring, "SCORED_BATCH_ROWS", BATCH_ROWS)
    monkeypatch.setattr(direct_scoring, "DIRECT_BLOCK_BYTES", 8 * 1024)  # many chunks of clean rows


def _scoring_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("dropscore-score")]


def _slow_scoring(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.02) -> None:
    """Batches take a while to score: the clean step runs ahead and fills the scoring thread's queue."""
    real = shared.model.scoring.score_batch

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(shared.model.scoring, "score_batch", slow)


def test_many_batches_write_the_file_one_batch_writes(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "una_vez.csv"
    score_file(champion_home, synthetic_files.months[1], whole)
    in_flight: list[int] = []
    queue_full = threading.Event()
    real_submit = direct_scoring.ScoringSink._submit_pending
    real_score = shared.model.scoring.score_batch

    def watched(self: direct_scoring.ScoringSink) -> None:
        real_submit(self)
        in_flight.append(self._scorer.waiting)
        if self._scorer.waiting >= direct_scoring.BATCHES_IN_FLIGHT:
            queue_full.set()

    def held_back(*args: Any, **kwargs: Any) -> Any:
        queue_full.wait(timeout=30)  # the first batches wait until the clean step has filled the queue
        return real_score(*args, **kwargs)

    monkeypatch.setattr(direct_scoring.ScoringSink, "_submit_pending", watched)
    monkeypatch.setattr(shared.model.scoring, "score_batch", held_back)
    monkeypatch.setattr(direct_scoring, "SCORED_BATCH_ROWS", BATCH_ROWS)
    monkeypatch.setattr(direct_scoring, "DIRECT_BLOCK_BYTES", 8 * 1024)
    batched = tmp_path / "por_lotes.csv"

    result = score_file(champion_home, synthetic_files.months[1], batched)

    assert result["rows_scored"] == MONTH_ROWS
    assert batched.read_bytes() == whole.read_bytes()  # every batch once, in order
    assert len(in_flight) >= MONTH_ROWS // (2 * BATCH_ROWS) and max(in_flight) == 2  # bounded
    assert not _scoring_threads()


def test_a_model_that_fails_to_load_is_raised_and_no_file_appears(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    def tampered(settings: Settings, version: str) -> None:
        time.sleep(0.2)  # the clean step has handed over batches by then
        raise ModelIntegrityError("the champion's files do not match their checksums")

    monkeypatch.setattr(direct_scoring, "_load_champion", tampered)
    output = tmp_path / "salida" / "predicciones.csv"

    with pytest.raises(ModelIntegrityError):
        score_file(champion_home, synthetic_files.months[1], output)

    assert not output.parent.exists() or list(output.parent.iterdir()) == []
    assert not _scoring_threads()


def test_a_failed_write_is_raised_and_no_half_file_remains(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    real = direct_scoring.csv_bytes
    calls: list[int] = []

    def disk_full(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(direct_scoring, "csv_bytes", disk_full)
    output = tmp_path / "salida" / "predicciones.csv"

    with pytest.raises(OSError, match="No space left"):
        score_file(champion_home, synthetic_files.months[1], output)

    assert len(calls) == 4  # the batches after the failed one were not scored
    assert not output.parent.exists() or list(output.parent.iterdir()) == []
    assert not _scoring_threads()


def test_ctrl_c_while_validating_stops_the_scoring_thread_and_leaves_no_file(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    _slow_scoring(monkeypatch, 0.05)
    real_write = CleanRun._write
    chunks: list[int] = []
    scored_before: list[int] = []

    def interrupted(self: CleanRun, table: Any, cleaned: Any) -> None:
        chunks.append(1)
        if len(chunks) == 6:  # batches are being scored and waiting: Ctrl-C lands in the validation
            scored_before.append(self.outputs.rows_scored)
            raise KeyboardInterrupt
        real_write(self, table, cleaned)

    monkeypatch.setattr(CleanRun, "_write", interrupted)
    output = tmp_path / "salida" / "predicciones.csv"

    with pytest.raises(KeyboardInterrupt):
        score_file(champion_home, synthetic_files.months[1], output)

    assert scored_before and scored_before[0] < MONTH_ROWS
    assert not output.parent.exists() or list(output.parent.iterdir()) == []
    assert not _scoring_threads()
