"""Progress of long work: one log line per phase in the functions' logs, a live bar on a terminal.

Library code marks its phases and counts what it processed::

    with progress.phase("search", total=len(candidates), unit="configurations") as step:
        for candidate in candidates:
            ...
            step.advance()

    progress.advance(len(chunk))   # rows of the innermost running phase

Nothing is drawn unless the CLI installs a :class:`TerminalDisplay` (only when stderr is a
terminal), so Cloud Functions log exactly one line per phase — at its end, with what it did
and how long it took — and never a progress bar. Bars go to stderr, never to stdout, so
``--json`` output stays one object.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, Protocol, TextIO

from shared.i18n import MESSAGES, message

logger = logging.getLogger("dropscore.progress")

class Display(Protocol):
    def start(self, key: str, total: int | None, unit: str) -> None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class Step:
    """One running phase: how much it has done."""

    def __init__(self, key: str, total: int | None, unit: str, display: Display | None) -> None:
        self.key, self.total, self.unit, self.done = key, total, unit, 0
        self._display = display

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._display is not None:
            self._display.advance(count)


_display: contextvars.ContextVar[Display | None] = contextvars.ContextVar("dropscore_progress_display", default=None)
_current: contextvars.ContextVar[Step | None] = contextvars.ContextVar("dropscore_progress_step", default=None)


@contextlib.contextmanager
def phase(key: str, *, total: int | None = None, unit: str = "", detail: str = "") -> Iterator[Step]:
    """Run a phase: drawn live when a display is installed, one log line when it ends."""
    display = _display.get()
    step = Step(key, total, unit, display)
    token = _current.set(step)
    started = time.monotonic()
    if display is not None:
        display.start(key, total, unit)
    try:
        yield step
    finally:
        _current.reset(token)
        if display is not None:
            display.finish()
        counted = f", {step.done} {unit}" if unit else ""
        logger.info("phase %s done in %.1f s%s%s", key, time.monotonic() - started, counted, f" ({detail})" if detail else "")


def advance(count: int = 1) -> None:
    """Count work in the innermost running phase (nothing happens outside one)."""
    step = _current.get()
    if step is not None:
        step.advance(count)


@contextlib.contextmanager
def displayed(display: Display | None) -> Iterator[None]:
    """Install ``display`` for the work done inside (the CLI does, on a terminal)."""
    token = _display.set(display)
    try:
        yield
    finally:
        _display.reset(token)


class TerminalDisplay:
    """tqdm bars on stderr, labelled in the user's language; one bar per phase, left on screen when done."""

    def __init__(self, language: str, stream: TextIO | None = None) -> None:
        self.language = language
        self.stream = stream or sys.stderr
        self._bars: list[Any] = []

    def _word(self, code: str, fallback: str) -> str:
        """The catalogue's label for a phase or unit (shared.i18n.cli: progress_phase_*, progress_unit_*); else its key."""
        return message(code, self.language) if code in MESSAGES else fallback

    def start(self, key: str, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        label = self._word(f"progress_phase_{key}", key)
        unit_word = self._word(f"progress_unit_{unit}", unit)
        if total:
            bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit_word + " [{elapsed}]"
        elif unit:
            bar_format = "{desc}: {n_fmt} " + unit_word + " [{elapsed}]"
        else:
            bar_format = "{desc}… [{elapsed}]"
        self._bars.append(
            tqdm(total=total, desc=label, file=self.stream, leave=True, ncols=_width(), nrows=_height(), mininterval=0.2, bar_format=bar_format, position=len(self._bars))
        )

    def advance(self, count: int) -> None:
        if self._bars:
            self._bars[-1].update(count)

    def finish(self) -> None:
        if self._bars:
            bar = self._bars.pop()
            bar.refresh()
            bar.close()


def _width() -> int:
    """The terminal's width; a pseudo-terminal may report 0 columns, then assume 100."""
    import shutil

    columns = shutil.get_terminal_size((100, 24)).columns
    return columns if columns >= 40 else 100


def _height() -> int:
    """tqdm hides bars below the terminal's last row; a pseudo-terminal may report 0 rows."""
    import shutil

    return max(shutil.get_terminal_size((100, 24)).lines, 24)


def terminal_display(language: str, stream: TextIO | None = None) -> TerminalDisplay | None:
    """A display when ``stream`` (stderr by default) is a terminal; None for pipes, files and CI logs."""
    stream = stream or sys.stderr
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return TerminalDisplay(language, stream) if interactive else None
