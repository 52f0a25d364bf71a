"""shared.logs: the one logging setup of the functions and the retrain job."""

from __future__ import annotations

import logging

import pytest

from shared.logs import configure_logging


@pytest.fixture
def bare_root_logger():
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    root.handlers = []
    yield root
    root.handlers, root.level = saved_handlers, saved_level


def test_each_record_is_one_line_led_by_its_severity(bare_root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("logs_example").error("could not read %s", "gs://raw/incoming/a.csv")
    assert capsys.readouterr().err == "ERROR logs_example: could not read gs://raw/incoming/a.csv\n"


def test_a_warm_instance_calling_it_on_every_event_logs_each_record_once(bare_root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        configure_logging()
    logging.getLogger("logs_example").info("scored")
    assert capsys.readouterr().err.count("scored") == 1
    assert bare_root_logger.level == logging.INFO


def test_the_retrain_job_and_the_handlers_share_it() -> None:
    import shared.handlers
    import shared.steps.retrain

    assert shared.handlers.configure_logging is configure_logging
    assert shared.steps.retrain.configure_logging is configure_logging
