"""How dropscore logs when it runs as a function or a job: one line per record on stderr.

Cloud Logging reads the severity from the level name at the start of each line, so an error a
handler reports (shared.handlers) shows as ERROR in the log explorer, not as plain text. Both the
functions' handlers and the retrain job (shared.steps.retrain) set it up the same way, here.
"""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """One line per record on stderr at INFO; calling it again adds nothing (every event calls it)."""
    root = logging.getLogger()
    if not any(getattr(handler, "_dropscore", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._dropscore = True  # type: ignore[attr-defined]  # marks our handler, so a warm instance adds no second one
        root.addHandler(handler)
        root.setLevel(logging.INFO)
