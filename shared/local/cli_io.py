"""What every `dropscore` command shares: the file it is pointed at, the sentences it prints, the champion it needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from shared import formatting as fmt
from shared.i18n import message
from shared.i18n.cli import COLUMN_TYPE_NAMES
from shared.local.cli_errors import CliError, ExitCode
from shared.settings import Settings


def say(settings: Settings, code: str, *, stream: TextIO | None = None, **values: object) -> None:
    """Print the catalogue's sentence ``code`` in the reader's language (stdout unless ``stream``)."""
    print(message(code, settings.language, **values), file=stream or sys.stdout)


def input_file(path_text: str) -> Path:
    """The file a command was pointed at, or a usage error that says what is there instead."""
    path = Path(path_text)
    if path.is_dir():
        raise CliError("input_is_folder", ExitCode.USAGE, path=path_text)
    if not path.is_file():
        raise CliError("input_not_found", ExitCode.USAGE, path=path_text)
    return path


def column_types_text(column_types: dict[str, int], language: str) -> str:
    """{'numeric': 36, 'categorical': 48} as a reader says it: "36 numéricas, 48 categóricas"."""
    index = 0 if language == "es" else 1
    return ", ".join(f"{fmt.integer(count, language)} {COLUMN_TYPE_NAMES[kind][index] if kind in COLUMN_TYPE_NAMES else kind}" for kind, count in column_types.items())


def _gates_error(code: str, version: str, failures: list[str]) -> CliError:
    """A catalogue error whose gate failures are written in each language's words and numbers."""
    error = CliError(code, ExitCode.NOT_READY, version=version, failures=fmt.gate_failures_text(failures, "en"))
    spanish = CliError(code, ExitCode.NOT_READY, version=version, failures=fmt.gate_failures_text(failures, "es"))
    error.failure = type(error.failure)(error.failure.code, error.failure.exit_code, spanish.failure.message_es, error.failure.message_en)
    return error


def gates_failed_error(version: str, failures: list[str]) -> CliError:
    return _gates_error("gates_failed", version, failures)


def no_champion_error(settings: Settings) -> CliError:
    """No champion: say whether a trained version exists and why it was not promoted."""
    from shared.backends import services

    versions = services.registry(settings).versions()
    if not versions:
        return CliError("no_champion", ExitCode.NOT_READY)
    latest = versions[-1]
    return _gates_error("not_promoted", latest["version"], latest.get("gate_failures") or [])


def require_champion(settings: Settings) -> None:
    from shared.backends import services
    from shared.backends.registry import CHAMPION

    if services.registry(settings).version_of(CHAMPION) is None:
        raise no_champion_error(settings)
