"""`dropscore score FILE -o OUT`: clean and score a local file in one pass, in one process.

In the cloud, clean and score are two functions: clean publishes the clean rows as Parquet, whose
appearance starts score, which reads them back, writes the predictions file and the warehouse rows.
A direct score has nothing to trigger and no warehouse, so that round trip was pure cost: copying the
file into a bucket folder, writing and reading the Parquet, a throwaway DuckDB warehouse and its
staging, two claims (87 % of the command's 13.9 s on 200 000 rows before issue 16).

Here the clean step's own streaming code (:func:`shared.steps.clean.clean_file`) reads the user's file
where it is, with a sink in place of the clean Parquet: every batch of clean rows it validates is
scored as it comes and appended to the predictions CSV. So the validation, the quarantine file (every
rejected row with its reason), the manifest's counts and the predictions (scores, labels, reasons, CSV
dialect) are those of the two functions, to the byte; the file is read once, besides the dialect's
counting pass. The booster (LightGBM's import and the model files) loads in a thread while the
file's header and dialect are read.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.delivery.locations import dropped_file
from shared.delivery.worker_thread import WorkerThread
from shared.errors import ModelIntegrityError
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.csv_columns import csv_bytes
from shared.ingest.csv_output import (
    SOURCE_ROW_COLUMN,
    extra_output_columns,
    header_row,
    output_date_format,
    predictions_dialect,
)
from shared.local.allocator import arrow_allocates_from_glibc, return_big_blocks
from shared.model import registered
from shared.model.loaded_model import LoadedModel
from shared.settings import Settings

# The clean step's own code and its rejections: a score of a local file is cleaned exactly as a drop is.
from shared.steps.clean import clean_file, contract_for
from shared.steps.clean_reports import CleanResult

logger = logging.getLogger(__name__)

# Clean rows scored at a time. Half the score function's Parquet batch (shared.steps.score.PARQUET_BATCH_ROWS):
# here a batch is scored while the next chunks are validated, so its working memory (features, leaves,
# contributions) adds to the clean step's instead of following it. Measured in issue 16 on 200 000 rows
# (reasons on; 2 busy cores): peak 464-477 MiB with 16 384 rows, 429-442 with 8 192, 392-430 with 4 096,
# in the same time within noise; the scoring thread's own CPU time grows with smaller batches (reasons off:
# 1.15 s with 16 384, 1.27 s with 8 192, 1.45 s with 4 096), time the clean step's thread may lose to it.
SCORED_BATCH_ROWS = 8_192
# Batches handed to the scoring thread and not yet written: one scored, one waiting (memory stays flat).
BATCHES_IN_FLIGHT = 2
# One process with no function's memory cap, its scoring and its reading each in a thread beside the
# validation: 4 MiB blocks halve the per-chunk work of 2 MiB ones (the functions' size). Measured on the
# 200 000-row bench file (issue 16): 2.9-3.3 s, 311-327 MiB with 2 MiB blocks; 2.8-2.9 s, 303-304 MiB
# with 4 MiB and Arrow on glibc's allocator (shared.local.allocator).
DIRECT_BLOCK_BYTES = 4 * 1024 * 1024
NO_FAN_OUT = 10**15  # one process, one predictions file: the clean step never shards here


class ScoringSink(CleanOutputs):
    """The clean step's outputs with the clean rows scored instead of stored.

    The quarantine CSV is the clean step's own; each clean table (Arrow, the Parquet schema) is
    buffered up to a batch, scored with the champion and written to the predictions CSV, which
    appears whole when the run ends, or not at all if it fails (``ObjectStore.open_write``).

    Batches are scored in a thread of their own (shared.delivery.worker_thread) while the clean step
    validates the next chunks: most of a batch's scoring (LightGBM's predict, Arrow's kernels, the file
    write) runs outside the GIL, on the second core. At most one batch waits while one is scored, so
    memory stays flat; what fails in that thread (a model that does not load, a write) is raised in the
    clean step's thread at its next batch or at the end, and the predictions file is then dropped like
    any failed run's.
    """

    def __init__(self, clean_uri: str, quarantine_uri: str, *, predictions_uri: str, model: Future[LoadedModel], language: str) -> None:
        super().__init__(clean_uri, quarantine_uri)
        self.predictions_uri = predictions_uri
        self._model_future = model
        self._language = language
        self._schema: pa.Schema | None = None
        self._details: dict[str, Any] = {}
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._predictions = ExitStack()
        self._stream: BinaryIO | None = None
        self._columns: list[str] = []
        self._delimiter = ","
        self._decimal = "."
        self._date_format = ""
        # The scoring thread, started with the first batch; a batch that fails stops the ones after it.
        self._scorer = WorkerThread("dropscore-score", in_flight=BATCHES_IN_FLIGHT)
        self.rows_scored = 0
        self.model_version: str | None = None

    def source_described(self, details: dict[str, Any]) -> None:
        self._details = dict(details)

    @property
    def schema(self) -> pa.Schema | None:
        return self._schema

    def write_clean(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= SCORED_BATCH_ROWS:
            self._submit_pending()

    def _submit_pending(self) -> None:
        """Hand the buffered rows to the scoring thread, after waiting while two batches are in its hands."""
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)  # no copy: the chunks are the clean step's
        self._pending, self._pending_rows = [], 0
        self._scorer.submit(self._score, table)  # the scoring thread's error, raised here

    def _open(self, model: LoadedModel) -> None:
        self._delimiter, self._decimal = predictions_dialect(self._details)  # the contract's locale, else as the file came
        self._date_format = output_date_format(model.contract)
        from shared.model.scoring import prediction_columns_for

        self._columns = prediction_columns_for(model) + extra_output_columns(model.contract, self._details, self._schema.names if self._schema else [])
        self._stream = self._predictions.enter_context(services.store(self.predictions_uri).open_write(self.predictions_uri, "text/csv"))
        header = io.StringIO(newline="")
        csv.writer(header, delimiter=self._delimiter).writerow(header_row(self._columns))
        self._stream.write(header.getvalue().encode("utf-8-sig"))  # UTF-8 with BOM, for Excel

    def _score(self, table: pa.Table) -> None:
        """One batch, in the scoring thread: scored, its rows appended to the predictions CSV."""
        try:
            from shared.model.scoring import score_batch

            model = self._model_future.result()  # raises what loading raised (an integrity failure, no model)
            self.model_version = model.version
            if self._stream is None:
                self._open(model)
            assert self._stream is not None
            predictions = score_batch(model, table, language=self._language)
            # Only the columns the CSV takes from the clean rows (source_row, passthrough) become pandas.
            extra = table.select([name for name in (*self._columns, SOURCE_ROW_COLUMN) if name in table.column_names and name not in predictions.columns])
            self._stream.write(csv_bytes(predictions, extra.to_pandas(), self._columns, self._delimiter, self._decimal, self._date_format))
            self.rows_scored += len(predictions)
        finally:
            del table
            # As the score step does after each batch: Arrow's pool keeps pages NumPy and LightGBM cannot reuse.
            pa.default_memory_pool().release_unused()

    def publish_clean(self) -> str | None:
        """Score what is left and finish the predictions file (None: no clean row, no file)."""
        self._submit_pending()
        self._scorer.finish()  # every batch handed over, scored and written; the first error raised
        if self._stream is None:
            return None
        self._predictions.close()
        return self.predictions_uri

    def discard(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self._pending = []
        self._scorer.stop()  # before the file is dropped: nothing writes to it any more
        self._predictions.__exit__(exc_type, exc, traceback)
        super().discard(exc_type, exc, traceback)


def score_file(settings: Settings, path: Path, output: Path) -> dict[str, Any]:
    """Clean and score a local file without touching the buckets or the warehouse.

    The clean step's code reads the file in place and every clean batch is scored as it is
    validated (one pass, one process), so the result is exactly what a drop would give; the
    predictions land at ``output`` and rejected rows beside it.
    """
    return_big_blocks()  # this process's memory stays flat however long the file (shared.local.allocator)
    arrow_allocates_from_glibc()
    with tempfile.TemporaryDirectory(prefix="dropscore-direct-") as scratch:
        root = Path(scratch)
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        result = score_in_one_pass(settings, path, output, root)
        if result.get("output"):
            result["output"] = str(output)
        if result.get("quarantine"):  # the quarantine CSV, or the report of a refused file, beside the output
            quarantine = result["quarantine"]
            target = output.with_name(output.stem + (".quarantine.csv" if quarantine.endswith(".csv") else ".report.json"))
            _copy(quarantine, target)
            if target.suffix == ".json":
                _point_report_at(target, str(root), path)
            result["quarantine"] = str(target)
        services.reset()
        return result


def _point_report_at(report: Path, scratch_root: str, original: Path) -> None:
    """The report names the user's file and itself, not the throwaway folder (deleted by now)."""
    data = json.loads(report.read_text(encoding="utf-8"))

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        if isinstance(value, str) and scratch_root in value:
            return None
        return value

    data = rewrite(data)
    data.update(source_uri=str(original.resolve()), report_uri=str(report.resolve()))
    report.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _copy(uri: str, target: Path) -> None:
    with services.store(uri).open_read(uri) as source, open(target, "wb") as destination:
        shutil.copyfileobj(source, destination)


def score_in_one_pass(settings: Settings, path: Path, output: Path, scratch: Path) -> dict[str, Any]:
    """Clean and score the local file ``path`` into ``output`` (predictions CSV); quarantine and reports
    go to the throwaway areas under ``scratch``. Returns what `dropscore drop` returns."""
    local = dataclasses.replace(
        settings,
        storage_uri=(scratch / "buckets").as_uri(),
        area_uris={area: (scratch / "buckets" / area).as_uri() for area in settings.area_uris},
        warehouse_uri=f"duckdb:///{scratch / 'warehouse.duckdb'}",  # never opened: nothing is stored
        shard_bytes=NO_FAN_OUT,
    )
    result: dict[str, Any] = {"kind": "incoming", "rows_in": None, "rows_scored": 0, "rows_quarantined": None, "output": None, "quarantine": None}
    raw_key = f"incoming/{path.name}"
    dropped = dropped_file(local, raw_key)
    source_uri = path.resolve().as_uri()  # read where it is: no copy into a bucket folder
    prepared = contract_for(local, dropped, raw_key, source_uri)  # names, then the contract, as a drop is
    if isinstance(prepared, CleanResult):  # refused before reading: reported as `dropscore drop` does
        return _as_result(result, prepared, 0, None)
    contract, version = prepared
    predictions_uri = Path(output).resolve().as_uri()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dropscore-model") as loader:
        # LightGBM's import and the booster load while the main thread reads the header, decides the
        # dialect and validates the first chunk (Arrow's CSV reader works outside the GIL); the first
        # batch to score waits for it. Started after the contract is read: both may download through
        # MLflow, which redirects the process's stdout while it does.
        model = loader.submit(_load_champion, local, version)
        sinks: list[ScoringSink] = []

        def sink(clean_uri: str, quarantine_uri: str) -> ScoringSink:
            made = ScoringSink(clean_uri, quarantine_uri, predictions_uri=predictions_uri, model=model, language=local.language)
            sinks.append(made)
            return made

        # A model that fails to load raises from the first batch to score; with no clean row it is not
        # needed, as the score function is never started for such a file.
        cleaned: CleanResult = clean_file(local, dropped, source_uri, contract, contract_version=version, outputs_factory=sink, block_bytes=DIRECT_BLOCK_BYTES)
    rows_scored = sinks[-1].rows_scored if sinks else 0
    if cleaned.status == "clean" and rows_scored != cleaned.rows_clean:  # every clean row is scored, none twice
        raise RuntimeError(f"{path}: {cleaned.rows_clean} clean rows but {rows_scored} scored")
    return _as_result(result, cleaned, rows_scored, predictions_uri if rows_scored else None, version)


def _load_champion(settings: Settings, version: str) -> LoadedModel:
    """The champion's booster (shared.lifecycle.model_loading.load_model, with the scoring thread ahead of it)."""
    try:
        return registered.load(services.registry(settings), version)
    except ModelIntegrityError as exc:
        from shared.lifecycle.model_loading import alert_integrity

        alert_integrity(settings, exc, CHAMPION)
        raise


def _as_result(result: dict[str, Any], cleaned: CleanResult, rows_scored: int, predictions_uri: str | None, version: str | None = None) -> dict[str, Any]:
    """What `dropscore drop` answers for a file cleaned (and scored) at once."""
    result.update(
        status="scored" if cleaned.status == "clean" and rows_scored else cleaned.status,
        rows_in=cleaned.rows_in,
        rows_clean=cleaned.rows_clean,
        rows_quarantined=cleaned.rows_quarantined,
        rows_scored=rows_scored,
        quarantine=cleaned.quarantine_uri or cleaned.report_uri,
        message_es=cleaned.message_es,
        message_en=cleaned.message_en,
        unknown_categories=int(cleaned.details.get("unknown_categories") or 0),
        unknown_categories_by_column=cleaned.details.get("unknown_categories_by_column") or {},
        unknown_category_examples=cleaned.details.get("unknown_category_examples") or {},
    )
    if predictions_uri:
        result.update(output=predictions_uri, model_version=version)
    if cleaned.status == "rejected":
        result["code"] = cleaned.details.get("error_code")  # stable, for scripts (the CLI exits 4)
    return result
