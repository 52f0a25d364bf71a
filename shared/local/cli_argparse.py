"""argparse in the user's language, failing with an exception instead of exiting.

argparse writes its own sentences ("usage:", "the following arguments are required", "invalid
choice") through ``gettext``; no Spanish catalogue ships with Python, so the few sentences it
has are translated here while a Spanish parser is built and used. Errors raise
:class:`shared.local.cli_errors.UsageError`, so ``--json`` can still print one JSON object and the
exit code stays the documented one; a typo gets a "did you mean".
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from shared.i18n import message as message_of
from shared.i18n.cli import ARGPARSE_SPANISH
from shared.local.cli_errors import UsageError

# argparse's sentences that carry a word to correct: "invalid choice" and "unrecognized arguments".
_INVALID_CHOICE = "invalid choice: %(value)r (choose from %(choices)s)"
_UNRECOGNIZED = "unrecognized arguments: %s"


def _pattern(template: str) -> re.Pattern[str]:
    """An argparse message template as a regular expression capturing its values (in either language)."""
    text = re.escape(template)
    for placeholder, group in ((r"%\(value\)r", "'([^']*)'"), (r"%\(choices\)s", "(.*)"), (r"%s", "(.*)")):
        text = text.replace(placeholder, group)
    return re.compile(text)


_CHOICE_PATTERNS = [_pattern(_INVALID_CHOICE), _pattern(ARGPARSE_SPANISH[_INVALID_CHOICE])]
_UNRECOGNIZED_PATTERNS = [_pattern(_UNRECOGNIZED), _pattern(ARGPARSE_SPANISH[_UNRECOGNIZED])]


def _first_match(patterns: list[re.Pattern[str]], text: str) -> re.Match[str] | None:
    return next((found for found in (pattern.search(text) for pattern in patterns) if found), None)


@contextlib.contextmanager
def argparse_language(language: str) -> Iterator[None]:
    """While building and using a parser: argparse's own sentences in ``language``."""
    if language != "es":
        yield
        return
    original_gettext, original_ngettext = argparse._, argparse.ngettext

    def translate(text: str) -> str:
        return ARGPARSE_SPANISH.get(text, text)

    def translate_plural(singular: str, plural: str, count: int) -> str:
        return translate(singular if count == 1 else plural)

    argparse._, argparse.ngettext = translate, translate_plural
    try:
        yield
    finally:
        argparse._, argparse.ngettext = original_gettext, original_ngettext


class _Root:
    """The command line being parsed (subparsers raise the errors but never see all of it)."""

    argv: list[str] | None = None


_ROOT = _Root()


class FriendlyParser(argparse.ArgumentParser):
    """Raises :class:`UsageError` (with a "did you mean" for typos) instead of printing and exiting."""

    def __init__(self, *args: Any, language: str = "es", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language = language

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        _ROOT.argv = list(args) if args is not None else None
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        raise UsageError(self._unknown_flags_first(message), self.format_usage())

    def _unknown_flags_first(self, message: str) -> str:
        """argparse reports a missing required option before an unknown one; a typo explains both, so name it first."""
        argv = getattr(_ROOT, "argv", None) or []
        known = {option for action in self._all_actions() for option in action.option_strings}
        unknown = [word for word in argv if word.startswith("-") and word.split("=", 1)[0] not in known and word != "-"]
        if unknown and _first_match(_UNRECOGNIZED_PATTERNS, message) is None:
            lead = (ARGPARSE_SPANISH[_UNRECOGNIZED] if self.language == "es" else _UNRECOGNIZED) % " ".join(unknown)
            return self._with_suggestion(lead) + "\n" + message
        return self._with_suggestion(message)

    def _with_suggestion(self, message: str) -> str:
        candidates: list[str] = []
        wrong: list[str] = []
        choice = _first_match(_CHOICE_PATTERNS, message)
        if choice:
            wrong = [choice.group(1)]
            candidates = re.findall(r"'([^']*)'", choice.group(2))
        unrecognized = _first_match(_UNRECOGNIZED_PATTERNS, message)
        if unrecognized:
            wrong = [word for word in unrecognized.group(1).split() if word.startswith("-")]
            candidates = [option for action in self._all_actions() for option in action.option_strings]
        for word in wrong:
            close = difflib.get_close_matches(word.split("=", 1)[0], candidates, n=1, cutoff=0.6)
            if close:
                message += message_of("did_you_mean", self.language, value=close[0])
                break
        return message

    def _all_actions(self) -> list[argparse.Action]:
        """This parser's options and those of the subcommand being parsed (typos usually belong there)."""
        actions = list(self._actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    actions.extend(sub._actions)
        return actions


def parser_class(language: str) -> type[FriendlyParser]:
    """A FriendlyParser bound to ``language`` (argparse builds subparsers from the parent's class)."""

    class LanguageParser(FriendlyParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("language", language)
            super().__init__(*args, **kwargs)

    return LanguageParser
