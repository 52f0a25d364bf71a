"""The MLflow ecosystem's conventions: its standard variables are honoured, `dropscore --version` answers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from shared.backends import services
from shared.settings import load_settings

SCRIPT = Path(sys.executable).with_name("dropscore")


def test_mlflow_tracking_uri_is_used_when_ours_is_unset(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": "https://mlflow.team.example"})
    assert settings.tracking_uri == "https://mlflow.team.example"
    assert settings.registry_uri == "https://mlflow.team.example"  # MLflow's own default: the tracking server


def test_our_tracking_uri_wins_over_mlflows(tmp_path: Path) -> None:
    settings = load_settings(
        {"DROPSCORE_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": "https://mlflow.team.example", "DROPSCORE_MLFLOW_TRACKING_URI": "https://ours.example"}
    )
    assert settings.tracking_uri == "https://ours.example"


def test_mlflow_registry_uri_names_a_separate_registry(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "MLFLOW_REGISTRY_URI": f"sqlite:///{tmp_path / 'registry.db'}"})
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert settings.registry_uri == f"sqlite:///{tmp_path / 'registry.db'}"
    assert services.registry(settings).versions() == []  # asked of the registry's own store, which MLflow creates
    assert (tmp_path / "registry.db").exists()


def test_blank_mlflow_variables_mean_unset(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": "  ", "MLFLOW_REGISTRY_URI": ""})
    assert settings.tracking_uri == settings.registry_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"


def test_the_cli_talks_to_the_server_mlflow_tracking_uri_names(tmp_path: Path) -> None:
    """A shell set up for MLflow (only MLFLOW_TRACKING_URI set) gets that store, not ./.dropscore/mlflow.db."""
    store = tmp_path / "team" / "mlflow.db"
    env = {"PATH": "/usr/bin:/bin", "DROPSCORE_HOME": str(tmp_path / "home"), "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    result = subprocess.run([str(SCRIPT), "models", "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tracking_uri"] == f"sqlite:///{store}"
    assert store.exists() and not (tmp_path / "home" / "mlflow.db").exists()


def test_version_comes_from_the_package_metadata() -> None:
    result = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"dropscore {version('dropscore')}"
