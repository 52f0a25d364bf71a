"""What the `dropscore` command tells a person (and a script) when something goes wrong.

Exit codes are part of the interface: scripts branch on them, so they never change meaning.
Every failure becomes one :class:`Failure`: a stable machine ``code``, an exit code, and one
message per language that says what happened and what to do next. Tracebacks are for
``--debug`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from shared.errors import (
    BadInputError,
    ContractError,
    DropscoreError,
    ModelIntegrityError,
    ModelNotFoundError,
    PermanentError,
    ServiceUnavailableError,
    SettingsError,
    TransientError,
    UnknownColumnError,
    UnknownPositiveError,
)
from shared.i18n import MESSAGES, both, message
from shared.i18n.cli import SPANISH_MARKS


class ExitCode(IntEnum):
    """Documented in README.md and in `dropscore --help`; keep the numbers stable."""

    OK = 0
    INTERNAL_ERROR = 1  # a bug: nothing the user did; rerun with --debug and report it
    USAGE = 2  # the command line or a DROPSCORE_* setting: unknown flag, missing argument, input file not found, unknown column
    ROWS_QUARANTINED = 3  # the file was processed; some rows are in quarantine with their reasons
    FILE_REJECTED = 4  # the file was not processed at all; the report says why
    NOT_READY = 5  # the system's state does not allow it: no champion, no such version, gates failed, bad contract
    SERVICE_UNAVAILABLE = 6  # storage, MLflow or the warehouse did not answer: try again later
    INTERRUPTED = 130  # Ctrl-C (the shell's convention)


def exit_code_table(language: str) -> str:
    """The exit codes as a few aligned lines (the `--help` epilog; the catalogue's ``cli_exit_*``)."""
    return "\n".join(f"  {int(code):>3}  {message(f'cli_exit_{code.name.lower()}', language)}" for code in ExitCode)


@dataclass(frozen=True)
class Failure:
    code: str  # stable, snake_case; scripts may branch on it
    exit_code: ExitCode
    message_es: str
    message_en: str

    def message(self, language: str) -> str:
        return self.message_es if language == "es" else self.message_en

    def to_json(self, language: str) -> dict[str, Any]:
        return {
            "status": "error",
            "code": self.code,
            "exit_code": int(self.exit_code),
            "message": self.message(language),
            "message_es": self.message_es,
            "message_en": self.message_en,
        }


class CliError(DropscoreError):
    """A failure the CLI explains from the message catalogue (``shared.i18n.MESSAGES[code]``)."""

    def __init__(self, code: str, exit_code: ExitCode, **values: object) -> None:
        spanish, english = MESSAGES[code]
        self.failure = Failure(code, exit_code, spanish.format(**values), english.format(**values))
        super().__init__(self.failure.message_en)


class UsageError(CliError):
    """The command line itself is wrong (argparse's complaints, translated)."""

    def __init__(self, detail: str, usage: str) -> None:
        DropscoreError.__init__(self, detail)
        self.failure = Failure("usage", ExitCode.USAGE, *both("cli_usage_help", detail=detail, usage=usage.strip()))


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _bilingual_parts(text: str) -> tuple[str, str]:
    """Older messages are written "english / español" or "español / english" in one string: split them."""
    if " / " not in text:
        return text, text
    first, second = text.split(" / ", 1)
    if SPANISH_MARKS.search(first) and not SPANISH_MARKS.search(second):
        return first, second
    return second, first


# The option through which a person named a column (shared.ingest.contract_inference raises by role).
_COLUMN_OPTIONS = {"target": "--target", "id": "--id"}


def _unknown_column(exc: UnknownColumnError) -> Failure:
    """"La columna «x» (--target) no está en el archivo. ¿Quiso decir «X»? Columnas del archivo: …"."""
    spanish, english = MESSAGES["unknown_column"]
    suggestion_es, suggestion_en = MESSAGES["did_you_mean"] if exc.close_match is not None else ("", "")
    values = {"column": exc.column, "option": _COLUMN_OPTIONS.get(exc.role, exc.role), "columns": ", ".join(exc.columns)}
    return Failure(
        "unknown_column",
        ExitCode.USAGE,
        spanish.format(suggestion=suggestion_es.format(value=exc.close_match), **values),
        english.format(suggestion=suggestion_en.format(value=exc.close_match), **values),
    )


def describe(exc: BaseException) -> Failure:
    """Any exception as the failure a person reads: catalogue errors as written, the rest mapped by kind."""
    if isinstance(exc, CliError):
        return exc.failure
    if isinstance(exc, UnknownColumnError):
        return _unknown_column(exc)
    if isinstance(exc, UnknownPositiveError):
        return CliError("unknown_positive", ExitCode.USAGE, value=exc.value, column=exc.column, values=", ".join(exc.values)).failure
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", ExitCode.INTERRUPTED, *both("cli_interrupted"))
    if isinstance(exc, SettingsError):
        return Failure("settings_invalid", ExitCode.USAGE, exc.message_es, exc.message_en)
    if isinstance(exc, BadInputError):
        exit_code = ExitCode.NOT_READY if exc.code in ("no_champion", "pii_key_missing") else ExitCode.FILE_REJECTED
        return Failure(exc.code, exit_code, exc.message_es, exc.message_en)
    if isinstance(exc, ServiceUnavailableError):
        # The backends word these (which service, where, how to start it) in English, with the
        # commands and variables to use; the frame around them follows the reader's language.
        spanish, english = MESSAGES["service_unavailable"]
        return Failure("service_unavailable", ExitCode.SERVICE_UNAVAILABLE, spanish.format(detail=exc), english.format(detail=exc))
    if isinstance(exc, TransientError):
        spanish, english = MESSAGES["transient"]
        return Failure("transient", ExitCode.SERVICE_UNAVAILABLE, spanish.format(detail=exc), english.format(detail=exc))
    if isinstance(exc, (ModelNotFoundError, ModelIntegrityError, ContractError, PermanentError)):
        # An error that carries both languages says them; older ones hold both in one "a / b" text.
        has_both = isinstance(getattr(exc, "message_es", None), str) and isinstance(getattr(exc, "message_en", None), str)
        spanish, english = (exc.message_es, exc.message_en) if has_both else _bilingual_parts(str(exc))
        if isinstance(exc, ContractError):
            spanish, english = MESSAGES["contract_invalid"][0].format(detail=exc.message_es), MESSAGES["contract_invalid"][1].format(detail=exc.message_en)
        code = _CAMEL.sub("_", type(exc).__name__.removesuffix("Error")).lower() or "permanent"
        # an error class may say which documented code it is (e.g. a bad file given on the command line: 2)
        return Failure(code, ExitCode(getattr(exc, "exit_code", ExitCode.NOT_READY)), spanish, english)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        spanish, english = MESSAGES["transient"]
        return Failure("transient", ExitCode.SERVICE_UNAVAILABLE, spanish.format(detail=exc), english.format(detail=exc))
    spanish, english = MESSAGES["internal_error"]
    detail = f"{type(exc).__name__}: {exc}"
    return Failure("internal_error", ExitCode.INTERNAL_ERROR, spanish.format(detail=detail), english.format(detail=detail))


def result_exit_code(result: dict[str, Any]) -> ExitCode:
    """A command that processed a file: rejected, some rows quarantined, or all good."""
    if result.get("status") == "rejected":
        return ExitCode.FILE_REJECTED
    if (result.get("rows_quarantined") or 0) > 0:
        return ExitCode.ROWS_QUARANTINED
    return ExitCode.OK
