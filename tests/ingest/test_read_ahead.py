"""The reading thread of a clean: items in order, errors where they happened, no thread left behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.ingest.read_ahead import read_ahead


def _reader_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "dropscore-reader"]


def test_items_come_in_order_and_the_thread_ends() -> None:
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))
    assert _reader_threads() == []


def test_an_error_of_the_reader_is_raised_at_the_item_where_it_happened() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is not CSV")

    seen = []
    with pytest.raises(ValueError, match="row 3"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]
    assert _reader_threads() == []


def test_a_caller_that_stops_early_stops_the_reader_and_its_generator_is_closed() -> None:
    closed = threading.Event()
    produced = []

    def items() -> Iterator[int]:
        try:
            for number in range(10_000):
                produced.append(number)
                yield number
        finally:
            closed.set()

    ahead = read_ahead(items(), depth=1)
    with pytest.raises(RuntimeError):
        for item in ahead:
            if item == 3:
                raise RuntimeError("the caller failed")
    ahead.close()
    assert closed.is_set() and len(produced) < 10  # it read one or two ahead, not the whole file
    assert _reader_threads() == []


def test_a_file_whose_reading_fails_half_way_is_reported_and_leaves_no_thread(home, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from shared.backends import services
    from shared.delivery.locations import DroppedFile
    from shared.ingest import clean_table
    from shared.ingest.contract import ColumnSpec, Contract
    from shared.steps.clean import clean_file

    monkeypatch.setattr(clean_table, "CSV_BLOCK_BYTES", 1024)
    contract = Contract(name="t", target="y", positive="si", negative="no", id_column="id",
                        columns={"id": ColumnSpec("id", "identifier", nullable=False), "monto": ColumnSpec("monto", "numeric"),
                                 "y": ColumnSpec("y", "categorical", values=["no", "si"])})
    rows = "".join(f"{i};{i},5\n" for i in range(1, 400))
    text = "id;monto\n" + rows + '400;"' + "x" * 5000 + "\n"  # a quote never closed, in a row bigger than a block
    uri = home.object_uri("raw", "incoming/roto.csv")
    services.store(uri).write_bytes(uri, text.encode(), "text/csv")
    result = clean_file(home, DroppedFile("incoming", "roto.csv"), uri, contract)
    assert result.status == "rejected"
    assert result.clean_uri is None
    assert _reader_threads() == []


def test_the_reader_is_never_more_than_depth_items_ahead() -> None:
    """Memory stays that of the item in hand and ``depth`` more, however slow the caller."""
    import time

    started: list[int] = []

    def items() -> Iterator[int]:
        for number in range(12):
            started.append(number)
            yield number

    for taken in read_ahead(items(), depth=1):
        time.sleep(0.01)  # the reader has all the time it wants
        assert len(started) <= taken + 2  # this one, and at most one more
    assert started == list(range(12))
