"""Temp objects a killed run left behind are removed by the next run that succeeds beside them.

The folder store writes every output into a ``.tmp-…`` file next to it and renames it into place
(shared.backends.storage.local); a run killed mid-write (out of memory, timeout, SIGKILL) leaves that file, 2–7
MB each, invisible to listings and never reclaimed. After a clean or score step has published
its outputs, it sweeps the folders it wrote to: a temp file untouched for
:data:`ORPHAN_AFTER_SECONDS` is an orphan. A live writer writes to its temp file all along
(each Parquet row group, each CSV chunk), and a function lives at most 540 s, so an hour
without a write cannot be a concurrent writer's file; the sweep never touches a fresher one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from shared.backends import services

logger = logging.getLogger(__name__)

ORPHAN_AFTER_SECONDS = 3600.0


def sweep_beside(uris: Iterable[str | None], *, older_than_seconds: float = ORPHAN_AFTER_SECONDS) -> list[str]:
    """Remove orphaned temp objects in the folders of ``uris``. Best effort: a failure here is logged, never
    raised, because the run's own outputs are already published."""
    removed: list[str] = []
    for folder in dict.fromkeys(uri.rpartition("/")[0] for uri in uris if uri):
        store = services.store(folder)
        sweep = getattr(store, "sweep_temp", None)
        if sweep is None:
            continue
        try:
            removed += sweep(folder, older_than_seconds)
        except Exception as exc:  # noqa: BLE001 - clutter left for the next run is not worth failing this one
            logger.warning("could not sweep temp objects in %s: %s", folder, exc)
    if removed:
        logger.info("removed %d temp object(s) left by killed runs: %s", len(removed), ", ".join(removed[:5]))
    return removed


__all__ = ["ORPHAN_AFTER_SECONDS", "sweep_beside"]
