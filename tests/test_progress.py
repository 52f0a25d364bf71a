"""Progress: one log line per phase for the functions' logs; bars only on a terminal, labelled in the user's language."""

from __future__ import annotations

import io
import logging

import pytest

from shared import progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_a_phase_is_one_log_line_and_nothing_is_drawn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dropscore.progress")
    pipe = io.StringIO()
    assert progress.terminal_display("es", pipe) is None
    with progress.displayed(progress.terminal_display("es", pipe)):
        with progress.phase("read", unit="rows"):
            for _ in range(50):
                progress.advance(100)
        with progress.phase("register"):
            pass
    lines = [record.getMessage() for record in caplog.records if record.name == "dropscore.progress"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("phase read done in ") and lines[0].endswith(", 5000 rows")
    assert lines[1].startswith("phase register done in ")
    assert pipe.getvalue() == ""


@pytest.mark.parametrize(("language", "label", "unit"), [("es", "Probando configuraciones del modelo", "configuraciones"), ("en", "Trying model configurations", "configurations")])
def test_on_a_terminal_bars_speak_the_users_language(language: str, label: str, unit: str) -> None:
    screen = FakeTerminal()
    display = progress.terminal_display(language, screen)
    assert display is not None
    with progress.displayed(display), progress.phase("search", total=4, unit="configurations") as step:
        for _ in range(4):
            step.advance()
    drawn = screen.getvalue()
    assert label in drawn and f"4/4 {unit}" in drawn


def test_advance_outside_a_phase_is_harmless() -> None:
    progress.advance(10)  # library code called without any phase running (a unit test, a script)
