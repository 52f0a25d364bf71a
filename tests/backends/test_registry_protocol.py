"""The Registry Protocol, and the same behaviour from the MLflow registry (real sqlite MLflow) and the tests' folder double."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.backends.registry import CHALLENGER, CHAMPION, PREVIOUS, MlflowRegistry, Registry
from shared.errors import ModelNotFoundError
from tests.registry_double import FolderRegistry

PROTOCOL_MEMBERS = sorted(
    name for name, member in vars(Registry).items() if not name.startswith("_") and callable(member)
)


def test_the_protocol_is_what_the_registry_does_by_alias() -> None:
    assert PROTOCOL_MEMBERS == sorted(
        ["attach_files", "clear_alias", "download", "promote", "register", "rollback", "search_versions", "set_alias", "tags_of", "version_of", "versions"]
    )


@pytest.mark.parametrize("implementation", [MlflowRegistry, FolderRegistry], ids=["mlflow", "folder"])
@pytest.mark.parametrize("member", PROTOCOL_MEMBERS)
def test_every_registry_implements_every_member_with_the_protocols_signature(implementation: type, member: str) -> None:
    expected = inspect.signature(getattr(Registry, member))
    actual = inspect.signature(getattr(implementation, member))
    # Same parameters, in the same order, of the same kind, with the same defaults: a caller written
    # against the Protocol works with either.
    shape = lambda signature: [(p.name, p.kind, p.default) for p in signature.parameters.values()]  # noqa: E731
    assert shape(actual) == shape(expected), f"{implementation.__name__}.{member}{actual} is not Registry.{member}{expected}"


def test_both_registries_are_registries(tmp_path: Path) -> None:
    assert isinstance(MlflowRegistry(f"sqlite:///{tmp_path / 'm.db'}", "m"), Registry)
    assert isinstance(FolderRegistry(tmp_path), Registry)


def _mlflow(tmp_path: Path) -> Registry:
    return MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", "modelo")


def _mlflow_client_only(tmp_path: Path) -> Registry:
    """The MLflow registry answering every read through MLflow's client (as for a server), not the sqlite shortcut."""
    registry = MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", "modelo")
    registry.__dict__["_local"] = None  # the cached_property's value: no embedded reader
    return registry


def _folder(tmp_path: Path) -> Registry:
    return FolderRegistry(tmp_path / "registry", "modelo")


@pytest.fixture(params=[_mlflow, _mlflow_client_only, _folder], ids=["mlflow", "mlflow-client", "folder"])
def make_registry(request: pytest.FixtureRequest) -> Callable[[Path], Registry]:
    return request.param


def _files(folder: Path, text: str) -> Path:
    (folder / "dropscore").mkdir(parents=True)
    (folder / "weights.txt").write_text(text, encoding="utf-8")
    (folder / "dropscore" / "meta.json").write_text(f'{{"text": "{text}"}}', encoding="utf-8")
    return folder


def _register(registry: Registry, folder: Path, tags: dict[str, str]) -> str:
    return registry.register(folder, run_name="test", params={"seed": 3}, metrics={"holdout_roc_auc": 0.9}, run_tags={"purpose": "test"}, version_tags=tags)


def test_versions_files_and_tags(make_registry: Callable[[Path], Registry], tmp_path: Path) -> None:
    registry = make_registry(tmp_path)
    assert registry.version_of(CHAMPION) is None  # no model at all yet
    assert registry.search_versions() == [] and registry.versions() == []
    registry.clear_alias(CHALLENGER)  # nothing to delete: not an error

    first = _register(registry, _files(tmp_path / "v1", "uno"), {"purpose": "train", "metrics": '{"roc_auc": 0.9}'})
    second = _register(registry, _files(tmp_path / "v2", "dos"), {"purpose": "retrain"})
    assert (first, second) == ("1", "2")
    assert registry.version_of(CHAMPION) is None  # the model exists, the alias does not
    assert registry.tags_of(first)["metrics"] == '{"roc_auc": 0.9}'

    whole = registry.download(second, tmp_path / "whole")
    assert (whole / "weights.txt").read_text(encoding="utf-8") == "dos"
    one = registry.download(first, tmp_path / "one", "dropscore/meta.json")
    assert one.as_posix().endswith("/dropscore/meta.json") and "uno" in one.read_text(encoding="utf-8")
    with pytest.raises(ModelNotFoundError):
        registry.download(first, tmp_path / "missing", "dropscore/nothing.json")
    with pytest.raises(ModelNotFoundError):
        registry.tags_of("9")

    registry.attach_files(first, "dropscore", {"model_card.es.md": "# Modelo 1"})
    card = registry.download(first, tmp_path / "card", "dropscore/model_card.es.md")
    assert card.read_text(encoding="utf-8") == "# Modelo 1"

    listed = registry.versions()
    assert [v["version"] for v in listed] == ["1", "2"]
    assert listed[0]["metrics"] == {"roc_auc": 0.9} and listed[0]["purpose"] == "train" and listed[1]["purpose"] == "retrain"


def test_promotion_and_rollback_move_aliases_only(make_registry: Callable[[Path], Registry], tmp_path: Path) -> None:
    registry = make_registry(tmp_path)
    first = _register(registry, _files(tmp_path / "v1", "uno"), {})
    second = _register(registry, _files(tmp_path / "v2", "dos"), {})
    with pytest.raises(ModelNotFoundError, match="no previous champion.*no hay un campeón anterior"):
        registry.rollback()

    assert registry.promote(first) is None
    registry.set_alias(CHALLENGER, second)
    assert registry.promote(second) == first
    assert (registry.version_of(CHAMPION), registry.version_of(PREVIOUS), registry.version_of(CHALLENGER)) == (second, first, None)
    assert registry.promote(second) == second  # already champion: nothing moves

    assert registry.rollback() == (first, second)
    assert (registry.version_of(CHAMPION), registry.version_of(PREVIOUS)) == (first, second)
    assert {v["version"]: v["aliases"] for v in registry.versions()} == {"1": [CHAMPION], "2": [PREVIOUS]}

    registry.clear_alias(PREVIOUS)
    assert registry.version_of(PREVIOUS) is None
    with pytest.raises(ModelNotFoundError):
        registry.set_alias(CHAMPION, "9")
