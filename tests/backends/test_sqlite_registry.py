"""The embedded registry read without MLflow (shared.backends.sqlite_registry), and LightGBM without scikit-learn."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.backends.sqlite_registry import SqliteRegistryReader, database_of
from shared.model import registered
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

LOAD_CHAMPION = """
import json, sys
sys.path.insert(0, sys.argv[1])
from shared.backends import services
from shared.settings import load_settings
from shared.model import registered
model = registered.load(services.registry(load_settings()), "champion")
loaded = sorted(name for name in ("mlflow", "sklearn") if name in sys.modules)
from sklearn.metrics import roc_auc_score  # still there for whatever needs it after LightGBM
print(json.dumps({"version": model.version, "loaded": loaded, "trees": model.booster.num_trees()}))
"""


def test_a_fresh_process_loads_the_embedded_champion_without_mlflow_or_scikit_learn(champion_home: Settings) -> None:
    """MLflow's client (about 1.4 s and 100 MiB cold) and scikit-learn (0.6 s, 70 MiB) are not needed to score."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_CHAMPION, str(ROOT)],
        capture_output=True, text=True, timeout=120, check=True, env={**os.environ, "DROPSCORE_HOME": str(champion_home.home)},
    )  # fmt: skip
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    champion = registered.load(services.registry(champion_home), CHAMPION)
    assert outcome == {"version": champion.version, "loaded": [], "trees": champion.booster.num_trees()}


def test_the_reader_answers_as_mlflow_does(champion_home: Settings) -> None:
    registry = services.registry(champion_home)
    database = database_of(registry.tracking_uri, registry.registry_uri)
    assert database is not None
    reader = SqliteRegistryReader(database, registry.model_name)
    by_mlflow = registry.client.get_model_version_by_alias(registry.model_name, CHAMPION)

    assert reader.version_of(CHAMPION) == str(by_mlflow.version)
    stored = reader.version(str(by_mlflow.version))
    assert stored is not None and stored.tags == dict(by_mlflow.tags)
    assert (stored.folder / "MLmodel").is_file()
    assert reader.version_of("no-such-alias") is None and reader.version("999") is None


def test_anything_but_one_local_sqlite_file_is_left_to_mlflow(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    database.touch()
    uri = f"sqlite:///{database}"
    assert database_of(uri, uri) == database
    assert database_of(uri, "http://mlflow:5000") is None  # a registry elsewhere
    assert database_of("https://mlflow.example", "https://mlflow.example") is None
    assert database_of(f"sqlite:///{tmp_path / 'missing.db'}", f"sqlite:///{tmp_path / 'missing.db'}") is None


def test_a_database_of_another_schema_answers_nothing(tmp_path: Path) -> None:
    database = tmp_path / "otro.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE model_versions (name TEXT, version INTEGER)")
        connection.execute("INSERT INTO model_versions VALUES ('modelo', 1)")
    reader = SqliteRegistryReader(database, "modelo")
    assert reader.version_of(CHAMPION) is None and reader.version("1") is None


def test_artifacts_outside_the_local_disk_are_left_to_mlflow(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE model_versions (name TEXT, version INTEGER, source TEXT, storage_location TEXT)")
        connection.execute("CREATE TABLE model_version_tags (name TEXT, version INTEGER, key TEXT, value TEXT)")
        connection.execute("INSERT INTO model_versions VALUES ('modelo', 1, 'gs://bucket/model', 'gs://bucket/model')")
        connection.execute("INSERT INTO model_versions VALUES ('modelo', 2, 'models:/m-123', NULL)")
    reader = SqliteRegistryReader(database, "modelo")
    assert reader.version("1") is None and reader.version("2") is None


ASK_CHALLENGER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from shared.backends import services
from shared.settings import load_settings
import shared.steps.score  # what a score function imports for its first event
version = services.registry(load_settings()).version_of("challenger")
print(json.dumps({"version": version, "loaded": sorted(name for name in ("mlflow", "sklearn") if name in sys.modules)}))
"""


def test_a_score_instance_learns_there_is_no_challenger_without_mlflow_or_scikit_learn(champion_home: Settings) -> None:
    """Every score event asks for the challenger to shadow; with none registered, the sqlite file settles
    it. Before issue 16's fix the question started MLflow's client (~1 s) and the score step's import
    of the training code started scikit-learn: a first event took 2.8-2.9 s, over the 2.5 s target."""
    done = subprocess.run(
        [sys.executable, "-c", ASK_CHALLENGER, str(ROOT)],
        capture_output=True, text=True, timeout=120, check=True, env={**os.environ, "DROPSCORE_HOME": str(champion_home.home)},
    )  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"version": None, "loaded": []}
    registry = services.registry(champion_home)
    database = database_of(registry.tracking_uri, registry.registry_uri)
    assert database is not None
    reader = SqliteRegistryReader(database, registry.model_name)
    assert reader.alias_is_unset("challenger") and not reader.alias_is_unset(CHAMPION)
    assert not SqliteRegistryReader(database, "no-such-model").alias_is_unset("challenger")  # MLflow's to say
