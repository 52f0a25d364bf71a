"""shared.delivery.worker_thread: pieces of work run in one thread, in order, a bounded number at a time;
a piece's error surfaces in the caller and stops the rest; leaving, whatever raised, joins the thread."""

from __future__ import annotations

import threading
import time

import pytest

from shared.delivery.worker_thread import WorkerThread


def _threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(name)]


def test_pieces_run_in_order_in_one_thread_of_their_own() -> None:
    done: list[tuple[int, str]] = []
    with WorkerThread("test-order", in_flight=2) as worker:
        for number in range(20):
            worker.submit(lambda n: done.append((n, threading.current_thread().name)), number)
        worker.finish()
    assert [number for number, _ in done] == list(range(20))
    assert {name for _, name in done} == {"test-order_0"}
    assert not _threads("test-order")


def test_submit_waits_while_in_flight_pieces_are_unfinished() -> None:
    release = threading.Event()
    handed: list[int] = []

    def caller(worker: WorkerThread) -> None:
        for number in range(4):
            worker.submit(release.wait)
            handed.append(number)

    with WorkerThread("test-bound", in_flight=2) as worker:
        feeding = threading.Thread(target=caller, args=(worker,))
        feeding.start()
        try:
            time.sleep(0.2)
            assert handed == [0, 1]  # the third waits: two pieces unfinished
            assert worker.waiting == 2
        finally:
            release.set()
        feeding.join(timeout=10)
        assert handed == [0, 1, 2, 3]
        worker.finish()


def test_an_error_is_raised_at_the_next_submit_and_the_pieces_after_it_do_not_run() -> None:
    ran: list[int] = []
    started = threading.Event()
    release = threading.Event()

    def piece(number: int) -> None:
        if number == 0:
            started.set()
            release.wait(10)
            raise OSError(28, "No space left on device")
        ran.append(number)

    worker = WorkerThread("test-error", in_flight=3)
    worker.submit(piece, 0)
    worker.submit(piece, 1)
    worker.submit(piece, 2)  # queued behind the failing one
    started.wait(10)
    release.set()
    with pytest.raises(OSError, match="No space left"):
        worker.submit(piece, 3)  # waits for the oldest (three unfinished), which raises
    assert ran == []
    assert not _threads("test-error")
    with pytest.raises(RuntimeError, match="stopped"):
        worker.submit(piece, 4)


def test_finish_raises_the_first_error() -> None:
    def piece(number: int) -> None:
        if number in (1, 2):
            raise ValueError(f"piece {number}")

    worker = WorkerThread("test-finish", in_flight=5)
    for number in range(4):
        worker.submit(piece, number)
    with pytest.raises(ValueError, match="piece 1"):
        worker.finish()
    assert not _threads("test-finish")


def test_ctrl_c_in_the_caller_stops_what_is_queued_and_joins_the_running_piece() -> None:
    ran: list[int] = []
    running = threading.Event()

    def piece(number: int) -> None:
        running.set()
        time.sleep(0.2)
        ran.append(number)

    with pytest.raises(KeyboardInterrupt), WorkerThread("test-interrupt", in_flight=3) as worker:
        worker.submit(piece, 0)
        worker.submit(piece, 1)
        running.wait(10)
        raise KeyboardInterrupt
    assert ran == [0]  # the running piece ended; the queued one never started
    assert not _threads("test-interrupt")


def test_in_flight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkerThread("test-none", in_flight=0)
