"""Issue 13 item 7: temp objects of killed runs are reclaimed, and a shard size the reader cannot honour is refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shared.backends.storage.local import LocalObjectStore
from shared.delivery.temp_sweep import ORPHAN_AFTER_SECONDS
from shared.errors import SettingsError
from shared.local.chain import drop_file
from shared.settings import MIN_SHARD_BYTES, Settings, load_settings
from tests.conftest import SyntheticFiles
from tests.conftest_services import gcs_bucket_uri, gcs_emulator  # noqa: F401  (fixtures)


def _temp_file(folder: Path, name: str, size: int, age_seconds: float) -> Path:
    """What a run killed mid-write leaves: a ``.tmp-<hex>`` file beside the output it was writing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * size)
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))
    return path


def test_the_next_successful_run_removes_what_killed_runs_left(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    buckets = champion_home.home / "buckets"
    orphans = [
        _temp_file(buckets / "clean" / "incoming", ".tmp-0a1b2c3d4e5f6a7b", 3 * 1024 * 1024, ORPHAN_AFTER_SECONDS + 600),
        _temp_file(buckets / "quarantine" / "incoming", ".tmp-1a1b2c3d4e5f6a7b", 1024, ORPHAN_AFTER_SECONDS + 600),
        _temp_file(buckets / "predictions", ".tmp-2a1b2c3d4e5f6a7b", 2 * 1024 * 1024, ORPHAN_AFTER_SECONDS + 600),
    ]
    live = _temp_file(buckets / "predictions", ".tmp-3a1b2c3d4e5f6a7b", 1024, 5)  # a concurrent writer's file
    result = drop_file(champion_home, synthetic_files.months[1])
    assert result["status"] == "scored"
    assert [path for path in orphans if path.exists()] == []
    assert live.exists(), "a temp file written to recently may be a live writer's: never removed"


def test_sweep_temp_only_removes_old_temp_files_directly_in_the_folder(tmp_path: Path) -> None:
    store = LocalObjectStore()
    old_temp = _temp_file(tmp_path, ".tmp-old", 10, 7200)
    fresh_temp = _temp_file(tmp_path, ".tmp-fresh", 10, 10)
    old_output = _temp_file(tmp_path, "ventas.csv.predictions.csv", 10, 7200)
    nested = _temp_file(tmp_path / "sub", ".tmp-nested", 10, 7200)
    removed = store.sweep_temp(tmp_path.as_uri(), 3600)
    assert removed == [str(old_temp)]
    assert fresh_temp.exists() and old_output.exists() and nested.exists()
    assert store.sweep_temp((tmp_path / "missing").as_uri(), 3600) == []


@pytest.mark.parametrize("value", ["1000000", "1", "0", "abc", "-5", "2MiB"])
def test_a_shard_size_the_reader_cannot_honour_is_refused_at_settings_load(value: str) -> None:
    """Before: below the 2 MiB read block a value was silently ignored (shards came out a block each),
    and text fell back to the default. Now the settings refuse it and say why, in both languages."""
    with pytest.raises(SettingsError) as refused:
        load_settings({"DROPSCORE_SHARD_BYTES": value})
    assert "DROPSCORE_SHARD_BYTES" in refused.value.message_es and "DROPSCORE_SHARD_BYTES" in refused.value.message_en
    assert refused.value.message_es != refused.value.message_en


def test_shard_sizes_from_the_read_block_up_are_taken() -> None:
    from shared.ingest.clean_table import CSV_BLOCK_BYTES

    assert MIN_SHARD_BYTES == CSV_BLOCK_BYTES  # the minimum is the block the reader cuts at
    assert load_settings({"DROPSCORE_SHARD_BYTES": str(MIN_SHARD_BYTES)}).shard_bytes == MIN_SHARD_BYTES
    assert load_settings({"DROPSCORE_SHARD_BYTES": "268_435_456"}).shard_bytes == 268435456
    assert load_settings({}).shard_bytes == 268435456


def test_the_cli_says_it_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from shared.local.cli import main

    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DROPSCORE_SHARD_BYTES", "1000000")
    assert main(["models"]) == 2
    error = capsys.readouterr().err
    assert "es menor que el mínimo 2097152" in error and "Traceback" not in error
    assert main(["--lang", "en", "models"]) == 2
    assert "is below the minimum 2097152" in capsys.readouterr().err


def test_gcs_sweep_removes_only_old_compose_intermediates(gcs_bucket_uri: str) -> None:  # noqa: F811
    """On GCS the only temp objects are intermediates of a compose killed half way (``<target>.tmp-compose-…``)."""
    from shared.backends.storage import get_store

    store = get_store(gcs_bucket_uri)
    folder = f"{gcs_bucket_uri}/predictions"
    for key in ("grande.csv.predictions.csv", "grande.csv.predictions.csv.tmp-compose-0a1b2c", "sub/otro.csv.tmp-compose-9f9f9f"):
        store.write_bytes(f"{folder}/{key}", b"x")
    assert store.sweep_temp(folder, ORPHAN_AFTER_SECONDS) == []  # all fresh: possibly a live compose
    removed = store.sweep_temp(folder, -60)  # as if an hour had passed
    assert removed == [f"{folder}/grande.csv.predictions.csv.tmp-compose-0a1b2c"]
    assert sorted(info.uri for info in store.list(folder)) == [f"{folder}/grande.csv.predictions.csv", f"{folder}/sub/otro.csv.tmp-compose-9f9f9f"]
