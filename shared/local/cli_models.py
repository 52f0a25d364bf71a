"""`dropscore train`, `retrain`, `models`, `promote` and `rollback`: the commands about model versions."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from shared import formatting as fmt
from shared.errors import ModelNotFoundError
from shared.i18n import message
from shared.i18n.monitoring import metric_name
from shared.ingest.contract import Contract
from shared.local.cli_errors import CliError, ExitCode
from shared.local.cli_io import gates_failed_error, input_file, no_champion_error, say
from shared.settings import Settings

# The figures shown for a model of each task (all are in its metrics).
_SHOWN_METRICS = {"binary": ("roc_auc", "precision", "recall"), "multiclass": ("macro_f1", "accuracy"), "regression": ("rmse", "r2", "mae")}


def _load_contract(args: argparse.Namespace, settings: Settings) -> Contract:
    from shared.backends import services
    from shared.model import registered

    if args.contract:
        return Contract.from_yaml(input_file(args.contract).read_text(encoding="utf-8"))
    try:
        return registered.load(services.registry(settings), "champion").contract
    except ModelNotFoundError as exc:
        raise CliError("no_contract_no_champion", ExitCode.NOT_READY) from exc


def _metrics_text(metrics: dict[str, Any], task: str, threshold: float | None, language: str) -> str:
    text = ", ".join(f"{metric_name(k, language)} {fmt.decimal(metrics[k], language, 3)}" for k in _SHOWN_METRICS.get(task, ()) if k in metrics)
    if task == "binary" and threshold is not None:
        text = message("cli_metrics_with_threshold", language, metrics=text, threshold=fmt.decimal(threshold, language, 3))
    return text


def _print_training(settings: Settings, outcome: Any) -> None:
    """The training report in a few lines: metrics and decision, leaks, expected value, fairness, model card."""
    language = settings.language
    metrics = _metrics_text(outcome.metrics, outcome.task, outcome.threshold, language)
    say(settings, "cli_trained_model", version=outcome.model_version, metrics=metrics, reason=outcome.reason_es if language == "es" else outcome.reason_en)
    if outcome.expected_value_per_1000 is not None:
        say(settings, "cli_expected_value", rows=fmt.integer(1000, language), value=fmt.decimal(outcome.expected_value_per_1000, language, 2))
    for leak in outcome.leakage:
        code = "cli_leakage_excluded" if leak["excluded"] else "cli_leakage_allowed"
        say(settings, code, column=leak["column"], statistic=leak["statistic"], value=fmt.decimal(leak["value"], language, 3))
    min_ratio = getattr(outcome, "fairness_min_ratio", None)
    for flag in outcome.fairness_flags:
        say(
            settings, "cli_fairness_flag", column=flag["column"], group=flag["group"], metric=metric_name(flag["metric"], language),
            ratio=fmt.decimal(flag["ratio"], language, 2), minimum=fmt.decimal(min_ratio if min_ratio is not None else 0.8, language, 2),
        )  # fmt: skip
    if outcome.model_card:
        say(settings, "cli_model_card_at", path=outcome.model_card)


def cmd_train(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle.promotion import train_from_csv

    path = input_file(args.file)
    if args.contract:
        input_file(args.contract)
    contract = _load_contract(args, settings)
    outcome = train_from_csv(settings, path, contract, seed=args.seed, time_budget_seconds=args.time_budget)
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services
    from shared.backends.registry import CHAMPION
    from shared.lifecycle.promotion import run_retrain

    if services.registry(settings).version_of(CHAMPION) is None:
        raise no_champion_error(settings)
    try:
        outcome = run_retrain(settings, reason=args.reason, trigger="cli", time_budget_seconds=args.time_budget)
    except ModelNotFoundError as exc:
        if "labeled" in str(exc):
            raise CliError("no_labeled_data", ExitCode.NOT_READY) from exc
        raise
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def _version_lines(version: dict[str, Any], settings: Settings) -> list[str]:
    """One registered version as `dropscore models` lists it: figures, gates, date, then its lineage."""
    language = settings.language
    metrics = version["metrics"]
    aliases = ", ".join(version["aliases"]) or "-"
    task = version.get("task") or "binary"
    figures = "  ".join(f"{metric_name(k, language)} {fmt.decimal(metrics.get(k), language, 3)}" for k in _SHOWN_METRICS.get(task, ()))
    if "expected_value_per_1000" in metrics:
        figures += message("cli_models_value_per_1000", language, value=fmt.decimal(metrics["expected_value_per_1000"], language, 1))
    threshold = ""
    if task == "binary" and version["threshold"] is not None:
        threshold = message("cli_models_threshold", language, value=fmt.decimal(version["threshold"], language, 3))
    if version["gates_passed"]:
        gates = message("cli_models_gates_ok", language)
    else:
        gates = message("cli_models_gates_failed", language, failures=fmt.gate_failures_text(version.get("gate_failures") or [], language))
    created = fmt.when(datetime.fromisoformat(version["created_at"]), language, settings.timezone) if version.get("created_at") else ""
    lines = [f"v{version['version']:>3}  [{aliases:<20}]  {task}  {figures}{threshold}  {gates}  {created}"]
    lineage = version.get("lineage") or {}
    lines += [f"       {uri}  {content}" for uri, content in (lineage.get("sources") or {}).items()]
    if lineage.get("code_version"):
        lines.append("       " + message("cli_models_code", language, version=lineage["code_version"], purpose=version.get("purpose")))
    if version.get("excluded_features"):
        lines.append("       " + message("cli_models_excluded", language, columns=", ".join(version["excluded_features"])))
    return lines


def cmd_models(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services

    versions = services.registry(settings).versions()
    if not args.json:
        if not versions:
            say(settings, "cli_no_models_yet")
        for version in versions:
            print("\n".join(_version_lines(version, settings)))
    return {"name": settings.model_name, "tracking_uri": settings.tracking_uri, "versions": versions}


def cmd_promote(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services
    from shared.lifecycle.promotion import normalize_version, promote

    try:
        version = normalize_version(args.version)
    except ValueError as exc:
        raise CliError("bad_version", ExitCode.USAGE, value=args.version) from exc
    versions = services.registry(settings).versions()
    found = next((v for v in versions if v["version"] == version), None)
    if found is None:
        existing = ", ".join(f"v{v['version']}" for v in versions) or "–"
        raise CliError("no_such_version", ExitCode.NOT_READY, model=settings.model_name, version=version, versions=existing)
    already_champion = "champion" in (found.get("aliases") or [])
    if not already_champion and not found.get("gates_passed", True) and found.get("gate_failures") and not args.force:
        raise gates_failed_error(version, found["gate_failures"])
    result = promote(settings, version, reason=args.reason, force=args.force)
    if not args.json:
        if result.get("unchanged"):
            say(settings, "cli_promote_unchanged", version=version)
        elif result.get("previous"):
            say(settings, "cli_promote_done", version=version, previous=result["previous"])
        else:
            say(settings, "cli_promote_first", version=version)
    return result


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle.promotion import rollback

    try:
        result = rollback(settings, reason=args.reason)
    except ModelNotFoundError as exc:
        raise CliError("no_previous", ExitCode.NOT_READY) from exc
    if not args.json:
        say(settings, "cli_rollback_done", version=result["model_version"], previous=result["previous"])
    return result
