"""Work handed to one thread of its own, a bounded number of pieces at a time, in order.

Scoring a file has two halves that can overlap: LightGBM's predict and Arrow's kernels release the
GIL, so one half runs on the second core while the other holds the interpreter. The score function
scores the next batch while this thread writes the last one (shared.steps.score); `dropscore score`
validates the next chunks while this thread scores and writes (shared.local.direct_scoring).

What both need, in one place:

- **Order**: one thread, so pieces run in the order they were handed over (a predictions file is
  written batch after batch).
- **Flat memory**: :meth:`WorkerThread.submit` waits while ``in_flight`` pieces are unfinished, so
  the caller never runs more than that many batches ahead.
- **Errors where the caller is**: a piece's error is raised by the next ``submit`` or by
  :meth:`WorkerThread.finish`; after it, the pieces still queued do not start.
- **Nothing left running**: :meth:`WorkerThread.stop` (also on leaving a ``with`` block, whatever
  raised, Ctrl-C included) cancels what has not started and joins the thread, so a caller that then
  drops a half-written file knows nothing writes to it any more.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any


class WorkerThread:
    """One background thread running the pieces of work handed to it, in order, at most ``in_flight`` at a time."""

    def __init__(self, name: str, *, in_flight: int) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1, got {in_flight}")
        self._in_flight = in_flight
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: deque[Future[Any]] = deque()
        self._stopped = threading.Event()  # stop() was called: nothing is handed over any more
        self._failed = threading.Event()  # a piece raised: the ones after it do not run

    @property
    def waiting(self) -> int:
        """Pieces handed over and not yet collected (running, queued, or finished since the last look)."""
        return len(self._pending)

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        """Hand ``work(*args)`` to the thread.

        First collects the pieces already finished and waits while ``in_flight`` are not: the error
        of any of them is raised here, and the thread is then stopped.
        """
        if self._stopped.is_set():
            raise RuntimeError("this worker thread was stopped")
        try:
            while self._pending and (self._pending[0].done() or len(self._pending) >= self._in_flight):
                self._pending[0].result()  # counted as waiting until it is collected
                self._pending.popleft()
        except BaseException:
            self.stop()
            raise
        self._pending.append(self._executor.submit(self._run, work, args))

    def finish(self) -> None:
        """Wait for every piece handed over (the first error among them is raised), then stop the thread."""
        try:
            while self._pending:
                self._pending[0].result()
                self._pending.popleft()
        finally:
            self.stop()

    def stop(self) -> None:
        """No piece starts any more; the one running ends and the thread is joined. Safe to call twice."""
        self._stopped.set()
        self._pending.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, work: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._failed.is_set() or self._stopped.is_set():
            return None  # a piece before this one failed (its error is the one raised), or the caller stopped
        try:
            return work(*args)
        except BaseException:
            self._failed.set()
            raise

    def __enter__(self) -> WorkerThread:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()
