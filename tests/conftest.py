"""Fixtures shared by the test suite: a clean environment, an embedded home, synthetic files, a champion."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.backends import services
from shared.settings import Settings, load_settings

TRAINING_ROWS = 3000
MONTH_ROWS = 600
SEED = 11


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DROPSCORE_* setting, MLflow server or cloud endpoint from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("DROPSCORE_") or name in ("STORAGE_EMULATOR_HOST", "AWS_ENDPOINT_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            monkeypatch.delenv(name, raising=False)
    services.reset()
    yield
    services.reset()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    return load_settings()


@dataclass(frozen=True)
class SyntheticFiles:
    folder: Path
    training: Path
    contract: Path
    months: dict[int, Path]
    labels: dict[int, Path]


@pytest.fixture(scope="session")
def synthetic_files(tmp_path_factory: pytest.TempPathFactory) -> SyntheticFiles:
    """Spanish-Excel CSVs from the generator: a training file, its contract, three months and their labels."""
    from shared.ingest.contract_inference import infer_contract_from_file
    from shared.local import synthetic

    folder = tmp_path_factory.mktemp("synthetic")
    training = folder / "entrenamiento.csv"
    synthetic.write_excel_csv(synthetic.generate_batch(TRAINING_ROWS, month=0, seed=SEED), training)
    contract = folder / "contrato.yaml"
    inferred = infer_contract_from_file(training, target=synthetic.TARGET_COLUMN, positive="si", id_column=synthetic.ID_COLUMN, name="test")
    contract.write_text(inferred.contract.to_yaml(), encoding="utf-8")
    months, labels = {}, {}
    for month in (1, 2, 3):
        batch = synthetic.generate_batch(MONTH_ROWS, month=month, seed=SEED)
        months[month] = folder / f"mes_{month}.csv"
        labels[month] = folder / f"etiquetas_{month}.csv"
        synthetic.write_excel_csv(synthetic.without_target(batch), months[month])
        synthetic.write_excel_csv(synthetic.labels_of(batch), labels[month])
    return SyntheticFiles(folder, training, contract, months, labels)


def train_champion(settings: Settings, files: SyntheticFiles):
    from shared.ingest.contract import Contract
    from shared.lifecycle.promotion import train_from_csv

    contract = Contract.from_yaml(files.contract.read_text(encoding="utf-8"))
    outcome = train_from_csv(settings, files.training, contract, seed=SEED)
    assert outcome.promoted, outcome.reason_en
    return outcome


@pytest.fixture(scope="session")
def champion_template(tmp_path_factory: pytest.TempPathFactory, synthetic_files: SyntheticFiles) -> Path:
    """One embedded home with a trained champion, built once per session and copied by tests."""
    template = tmp_path_factory.mktemp("champion") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DROPSCORE_HOME", str(template))
        services.reset()
        train_champion(load_settings(), synthetic_files)
        services.reset()
    return template


@pytest.fixture
def champion_home(champion_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the trained home. The copy's registry still reads model artifacts from the
    template's artifact folder (MLflow stores absolute artifact URIs), which tests only read."""
    copy = tmp_path / "home"
    shutil.copytree(champion_template, copy)
    monkeypatch.setenv("DROPSCORE_HOME", str(copy))
    return load_settings()
