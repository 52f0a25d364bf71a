"""Retraining gates and margins, promote/rollback round trips and lineage on a real (sqlite) MLflow backend."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from shared.backends import services
from shared.backends.registry import CHALLENGER, CHAMPION, PREVIOUS
from shared.errors import ModelIntegrityError, ModelNotFoundError
from shared.lifecycle.promotion import load_model, promote, rollback, run_retrain, train_from_csv
from shared.local.chain import drop_file
from shared.model import registered
from shared.model.pyfunc_saving import MODEL_FILE
from shared.settings import Settings, load_settings
from tests.lifecycle_world import contract, embedded_home, features_only, labels_only, sales_table, write_csv


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a weak first champion (trained on a small, noisy table) and 1 500 production rows
    scored and then labeled: what a retraining learns from. Built once, copied by each test."""
    folder = tmp_path_factory.mktemp("gates")
    with pytest.MonkeyPatch.context() as patch:
        settings = embedded_home(folder, patch)
        services.reset()
        weak = sales_table(600, seed=1, signal=0.25)
        outcome = train_from_csv(settings, write_csv(weak, folder / "inicial.csv"), contract(gates={"roc_auc": 0.52, "precision": 0.1, "recall": 0.1}), seed=1)
        assert outcome.promoted, outcome.reason_en
        production = sales_table(1500, seed=2, start=10_000)
        drop_file(settings, write_csv(features_only(production), folder / "mes_1.csv"), "incoming")
        drop_file(settings, write_csv(labels_only(production), folder / "etiquetas_1.csv"), "labels")
        services.reset()
    return folder / "home"


@pytest.fixture
def world(world_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    copy = tmp_path / "home"
    shutil.copytree(world_template, copy)
    monkeypatch.setenv("DROPSCORE_HOME", str(copy))
    monkeypatch.setenv("DROPSCORE_ACTOR", "ana@empresa.ec")
    services.reset()
    return load_settings()


def _events(settings: Settings):
    return services.warehouse(settings).read("model_events")


def test_a_strong_challenger_is_promoted_and_documented(world: Settings) -> None:
    outcome = run_retrain(world, reason="deriva", trigger="test", time_budget_seconds=2)
    assert outcome.promoted is True, outcome.reason_en
    assert outcome.model_version == "2" and outcome.champion_before == "1"
    assert outcome.metrics["roc_auc"] >= outcome.champion_metrics["roc_auc"] + 0.005
    assert "promoted" in outcome.reason_en and "ROC-AUC" in outcome.reason_es
    registry = services.registry(world)
    assert registry.version_of(CHAMPION) == "2" and registry.version_of(PREVIOUS) == "1" and registry.version_of(CHALLENGER) is None
    events = _events(world)
    assert list(events["event"])[-2:] == ["trained", "promoted"]
    comparison = json.loads(events.iloc[-1]["metrics"])
    assert comparison["metric"] == "roc_auc" and comparison["holdout_rows"] == 450  # 30 % of the fresh labels, shared by both
    # lineage: the data files with their content hashes, the code version
    version = next(v for v in registry.versions() if v["version"] == "2")
    sources = version["lineage"]["sources"]
    assert any("labels/" in uri for uri in sources) and any("incoming/" in uri for uri in sources)
    assert all(tag.startswith("sha256:") for tag in sources.values())
    assert version["lineage"]["code_version"].startswith("0.1.0+src.")
    assert version["gates"] == {"roc_auc": 0.52, "precision": 0.1, "recall": 0.1} and version["gate_failures"] == []
    # the model card, in both languages and formats, beside the model and in the reports area
    assert outcome.model_card.endswith("models/v2/model_card.es.html")
    for name in ("model_card.es.md", "model_card.en.md", "model_card.es.html", "model_card.en.html"):
        assert "v2" in registered.read_file(registry, "2", name)
    report = json.loads(Path(outcome.training_report.removeprefix("file://")).read_text(encoding="utf-8"))
    assert report["outcome"]["model_version"] == "2" and report["meta"]["lineage"]["sources"] == sources


def test_a_deliberately_weak_challenger_is_kept_with_the_reason(world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.lifecycle.promotion as lifecycle

    real_train = lifecycle.train_model

    def train_on_shuffled_labels(labeled, contract, **kwargs):  # noqa: ANN001, ANN202
        shuffled = labeled.copy()
        shuffled[contract.target] = np.random.default_rng(0).permutation(shuffled[contract.target].to_numpy())
        return real_train(shuffled, contract, **kwargs)

    monkeypatch.setattr(lifecycle, "train_model", train_on_shuffled_labels)
    outcome = run_retrain(world, reason="prueba", time_budget_seconds=1)
    assert outcome.promoted is False
    assert "does not beat champion v1" in outcome.reason_en and "no supera" in outcome.reason_es
    assert "shadow-score" in outcome.reason_en
    registry = services.registry(world)
    assert registry.version_of(CHAMPION) == "1" and registry.version_of(CHALLENGER) == "2"
    assert list(_events(world)["event"])[-1] == "kept"


def test_the_margin_keeps_a_challenger_that_wins_by_too_little(world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.lifecycle.promotion as lifecycle

    real_load = lifecycle.load_model

    def champion_asking_a_big_margin(settings, alias="champion"):  # noqa: ANN001, ANN202
        model = real_load(settings, alias)
        model.contract.challenger_margin = 0.9
        return model

    monkeypatch.setattr(lifecycle, "load_model", champion_asking_a_big_margin)
    outcome = run_retrain(world, time_budget_seconds=1)
    assert outcome.promoted is False
    assert outcome.metrics["roc_auc"] > outcome.champion_metrics["roc_auc"]  # better, but not by 0.9
    assert "margin 0.900" in outcome.reason_en and outcome.gate_failures == []
    # Each language writes the figures its own way: a decimal comma in Spanish, a point in English.
    assert "margen 0,900" in outcome.reason_es
    assert re.search(r"ROC-AUC \d,\d{4} no supera \d,\d{4}", outcome.reason_es), outcome.reason_es
    assert re.search(r"ROC-AUC \d\.\d{4} does not beat", outcome.reason_en), outcome.reason_en


def test_promote_and_rollback_round_trips_with_who_and_why(world: Settings, capsys: pytest.CaptureFixture) -> None:
    from shared.local.cli import main

    registry = services.registry(world)
    with pytest.raises(ModelNotFoundError):
        rollback(world)  # nothing to go back to yet
    run_retrain(world, time_budget_seconds=1)
    assert registry.version_of(CHAMPION) == "2"
    assert main(["rollback", "--reason", "quejas de los vendedores", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == {"model_version": "1", "previous": "2", "rolled_back": True, "reason": "quejas de los vendedores"}
    assert registry.version_of(CHAMPION) == "1" and registry.version_of(PREVIOUS) == "2"
    promote(world, "2", reason="revisado")
    assert registry.version_of(CHAMPION) == "2" and registry.version_of(PREVIOUS) == "1"
    rollback(world, reason="otra vez")
    assert registry.version_of(CHAMPION) == "1"
    events = _events(world)
    moves = events[events["event"].isin(["promoted", "rolled_back"])]
    assert list(moves["event"])[-3:] == ["rolled_back", "promoted", "rolled_back"]
    assert list(moves["reason"])[-3:] == ["quejas de los vendedores", "revisado", "otra vez"]
    assert set(moves["actor"].iloc[-3:]) == {"ana@empresa.ec"}
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {v["version"]: v["aliases"] for v in listed["versions"]} == {"1": ["champion"], "2": ["previous"]}
    assert all({"metrics", "gates", "gate_failures", "threshold", "lineage"} <= set(v) for v in listed["versions"])
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "[champion" in text and "sha256:" in text and "código 0.1.0+src." in text  # Spanish by default


def test_a_tampered_model_refuses_to_load_and_alerts(world: Settings) -> None:
    registry = services.registry(world)
    source = registry.client.get_model_version(world.model_name, "1").source
    model_file = Path(source.removeprefix("file://")) / MODEL_FILE
    original = model_file.read_bytes()
    try:
        model_file.write_bytes(original.replace(b"tree", b"Tree", 1))
        services.reset()
        with pytest.raises(ModelIntegrityError):
            load_model(world, CHAMPION)
        alerts = services.warehouse(world).read("alerts")
        alert = alerts[alerts["category"] == "model"].iloc[-1]
        assert alert["severity"] == "critical" and "v1" in alert["title_en"]
        evidence = json.loads(alert["evidence"])
        assert evidence["expected_sha256"] != evidence["actual_sha256"]
        # scoring a batch refuses too: nothing is written for users
        with pytest.raises(ModelIntegrityError):
            drop_file(world, write_csv(features_only(sales_table(50, seed=8, start=90_000)), Path(str(world.home)) / "nuevo.csv"), "incoming")
    finally:
        model_file.write_bytes(original)
        services.reset()
    assert load_model(world, CHAMPION).version == "1"
