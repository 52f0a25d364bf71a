"""Fan-out end to end on the embedded stack: a file above DROPSCORE_SHARD_BYTES is cleaned into
shards, each shard's finalize event is scored (in any order, some twice, some at once), and one
predictions file comes out, assembled once, equal to what the unsharded file gives."""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery.lineage import batch_key, clean_uri_of
from shared.delivery.locations import DroppedFile
from shared.errors import ClaimInProgressError
from shared.local.chain import drop_file
from shared.settings import Settings
from shared.steps.clean import clean_object
from shared.steps.score import score_object
from tests.conftest import SyntheticFiles

ROWS = 10_000  # about 4.3 MB: three or four shards of 1 MB (the reader pulls the source 1 MiB at a time)
SHARD_BYTES = 1_000_000


@pytest.fixture(scope="module")
def big_months(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    from shared.local import synthetic

    folder = tmp_path_factory.mktemp("big")
    months = {}
    for month in (1, 3):
        months[month] = folder / f"grande_{month}.csv"
        synthetic.write_excel_csv(synthetic.without_target(synthetic.generate_batch(ROWS, month=month, seed=month)), months[month])
    return months


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.ingest.clean_table

    monkeypatch.setattr(shared.ingest.clean_table, "CSV_BLOCK_BYTES", 256 * 1024)  # chunks finer than a shard


def _read_csv(uri: str) -> pd.DataFrame:
    data = get_store(uri).read_bytes(uri)
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    text = data.decode("utf-8-sig")
    assert text.count("id_negocio") == 1  # one header
    return pd.read_csv(io.StringIO(text), sep=csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;").delimiter, dtype=str)


def _drop_raw(settings: Settings, source: Path, name: str) -> str:
    uri = settings.object_uri("raw", f"incoming/{name}")
    services.store(uri).upload_file(uri, source, "text/csv")
    return uri


def test_a_big_file_is_sharded_scored_in_any_order_and_assembled_once(champion_home: Settings, big_months: dict[int, Path]) -> None:
    sharded = dataclasses.replace(champion_home, shard_bytes=SHARD_BYTES)
    cleaned = clean_object(sharded, _drop_raw(sharded, big_months[1], "grande.csv"))
    fan_out = cleaned.details["fan_out"]
    assert cleaned.status == "clean" and cleaned.clean_uri is None
    assert fan_out["count"] == len(fan_out["shards"]) >= 3 and sum(fan_out["rows"]) == cleaned.rows_clean
    assert cleaned.details["assembly"] == "waiting"  # nothing scored yet

    events = fan_out["shards"] + fan_out["shards"][:2]  # duplicate deliveries
    random.Random(3).shuffle(events)
    with ThreadPoolExecutor(max_workers=3) as pool:  # several invocations at once
        results = list(pool.map(lambda uri: _deliver(sharded, uri), events))
    assemblies = [r.manifest.get("details", {}).get("assembly") for r in results if r.status == "scored"]
    assert assemblies.count("assembled") == 1
    assert sum(r.rows_scored for r in results if r.status == "scored") == cleaned.rows_clean

    sharded_predictions = _read_csv(champion_home.object_uri("predictions", "grande.csv.predictions.csv"))
    whole = drop_file(champion_home, _copy(big_months[1], "entero.csv"), "incoming")  # the same rows, unsharded
    whole_predictions = _read_csv(whole["output"])
    assert len(sharded_predictions) == cleaned.rows_clean == whole["rows_scored"]
    pd.testing.assert_frame_equal(sharded_predictions, whole_predictions)  # same rows, same order, same scores and reasons
    assert not get_store(champion_home.area_uri("predictions")).list(champion_home.object_uri("predictions", "_parts"))

    warehouse = services.warehouse(champion_home)
    batches = warehouse.read("batches")
    file_rows = batches[batches["source_uri"] == cleaned.source_uri]
    assert len(file_rows) == fan_out["count"] + 1  # one per shard, one for the file
    assert int(file_rows["rows_in"].sum()) == ROWS == cleaned.rows_in
    assert int(file_rows["rows_scored"].sum()) == cleaned.rows_clean
    predictions = warehouse.read("predictions")
    assert int(predictions["batch_key"].map(clean_uri_of).isin(fan_out["shards"]).sum()) == cleaned.rows_clean

    from shared.reporting.dashboard_data import gather

    kpis = gather(champion_home).kpis
    assert kpis["files"] == 2 and kpis["rows"] == 2 * cleaned.rows_clean  # the sharded file and its unsharded copy


def test_shards_scored_before_clean_finishes_are_assembled_by_clean(
    champion_home: Settings, big_months: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.delivery.fanout as fanout

    sharded = dataclasses.replace(champion_home, shard_bytes=SHARD_BYTES)
    real_cut = fanout.ShardedParquet.cut

    def cut_and_score_at_once(self) -> None:  # noqa: ANN001 - the platform scores each shard as soon as it lands
        before = len(self.shards)
        real_cut(self)
        if len(self.shards) > before:
            score_object(sharded, self.shards[-1])

    monkeypatch.setattr(fanout.ShardedParquet, "cut", cut_and_score_at_once)
    cleaned = clean_object(sharded, _drop_raw(sharded, big_months[3], "rapido.csv"))
    assert cleaned.details["fan_out"]["count"] >= 3 and cleaned.details["assembly"] == "assembled"
    assert len(_read_csv(champion_home.object_uri("predictions", "rapido.csv.predictions.csv"))) == cleaned.rows_clean


def test_a_file_rejected_half_way_leaves_no_predictions_of_its_published_shards(
    champion_home: Settings, big_months: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.delivery.fanout as fanout
    from shared.errors import BadInputError
    from shared.ingest.csv_reader import CsvChunks

    sharded = dataclasses.replace(champion_home, shard_bytes=SHARD_BYTES)
    real_cut, real_chunks = fanout.ShardedParquet.cut, CsvChunks.text_chunks
    published: list[str] = []

    def cut_and_score_at_once(self) -> None:  # noqa: ANN001 - each shard is scored as soon as it lands
        before = len(self.shards)
        real_cut(self)
        if len(self.shards) > before:
            published.append(self.shards[-1])
            assert score_object(sharded, self.shards[-1]).status == "scored"

    def unreadable_after_two_shards(self):  # noqa: ANN001, ANN202 - an unclosed quote deep in the file
        for chunk in real_chunks(self):
            if len(published) >= 2:
                raise BadInputError("row_too_large", "Una fila ocupa demasiado.", "A row is too large.")
            yield chunk

    monkeypatch.setattr(fanout.ShardedParquet, "cut", cut_and_score_at_once)
    monkeypatch.setattr(CsvChunks, "text_chunks", unreadable_after_two_shards)
    cleaned = clean_object(sharded, _drop_raw(sharded, big_months[3], "cortado.csv"))

    assert cleaned.status == "rejected" and cleaned.details["fan_out"]["withdrawn"] == len(published) == 2
    warehouse = services.warehouse(champion_home)
    assert not warehouse.read("predictions")["batch_key"].map(clean_uri_of).isin(published).any()
    assert not warehouse.read("batches")["batch_key"].map(clean_uri_of).isin(published).any()
    predictions_area = get_store(champion_home.area_uri("predictions"))
    assert not [info.uri for info in predictions_area.list(champion_home.area_uri("predictions")) if "cortado" in info.uri]
    clean_area = get_store(champion_home.area_uri("clean"))
    assert not [info.uri for info in clean_area.list(champion_home.object_uri("clean", "incoming")) if "cortado.shard-" in info.uri]

    # A shard whose score writes its rows after clean withdrew the others withdraws itself.
    late = published[0]
    located = DroppedFile.from_clean_key(late.split("/clean/", 1)[1])
    assert located is not None
    target = fanout.predictions_target(sharded, located)
    late_key = batch_key(late, cleaned.details["generation"])  # as the score step keys it (shared.delivery.lineage)
    warehouse.write_batch("batches", pd.DataFrame([{"kind": "incoming", "status": "scored", "rows_scored": 1}]), batch_key=late_key)
    assert fanout.shard_scored(sharded, target, rows_scored=1, clean_uri=late).status == "withdrawn"
    assert not warehouse.read("batches")["batch_key"].isin([late_key]).any()


def test_drop_and_a_new_upload_replace_the_shards(champion_home: Settings, big_months: dict[int, Path], synthetic_files: SyntheticFiles) -> None:
    sharded = dataclasses.replace(champion_home, shard_bytes=SHARD_BYTES)
    first = drop_file(sharded, _copy(big_months[1], "mes.csv"), "incoming")
    assert first["shards"] >= 3 and first["rows_scored"] + first["rows_quarantined"] == ROWS
    second = drop_file(sharded, _copy(big_months[3], "mes.csv"), "incoming")  # the same name, new content
    clean_objects = [info.uri for info in get_store(sharded.area_uri("clean")).list(sharded.object_uri("clean", "incoming"))]
    assert len([uri for uri in clean_objects if ".shard-" in uri]) == second["shards"]  # the first upload's shards are gone
    assert len(_read_csv(second["output"])) == second["rows_scored"]
    third = drop_file(sharded, _copy(synthetic_files.months[1], "mes.csv"), "incoming")  # small now: one clean object
    clean_objects = [info.uri for info in get_store(sharded.area_uri("clean")).list(sharded.object_uri("clean", "incoming"))]
    assert "shards" not in third and not [uri for uri in clean_objects if ".shard-" in uri]


def _deliver(settings: Settings, uri: str):  # noqa: ANN202
    """One event delivery with the platform's retries: a duplicate that finds its twin at work retries later."""
    for _attempt in range(200):
        try:
            return score_object(settings, uri)
        except ClaimInProgressError:
            time.sleep(0.05)
    raise AssertionError(f"{uri} never finished")


def _copy(source: Path, name: str) -> Path:
    target = source.parent / "copies" / name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(source, target)
    return target
