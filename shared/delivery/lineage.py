"""Which upload a warehouse row came from, and what happens to an upload's rows when the name is dropped again.

Users replace a file by dropping it again under the same name. The object's *generation*
(GCS generation, S3 ETag, the local file's modification time in ns) tells the uploads apart,
so the warehouse keys every batch on its clean object **and** the dropped file's generation
(``<clean_uri>#<generation>``): a retried event of the same upload replaces its rows (same
key), another upload gets rows of its own and the earlier upload's rows stay, for history.

The earlier upload's ``batches`` rows are then marked ``superseded_by`` the new upload's key:
its predictions were replaced for the user (the predictions file now holds the new rows), so
the drift check's windows skip it and count the name once, with its latest rows. Measured
performance already keeps the latest prediction of each id.
"""

from __future__ import annotations

import logging

from shared.backends.warehouse import Warehouse

logger = logging.getLogger(__name__)

SEPARATOR = "#"


def batch_key(clean_uri: str, source_generation: str | None) -> str:
    """The warehouse key of one upload's batch: ``clean_uri#generation`` (the URI alone without a generation)."""
    return f"{clean_uri}{SEPARATOR}{source_generation}" if source_generation else clean_uri


def clean_uri_of(key: str) -> str:
    """The clean object a batch key names (generations hold no "#": GCS numbers, S3 ETags, local nanoseconds)."""
    head, separator, tail = key.rpartition(SEPARATOR)
    return head if separator and tail and "/" not in tail else key


def supersede_earlier_uploads(warehouse: Warehouse, source_uri: str | None, source_generation: str | None, current_key: str) -> list[str]:
    """Mark the ``batches`` rows of earlier uploads of ``source_uri`` as superseded by ``current_key``.

    Rows of the same upload (its shards, its file row) are left alone. Each marked batch is
    rewritten under its own key (the warehouse's replace), so this is idempotent and safe to
    repeat on a retried event. Returns the keys marked.
    """
    if not source_uri or not source_generation:
        return []
    rows = warehouse.read("batches", where={"source_uri": source_uri, "superseded_by": None})
    if rows.empty:
        return []
    earlier = rows[rows["source_generation"].fillna("") != source_generation]
    marked = []
    for key, batch in earlier.groupby("batch_key", sort=True):
        warehouse.write_batch("batches", batch.assign(superseded_by=current_key).drop(columns=["batch_key"]), batch_key=str(key))
        marked.append(str(key))
    if marked:
        logger.info("%s: upload %s supersedes %d earlier batch(es)", source_uri, source_generation, len(marked))
    return marked


__all__ = ["batch_key", "clean_uri_of", "supersede_earlier_uploads"]

