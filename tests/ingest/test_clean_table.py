"""shared.ingest.clean_table: a table cleaned as a stream, every row clean or quarantined, no bucket layout involved."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.backends import services
from shared.errors import BadInputError
from shared.ingest import clean_table
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.clean_table import TableCleaner, arrow_schema, clean_into, pii_hasher
from shared.ingest.contract import ColumnSpec, Contract
from shared.ingest.csv_output import SOURCE_ROW_COLUMN
from shared.ingest.pii import MIN_KEY_CHARS
from shared.settings import Settings


def _contract(**extra: object) -> Contract:
    specs = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric", min=0),
        "fecha": ColumnSpec("fecha", "date"),
        "sector": ColumnSpec("sector", "categorical", values=["Agrícola", "Comercio", "Servicios"]),
        "y": ColumnSpec("y", "categorical", values=["no", "si"]),
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=specs, **extra)  # type: ignore[arg-type]


class Source:
    """A file in memory that counts how often it is opened again (the whole-file evidence pass)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reopened = 0

    @contextmanager
    def reopen(self) -> Iterator[io.BytesIO]:
        self.reopened += 1
        yield io.BytesIO(self.data)

    def cleaner(self, contract: Contract, **options: object) -> TableCleaner:
        return TableCleaner(io.BytesIO(self.data), contract, "incoming", "ventas", hasher=None, reopen=self.reopen, **options)  # type: ignore[arg-type]


def _csv(rows: list[str]) -> bytes:
    return ("id;monto;fecha;sector\n" + "".join(f"{row}\n" for row in rows)).encode("cp1252")


def test_a_spanish_excel_csv_becomes_typed_rows_and_quarantined_rows() -> None:
    source = Source(_csv(["1;1.250,50;03/02/2026;Comercio", "2;abc;04/02/2026;Servicios", "3;-5;05/02/2026;Comercio", "4;7,5;06/02/2026;Agrícola"]))
    table = source.cleaner(_contract())
    chunks = list(table)
    table.finish()
    clean = pa.concat_tables([c.clean for c in chunks if c.clean is not None])
    quarantine = pd.concat([c.quarantine for c in chunks if c.quarantine is not None])
    assert clean.schema == arrow_schema(_contract(), clean.column_names)
    assert clean.column("monto").to_pylist() == [1250.5, 7.5]
    assert clean.column(SOURCE_ROW_COLUMN).to_pylist() == [2, 5]  # each row keeps its row in Excel
    assert sorted(quarantine["error_code"]) == ["below_min", "not_a_number"]
    assert (table.rows_in, table.rows_clean, table.rows_quarantined) == (4, 2, 2)
    details = table.details()
    assert details["decimal"] == "," and details["delimiter"] == ";" and details["encoding"] == "cp1252"
    assert details["quarantine_reasons"] == {"below_min": 1, "not_a_number": 1}
    assert (table.out_delimiter, table.out_decimal) == (";", ",")
    assert source.reopened == 0, "a file that fits one chunk is read once"


def test_a_csv_longer_than_a_chunk_is_read_once_more_for_its_evidence_and_no_more() -> None:
    rows = [f"{i};1.250;01/02/2026;Comercio" for i in range(1, 3000)] + ["3000;1619.51;01/02/2026;Comercio"]
    source = Source(_csv(rows))
    table = source.cleaner(_contract(), block_bytes=4096)
    chunks = list(table)
    table.finish()
    assert len(chunks) > 1 and source.reopened == 1
    assert table.rows_quarantined == 0  # the last row proves the decimal point for the whole column
    assert pa.concat_tables([c.clean for c in chunks if c.clean is not None]).column("monto").to_pylist()[:2] == [1.25, 1.25]


def test_a_file_with_a_header_and_no_rows_is_refused_in_both_languages() -> None:
    table = Source(_csv([])).cleaner(_contract())
    assert list(table) == []
    with pytest.raises(BadInputError) as refused:
        table.finish()
    assert refused.value.code == "no_rows" and refused.value.message_es != refused.value.message_en


def test_a_short_pii_key_is_refused_in_both_languages_with_what_it_needs() -> None:
    personal = _contract()
    personal.columns["id"] = ColumnSpec("id", "identifier", nullable=False, personal=True)
    with pytest.raises(BadInputError) as refused:
        pii_hasher("corta", personal, "incoming")
    assert refused.value.code == "pii_key_invalid"
    assert str(MIN_KEY_CHARS) in refused.value.message_es and str(MIN_KEY_CHARS) in refused.value.message_en
    assert pii_hasher(None, _contract(), "incoming") is None  # nothing personal: nothing to refuse


cells = st.one_of(
    st.sampled_from(["12", "1.250,5", "0,75", "-3", "abc", "", "1e3"]),
    st.text(alphabet="0123456789,.-x ", max_size=6),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(cells, st.sampled_from(["01/02/2026", "31/02/2026", "", "x"]), st.sampled_from(["Comercio", "Otro", ""])), min_size=1, max_size=40))
def test_every_row_read_is_clean_or_quarantined_exactly_once(rows: list[tuple[str, str, str]]) -> None:
    data = _csv([f"{i};{monto};{fecha};{sector}" for i, (monto, fecha, sector) in enumerate(rows, start=1)])
    table = Source(data).cleaner(_contract())
    seen: list[int] = []
    for chunk in table:
        if chunk.clean is not None:
            seen += chunk.clean.column(SOURCE_ROW_COLUMN).to_pylist()
        if chunk.quarantine is not None:
            seen += [int(n) for n in chunk.quarantine["row_number"]]
    table.finish()
    assert sorted(seen) == list(range(2, len(rows) + 2))
    assert table.rows_in == len(rows) == table.rows_clean + table.rows_quarantined


def test_clean_into_publishes_both_objects_or_neither(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = home.object_uri("raw", "archive/training/ventas.csv")
    services.store(raw).write_bytes(raw, _csv(["1;10;01/02/2026;Comercio", "2;abc;01/02/2026;Comercio"]), "text/csv")
    outputs = CleanOutputs(home.object_uri("clean", "training/ventas.parquet"), home.object_uri("quarantine", "training/ventas.quarantine.csv"))
    done = clean_into(raw, _contract(), "incoming", "ventas", outputs, hasher=None)
    assert (done.rows_in, done.rows_clean, done.rows_quarantined) == (2, 1, 1)
    assert done.clean_uri == outputs.clean_uri and done.quarantine_uri == outputs.quarantine_uri

    # The same name again, now every row good: the earlier quarantine file goes.
    services.store(raw).write_bytes(raw, _csv(["1;10;01/02/2026;Comercio"]), "text/csv")
    again = CleanOutputs(outputs.clean_uri, outputs.quarantine_uri)
    assert clean_into(raw, _contract(), "incoming", "ventas", again, hasher=None).quarantine_uri is None
    assert not services.store(outputs.quarantine_uri).exists(outputs.quarantine_uri)

    # Refused half way (a transient fault while reading): nothing half-written appears.
    services.store(outputs.clean_uri).delete(outputs.clean_uri)
    real_validate = TableCleaner._validate

    def fails_on_second_chunk(self: TableCleaner, chunk: pd.DataFrame, *args: object):  # noqa: ANN202
        if self.rows_in:
            raise OSError("storage reset")
        return real_validate(self, chunk, *args)

    monkeypatch.setattr(TableCleaner, "_validate", fails_on_second_chunk)
    monkeypatch.setattr(clean_table, "CSV_BLOCK_BYTES", 4096)
    rows = [f"{i};10;01/02/2026;Comercio" for i in range(1, 3000)]
    services.store(raw).write_bytes(raw, _csv(rows), "text/csv")
    with pytest.raises(OSError):
        clean_into(raw, _contract(), "incoming", "ventas", CleanOutputs(outputs.clean_uri, outputs.quarantine_uri), hasher=None)
    assert not services.store(outputs.clean_uri).exists(outputs.clean_uri)
