"""The triggered chain run at once: what `dropscore drop` and `dropscore score` do on one machine."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from shared import progress
from shared.backends import services
from shared.delivery.locations import dropped_file
from shared.settings import Settings
from shared.steps.clean import clean_object
from shared.steps.score import score_object


def drop_file(settings: Settings, path: Path, kind: str = "incoming", *, run_chain: bool | None = None) -> dict[str, Any]:
    """Put a file in the raw area under ``kind/``; in embedded mode run clean (and score) right away.

    On a real cloud the upload itself fires the functions, so the chain is left to them.
    """
    raw_uri = settings.object_uri("raw", f"{kind}/{path.name}")
    services.store(raw_uri).upload_file(raw_uri, path, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    result: dict[str, Any] = {
        "source": raw_uri,
        "kind": kind,
        "rows_in": None,
        "rows_scored": 0,
        "rows_quarantined": None,
        "output": None,
        "quarantine": None,
    }
    if not (settings.embedded if run_chain is None else run_chain):
        result["status"] = "uploaded"
        return result
    with progress.phase("read", unit="rows"):
        cleaned = clean_object(settings, raw_uri)
    result.update(
        status=cleaned.status,
        rows_in=cleaned.rows_in,
        rows_clean=cleaned.rows_clean,
        rows_quarantined=cleaned.rows_quarantined,
        quarantine=cleaned.quarantine_uri or cleaned.report_uri,
        clean=cleaned.clean_uri,
        manifest=cleaned.manifest_uri,
        message_es=cleaned.message_es,
        message_en=cleaned.message_en,
        # Values scored as missing because the model never saw them: shown, never silent.
        unknown_categories=int(cleaned.details.get("unknown_categories") or 0),
        unknown_categories_by_column=cleaned.details.get("unknown_categories_by_column") or {},
        unknown_category_examples=cleaned.details.get("unknown_category_examples") or {},
    )
    if cleaned.status == "rejected":
        result["code"] = cleaned.details.get("error_code")  # stable, for scripts (the CLI exits 4)
    shards = (cleaned.details.get("fan_out") or {}).get("shards") or []
    if kind == "incoming" and shards:
        # A big file cleaned into shards: in the cloud each shard's upload starts its own score;
        # here they run one after the other, and the one that completes the set assembles the file.
        scored_shards = [score_object(settings, shard_uri) for shard_uri in shards]
        result.update(
            status="scored" if all(s.status in ("scored", "duplicate") for s in scored_shards) else scored_shards[-1].status,
            rows_scored=sum(s.rows_scored for s in scored_shards),
            output=settings.object_uri("predictions", dropped_file(settings, f"{kind}/{path.name}").predictions_key()),
            model_version=scored_shards[-1].model_version,
            shards=len(shards),
        )
    elif kind == "incoming" and cleaned.clean_uri:
        scored = score_object(settings, cleaned.clean_uri)
        result.update(status=scored.status, rows_scored=scored.rows_scored, output=scored.output, model_version=scored.model_version)
    elif kind != "incoming":
        result["output"] = cleaned.clean_uri  # kept for monitoring / retraining
        if kind == "labels" and cleaned.clean_uri:
            # What the score function does with a labels/ batch in the cloud: the model review.
            result["model_review"] = score_object(settings, cleaned.clean_uri).model_review
    return result


def score_file(settings: Settings, path: Path, output: Path) -> dict[str, Any]:
    """`dropscore score`: clean and score a local file in one pass, in one process (shared.local.direct_scoring)."""
    from shared.local.direct_scoring import score_file as score_in_one_process

    return score_in_one_process(settings, path, output)
