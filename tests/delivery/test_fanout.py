"""Fan-out coordination (shared.delivery.fanout): shards named, scored in any order and any number of
times, and one predictions file assembled exactly once."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.backends import services
from shared.delivery import fanout
from shared.delivery.fanout import Shard, assemble_if_complete, record_scored, shard_of
from shared.delivery.locations import DroppedFile
from shared.settings import Settings

WHOLE = DroppedFile("incoming", "2026-01/ventas")


def test_shard_names_round_trip_and_unsharded_files_are_not_shards() -> None:
    run = fanout.run_id("1234567890")
    shard = Shard(WHOLE, run, 3)
    assert shard.clean_key() == f"incoming/2026-01/ventas.shard-{run}-00003.parquet"
    parsed = DroppedFile.from_clean_key(shard.clean_key())
    assert parsed is not None and shard_of(parsed) == shard
    assert shard_of(WHOLE) is None
    assert shard_of(DroppedFile("incoming", "ventas.shard-3")) is None
    assert fanout.run_id("a") != fanout.run_id("b") and len(run) == fanout.RUN_LENGTH


def test_when_to_shard() -> None:
    assert not fanout.is_sharded(100, 100) and fanout.is_sharded(101, 100)


def _write_parts(settings: Settings, run: str, count: int) -> list[str]:
    uris = []
    for index in range(count):
        uri = settings.object_uri("predictions", fanout.part_key(WHOLE, run, index))
        body = ("\ufeffid;score\r\n" if index == 0 else "") + "".join(f"{index}-{row};0,5\r\n" for row in range(3))
        services.store(uri).write_bytes(uri, body.encode("utf-8"), "text/csv")
        uris.append(uri)
    return uris


def _target(settings: Settings) -> str:
    return settings.object_uri("predictions", WHOLE.predictions_key())


def _shard_done(settings: Settings, run: str, index: int, count: int | None, part: str) -> fanout.Assembly:
    shard = Shard(WHOLE, run, index)
    record_scored(settings, shard, rows_scored=3, part_uri=part, clean_uri=settings.object_uri("clean", shard.clean_key()))
    return assemble_if_complete(settings, WHOLE, run, count, _target(settings))


def test_out_of_order_and_duplicate_shards_assemble_once(home: Settings) -> None:
    run, count = fanout.run_id("generation-1"), 5
    parts = _write_parts(home, run, count)
    order = [3, 0, 4, 3, 1, 0, 2, 4, 2]  # duplicates and any order, as Eventarc delivers
    outcomes = [_shard_done(home, run, index, count, parts[index]) for index in order]

    statuses = [outcome.status for outcome in outcomes]
    assert statuses[:6] == ["waiting"] * 6
    assert statuses[6] == "assembled" and statuses[7:] == ["done", "done"]
    text = services.store(_target(home)).read_bytes(_target(home)).decode("utf-8")
    assert text.startswith("\ufeffid;score\r\n") and text.count("\ufeff") == 1
    assert [line.split(";")[0] for line in text.splitlines()[1:]] == [f"{i}-{r}" for i in range(count) for r in range(3)]
    assert outcomes[6].rows_scored == 15 and outcomes[-1].rows_scored == 15
    assert not any(services.store(part).exists(part) for part in parts)  # parts removed once assembled


def test_shards_scored_before_clean_ends_are_assembled_by_clean(home: Settings) -> None:
    run, count = fanout.run_id("generation-4"), 3
    parts = _write_parts(home, run, count)
    # Every shard is scored while clean is still writing: nobody knows the count yet.
    assert [_shard_done(home, run, index, None, parts[index]).status for index in range(count)] == ["waiting"] * 3
    # Clean's final step knows it.
    assert assemble_if_complete(home, WHOLE, run, count, _target(home)).status == "assembled"
    assert assemble_if_complete(home, WHOLE, run, count, _target(home)).status == "done"


def test_the_count_comes_from_the_final_manifest_of_the_same_run() -> None:
    manifest = {"status": "clean", "details": {"fan_out": {"run": "abc", "count": 4}}}
    assert fanout.shards_in_manifest(manifest, "abc") == 4
    assert fanout.shards_in_manifest(manifest, "another-upload") is None
    assert fanout.shards_in_manifest({"status": "cleaning", "details": {"fan_out": {"run": "abc", "count": 2}}}, "abc") is None
    assert fanout.shards_in_manifest({}, "abc") is None


def test_concurrent_last_shards_assemble_once(home: Settings) -> None:
    run, count = fanout.run_id("generation-2"), 6
    parts = _write_parts(home, run, count)
    for index in range(count - 2):
        _shard_done(home, run, index, count, parts[index])
    last = [count - 2, count - 1] * 4
    random.Random(7).shuffle(last)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda index: _shard_done(home, run, index, count, parts[index]), last))
    assert [outcome.status for outcome in outcomes].count("assembled") == 1
    assert {outcome.status for outcome in outcomes} <= {"assembled", "done", "in_progress", "waiting"}


def test_an_assembly_that_fails_is_redone_by_the_retry(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    run, count = fanout.run_id("generation-3"), 2
    parts = _write_parts(home, run, count)
    _shard_done(home, run, 0, count, parts[0])
    store = services.store(parts[0])
    real_compose = store.compose
    failures = [OSError("disk full")]

    def flaky_compose(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if failures:
            raise failures.pop()
        return real_compose(*args, **kwargs)

    monkeypatch.setattr(store, "compose", flaky_compose)
    with pytest.raises(OSError):
        _shard_done(home, run, 1, count, parts[1])
    assert _shard_done(home, run, 1, count, parts[1]).status == "assembled"  # the platform's retry


def test_runs_of_two_uploads_do_not_mix(home: Settings) -> None:
    first, second = fanout.run_id("upload-1"), fanout.run_id("upload-2")
    parts = _write_parts(home, first, 2)
    assert _shard_done(home, first, 0, 2, parts[0]).status == "waiting"
    assert _shard_done(home, second, 1, 2, parts[1]).status == "waiting"  # shard 1 of another upload


def _shard_objects(settings: Settings) -> list[str]:
    clean_area = settings.area_uri("clean")
    return [info.uri for info in services.store(clean_area).list(clean_area) if ".shard-" in info.uri]


def test_sharded_parquet_publishes_each_shard_when_it_is_cut(home: Settings) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = fanout.run_id("upload-9")
    manifest_written: list[int] = []
    output = fanout.ShardedParquet(home, WHOLE, run, before_first_upload=lambda: manifest_written.append(len(output.shards)))
    output.cut()  # nothing written yet: no empty shard
    for start, size, cut in ((0, 3, False), (3, 2, True), (5, 4, True), (9, 3, False)):
        output.write(pa.table({"n": list(range(start, start + size))}))
        assert len(_shard_objects(home)) == len(output.shards)  # the shard being written is not visible yet
        if cut:
            output.cut()
    output.close()
    output.close()
    assert output.rows == [5, 4, 3] and manifest_written == [0]
    values = [pq.read_table(uri.removeprefix("file://"))["n"].to_pylist() for uri in output.shards]
    assert values == [[0, 1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]
    assert [shard_of(DroppedFile.from_clean_key(uri.split("/clean/", 1)[1])).index for uri in output.shards] == [0, 1, 2]

    older = Shard(WHOLE, fanout.run_id("upload-8"), 0)
    older_uri = home.object_uri("clean", older.clean_key())
    services.store(older_uri).write_bytes(older_uri, b"stale")
    other_file = home.object_uri("clean", Shard(DroppedFile("incoming", "2026-01/ventas2"), run, 0).clean_key())
    services.store(other_file).write_bytes(other_file, b"another file")
    assert fanout.stale_shards(home, WHOLE, keep_run=run) == [older_uri]


def test_an_aborted_shard_never_appears(home: Settings) -> None:
    import pyarrow as pa

    output = fanout.ShardedParquet(home, WHOLE, fanout.run_id("upload-10"))
    output.write(pa.table({"n": [1, 2]}))
    output.cut()
    output.write(pa.table({"n": [3]}))
    output.abort()  # clean failed half way through the second shard
    assert _shard_objects(home) == output.shards and len(output.shards) == 1


def test_predictions_target_and_shard_scored_read_the_manifest_after_the_marker(home: Settings) -> None:
    import json

    whole_target = fanout.predictions_target(home, WHOLE)
    assert whole_target.shard is None and whole_target.uri == whole_target.predictions_uri and whole_target.header
    run = fanout.run_id("upload-7")
    targets = [fanout.predictions_target(home, Shard(WHOLE, run, index).dropped) for index in range(2)]
    assert [t.header for t in targets] == [True, False]
    assert all("/_parts/" in t.uri and t.predictions_uri == whole_target.uri for t in targets)
    parts = _write_parts(home, run, 2)
    assert [t.uri for t in targets] == parts

    manifest_uri = home.object_uri("clean", WHOLE.manifest_key())
    services.store(manifest_uri).write_bytes(manifest_uri, json.dumps({"status": "cleaning", "details": {}}).encode())
    assert fanout.shard_scored(home, targets[0], rows_scored=3, clean_uri="c0").status == "waiting"
    final = {"status": "clean", "details": {"fan_out": {"run": run, "count": 2}}}
    services.store(manifest_uri).write_bytes(manifest_uri, json.dumps(final).encode())
    assert fanout.shard_scored(home, targets[1], rows_scored=3, clean_uri="c1").status == "assembled"


def test_rows_per_shard_from_the_text_of_a_chunk() -> None:
    import pandas as pd

    chunk = pd.DataFrame({"a": ["12345678"] * 10, "b": ["x"] * 10}, dtype="string")  # 9 + 2 delimiters/line end = 12 bytes a row
    assert fanout.rows_per_shard(chunk, 1_200) == 100
    assert fanout.rows_per_shard(chunk.iloc[:0], 1_200) == 1
