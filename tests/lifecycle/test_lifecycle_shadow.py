"""Shadow scoring by the challenger, auto-promotion on synthetic labels, and automatic rollback when labels degrade."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.registry import CHALLENGER, CHAMPION, PREVIOUS
from shared.lifecycle.promotion import train_from_csv
from shared.lifecycle.shadow import ROLLBACK_ACTOR, SHADOW_ACTOR
from shared.local.chain import drop_file
from shared.model import registered
from shared.model.training import train_model
from shared.settings import Settings, load_settings
from tests.lifecycle_world import contract, embedded_home, features_only, labels_only, sales_table, write_csv

LENIENT = {"roc_auc": 0.52, "precision": 0.1, "recall": 0.1}


def _register_challenger(settings: Settings, frame: pd.DataFrame) -> str:
    registry = services.registry(settings)
    model_contract = contract(gates=LENIENT)
    version = registered.register(registry, train_model(frame, model_contract, seed=3, time_budget_seconds=1), model_contract, sources={}, purpose="test-challenger")
    registry.set_alias(CHALLENGER, version)
    return version


def _home_with(tmp: Path, champion_signal: float, challenger_signal: float) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        settings = embedded_home(tmp, patch)
        services.reset()
        first = sales_table(800, seed=1, signal=champion_signal)
        assert train_from_csv(settings, write_csv(first, tmp / "inicial.csv"), contract(gates=LENIENT), seed=1).promoted
        assert _register_challenger(settings, sales_table(2000, seed=4, signal=challenger_signal, start=50_000)) == "2"
        services.reset()
    return tmp / "home"


@pytest.fixture(scope="module")
def weak_champion_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _home_with(tmp_path_factory.mktemp("shadow-weak"), champion_signal=0.2, challenger_signal=1.0)


def _copy(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    copy = tmp_path / "home"
    shutil.copytree(template, copy)
    monkeypatch.setenv("DROPSCORE_HOME", str(copy))
    services.reset()
    return load_settings()


def _events(settings: Settings) -> pd.DataFrame:
    return services.warehouse(settings).read("model_events")


def test_shadow_scores_auto_promotion_then_automatic_rollback(weak_champion_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _copy(weak_champion_template, tmp_path, monkeypatch)
    registry = services.registry(settings)
    month = sales_table(700, seed=5, start=100_000)

    # 1. A batch: users get the champion's predictions, the warehouse keeps both models' scores.
    dropped = drop_file(settings, write_csv(features_only(month), tmp_path / "mes_1.csv"), "incoming")
    delivered = pd.read_csv(dropped["output"].removeprefix("file://"), encoding="utf-8-sig", dtype=str)
    assert set(delivered["model_version"]) == {"1"} and len(delivered) == 700
    stored = services.warehouse(settings).read("predictions")
    assert stored.groupby(["model_role", "model_version"]).size().to_dict() == {("challenger", "2"): 700, ("champion", "1"): 700}
    shadow = stored[stored["model_role"] == "challenger"]
    assert shadow["reason_1"].isna().all() and shadow["score"].between(0, 1).all()

    # 2. 400 outcomes: fewer than the 500 the contract asks for; nothing changes.
    first = drop_file(settings, write_csv(labels_only(month.iloc[:400]), tmp_path / "etiquetas_a.csv"), "labels")
    assert first["model_review"]["shadow"] == {"status": "waiting_for_labels", "challenger": "2", "labeled_rows": 400, "needed": 500}
    assert registry.version_of(CHAMPION) == "1"

    # 3. 300 more (700 labeled rows): the challenger wins on the same rows and is promoted by itself.
    second = drop_file(settings, write_csv(labels_only(month.iloc[400:]), tmp_path / "etiquetas_b.csv"), "labels")
    review = second["model_review"]
    assert review["promoted"] == "2" and review["shadow"]["labeled_rows"] == 700
    assert review["shadow"]["challenger_metrics"]["roc_auc"] > review["shadow"]["champion_metrics"]["roc_auc"] + 0.005
    assert registry.version_of(CHAMPION) == "2" and registry.version_of(PREVIOUS) == "1" and registry.version_of(CHALLENGER) is None
    events = _events(settings)
    assert list(events["event"])[-2:] == ["shadow_compared", "promoted"]
    assert set(events["actor"].iloc[-2:]) == {SHADOW_ACTOR}
    # a retried review of the same labels records nothing twice
    before = len(_events(settings))
    services.reset()
    from shared.lifecycle.shadow import review_after_labels

    assert review_after_labels(settings)["watch"]["status"] == "waiting_for_labels"  # v2 has no labeled predictions of its own yet
    assert len(_events(settings)) == before

    # 4. The world turns: the new champion's outcomes come out mostly the other way round.
    later = sales_table(700, seed=6, start=200_000, flip=0.8)
    drop_file(settings, write_csv(features_only(later), tmp_path / "mes_2.csv"), "incoming")
    third = drop_file(settings, write_csv(labels_only(later), tmp_path / "etiquetas_c.csv"), "labels")
    watch = third["model_review"]["watch"]
    assert watch["status"] == "rolled_back" and third["model_review"]["rolled_back"] == "2"
    assert watch["measured"]["roc_auc"] < watch["validation"] * 0.95
    assert registry.version_of(CHAMPION) == "1" and registry.version_of(PREVIOUS) == "2"
    last = _events(settings).iloc[-1]
    assert last["event"] == "rolled_back" and last["actor"] == ROLLBACK_ACTOR and "Automatic rollback" in last["reason"]
    alerts = services.warehouse(settings).read("alerts")
    rollback_alert = alerts[(alerts["category"] == "model") & (alerts["severity"] == "critical")].iloc[-1]
    assert "v1" in rollback_alert["title_en"] and "rollback" in rollback_alert["title_en"].lower()
    assert json.loads(rollback_alert["evidence"])["labeled_rows"] == 700

    # 5. No ping-pong: the restored champion is not rolled back by the same labels.
    fourth = drop_file(settings, write_csv(labels_only(later.iloc[:10]), tmp_path / "etiquetas_d.csv"), "labels")
    assert fourth["model_review"]["watch"]["status"] == "not_watching"
    assert registry.version_of(CHAMPION) == "1"


def test_a_challenger_that_loses_in_the_shadow_stays_challenger(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = _home_with(tmp_path_factory.mktemp("shadow-strong"), champion_signal=1.0, challenger_signal=0.15)
    settings = _copy(template, tmp_path, monkeypatch)
    month = sales_table(600, seed=7, start=300_000)
    drop_file(settings, write_csv(features_only(month), tmp_path / "mes.csv"), "incoming")
    review = drop_file(settings, write_csv(labels_only(month), tmp_path / "etiquetas.csv"), "labels")["model_review"]
    assert review["shadow"]["status"] == "kept" and review["promoted"] is None
    assert "stays challenger" in review["shadow"]["reason_en"]
    registry = services.registry(settings)
    assert registry.version_of(CHAMPION) == "1" and registry.version_of(CHALLENGER) == "2"
    last = _events(settings).iloc[-1]
    assert last["event"] == "shadow_compared" and last["version"] == "2" and last["previous_version"] == "1"
    # the champion itself is healthy on these labels: no rollback (and there is no previous to go to)
    assert review["watch"]["status"] == "no_previous"
