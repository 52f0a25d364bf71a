"""A small monitored world for the monitoring tests: months scored by a real champion, labels, checks.

Built on the shared fixtures of ``tests/conftest.py`` (a trained champion in an embedded home,
Spanish-Excel files from the synthetic generator): months 1-3 are dropped and scored, their
labels arrive, the first check runs (quiet), then a drifted month arrives and the second check
runs (it must ask for retraining). Everything goes through the real chain: drop -> clean ->
score -> warehouse, and the real drift check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shared.backends import services
from shared.ingest.contract import Contract
from shared.local import synthetic
from shared.local.chain import drop_file
from shared.model.loaded_model import LoadedModel
from shared.monitor.results import DriftCheckResult
from shared.settings import Settings, load_settings
from shared.steps.drift import run_drift_check
from tests.conftest import MONTH_ROWS, SEED, TRAINING_ROWS, SyntheticFiles
from tests.registry_double import registry_with_champion

DRIFT = synthetic.DriftSpec(
    numeric_shift_sd={"ventas_mensuales": 1.0, "num_empleados": 1.0},
    category_share_shift={"sector": ("comercio", 0.20)},
)


def _threshold_with_widest_margin(actual: np.ndarray, scores: np.ndarray, gates: dict[str, float]) -> float:
    """The cut whose smaller slack over the precision and recall floors is largest."""
    best, best_slack = 0.5, -1.0
    for cut in np.unique(np.quantile(scores, np.linspace(0.5, 0.99, 50))):
        predicted = scores >= cut
        if not predicted.any():
            continue
        precision = (predicted & actual).sum() / predicted.sum()
        recall = (predicted & actual).sum() / max(actual.sum(), 1)
        slack = min(precision - gates.get("precision", 0.0), recall - gates.get("recall", 0.0))
        if slack > best_slack:
            best, best_slack = float(cut), slack
    return best


@pytest.fixture(scope="session")
def trained_champion(synthetic_files: SyntheticFiles) -> LoadedModel:
    """A champion for the monitoring tests: LightGBM on the generator's month 0, the features and
    contract ``dropscore train`` would use, grown directly (80 trees) so that scoring with reasons
    stays fast; how a champion is searched and gated is the training tests' business."""
    import lightgbm as lgb

    from shared.model.features import model_matrix

    contract = Contract.from_yaml(synthetic_files.contract.read_text(encoding="utf-8"))
    features = [name for name in contract.feature_columns]
    frame = synthetic.generate_batch(TRAINING_ROWS + 1000, month=0, seed=SEED)
    actual = (frame[contract.target].astype(str) == contract.positive).to_numpy()
    matrix = model_matrix(frame, contract, features)
    categorical = [name for name in features if contract.columns[name].type == "categorical"]
    train, valid = slice(0, TRAINING_ROWS), slice(TRAINING_ROWS, None)
    params = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20, "verbosity": -1, "num_threads": 1, "seed": SEED}
    booster = lgb.train(params, lgb.Dataset(matrix.iloc[train], actual[train].astype(int), categorical_feature=categorical), num_boost_round=80)
    threshold = _threshold_with_widest_margin(actual[valid], booster.predict(matrix.iloc[valid]), contract.gates)
    gain = booster.feature_importance(importance_type="gain")
    importance = {name: float(value) / float(gain.sum()) for name, value in zip(booster.feature_name(), gain, strict=True)}
    quartiles = {
        name: (float(np.nanquantile(matrix[name], 0.25)), float(np.nanquantile(matrix[name], 0.75)))
        for name in features if name not in categorical and matrix[name].notna().any()
    }  # fmt: skip
    reference = frame.iloc[train][features].reset_index(drop=True)
    reference["score"] = booster.predict(matrix.iloc[train])
    valid_scores = booster.predict(matrix.iloc[valid])
    predicted = valid_scores >= threshold
    metrics = {
        "roc_auc": float(roc_auc_score(actual[valid], valid_scores)),
        "precision": float((predicted & actual[valid]).sum() / max(predicted.sum(), 1)),
        "recall": float((predicted & actual[valid]).sum() / max(actual[valid].sum(), 1)),
    }
    meta = {"features": features, "threshold": threshold, "metrics": metrics, "feature_importance": importance, "numeric_quartiles": quartiles, "gates": contract.gates}
    return LoadedModel("1", booster, contract, meta, reference)


@pytest.fixture
def monitored_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained_champion: LoadedModel) -> Iterator[Settings]:
    """An embedded home whose registry (a folder registry: MLflow itself is exercised by the lifecycle
    tests, and skipping the tracking database keeps each file fast) serves the in-memory champion."""
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    registry = registry_with_champion(tmp_path / "registry", trained_champion)
    monkeypatch.setattr(services, "registry", lambda settings: registry)
    settings = load_settings()
    record_champion_events(settings, trained_champion)
    yield settings


def record_champion_events(settings: Settings, model: LoadedModel) -> None:
    """What ``dropscore train`` leaves in the model log for a first champion."""
    from shared.lifecycle.promotion import record_event

    record_event(settings, "trained", model.version, reason="dropscore train", metrics=model.meta["metrics"])
    record_event(settings, "promoted", model.version, reason="passes the business gates", metrics=model.meta["metrics"])


@dataclass
class World:
    settings: Settings
    quiet: DriftCheckResult
    drifted: DriftCheckResult


def drifted_month_files(folder: Path, month: int = 4, rows: int = MONTH_ROWS) -> tuple[Path, Path]:
    batch = synthetic.generate_batch(rows, month=month, seed=SEED, drift=DRIFT)
    incoming, labels = folder / f"mes_{month}.csv", folder / f"etiquetas_{month}.csv"
    synthetic.write_excel_csv(synthetic.without_target(batch), incoming)
    synthetic.write_excel_csv(synthetic.labels_of(batch), labels)
    return incoming, labels


def drop_quiet_months(settings: Settings, files: SyntheticFiles) -> None:
    for month in (1, 2, 3):
        result = drop_file(settings, files.months[month], "incoming")
        assert result["rows_scored"] > 500, result
        drop_file(settings, files.labels[month], "labels")


def build_world(settings: Settings, files: SyntheticFiles, folder: Path, *, allow_retrain: bool = False) -> World:
    drop_quiet_months(settings, files)
    quiet = run_drift_check(settings, allow_retrain=allow_retrain)
    incoming, labels = drifted_month_files(folder)
    drop_file(settings, incoming, "incoming")
    drop_file(settings, labels, "labels")
    drifted = run_drift_check(settings, now=datetime.now(UTC), allow_retrain=allow_retrain)
    return World(settings, quiet, drifted)
