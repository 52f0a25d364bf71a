"""Replacing a file keeps history and never breaks the monthly check (issue 13, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.backends.warehouse.bigquery import BigQueryWarehouse
from shared.delivery import lineage
from shared.local.chain import drop_file
from shared.settings import Settings
from shared.steps.drift import run_drift_check
from tests.backends.warehouse.bigquery_fake import FakeBigQueryClient, parameters_of
from tests.conftest import MONTH_ROWS, SyntheticFiles


def _drop_as(path: Path, folder: Path, name: str, settings: Settings) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(path.read_bytes())
    return drop_file(settings, target)


def test_dropping_a_name_again_keeps_the_earlier_upload_rows_marked_superseded(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path
) -> None:
    first = _drop_as(synthetic_files.months[1], tmp_path / "a", "ventas.csv", champion_home)
    second = _drop_as(synthetic_files.months[2], tmp_path / "b", "ventas.csv", champion_home)
    assert first["status"] == second["status"] == "scored"
    warehouse = services.warehouse(champion_home)
    batches = warehouse.read("batches").sort_values("processed_at").reset_index(drop=True)
    assert len(batches) == 2
    generations = batches["source_generation"].tolist()
    assert all(generations) and generations[0] != generations[1]
    # The key holds what it claims: the clean object and the upload's generation.
    assert batches["batch_key"].tolist() == [f"{uri}#{generation}" for uri, generation in zip(batches["clean_uri"], generations, strict=True)]
    assert batches.loc[0, "superseded_by"] == batches.loc[1, "batch_key"]
    assert pd.isna(batches.loc[1, "superseded_by"])
    predictions = warehouse.read("predictions", where={"model_role": "champion"})
    assert predictions.groupby("batch_key").size().to_dict() == {key: MONTH_ROWS for key in batches["batch_key"]}
    # The dashboard and the drift window count the name once, with its latest rows.
    from shared.reporting.dashboard_data import gather

    assert gather(champion_home).kpis["rows"] == MONTH_ROWS
    check = run_drift_check(champion_home, now=datetime.now(UTC) + timedelta(seconds=1), allow_retrain=False)
    assert check.rows_current == MONTH_ROWS
    assert check.skipped_batches == []


def test_a_rejected_reupload_does_not_break_the_drift_check(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    """Before: the rejected upload deleted the earlier clean Parquet, its batches row still pointed
    there, and `dropscore drift` failed with "No object at ...". Now the batch is skipped with a note."""
    good = _drop_as(synthetic_files.months[1], tmp_path / "a", "ventas.csv", champion_home)
    assert good["status"] == "scored"
    bad = tmp_path / "b" / "ventas.csv"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00\x01\x02 not a csv")
    rejected = drop_file(champion_home, bad)
    assert rejected["status"] == "rejected"
    assert not get_store(good["clean"]).exists(good["clean"])
    check = run_drift_check(champion_home, now=datetime.now(UTC) + timedelta(seconds=1), allow_retrain=False)
    assert [entry["clean_uri"] for entry in check.skipped_batches] == [good["clean"]]
    assert "ya no existen" in check.skipped_batches[0]["message_es"] and "no longer exist" in check.skipped_batches[0]["message_en"]
    assert check.summary()["skipped_batches"] == check.skipped_batches
    page = get_store(check.report_html).read_bytes(check.report_html).decode("utf-8")
    assert "Lotes fuera de la ventana" in page and "ventas.csv.parquet" in page
    assert check.rows_current == 0


def test_superseding_at_the_bigquery_seam() -> None:
    """The same calls on BigQuery: a parameterized read of the current batches of the source, then
    each earlier batch replaced under its own key with superseded_by set."""
    client = FakeBigQueryClient()
    cloud = BigQueryWarehouse("p", "d", client=client)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    client.query_results.append(
        pa.table(
            {
                "batch_key": pa.array(["gs://c/incoming/v.csv.parquet#1", "gs://c/incoming/v.csv.parquet#2"]),
                "source_uri": pa.array(["gs://r/incoming/v.csv"] * 2),
                "clean_uri": pa.array(["gs://c/incoming/v.csv.parquet"] * 2),
                "source_generation": pa.array(["1", "2"]),
                "status": pa.array(["scored", "scored"]),
                "processed_at": pa.array([now, now], pa.timestamp("us", tz="UTC")),
            }
        )
    )
    marked = lineage.supersede_earlier_uploads(cloud, "gs://r/incoming/v.csv", "2", "gs://c/incoming/v.csv.parquet#2")
    assert marked == ["gs://c/incoming/v.csv.parquet#1"]
    read, delete, load = client.calls
    assert "`source_uri` = @p0 AND `superseded_by` IS NULL" in read.sql
    assert parameters_of(read) == {"p0": ("STRING", "gs://r/incoming/v.csv")}
    assert parameters_of(delete) == {"batch_key": ("STRING", "gs://c/incoming/v.csv.parquet#1")}
    (row,) = load.rows
    assert row["batch_key"] == "gs://c/incoming/v.csv.parquet#1" and row["superseded_by"] == "gs://c/incoming/v.csv.parquet#2"
    assert row["source_generation"] == "1" and row["status"] == "scored"


@pytest.mark.parametrize(("generation", "expected"), [("1712345", "gs://c/x.parquet#1712345"), ("", "gs://c/x.parquet"), (None, "gs://c/x.parquet")])
def test_batch_key(generation: str | None, expected: str) -> None:
    assert lineage.batch_key("gs://c/x.parquet", generation) == expected
