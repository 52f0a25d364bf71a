"""Smoke-test rows stay out of the drift windows (issue 14, item 7).

infra/smoke_test.py drops a few real rows under incoming/smoke/ after every deployment; they are
scored like any file (that is the test) but are not production traffic, so the drift check's
window must not count them. Real DuckDB warehouse and real Parquet files in embedded storage.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shared.backends import services
from shared.monitor.windows import current_window
from shared.settings import load_settings


def test_drift_window_leaves_out_the_smoke_tests_batches(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path / "home")})
    warehouse = services.warehouse(settings)
    now = datetime.now(UTC)
    model = SimpleNamespace(features=["monto"], contract=SimpleNamespace(output_id_column="cliente_id"), version="1")
    for key, amounts in (("incoming/2026-01/ventas", [10.5, 20.0, 30.25]), ("incoming/smoke/20260101T000000Z-ab12cd34", [999.0, 999.0])):
        clean_uri = settings.object_uri("clean", f"{key}.parquet")
        frame = pd.DataFrame({"cliente_id": [f"{key[-2:]}-{n}" for n in range(len(amounts))], "monto": amounts})
        store = services.store(clean_uri)
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
        store.write_bytes(clean_uri, buffer.getvalue().to_pybytes(), "application/octet-stream")
        batch = {
            "batch_key": f"{clean_uri}#1",
            "kind": "incoming",
            "source_uri": settings.object_uri("raw", f"{key}.csv"),
            "clean_uri": clean_uri,
            "rows_in": len(amounts),
            "rows_clean": len(amounts),
            "rows_scored": len(amounts),
            "status": "scored",
            "processed_at": now - timedelta(minutes=5),
        }
        warehouse.write_batch("batches", pd.DataFrame([batch]), batch_key=batch["batch_key"])

    window = current_window(settings, model, None, now)

    assert sorted(window["monto"]) == [10.5, 20.0, 30.25], "the smoke test's 999.0 rows are not production data"
