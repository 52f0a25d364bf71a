"""Settings that name a person: DROPSCORE_ACTOR is read once, into the frozen Settings, and nowhere else."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from shared.backends import services
from shared.lifecycle.promotion import record_event
from shared.settings import ENVIRONMENT_VARIABLES, load_settings


def test_the_actor_is_a_documented_setting() -> None:
    assert "DROPSCORE_ACTOR" in ENVIRONMENT_VARIABLES
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "| `DROPSCORE_ACTOR` |" in readme


def test_the_actor_defaults_to_the_login_name() -> None:
    assert load_settings({}).actor == getpass.getuser()
    assert load_settings({"DROPSCORE_ACTOR": "  ana@empresa.ec "}).actor == "ana@empresa.ec"


def test_without_a_login_name_the_actor_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 1000")  # a container whose uid has no passwd entry

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert load_settings({}).actor == "unknown"


def test_the_model_log_records_the_actor_of_the_settings_not_of_the_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler acts with the Settings it was given; the process environment says nothing more."""
    monkeypatch.setenv("DROPSCORE_ACTOR", "someone-else")
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_ACTOR": "ana@empresa.ec"})
    services.reset()
    record_event(settings, "promoted", "3", reason="manual promotion")
    events = services.warehouse(settings).read("model_events")
    assert list(events["actor"]) == ["ana@empresa.ec"]
