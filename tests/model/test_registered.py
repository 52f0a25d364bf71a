"""Model versions in a real sqlite MLflow registry: loaded with contract and reference, registered, promoted and rolled back, refused when tampered."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backends import services
from shared.backends.registry import CHAMPION, MlflowRegistry
from shared.errors import ModelIntegrityError, ModelNotFoundError
from shared.lifecycle.promotion import promote, rollback
from shared.model import registered
from shared.model.pyfunc_saving import MODEL_FILE
from shared.settings import Settings


def test_champion_loads_with_its_contract_and_reference(champion_home: Settings) -> None:
    model = registered.load(services.registry(champion_home), CHAMPION)
    assert model.version == "1"
    assert model.contract.target == "formalizado" and model.contract.positive == "si"
    assert len(model.features) == 84 - 1  # every feature but the date column
    assert "score" in model.reference_sample.columns and len(model.reference_sample) > 1000
    assert abs(sum(model.feature_importance.values()) - 1) < 1e-6
    assert 0 < model.threshold < 1


def test_the_reference_sample_is_read_when_a_drift_check_asks(champion_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring never reads the drift reference (~25 MiB once parsed): a load keeps its verified bytes only."""
    import pandas as pd

    parsed: list[object] = []
    real = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda *args, **kwargs: parsed.append(args) or real(*args, **kwargs))
    services.reset()
    registered._LOADED.clear()
    model = registered.load(services.registry(champion_home), CHAMPION)
    assert parsed == []
    reference = model.reference_sample
    assert len(parsed) == 1 and "score" in reference.columns and len(reference) > 1000
    assert model.reference_sample is reference and len(parsed) == 1  # read once, then kept


def test_promote_and_rollback_round_trip(champion_home: Settings) -> None:
    registry = services.registry(champion_home)
    with pytest.raises(ModelNotFoundError):
        rollback(champion_home)  # nothing to go back to yet
    with pytest.raises(ModelNotFoundError):
        promote(champion_home, "9")
    # register v2 as a copy of v1's training, then promote and roll back
    model = registered.load(registry, CHAMPION)
    from shared.model.training import TrainedModel

    clone = TrainedModel(
        booster=model.booster, features=model.features, threshold=model.threshold, metrics=model.meta["metrics"],
        validation_metrics=model.meta["validation_metrics"], gate_failures=[], feature_importance=model.feature_importance,
        reference_sample=model.reference_sample, numeric_quartiles=model.meta["numeric_quartiles"], params={},
    )
    version = registered.register(registry, clone, model.contract, sources={}, purpose="test")
    assert version == "2"
    promote(champion_home, version, reason="better")
    assert registry.version_of("champion") == "2" and registry.version_of("previous") == "1"
    restored = rollback(champion_home, reason="worse in production")
    assert restored == {"model_version": "1", "previous": "2", "rolled_back": True, "reason": "worse in production"}
    assert registry.version_of("champion") == "1"
    events = services.warehouse(champion_home).read("model_events")
    assert list(events["event"])[-2:] == ["promoted", "rolled_back"]
    assert events.iloc[-1]["reason"] == "worse in production" and events.iloc[-1]["actor"]


def test_tampered_model_file_refuses_to_load(champion_home: Settings, champion_template: Path) -> None:
    fresh = MlflowRegistry(champion_home.tracking_uri, champion_home.model_name)
    model_version = fresh.client.get_model_version(champion_home.model_name, "1")
    local_model = Path(model_version.source.removeprefix("file://")) / MODEL_FILE
    original = local_model.read_bytes()
    try:
        local_model.write_bytes(original.replace(b"tree", b"Tree", 1))
        with pytest.raises(ModelIntegrityError):
            registered.load(fresh, CHAMPION)
    finally:
        local_model.write_bytes(original)


def test_a_version_read_twice_is_downloaded_once_per_registry_handle(champion_home: Settings) -> None:
    registry = services.registry(champion_home)
    assert registered.load(registry, CHAMPION) is registered.load(registry, "1")
    other = MlflowRegistry(champion_home.tracking_uri, champion_home.model_name)  # another handle: its own cache
    assert registered.load(other, CHAMPION) is not registered.load(registry, CHAMPION)


def test_no_champion_says_so_in_both_languages(tmp_path: Path) -> None:
    empty = MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", "nadie")
    with pytest.raises(ModelNotFoundError) as caught:
        registered.load(empty, CHAMPION)
    assert "model 'nadie' has no version with alias 'champion'" in str(caught.value)
    assert "el modelo «nadie» no tiene una versión con el alias «champion»" in str(caught.value)
