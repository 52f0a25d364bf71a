"""The score step: a clean batch becomes a predictions CSV and warehouse rows.

The clean Parquet is read a batch of rows at a time; each batch is scored, then written (in a
thread of its own, while the next batch is scored) to the predictions CSV and appended to the
warehouse (one idempotent replace per clean object, :func:`shared.backends.warehouse.batch_writer`),
so memory holds a few row groups and a few batches, never the file
(:func:`shared.delivery.parquet_io.iter_batches`). A shard of a big file (:mod:`shared.delivery.fanout`)
writes its part of the predictions file; the invocation
that scores the last shard assembles the file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from shared import progress
from shared.backends import services
from shared.backends.lightgbm_runtime import threads_for_one_step
from shared.backends.registry import CHAMPION
from shared.backends.warehouse import BatchWriter, batch_writer, one_connection
from shared.delivery import claims, fanout, lineage, temp_sweep
from shared.delivery.claims import ClaimKey
from shared.delivery.locations import DroppedFile, locate
from shared.delivery.parquet_io import iter_batches, streamed_parquet
from shared.delivery.worker_thread import WorkerThread
from shared.errors import BadInputError, ObjectNotFoundError
from shared.i18n import both
from shared.ingest.csv_columns import csv_bytes
from shared.ingest.csv_output import (
    SOURCE_ROW_COLUMN,
    extra_output_columns,
    header_row,
    output_date_format,
    predictions_dialect,
)
from shared.lifecycle.model_loading import load_model
from shared.lifecycle.shadow import challenger_for_shadow, shadow_rows, warehouse_rows
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import prediction_columns_for, score_batch
from shared.settings import Settings

logger = logging.getLogger(__name__)

# Rows scored at a time (at most: the last batch of a window of row groups is shorter, see
# shared.delivery.parquet_io.iter_batches): the leaves, reasons and text of 16 384 rows take some tens of MB;
# fewer rows cost more per-batch overhead (the scoring step drifts away from the raw booster's predict time).
PARQUET_BATCH_ROWS = 16_384
# Scored batches handed to the writing thread and not yet written (warehouse rows, CSV bytes). One is
# enough: scoring a batch takes longer than writing one, so the next batch is ready as the last is
# written. Measured on the 200 000-row bench file (issue 16): peak 305-313 MiB written in line,
# 337 MiB with one batch in the writing thread's hands, 346 MiB with two; the same time within noise.
BATCHES_IN_FLIGHT = 1


@dataclass
class ScoreResult:
    clean_uri: str
    status: str                        # "scored" | "ignored" | "refused" (shared.handlers: a permanent failure)
    rows_scored: int = 0
    output: str | None = None
    model_version: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    model_review: dict[str, Any] = field(default_factory=dict)  # labels/ batches: shadow comparison and rollback watch

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_manifest(settings: Settings, dropped: DroppedFile) -> dict[str, Any]:
    uri = settings.object_uri("clean", dropped.manifest_key())
    try:
        return json.loads(services.store(uri).read_bytes(uri))
    except ObjectNotFoundError:
        return {}


def score_object(settings: Settings, clean_uri: str, *, generation: str = "") -> ScoreResult:
    """Score one clean object, once per upload (bucket, object, generation) however often its event comes.

    ``generation`` is the event's; without one (the local chain), the object's current generation.
    A duplicate delivery returns the first run's result with status "duplicate".
    """
    located = locate(settings, clean_uri)
    dropped = DroppedFile.from_clean_key(located[1]) if located and located[0] == "clean" else None
    if dropped is not None and dropped.kind == "labels":
        # Outcomes arrived: compare champion and challenger on them, watch a fresh champion (shared.lifecycle.shadow).
        from shared.lifecycle.shadow import review_after_labels

        return ScoreResult(clean_uri, "ignored", model_review=review_after_labels(settings))
    if dropped is None or dropped.kind != "incoming":
        # labels/ and training/ batches are kept for monitoring and retraining, not scored.
        return ScoreResult(clean_uri, "ignored")
    generation = generation or claims.current_generation(clean_uri) or ""
    if not generation:
        logger.warning("score: %s no longer exists; nothing to do", clean_uri)  # permanent: no retry
        return ScoreResult(clean_uri, "ignored")
    with claims.once(settings, ClaimKey.of(settings, "score", clean_uri, generation)) as claim:
        if claim.done is not None:
            duplicate = claim.replay(ScoreResult)
            duplicate.status = "duplicate"
            return duplicate
        try:
            result = _score_incoming(settings, clean_uri, dropped)
        except ObjectNotFoundError:
            if services.store(clean_uri).exists(clean_uri):
                raise  # something else is missing (the manifest, a model file): not for us to decide
            logger.warning("score: %s no longer exists; nothing to do", clean_uri)  # deleted after its event: permanent
            result = ScoreResult(clean_uri, "ignored")
        claim.finish(result.to_dict())
    return result


def _score_incoming(settings: Settings, clean_uri: str, dropped: DroppedFile) -> ScoreResult:
    """Score an incoming clean batch (a whole file or one shard) into predictions and warehouse rows."""
    model = load_model(settings, CHAMPION)  # a model file that fails its hash check refuses and alerts
    challenger = challenger_for_shadow(settings, model)
    target = fanout.predictions_target(settings, dropped)  # the file, or this shard's part of it
    manifest = read_manifest(settings, target.whole)
    details = manifest.get("details", {})
    predictions_uri = target.predictions_uri
    source_uri = manifest.get("source_uri", clean_uri)
    scored_at = datetime.now(UTC)
    warehouse = services.warehouse(settings)
    # Keyed on the clean object and the upload (shared.delivery.lineage): a duplicate or retried event
    # replaces, never duplicates; another upload of the same name keeps the earlier rows.
    source_generation = str(details.get("generation") or "") or None
    key = lineage.batch_key(clean_uri, source_generation)
    # The DuckDB file is opened once for the predictions' replace, this batch's row and the earlier
    # upload's (not once each: every open replays the write-ahead log), at the replace, not before.
    with one_connection(warehouse):
        with batch_writer(warehouse, "predictions", key) as rows_out, progress.phase("score", unit="rows"):
            rows_scored = _write_predictions(
                settings, clean_uri, target.uri, rows_out, model=model, challenger=challenger, header=target.header,
                details=details, source_uri=source_uri, scored_at=scored_at,
            )
        if target.shard is None:
            counts = {k: manifest.get(k) for k in ("rows_in", "rows_clean", "rows_quarantined")}
            counts["unknown_categories"] = int(details.get("unknown_categories") or 0)
        else:
            # One batches row per shard with its clean rows; the file's quarantined rows get a row of
            # their own when the file is assembled (shared.delivery.fanout), so sums over a file still add up.
            counts = {"rows_in": rows_scored, "rows_clean": rows_scored, "rows_quarantined": 0, "unknown_categories": 0}
        batch_row = {
            "kind": dropped.kind,
            "source_uri": manifest.get("source_uri"),
            "clean_uri": clean_uri,
            "predictions_uri": predictions_uri,
            "quarantine_uri": manifest.get("quarantine_uri"),
            **counts,
            "rows_scored": rows_scored,
            "model_version": model.version,
            "status": "scored",
            "processed_at": scored_at,
            "source_generation": source_generation,
        }
        warehouse.write_batch("batches", pd.DataFrame([batch_row]), batch_key=key)
        lineage.supersede_earlier_uploads(warehouse, manifest.get("source_uri"), source_generation, key)
    temp_sweep.sweep_beside([target.uri, predictions_uri])  # temp files killed runs left beside ours
    if target.shard is not None:
        assembly = fanout.shard_scored(settings, target, rows_scored=rows_scored, clean_uri=clean_uri)
        manifest = {**manifest, "details": {**details, "assembly": assembly.status}}
        logger.info("scored shard %s (%d rows): assembly %s", clean_uri, rows_scored, assembly.status)
    logger.info("scored %s with model %s: %d rows -> %s", clean_uri, model.version, rows_scored, predictions_uri)
    return ScoreResult(clean_uri, "scored", rows_scored, predictions_uri, model.version, manifest)


def refuse_scoring(
    settings: Settings, clean_uri: str, problem: BadInputError, *, model_version: str | None = None, details: dict[str, Any] | None = None
) -> ScoreResult:
    """The user-facing report of a clean batch that cannot be scored for good (shared.handlers decides which).

    Written where the file's report goes (quarantine/<kind>/<name>.report.json and .txt): the
    clean rows are kept, the user reads why there are no predictions and what to do.
    """
    located = locate(settings, clean_uri)
    dropped = DroppedFile.from_clean_key(located[1]) if located and located[0] == "clean" else None
    if dropped is None:
        return ScoreResult(clean_uri, "refused", model_version=model_version)
    whole = fanout.predictions_target(settings, dropped).whole
    message_es, message_en = both("not_scored", reason=problem.message_es)[0], both("not_scored", reason=problem.message_en)[1]
    report_uri = settings.object_uri("quarantine", whole.report_key("json"))
    report = {
        "source_uri": read_manifest(settings, whole).get("source_uri"),
        "clean_uri": clean_uri,
        "status": "refused",
        "message_es": message_es,
        "message_en": message_en,
        "details": {"error_code": problem.code, "model_version": model_version, **(details or {}), "processed_at": datetime.now(UTC).isoformat()},
    }
    store = services.store(report_uri)
    store.write_bytes(report_uri, json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"), "application/json")
    text_uri = settings.object_uri("quarantine", whole.report_key("txt"))
    store.write_bytes(text_uri, f"{message_es}\n\n{message_en}\n(code: {problem.code})\n".encode("utf-8-sig"), "text/plain; charset=utf-8")
    return ScoreResult(clean_uri, "refused", model_version=model_version, manifest={"report_uri": report_uri})


def _write_predictions(
    settings: Settings,
    clean_uri: str,
    output_uri: str,
    rows_out: BatchWriter,
    *,
    model: LoadedModel,
    challenger: LoadedModel | None,
    header: bool,
    details: dict[str, Any],
    source_uri: str,
    scored_at: datetime,
) -> int:
    """Score the clean object a batch at a time into the predictions CSV at ``output_uri`` and the
    warehouse writer; returns the rows scored.

    The CSV streams to the store as it is written (``open_write``: a resumable upload on GCS, a
    multipart upload on S3), never staged in /tmp, which counts against a function's memory: a
    million rows with reasons make a 105 MB file. It appears whole, or not at all if scoring fails.

    Each batch is scored here while a thread of its own (shared.delivery.worker_thread) writes the
    batches before it, in order: their warehouse rows and CSV bytes. Scoring (LightGBM's predict, the
    features from Arrow) mostly runs outside the GIL, so the writing takes the second core: 200 000
    rows, warm, 1.82-1.93 s -> 1.70-1.85 s for the whole event (issue 16). At most BATCHES_IN_FLIGHT
    batches wait to be written; an error on either side stops both, and the file is dropped.

    A function of its own so that what the reading holds (the Parquet footer, the last window of row
    groups, the last batch's frames) is gone when it returns, before the warehouse replace that ends
    the score step.
    """
    delimiter, decimal = predictions_dialect(details)  # the contract's locale, else as the file came
    date_format = output_date_format(model.contract)
    rows_scored = 0
    # The contract's locale, else the way the user sent it (delimiter, decimal mark); UTF-8 with BOM for
    # Excel. A shard's part carries the BOM and header only if it comes first in the assembled file.
    with (
        streamed_parquet(clean_uri) as parquet,
        services.store(output_uri).open_write(output_uri, "text/csv") as stream,
        # Left before the stream: a failure stops and joins the writing thread, then drops the file.
        WorkerThread("dropscore-write", in_flight=BATCHES_IN_FLIGHT) as writer,
    ):
        columns = prediction_columns_for(model) + extra_output_columns(model.contract, details, parquet.schema_arrow.names)
        if header:
            line = io.StringIO(newline="")
            csv.writer(line, delimiter=delimiter).writerow(header_row(columns))
            stream.write(line.getvalue().encode("utf-8-sig"))

        threads = threads_for_one_step()  # the instance is this event's: LightGBM may take the CPUs it has

        def score(batch: pa.RecordBatch) -> tuple[pd.DataFrame, pa.Table | None, pa.Table]:
            # In this thread: the features and LightGBM's predict, mostly outside the GIL. A function, so
            # that the batch's frames are gone when the writing thread is done with them.
            clean = pa.Table.from_batches([batch])  # scored as Arrow, as `dropscore score` does (shared.model.scoring)
            predictions = score_batch(model, clean, language=settings.language, num_threads=threads)
            shadow = shadow_rows(challenger, clean, source_uri=source_uri, scored_at=scored_at, language=settings.language, num_threads=threads)
            # Only the columns the CSV copies from the clean rows (source_row, passthrough) go on.
            copied = [name for name in (*columns, SOURCE_ROW_COLUMN) if name in clean.column_names and name not in predictions.columns]
            return predictions, shadow, clean.select(copied)

        def write(predictions: pd.DataFrame, shadow: pa.Table | None, copied: pa.Table) -> None:
            # In the writing thread, batch after batch in order: the warehouse rows and the CSV bytes.
            rows_out.append(warehouse_rows(predictions, model, role=CHAMPION, source_uri=source_uri, scored_at=scored_at))
            if shadow is not None:
                rows_out.append(shadow)  # the warehouse keeps the challenger's scores; users never see them
            # Numbers in the locale's mark, every text cell safe to open in Excel, a whole column at a time
            # (shared.ingest.csv_columns: the csv module's bytes); only the columns the CSV copies become pandas.
            stream.write(csv_bytes(predictions, copied.to_pandas(), columns, delimiter, decimal, date_format))

        for batch in iter_batches(parquet, PARQUET_BATCH_ROWS):  # a window of row groups in memory, not the file
            scored = score(batch)
            del batch  # not held while the next one is read
            writer.submit(write, *scored)  # waits while BATCHES_IN_FLIGHT are being written; their error is raised here
            rows_scored += len(scored[0])
            progress.advance(len(scored[0]))
            del scored
            # Arrow's pool (mimalloc) keeps the pages a batch freed for its own later use; NumPy,
            # LightGBM and DuckDB allocate elsewhere and cannot reuse them, so each batch's Arrow
            # working set stayed resident on top of theirs (~40 MiB). Handing the free pages back
            # once a batch costs well under a millisecond.
            pa.default_memory_pool().release_unused()
        writer.finish()  # every batch written before the file is finished; the first error raised
    return rows_scored
