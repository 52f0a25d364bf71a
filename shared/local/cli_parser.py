"""The `dropscore` command line: every command, option and help text, in the reader's language.

Help texts are the catalogue's ``help_*`` sentences (shared.i18n.cli); each command names the
function that runs it (``handler``) and, for commands that process a file, how its result
becomes an exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shared.i18n import message
from shared.local import deploy_env, pii_key_command
from shared.local.cli_argparse import parser_class
from shared.local.cli_errors import ExitCode, exit_code_table, result_exit_code
from shared.local.cli_files import cmd_contract_infer, cmd_drop, cmd_score
from shared.local.cli_models import cmd_models, cmd_promote, cmd_retrain, cmd_rollback, cmd_train
from shared.local.cli_operations import cmd_demo, cmd_drift, cmd_report, cmd_serve

# What `command()` registers: the sub-parser of one command, ready for its own arguments.
Command = Callable[..., argparse.ArgumentParser]


def installed_version() -> str:
    """The installed distribution's version (package metadata); the package's own in a function zip."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dropscore")
    except PackageNotFoundError:  # shared/ copied without being installed (a function zip, a model's code)
        import shared

        return shared.__version__


def build_parser(language: str = "es") -> argparse.ArgumentParser:
    """The whole command line, its help in ``language`` (call inside :func:`shared.local.cli_argparse.argparse_language`)."""

    def h(code: str) -> str:
        return message(code, language)

    epilog = h("help_epilog") + "\n" + exit_code_table(language)
    parser = parser_class(language)(prog="dropscore", description=h("help_description"), epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser._optionals.title = h("help_options")
    common = {
        "--lang": dict(choices=["es", "en"], help=h("help_lang")),
        "--debug": dict(action="store_true", help=h("help_debug")),
        "--verbose": dict(action="store_true", help=h("help_verbose")),
    }
    for flag, options in common.items():
        parser.add_argument(flag, **options)
    parser.add_argument("--version", action="version", version=f"dropscore {installed_version()}", help=h("help_version"))
    commands = parser.add_subparsers(dest="command", required=True, metavar=h("help_metavar_command"), title=h("help_commands"))

    def command(name: str, handler: Callable, help_code: str, parent: Any = commands, exit_code: Callable[[dict[str, Any]], ExitCode] | None = None) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=h(help_code), description=h(help_code), epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--json", action="store_true", help=h("help_json"))
        for flag, options in common.items():
            sub.add_argument(flag, default=argparse.SUPPRESS, **options)
        sub.set_defaults(handler=handler, exit_code_of=exit_code)
        return sub

    file_word = h("help_metavar_file")
    demo = command("demo", cmd_demo, "help_demo")
    demo.add_argument("--rows", type=int, default=2000, help=h("help_demo_rows"))
    demo.add_argument("--training-rows", type=int, default=12000, help=h("help_demo_training_rows"))
    demo.add_argument("--seed", type=int, default=2024, help=h("help_seed"))
    demo.add_argument("--workdir", help=h("help_demo_workdir"))

    contract = commands.add_parser("contract", help=h("help_contract"), description=h("help_contract"))
    contract_commands = contract.add_subparsers(dest="contract_command", required=True, metavar=h("help_metavar_subcommand"))
    infer = command("infer", cmd_contract_infer, "help_infer", contract_commands)
    infer.add_argument("file", metavar=file_word, help=h("help_infer_file"))
    infer.add_argument("--target", required=True, help=h("help_infer_target"))
    infer.add_argument("--positive", help=h("help_infer_positive"))
    infer.add_argument("--id", help=h("help_infer_id"))
    infer.add_argument("--name", help=h("help_infer_name"))
    infer.add_argument("-o", "--output", help=h("help_infer_output"))
    infer.add_argument("--task", choices=["binary", "multiclass", "regression"], default="binary", help=h("help_infer_task"))

    train = command("train", cmd_train, "help_train")
    train.add_argument("file", metavar=file_word, help=h("help_train_file"))
    train.add_argument("--contract", help=h("help_train_contract"))
    train.add_argument("--seed", type=int, default=42, help=h("help_seed"))
    train.add_argument("--time-budget", type=float, help=h("help_time_budget"))

    drop = command("drop", cmd_drop, "help_drop", exit_code=result_exit_code)
    drop.add_argument("file", metavar=file_word, help=h("help_drop_file"))
    drop.add_argument("--kind", choices=["incoming", "labels", "training"], default="incoming", help=h("help_drop_kind"))

    score = command("score", cmd_score, "help_score", exit_code=result_exit_code)
    score.add_argument("file", metavar=file_word, help=h("help_score_file"))
    score.add_argument("-o", "--output", required=True, help=h("help_score_output"))

    drift = command("drift", cmd_drift, "help_drift")
    drift.add_argument("--no-retrain", action="store_true", help=h("help_drift_no_retrain"))

    retrain = command("retrain", cmd_retrain, "help_retrain")
    retrain.add_argument("--reason", default="manual retrain", help=h("help_reason"))
    retrain.add_argument("--time-budget", type=float, help=h("help_time_budget"))

    command("models", cmd_models, "help_models")

    promote = command("promote", cmd_promote, "help_promote")
    promote.add_argument("version", metavar=h("help_metavar_version"), help=h("help_promote_version"))
    promote.add_argument("--reason", default="manual promotion", help=h("help_reason_who"))
    promote.add_argument("--force", action="store_true", help=h("help_promote_force"))

    rollback = command("rollback", cmd_rollback, "help_rollback")
    rollback.add_argument("--reason", default="manual rollback", help=h("help_reason_who"))

    serve = command("serve", cmd_serve, "help_serve")
    serve.add_argument("action", nargs="?", choices=["tick"], help=h("help_serve_action"))
    serve.add_argument("target", nargs="?", choices=["drift", "retrain"], help=h("help_serve_target"))
    serve.add_argument("--storage", choices=["gs", "s3"], help=h("help_serve_storage"))
    serve.add_argument("--retry-seconds", type=float, default=60.0, help=h("help_serve_retry"))
    serve.add_argument("--max-event-age", type=float, help=h("help_serve_max_age"))
    serve.add_argument("--reason", default="manual retrain (tick)", help=h("help_serve_reason"))

    command("report", cmd_report, "help_report")
    deploy_env.register(command, language)
    pii_key_command.register(command, language)
    return parser
