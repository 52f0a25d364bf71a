"""Read the next chunk of a file while the caller validates this one: the file's reading in a thread of its own.

Parsing a CSV block (Arrow's C++ parser, outside the GIL) and normalizing its cells (Arrow kernels)
take about a third of a clean; the validation of the chunk before it takes most of the rest. With
two cores they overlap (issue 16). At most ``depth`` chunks wait, so memory stays that of a chunk
or two whatever the file's size.

Whatever the reader raises is raised in the caller, at the chunk where it happened; when the caller
stops early (an error, Ctrl-C, a second pass), the reading thread stops at its next chunk and is
joined, so no thread outlives the clean.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")

_ITEM, _END, _ERROR = "item", "end", "error"
_POLL_SECONDS = 0.05  # how soon a reader blocked on a full queue notices the caller has stopped


def read_ahead(items: Iterator[Item], *, depth: int = 1, name: str = "dropscore-reader") -> Iterator[Item]:
    """Iterate ``items`` in a thread, up to ``depth`` items ahead of the caller.

    The reader starts on an item only once one of the ``depth`` places is free (a semaphore taken
    before reading, given back when the caller takes an item): a queue alone would let it hold one
    more, read and waiting to be queued.
    """
    waiting: queue.Queue[tuple[str, object]] = queue.Queue()
    places = threading.Semaphore(depth)
    stopped = threading.Event()

    def free_place() -> bool:
        while not stopped.is_set():
            if places.acquire(timeout=_POLL_SECONDS):
                return True
        return False

    def read() -> None:
        try:
            while free_place():
                try:
                    item = next(items)
                except StopIteration:
                    waiting.put((_END, None))
                    return
                waiting.put((_ITEM, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            waiting.put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own cleanup runs here, in the thread that ran it

    reader = threading.Thread(target=read, name=name, daemon=True)
    reader.start()
    try:
        while True:
            kind, value = waiting.get()
            if kind == _END:
                return
            if kind == _ERROR:
                assert isinstance(value, BaseException)
                raise value
            places.release()  # taken: the reader may start on the next one
            yield value  # type: ignore[misc]
    finally:
        stopped.set()  # a reader waiting for a place sees it within _POLL_SECONDS; one reading finishes its item
        reader.join()
