"""The clean step: a dropped file (CSV or workbook) becomes clean Parquet plus a quarantine file, with a manifest.

This module is the orchestration; where a row is validated is :mod:`shared.ingest.clean_table`
(read, decide the dialect, validate chunk by chunk), and what is written about a file is
:mod:`shared.steps.clean_reports`. Here: the claim (each (bucket, object, generation) is cleaned
once however often its event is delivered, :func:`shared.delivery.claims.once`), the name and the
contract in force, the outputs (streamed to the store and published whole, :mod:`shared.ingest.clean_outputs`),
the fan-out of a file bigger than ``settings.shard_bytes`` into shards scored while clean goes on
(:mod:`shared.delivery.fanout`), and the report of a refused file.

Permanent problems with the whole file produce a report the user can read and return normally;
transient storage faults propagate so the platform retries, and because every output is named
after the input, a retry overwrites rather than duplicates. Every row is accounted for (rows in =
clean + quarantined) before anything is published.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from shared import progress
from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.delivery import claims, fanout, temp_sweep
from shared.delivery.claims import ClaimKey
from shared.delivery.locations import DroppedFile, dropped_file, locate
from shared.errors import (
    BadInputError,
    ModelIntegrityError,
    ModelNotFoundError,
    ObjectNameError,
    ObjectNotFoundError,
    SecondPassNeeded,
)
from shared.i18n import both
from shared.ingest import clean_table
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.clean_table import CleanedChunk, TableCleaner, pii_hasher
from shared.ingest.contract import Contract
from shared.ingest.csv_reader import too_large
from shared.model import registered, scoring_contract
from shared.settings import Settings
from shared.steps.clean_reports import CleanResult, processed_at, rejection, write_manifest
from shared.steps.refused_names import check_output_names, refuse_name

logger = logging.getLogger(__name__)

# Set while the clean step can shard big files (bench/bench_performance.py checks it).
SHARDS_SUPPORTED = True
# Makes the outputs of a file from its clean and quarantine URIs.
OutputsFactory = Callable[[str, str], CleanOutputs]

_CONTRACTS: dict[tuple[str, str, str], Contract] = {}


def contract_in_force(settings: Settings) -> tuple[Contract, str]:
    """The champion's contract: files are cleaned against what the scoring model was trained on.

    Only the contract is read (not the booster and its reference sample, which clean never
    uses), once per version and instance; the alias is looked up on every call, so a new
    champion's contract applies at once.
    """
    registry = services.registry(settings)
    version = registry.version_of(CHAMPION)
    if version is None:
        raise ModelNotFoundError(f"model {settings.model_name!r} has no version with alias {CHAMPION!r}")
    key = (settings.tracking_uri, settings.model_name, version)
    if key not in _CONTRACTS:
        _CONTRACTS[key] = Contract.from_yaml(registered.read_file(registry, version, "contract.yaml"))
    return _CONTRACTS[key], version


def clean_object(settings: Settings, source_uri: str, *, generation: str = "") -> CleanResult:
    """Clean one dropped file, once per upload (bucket, object, generation) however often its event comes.

    ``generation`` is the event's; without one (the local chain, the CLI), the object's current
    generation. A duplicate delivery returns the first run's result with status "duplicate".
    """
    located = locate(settings, source_uri)
    dropped = dropped_file(settings, located[1]) if located and located[0] == "raw" else None
    if dropped is None:
        logger.info("not a dropped file under incoming/, labels/ or training/: %s", source_uri)
        return CleanResult(source_uri, None, "ignored")
    generation = generation or claims.current_generation(source_uri) or ""
    if not generation:
        return _gone(source_uri, dropped)
    with claims.once(settings, ClaimKey.of(settings, "clean", source_uri, generation)) as claim:
        if claim.done is not None:
            duplicate = claim.replay(CleanResult)
            duplicate.status = "duplicate"
            return duplicate
        result = _clean_dropped(settings, dropped, located[1], source_uri, generation)
        claim.finish(result.to_dict())
    return result


def _gone(source_uri: str, dropped: DroppedFile) -> CleanResult:
    # Deleted after the event was sent: permanent, a retry would find nothing either.
    logger.warning("%s no longer exists; nothing to clean", source_uri)
    spanish, english = both("file_gone")
    return CleanResult(source_uri, dropped.kind, "ignored", message_es=spanish, message_en=english)


def _clean_dropped(settings: Settings, dropped: DroppedFile, raw_key: str, source_uri: str, generation: str) -> CleanResult:
    """The work under the claim: names, the contract in force, then the file itself."""
    prepared = contract_for(settings, dropped, raw_key, source_uri, generation=generation)
    if isinstance(prepared, CleanResult):
        return prepared
    contract, contract_version = prepared
    return clean_file(settings, dropped, source_uri, contract, generation=generation, contract_version=contract_version)


def contract_for(settings: Settings, dropped: DroppedFile, raw_key: str, source_uri: str, *, generation: str = "") -> tuple[Contract, str | None] | CleanResult:
    """The contract a dropped file is checked against and its version, or the result that ends its
    clean before it is read (a name no output can carry, no champion, a tampered champion), reported.
    The clean function and `dropscore score` (shared.local.direct_scoring) both start here."""
    try:
        check_output_names(settings, dropped)
    except ObjectNameError as problem:
        # Permanent: the name will not fit on retry either. Reported under a short key of its own.
        return refuse_name(settings, "raw", raw_key, problem)
    try:
        contract, contract_version = contract_in_force(settings)
        if dropped.kind == "incoming":  # columns the model never reads (leakage guard) are not asked of files to score
            contract = scoring_contract.for_scoring(settings, contract, contract_version)
    except ModelNotFoundError:
        if dropped.kind == "training":
            # `dropscore train` uploads its file here and cleans it with its own contract; the
            # trigger fires at once and must not overwrite that with a "no champion" rejection.
            logger.info("training file %s and no champion yet: left to `dropscore train`", source_uri)
            return CleanResult(source_uri, dropped.kind, "ignored")
        spanish, english = both("no_champion")
        return write_rejection(settings, dropped, source_uri, BadInputError("no_champion", spanish, english), rows_in=0, generation=generation)
    except ModelIntegrityError as exc:
        # Permanent until someone restores the artifacts or rolls back: alert, report to the user, return.
        # A contract edited in the artifact store (personal: true turned off) must not decide what is kept.
        from shared.lifecycle.model_loading import alert_integrity

        alert_integrity(settings, exc, CHAMPION)
        return write_rejection(settings, dropped, source_uri, integrity_rejection(exc), rows_in=0, generation=generation)
    return contract, contract_version


def integrity_rejection(exc: ModelIntegrityError) -> BadInputError:
    spanish, english = both("model_integrity", version=getattr(exc, "version", "?"))
    return BadInputError("model_integrity", spanish, english)


def clean_file(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    contract: Contract,
    *,
    generation: str = "",
    contract_version: str | None = None,
    outputs_factory: OutputsFactory = CleanOutputs,
    block_bytes: int | None = None,
) -> CleanResult:
    """Clean the object at ``source_uri`` against ``contract`` into its outputs (no claim: the caller's).

    ``outputs_factory`` makes the outputs of the clean and quarantine URIs: the clean Parquet and
    quarantine CSV by default; `dropscore score` passes a sink that scores the clean rows instead
    of storing them (shared.local.direct_scoring). ``block_bytes``: the CSV read this many bytes at
    a time (None: shared.ingest.clean_table.CSV_BLOCK_BYTES, the functions' size).
    """
    run = CleanRun(
        settings, dropped, source_uri, contract, generation=generation, contract_version=contract_version,
        outputs_factory=outputs_factory, block_bytes=block_bytes,
    )
    return run.run()


class CleanRun:
    """One dropped file cleaned into its objects, one method per phase.

    :meth:`run` opens the object and its outputs (:meth:`_open`), sends each cleaned chunk to one
    clean object or to shards (:meth:`_write`), publishes quarantine, manifest and clean object in
    that order (:meth:`_publish`), then removes what an earlier upload left (:meth:`_tidy`). A file
    refused half way is reported (:meth:`reject`): what its shards produced is taken back.
    What the rows say is decided below, in :class:`shared.ingest.clean_table.TableCleaner`.
    """

    def __init__(
        self,
        settings: Settings,
        dropped: DroppedFile,
        source_uri: str,
        contract: Contract,
        *,
        generation: str = "",
        contract_version: str | None = None,
        outputs_factory: OutputsFactory = CleanOutputs,
        block_bytes: int | None = None,
    ) -> None:
        self.block_bytes = block_bytes
        self.settings, self.dropped, self.source_uri, self.contract = settings, dropped, source_uri, contract
        self.generation, self.contract_version = generation, contract_version
        self.store = services.store(source_uri)
        self.outputs_factory = outputs_factory
        self.outputs = outputs_factory(settings.object_uri("clean", dropped.clean_key()), settings.object_uri("quarantine", dropped.quarantine_key()))
        self.table: TableCleaner | None = None
        self.run_id = ""                                  # the fan-out run of this upload (shared.delivery.fanout)
        self.shards: fanout.ShardedParquet | None = None  # a big incoming file's clean rows, published as they fill
        self.shard_rows = 0                               # rows per shard: set from the first chunk

    def run(self) -> CleanResult:
        try:
            info = self.store.stat(self.source_uri)
        except ObjectNotFoundError:
            return _gone(self.source_uri, self.dropped)
        self.generation = self.generation or info.generation  # lineage names the upload (shared.delivery.lineage)
        self.run_id = fanout.run_id(self.generation)
        try:
            hasher = pii_hasher(self.settings.pii_key, self.contract, self.dropped.kind)
            if info.size > clean_table.MAX_INPUT_BYTES:
                raise too_large(clean_table.MAX_INPUT_BYTES)
            try:
                result = self._clean(info.size, hasher, evidence=None, count_while_reading=not self._fans_out(info.size))
            except SecondPassNeeded as second:
                # The whole file proved other marks or another date order than its first chunk: what
                # was written is discarded (above) and the file read again, decided on all of it.
                self.outputs = self.outputs_factory(self.outputs.clean_uri, self.outputs.quarantine_uri)
                self.shard_rows = 0
                # A phase of its own: a terminal's "rows read" counted the first reading already, and
                # would show the file twice as long as it is.
                with progress.phase("read_again", unit="rows"):
                    result = self._clean(info.size, hasher, evidence=second.evidence, count_while_reading=False)
            self._tidy(result)
            logger.info("cleaned %s: %d in, %d clean, %d quarantined", self.source_uri, result.rows_in, result.rows_clean, result.rows_quarantined)
            return result
        except BadInputError as problem:
            # Permanent: a retry would fail the same way. Report it to the user and return.
            return self.reject(problem)

    def _clean(self, size: int, hasher: Any, *, evidence: Any, count_while_reading: bool) -> CleanResult:
        """Read the object once, cleaning it into the outputs. What the whole file proves about its marks
        and dates (shared.ingest.clean_table.TableCleaner): ``evidence`` when known (a second pass), else
        counted while reading (a file published whole at the end), else in a pass beforehand."""
        with self.store.open_read(self.source_uri) as stream:
            table = self._open(stream, size, hasher, evidence, count_while_reading)
            try:
                for cleaned in table:
                    self._write(table, cleaned)
                return self._publish(table)
            except BaseException:
                self.outputs.discard(*sys.exc_info())
                if self.shards is not None:
                    self.shards.abort(*sys.exc_info())
                raise

    def _open(self, stream: Any, size: int, hasher: Any, evidence: Any, count_while_reading: bool) -> TableCleaner:
        """The table (a CSV or a workbook) and, for a big incoming CSV, its shards."""
        # Shards are published as they fill, so a sharded file must know its whole evidence before its
        # first row (count_while_reading is False for it); a file published whole may find out at the end.
        self.table = TableCleaner(
            stream, self.contract, self.dropped.kind, self.dropped.name, hasher=hasher, reopen=lambda: self.store.open_read(self.source_uri),
            evidence=evidence, count_while_reading=count_while_reading, block_bytes=self.block_bytes,
        )
        # A big incoming file becomes shards, scored in parallel (shared.delivery.fanout); others one object.
        # A .xlsx is compressed: whether it fans out is decided on its size as text, at its first chunk.
        if not self.table.workbook and self._fans_out(size):
            self._start_shards()
        return self.table

    def _fans_out(self, text_bytes: int) -> bool:
        return self.dropped.kind == "incoming" and fanout.is_sharded(text_bytes, self.settings.shard_bytes)

    def _start_shards(self) -> None:
        # Before the first shard appears, a preliminary manifest tells its scorer the file's dialect.
        self.shards = fanout.ShardedParquet(self.settings, self.dropped, self.run_id, before_first_upload=self._write_preliminary_manifest)

    def _write(self, table: TableCleaner, cleaned: CleanedChunk) -> None:
        """One cleaned chunk: clean rows to the clean object or the current shard, refused rows to the quarantine file."""
        if not self.shard_rows:  # the first chunk: the file's dialect is decided
            self.outputs.source_described(table.scoring_details())
            if table.workbook and self._fans_out(table.chunks.estimated_text_bytes(cleaned.source_rows)):
                self._start_shards()
            self.shard_rows = fanout.rows_per_shard(cleaned.source_rows, self.settings.shard_bytes) if self.shards is not None else -1
        if cleaned.clean is not None:
            if self.shards is not None:
                self.shards.write(cleaned.clean)
            else:
                self.outputs.write_clean(cleaned.clean)
        if self.shards is not None and self.shards.rows_in_shard >= self.shard_rows:
            self.shards.cut()  # this shard holds its share of the source: it appears, the next one starts
        if cleaned.quarantine is not None:
            self.outputs.write_quarantine(cleaned.quarantine, table.quarantine_columns, table.out_delimiter)

    def _publish(self, table: TableCleaner) -> CleanResult:
        """Every row accounted for, then quarantine first, manifest, and the clean object last: its appearance triggers scoring."""
        if self.shards is not None:
            self.shards.close()  # the last, partly filled shard
        table.finish()
        clean_uri = self.outputs.clean_uri if table.rows_clean and self.shards is None else None
        result = CleanResult(
            source_uri=self.source_uri,
            kind=self.dropped.kind,
            status="clean",
            rows_in=table.rows_in,
            rows_clean=table.rows_clean,
            rows_quarantined=table.rows_quarantined,
            clean_uri=clean_uri,
            quarantine_uri=self.outputs.publish_quarantine(),
            details={"generation": self.generation, **table.details(), "contract_version": self.contract_version, "processed_at": processed_at()},
        )
        if self.shards is not None:
            shards = self.shards
            result.details["fan_out"] = {"run": self.run_id, "count": len(shards.shards), "shards": shards.shards, "rows": shards.rows, "shard_bytes": self.settings.shard_bytes}
        result.manifest_uri = write_manifest(self.settings, self.dropped, result)
        self.outputs.publish_clean()
        return result

    def _tidy(self, result: CleanResult) -> None:
        """Remove what earlier uploads and killed runs left; assemble the predictions if every shard was scored already."""
        keep_run = self.run_id if self.shards is not None else None
        _remove_stale_outputs(self.settings, self.dropped, keep={result.clean_uri, result.quarantine_uri}, keep_run=keep_run)
        temp_sweep.sweep_beside([self.outputs.clean_uri, self.outputs.quarantine_uri, result.manifest_uri])  # what killed runs left
        if self.shards is not None and self.shards.shards:
            # Every shard may have been scored before this manifest said how many there are.
            predictions_uri = self.settings.object_uri("predictions", self.dropped.predictions_key())
            result.details["assembly"] = fanout.assemble_if_complete(self.settings, self.dropped, self.run_id, len(self.shards.shards), predictions_uri).status

    def reject(self, problem: BadInputError) -> CleanResult:
        published = self.shards.shards if self.shards is not None else []
        fan_out = {"run": self.run_id, "withdrawn": len(published)} if published else None
        rows_in = self.table.rows_in if self.table is not None else 0
        rejected = write_rejection(self.settings, self.dropped, self.source_uri, problem, rows_in=rows_in, generation=self.generation, fan_out=fan_out)
        if published:  # rejected half way (an unclosed quote at row 800 000): take back what its shards produced
            fanout.withdraw(self.settings, self.dropped, self.run_id, published, self.generation or None)
        return rejected

    def _write_preliminary_manifest(self) -> None:
        """What runs before the first shard appears: a manifest (status "cleaning") with what the shards' scorers need."""
        assert self.table is not None
        details = {"generation": self.generation, **self.table.scoring_details(), "contract_version": self.contract_version, "fan_out": {"run": self.run_id}}
        write_manifest(self.settings, self.dropped, CleanResult(self.source_uri, self.dropped.kind, "cleaning", details=details))


def reject_file(settings: Settings, source_uri: str, problem: BadInputError, *, generation: str = "") -> CleanResult | None:
    """The report of a dropped file refused for good by shared.handlers' boundary; None when it is no dropped file."""
    located = locate(settings, source_uri)
    dropped = dropped_file(settings, located[1]) if located and located[0] == "raw" else None
    if dropped is None:
        return None
    return write_rejection(settings, dropped, source_uri, problem, rows_in=0, generation=generation)


def write_rejection(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    problem: BadInputError,
    *,
    rows_in: int,
    generation: str = "",
    fan_out: dict[str, Any] | None = None,
) -> CleanResult:
    """The report of a file refused whole; what an earlier upload of it left goes."""
    result = rejection(settings, dropped, source_uri, problem, rows_in=rows_in, generation=generation, fan_out=fan_out)
    text_uri = settings.object_uri("quarantine", dropped.report_key("txt"))
    _remove_stale_outputs(settings, dropped, keep={result.report_uri, text_uri})
    logger.warning("rejected %s: %s", source_uri, result.message_en)
    return result


def _remove_stale_outputs(settings: Settings, dropped: DroppedFile, keep: set[str | None], keep_run: str | None = None) -> None:
    """Outputs an earlier version of the same file left and this run did not write (a quarantine
    file when no row is quarantined any more, a rejection report after a good upload, the shards
    of an earlier upload...)."""
    if dropped.kind == "incoming":
        for uri in fanout.stale_shards(settings, dropped, keep_run):
            services.store(uri).delete(uri)
    for area, key in (
        ("clean", dropped.clean_key()),
        ("quarantine", dropped.quarantine_key()),
        ("quarantine", dropped.report_key("json")),
        ("quarantine", dropped.report_key("txt")),
    ):
        uri = settings.object_uri(area, key)
        if uri not in keep:
            services.store(uri).delete(uri)
