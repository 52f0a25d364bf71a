"""The clean step's streamed outputs: published in order, or dropped whole when the run fails."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.backends.storage import get_store
from shared.ingest.clean_outputs import CleanOutputs
from shared.settings import Settings


def _outputs(settings: Settings) -> CleanOutputs:
    return CleanOutputs(settings.object_uri("clean", "incoming/mes.parquet"), settings.object_uri("quarantine", "incoming/mes.quarantine.csv"))


def _exists(uri: str) -> bool:
    return get_store(uri).exists(uri)


def test_outputs_appear_only_when_published(home: Settings) -> None:
    outputs = _outputs(home)
    outputs.write_clean(pa.table({"n": [1, 2]}))
    outputs.write_clean(pa.table({"n": [3]}))
    outputs.write_quarantine(pd.DataFrame({"row_number": [4], "error_code": ["=cmd"]}), ["row_number", "error_code", "monto"], ";")
    assert not _exists(outputs.clean_uri) and not _exists(outputs.quarantine_uri)

    assert outputs.publish_quarantine() == outputs.quarantine_uri and not _exists(outputs.clean_uri)
    text = get_store(outputs.quarantine_uri).read_bytes(outputs.quarantine_uri).decode("utf-8-sig")
    assert text.splitlines() == ["row_number;error_code;monto", "4;'=cmd;"]  # header, then the row made safe for Excel
    assert outputs.publish_clean() == outputs.clean_uri
    assert pq.read_table(outputs.clean_uri.removeprefix("file://"))["n"].to_pylist() == [1, 2, 3]


def test_nothing_written_nothing_published(home: Settings) -> None:
    outputs = _outputs(home)
    assert outputs.publish_quarantine() is None and outputs.publish_clean() is None
    assert not _exists(outputs.clean_uri) and not _exists(outputs.quarantine_uri)


def test_a_failed_run_leaves_no_output(home: Settings) -> None:
    outputs = _outputs(home)
    with pytest.raises(RuntimeError):
        try:
            outputs.write_clean(pa.table({"n": [1]}))
            outputs.write_quarantine(pd.DataFrame({"row_number": [2]}), ["row_number"], ";")
            raise RuntimeError("an unclosed quote at row 800 000")
        except BaseException as exc:
            outputs.discard(type(exc), exc, exc.__traceback__)
            raise
    assert not _exists(outputs.clean_uri) and not _exists(outputs.quarantine_uri)
    assert not [info.uri for info in get_store(home.area_uri("clean")).list(home.area_uri("clean"))]
