"""Rows from the deployment smoke test are tagged by where the test drops its file.

``infra/smoke_test.py`` (Cloud Build's last step) drops a few rows as
``incoming/smoke/<run id>.csv`` in the raw area. They go through the real pipeline (that is the
test), so they reach the clean area (``incoming/smoke/...``), the predictions area
(``smoke/...``) and the warehouse, whose ``batches`` and ``predictions`` rows carry those URIs in
``source_uri``. That path is the tag: the drift windows skip these batches, and BigQuery's
``predictions_production`` view (infra/bigquery.tf) leaves their rows out. ``incoming/smoke/`` is
therefore reserved for the smoke test.
"""

from __future__ import annotations

SMOKE_PREFIX = "incoming/smoke/"
# What every URI of a smoke-test object contains, whatever the bucket or S3 prefix before it.
SMOKE_MARKER = f"/{SMOKE_PREFIX}"


def is_smoke_uri(uri: object) -> bool:
    """True for the raw, clean (or shard) URI of a file the smoke test dropped."""
    return isinstance(uri, str) and SMOKE_MARKER in uri
