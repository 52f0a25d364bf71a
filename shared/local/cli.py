"""The `dropscore` command. Thin: parse arguments, call one function in shared, print the result.

With ``--json`` exactly one JSON object goes to stdout — the result, or the error with its
stable ``code`` — and everything else (progress, logs, library chatter) goes to stderr so
scripts can parse stdout safely. Exit codes are :class:`shared.local.cli_errors.ExitCode`; messages
follow ``--lang`` / ``DROPSCORE_LANG``; tracebacks only with ``--debug``.

The command line is built in :mod:`shared.local.cli_parser`; the commands live by what they work
on: files (:mod:`shared.local.cli_files`), model versions (:mod:`shared.local.cli_models`) and the
system's own runs (:mod:`shared.local.cli_operations`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
import warnings
from datetime import date, datetime
from typing import Any

from shared import progress
from shared.local.cli_argparse import argparse_language
from shared.local.cli_errors import ExitCode, Failure, UsageError, describe
from shared.local.cli_parser import build_parser
from shared.settings import load_settings

logger = logging.getLogger("dropscore")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _language_of(argv: list[str]) -> str:
    """--lang wins over DROPSCORE_LANG; read before parsing, so parse errors speak it too."""
    for index, word in enumerate(argv):
        if word == "--lang" and index + 1 < len(argv):
            return "en" if argv[index + 1].lower().startswith("en") else "es"
        if word.startswith("--lang="):
            return "en" if word.split("=", 1)[1].lower().startswith("en") else "es"
    return "en" if os.environ.get("DROPSCORE_LANG", "").strip().lower().startswith("en") else "es"


def _quiet_libraries(verbose: bool) -> None:
    """MLflow's INFO lines, alembic's migrations and Python warnings stay out of a user's terminal."""
    level = logging.INFO if verbose else logging.ERROR
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    if not verbose:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # English bars for internal downloads
        for name in ("mlflow", "alembic", "urllib3", "py4j", "matplotlib", "shared", "dropscore"):
            logging.getLogger(name).setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the same for any child process (serve)


def _parse(argv: list[str], language: str) -> argparse.Namespace:
    """Parse in ``language``; a usage error carries argparse's complaint in both languages (for --json)."""
    try:
        with argparse_language(language):
            return build_parser(language).parse_args(argv)
    except UsageError as error:
        other = "en" if language == "es" else "es"
        try:
            with argparse_language(other):
                build_parser(other).parse_args(argv)
        except UsageError as translated:
            both = {language: error.failure, other: translated.failure}
            error.failure = Failure(error.failure.code, error.failure.exit_code, both["es"].message_es, both["en"].message_en)
        raise error


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    language = _language_of(argv)
    as_json = "--json" in argv
    debug = "--debug" in argv
    _quiet_libraries("--verbose" in argv)
    real_stdout = sys.stdout
    try:
        args = _parse(argv, language)
        if getattr(args, "lang", None):
            os.environ["DROPSCORE_LANG"] = args.lang
        settings = load_settings()
        # Libraries (MLflow, alembic) print to stdout; in JSON mode stdout carries only our object.
        # Progress bars only when stderr is a terminal (never in pipes, CI logs or functions).
        display = progress.terminal_display(settings.language)
        with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout), progress.displayed(display):
            result = args.handler(args, settings)
    except SystemExit:
        raise  # --help and argparse's own exits
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one message and a documented exit code
        failure = describe(exc)
        if debug:
            traceback.print_exc(file=sys.stderr)
        if as_json:
            print(json.dumps(failure.to_json(language), ensure_ascii=False), file=real_stdout)
        else:
            print("error: " + failure.message(language), file=sys.stderr)
        return int(failure.exit_code)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default), file=real_stdout)
    exit_code_of = getattr(args, "exit_code_of", None)
    return int(exit_code_of(result)) if exit_code_of and isinstance(result, dict) else int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
