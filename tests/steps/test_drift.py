"""The monthly check end to end on the embedded stack: quiet months, a drifted month, alerts, reports, dashboard."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.local import synthetic
from shared.local.chain import drop_file
from shared.local.cli import main
from shared.monitor.results import STATUS_INSUFFICIENT, STATUS_NO_DATA, STATUS_OK, STATUS_RETRAIN
from shared.reporting.dashboard_data import gather
from shared.settings import Settings, load_settings
from shared.steps.drift import run_drift_check
from tests.conftest import SEED, SyntheticFiles
from tests.monitoring_world import (  # noqa: F401
    World,
    build_world,
    monitored_home,
    record_champion_events,
    trained_champion,
)
from tests.registry_double import registry_with_champion
from tests.reporting.test_alerts import Receiver


@pytest.fixture(scope="module")
def world_and_receiver(tmp_path_factory: pytest.TempPathFactory, trained_champion, synthetic_files: SyntheticFiles) -> Iterator[tuple[World, Receiver]]:  # noqa: F811
    folder = tmp_path_factory.mktemp("world")
    registry = registry_with_champion(folder / "registry", trained_champion)
    with pytest.MonkeyPatch.context() as patch, Receiver() as receiver:
        patch.setattr(services, "registry", lambda settings: registry)
        settings = load_settings({"DROPSCORE_HOME": str(folder / "home"), "DROPSCORE_ALERT_WEBHOOK": receiver.url})
        record_champion_events(settings, trained_champion)
        world = build_world(settings, synthetic_files, folder)
        yield world, receiver


@pytest.fixture
def world(world_and_receiver: tuple[World, Receiver]) -> World:
    return world_and_receiver[0]


def test_quiet_months_say_nothing_is_wrong(world: World) -> None:
    quiet = world.quiet
    assert quiet.status == STATUS_OK and not quiet.retrain_requested
    assert quiet.drifted_features == [] and quiet.alert is None
    assert quiet.reason_es == "Sin deriva significativa."
    assert quiet.window_start is None and quiet.rows_current > 1500
    assert quiet.performance["evaluated"]["rows_labeled"] > 1000 and not quiet.performance["decay"]


def test_a_drifted_month_names_its_features_and_asks_for_retraining(world: World) -> None:
    drifted = world.drifted
    assert drifted.status == STATUS_RETRAIN and drifted.retrain_requested
    assert {"ventas_mensuales", "num_empleados", "sector"} <= set(drifted.drifted_features)
    assert "key_feature_high" in [t.code for t in drifted.triggers]
    assert drifted.window_start == world.quiet.window_end, "the window starts where the last one ended"
    assert drifted.previous_check_id == world.quiet.check_id
    assert 500 < drifted.rows_current <= 600
    ventas = next(f for f in drifted.features if f.feature == "ventas_mensuales" and f.kind == "numeric")
    assert ventas.pattern == "sudden" and ventas.jump and ventas.severity == "high"
    assert "revise primero el origen de los datos" in drifted.triggers[0].action_es


def test_the_public_summary_keeps_its_keys(world: World) -> None:
    summary = json.loads(json.dumps(world.drifted.summary(), default=str))
    assert summary["drifted_features"] == world.drifted.drifted_features
    assert summary["retrain_requested"] is True
    assert summary["report"].endswith(".json") and summary["report_html"].endswith(".html")
    assert summary["status"] == "retrain" and summary["alert_id"] == world.drifted.check_id + "-alert"


def test_one_alert_per_check_reaches_the_webhook(world_and_receiver: tuple[World, Receiver]) -> None:
    world, receiver = world_and_receiver
    assert receiver.hits == 1, "the quiet check sent nothing; the drifted one sent one grouped message"
    text = receiver.bodies[0]["text"]
    assert text.startswith("*[dropscore] CRÍTICA*") and "ventas_mensuales" in text
    stored = services.warehouse(world.settings).read("alerts")
    assert stored["alert_id"].tolist() == [world.drifted.check_id + "-alert"]
    assert json.loads(stored.loc[0, "delivery"]) == {"webhook": "delivered"}
    assert json.loads(stored.loc[0, "evidence"])["items"][0]["code"] == "key_feature_high"


def test_results_and_reports_are_kept(world: World) -> None:
    results = services.warehouse(world.settings).read("drift_results")
    by_check = results.groupby("check_id")
    assert set(by_check.groups) == {world.quiet.check_id, world.drifted.check_id}
    latest = results[results["check_id"] == world.drifted.check_id]
    assert set(latest["check_status"]) == {"retrain"} and latest["retrain_requested"].all()
    assert latest["window_rows"].iloc[0] == world.drifted.rows_current
    assert "sudden" in set(latest["pattern"].dropna())
    assert latest["importance"].notna().all() and latest["effect_size_previous"].notna().any()
    reports = world.settings.object_uri("reports", "")
    for key in (f"drift/{world.drifted.check_id}.json", f"drift/{world.drifted.check_id}.es.html", f"drift/{world.drifted.check_id}.en.html",
                "drift/latest.html", "dashboard/index.html", "dashboard/index.es.html", "dashboard/index.en.html"):  # fmt: skip
        assert get_store(reports).exists(reports + key), key
    report = json.loads(get_store(reports).read_bytes(world.drifted.report))
    assert report["features"][0]["bins"], "the JSON report keeps the bins the charts are drawn from"
    assert world.drifted.dashboard.endswith("dashboard/index.html")


def test_rerunning_a_check_for_the_same_time_replaces_it(world: World) -> None:
    settings = dataclasses.replace(world.settings, alert_webhook=None)
    warehouse = services.warehouse(settings)
    before = warehouse.read("drift_results")
    again = run_drift_check(settings, now=world.drifted.checked_at, allow_retrain=False)
    after = warehouse.read("drift_results")
    assert again.check_id == world.drifted.check_id
    assert again.window_start == world.quiet.window_end, "the rerun does not see its own first run as the previous check"
    assert len(after) == len(before) and again.drifted_features == world.drifted.drifted_features
    assert warehouse.read("alerts")["alert_id"].tolist() == [world.drifted.check_id + "-alert"]


def test_the_dashboard_gathers_business_numbers(world: World) -> None:
    data = gather(world.settings)
    scored = services.warehouse(world.settings).read("batches", where={"kind": "incoming"})
    assert data.kpis["files"] == 4 and data.kpis["rows"] == int(scored["rows_scored"].sum())
    assert sum(count for _, count in data.label_counts) == data.kpis["rows"]
    assert data.kpis["expected_positives"] == pytest.approx(services.warehouse(world.settings).read("predictions")["score"].sum())
    assert data.granularity == "file" and [p["period"] for p in data.periods] == ["1", "2", "3", "4"]
    assert all(p["sufficient"] for p in data.performance_periods)
    assert data.last_check["status"] == "retrain" and data.last_check["reason_es"] == world.drifted.reason_es
    assert [check["check_id"] for check in data.checks] == [world.quiet.check_id, world.drifted.check_id]
    assert data.checks[-1]["key_effect"] > 0.3 > (data.checks[0]["key_effect"] or 0)
    retrain = next(r for r in data.recommendations if r["kind"] == "retrain")
    assert retrain["cost"]["rows"] == data.kpis["labeled_rows_total"] and retrain["benefit"] in ("drift", "decay")
    assert [e["event"] for e in data.events] == ["trained", "promoted"]
    assert [name for name, _ in data.importance] == sorted(dict(data.importance), key=lambda n: -dict(data.importance)[n])
    assert len(data.recent) == 20 and {"id", "score", "label", "actual", "reason"} <= set(data.recent[0])


def test_report_command_builds_the_dashboard(world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DROPSCORE_HOME", str(world.settings.home))
    assert main(["report", "--json", "--lang", "en"]) == 0
    printed = json.loads(capsys.readouterr().out)
    page = Path(printed["path"]).read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Model dashboard" in page
    assert set(printed["languages"]) == {"es", "en"}


# --------------------------------------------------------------------------- small windows


def month_file(folder: Path, month: int, rows: int) -> Path:
    path = folder / f"pocas_{month}.csv"
    synthetic.write_excel_csv(synthetic.without_target(synthetic.generate_batch(rows, month=month, seed=SEED)), path)
    return path


def test_a_small_window_is_carried_over_to_the_next_check(monitored_home: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    empty = run_drift_check(monitored_home, allow_retrain=False)
    assert empty.status == STATUS_NO_DATA and empty.rows_current == 0 and not empty.retrain_requested
    drop_file(monitored_home, month_file(tmp_path, 5, 250), "incoming")
    small = run_drift_check(monitored_home, allow_retrain=False)
    assert small.status == STATUS_INSUFFICIENT and small.rows_current == 250 and small.drifted_features == []
    assert small.window_start is None, "the empty check's window is carried over too"
    drop_file(monitored_home, month_file(tmp_path, 6, 400), "incoming")
    # through the command line, as the scheduler's operator would run it
    monkeypatch.setenv("DROPSCORE_HOME", str(monitored_home.home))
    assert main(["drift", "--json", "--no-retrain"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_current"] == 650, "the 250 rows too few to judge are judged with the next 400"
    assert summary["window_start"] is None and summary["status"] == STATUS_OK
    assert {"drifted_features", "retrain_requested", "report"} <= set(summary)
    results = services.warehouse(monitored_home).read("drift_results", columns=["check_id", "window_rows", "check_status"])
    assert len(results["check_id"].unique()) == 3 and isinstance(results, pd.DataFrame)
