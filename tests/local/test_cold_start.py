"""Cold starts: importing a function's main.py stays cheap, and a warm instance keeps its champion.

Behaviour only (no timings; bench/bench_performance.py measures them): what importing
``functions/<name>/main.py`` loads, and how often the champion's artifacts are downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.model import registered
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("clean", "score", "drift", "retrain")
# Libraries that cost seconds or tens of MB to import: a handler imports them when an event needs them.
HEAVY = ("pandas", "numpy", "pyarrow", "lightgbm", "mlflow", "duckdb", "scipy", "sklearn", "google.cloud.storage", "google.cloud.bigquery", "boto3")

IMPORT_MAIN = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("main", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in json.loads(sys.argv[3]) if name in sys.modules)))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_importing_main_loads_no_heavy_library(function: str) -> None:
    main = ROOT / "functions" / function / "main.py"
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_MAIN, str(ROOT), str(main), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# The model libraries the clean step must never load. SciPy is not listed: ``import mlflow`` itself
# imports scipy.sparse (mlflow/models/utils.py), so only a registry read without MLflow would avoid it.
MODEL_LIBRARIES = ("lightgbm", "sklearn")

READ_CONTRACT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from shared.steps.clean import contract_in_force
from shared.settings import load_settings
contract, version = contract_in_force(load_settings())
print(json.dumps({"version": version, "fingerprint": contract.fingerprint(),
                  "loaded": sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)}))
"""


def test_reading_the_champions_contract_loads_no_model_library(champion_home: Settings) -> None:
    """The clean step needs the champion's contract, never its booster: a fresh process that reads
    the contract from a real registry has not imported LightGBM or scikit-learn (70-80 MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", READ_CONTRACT, str(ROOT), json.dumps(MODEL_LIBRARIES)],
        capture_output=True, text=True, timeout=120, check=True, env={**os.environ, "DROPSCORE_HOME": str(champion_home.home)},
    )  # fmt: skip
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    champion = registered.load(services.registry(champion_home), CHAMPION)
    assert (outcome["version"], outcome["fingerprint"]) == (champion.version, champion.contract.fingerprint())
    assert outcome["loaded"] == []


def test_the_champion_is_loaded_once_per_instance_and_again_when_the_alias_moves(
    champion_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted as boosters built from a model file: the embedded registry reads the version's folder
    in place (shared.backends.sqlite_registry), a server's is downloaded first; either way once per version."""
    import lightgbm

    loads: list[str] = []
    real_booster = lightgbm.Booster

    def counting_booster(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a pass-through spy
        loads.append(str(kwargs.get("model_file")))
        return real_booster(*args, **kwargs)

    monkeypatch.setattr(lightgbm, "Booster", counting_booster)
    registry = services.registry(champion_home)
    first = registered.load(registry, CHAMPION)
    again = registered.load(services.registry(champion_home), CHAMPION)  # the next event on the same instance
    assert again is first and len(loads) == 1

    # A new version (same artifacts) becomes champion: the alias moved, so the model is reloaded once.
    source = registry.client.get_model_version(registry.model_name, first.version)
    moved = registry.client.create_model_version(registry.model_name, source.source, run_id=source.run_id)
    registry.set_alias(CHAMPION, str(moved.version))
    reloaded = registered.load(services.registry(champion_home), CHAMPION)
    assert reloaded.version == str(moved.version) and len(loads) == 2
    assert registered.load(services.registry(champion_home), CHAMPION) is reloaded and len(loads) == 2
