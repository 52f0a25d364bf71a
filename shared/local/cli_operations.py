"""`dropscore drift`, `report`, `demo` and `serve`: the commands that run the system's own work."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shared.errors import ModelNotFoundError
from shared.local.cli_errors import CliError, ExitCode
from shared.local.cli_io import no_champion_error, say
from shared.settings import Settings


def cmd_drift(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.steps.drift import run_drift_check

    try:
        result = run_drift_check(settings, allow_retrain=not args.no_retrain)
    except ModelNotFoundError as exc:
        raise no_champion_error(settings) from exc
    if not args.json:
        es = settings.language == "es"
        print(result.reason_es if es else result.reason_en)
        say(settings, "cli_drift_report_at", path=result.report_html)
        if result.retrain:
            say(settings, "cli_drift_retraining", reason=result.retrain.get("reason_es" if es else "reason_en"))
    return result.summary()


def cmd_report(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.reporting.dashboard import build_dashboard

    result = build_dashboard(settings)
    if not args.json:
        print(result.path or result.uri)
    return result.to_dict()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.local.demo import run_demo

    workdir = Path(args.workdir) if args.workdir else None
    return run_demo(settings, rows_per_month=args.rows, training_rows=args.training_rows, seed=args.seed, workdir=workdir, quiet=args.json)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """`dropscore serve`: run the local cloud until Ctrl-C; `dropscore serve tick drift|retrain`: fire a trigger."""
    from shared.local.stack.cli import serve, tick

    if args.action == "tick":
        if args.target is None:
            raise CliError("serve_tick_target", ExitCode.USAGE)
        return tick(args, settings)
    if args.action is not None or args.target is not None:
        raise CliError("serve_tick_target", ExitCode.USAGE)
    return serve(args, settings)
