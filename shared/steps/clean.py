"""The clean step: a dropped CSV becomes clean Parquet plus a quarantine file, with a manifest.

Rows stream through in chunks: the object is read as a stream, a few MiB at a time,
validated chunk by chunk, and the outputs are built in local temporary files that are
uploaded whole (atomically). A file bigger than ``settings.shard_bytes`` is cleaned into
shards (:mod:`shared.delivery.fanout`), each uploaded as soon as it is full, so local disk holds one
shard and every shard is scored by its own invocation while clean goes on. Permanent
problems with the whole file produce a report the user can read and return normally;
transient storage faults propagate so the platform retries, and because every output is
named after the input, a retry overwrites rather than duplicates.

Every row is accounted for: rows in = clean + quarantined, checked before anything is
published. Each (bucket, object, generation) is cleaned once however often its event is
delivered (:mod:`shared.delivery.claims`). Personal columns leave as keyed-hash tokens
(:mod:`shared.ingest.pii`), and the quarantine CSV is safe to open in Excel
(:mod:`shared.ingest.spreadsheet_safety`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

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
    PiiKeyError,
)
from shared.i18n import both, locale_decimal
from shared.ingest.clean_outputs import CleanOutputs
from shared.ingest.contract import Contract
from shared.ingest.csv_output import SOURCE_ROW_COLUMN
from shared.ingest.csv_reader import CsvChunks, too_large
from shared.ingest.file_evidence import FileEvidence
from shared.ingest.personal_data import mask_text
from shared.ingest.pii import PiiHasher
from shared.ingest.validation import (
    HEADER_ROW,
    QUARANTINE_COLUMNS,
    ChunkValidator,
    HeaderMapping,
    expected_columns,
    map_header,
)
from shared.ingest.workbook_reader import (
    ISO_DATE_FORMATS,
    WORKBOOK_DECIMAL,
    WorkbookChunks,
    open_table,
    workbook_output_dialect,
)
from shared.model import registered, scoring_contract
from shared.settings import Settings
from shared.steps.refused_names import check_output_names, refuse_name

logger = logging.getLogger(__name__)

# Files above this size get a report instead of a run that would not finish in one
# invocation (540 s, memory cap); splitting them is the user's (or a sharding step's) job.
MAX_INPUT_BYTES = 2 * 1024 * 1024 * 1024
REPORTED_ROWS = 50  # row numbers listed per repair in the manifest
# The CSV parser works one block of this many bytes at a time; a chunk's strings, their typed
# copies and the validation around them take some tens of times that. 2 MiB blocks keep a
# chunk near 100 MiB and still hold a row with a 1 MB cell.
CSV_BLOCK_BYTES = 2 * 1024 * 1024
# Set while the clean step can shard big files (bench/bench_performance.py checks it).
SHARDS_SUPPORTED = True


@dataclass
class CleanResult:
    source_uri: str
    kind: str | None
    status: str                     # "clean" | "rejected" | "ignored"
    rows_in: int = 0
    rows_clean: int = 0
    rows_quarantined: int = 0
    clean_uri: str | None = None
    quarantine_uri: str | None = None
    report_uri: str | None = None
    manifest_uri: str | None = None
    message_es: str | None = None
    message_en: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def arrow_schema(contract: Contract, columns: list[str]) -> pa.Schema:
    fields = []
    for name in columns:
        spec = contract.columns.get(name)
        if name == SOURCE_ROW_COLUMN:
            fields.append(pa.field(name, pa.int64()))
        elif spec is not None and spec.type == "numeric":
            fields.append(pa.field(name, pa.float64()))
        elif spec is not None and spec.type == "date":
            fields.append(pa.field(name, pa.timestamp("ns")))
        else:
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


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
    return CleanResult(source_uri, dropped.kind, "ignored", message_es="El archivo ya no existe.", message_en="The file no longer exists.")


def _clean_dropped(settings: Settings, dropped: DroppedFile, raw_key: str, source_uri: str, generation: str) -> CleanResult:
    """The work under the claim: names, the contract in force, then the file itself."""
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
        return _reject(settings, dropped, source_uri, BadInputError("no_champion", spanish, english), rows_in=0)
    except ModelIntegrityError as exc:
        # Permanent until someone restores the artifacts or rolls back: alert, report to the user, return.
        # A contract edited in the artifact store (personal: true turned off) must not decide what is kept.
        from shared.lifecycle.promotion import alert_integrity

        alert_integrity(settings, exc, CHAMPION)
        return _reject(settings, dropped, source_uri, _integrity_rejection(exc), rows_in=0, generation=generation)
    return clean_stream(settings, dropped, source_uri, contract, generation=generation, contract_version=contract_version)


def _integrity_rejection(exc: ModelIntegrityError) -> BadInputError:
    version = getattr(exc, "version", "?")
    return BadInputError(
        "model_integrity",
        f"No se procesó: los archivos del modelo v{version} no coinciden con los registrados (posible manipulación). "
        "Se avisó al administrador; vuelva a subir el archivo cuando lo haya resuelto.",
        f"Not processed: model v{version}'s files do not match the registered ones (possible tampering). "
        "The administrator was alerted; upload the file again once it is resolved.",
    )


def _pii_hasher(settings: Settings, contract: Contract, kind: str) -> PiiHasher | None:
    return pii_hasher(settings.pii_key, contract, kind)


def pii_hasher(pii_key: str | None, contract: Contract, kind: str) -> PiiHasher | None:
    """The keyed hasher when this kind of file carries personal columns; refuse rather than store them in the clear."""
    expected, _ = expected_columns(contract, kind)
    personal = [name for name in contract.personal_columns if name in expected or name in contract.passthrough]
    if not personal:
        # Columns outside the contract found personal (shared.ingest.personal_data) leave as tokens with a
        # usable key, as ``***`` without one: a file is not refused for columns the contract ignores.
        try:
            return PiiHasher(pii_key) if pii_key else None
        except PiiKeyError:
            return None
    if not pii_key:
        spanish, english = both("pii_key_missing", columns=", ".join(personal))
        raise BadInputError("pii_key_missing", spanish, english)
    try:
        return PiiHasher(pii_key)
    except PiiKeyError as exc:
        raise BadInputError(
            "pii_key_invalid",
            "La clave de seudonimización (DROPSCORE_PII_KEY) no sirve: es demasiado corta. Avise al administrador.",
            f"The pseudonymization key (DROPSCORE_PII_KEY) is not usable: {exc}",
        ) from None


def output_dialect(contract: Contract, delimiter: str, decimal: str) -> tuple[str, str]:
    """(delimiter, decimal mark) of the CSVs people open: the contract's choice, else as the file came.

    "locale" means what Excel expects in the contract's locale: with a decimal comma (es-EC)
    the list separator is ";", with a decimal point ",".
    """
    locale_mark = locale_decimal(contract.locale)
    if contract.output_delimiter == "locale":
        out_delimiter = ";" if locale_mark == "," else ","
    else:
        out_delimiter = delimiter if contract.output_delimiter == "auto" else contract.output_delimiter
    if contract.output_decimal == "locale":
        out_decimal = locale_mark if out_delimiter != "," else "."
    elif contract.output_decimal != "auto":
        out_decimal = contract.output_decimal
    elif out_delimiter == ",":
        out_decimal = "."  # "0,5" in a comma-separated file would need quotes in every cell
    else:
        out_decimal = decimal
    return out_delimiter, out_decimal


def clean_stream(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    contract: Contract,
    *,
    generation: str = "",
    contract_version: str | None = None,
    outputs_factory: Callable[[str, str], CleanOutputs] = CleanOutputs,
) -> CleanResult:
    """Clean ``source_uri`` against ``contract`` chunk by chunk into the outputs ``outputs_factory``
    makes of the clean and quarantine URIs: the clean Parquet and quarantine CSV by default;
    `dropscore score` passes a sink that scores the clean rows instead of storing them."""
    store = services.store(source_uri)
    rows_in = 0
    shards: fanout.ShardedParquet | None = None  # a big incoming file's clean rows, published as they fill
    run = ""
    try:
        info = store.stat(source_uri)
        size = info.size
        generation = generation or info.generation  # lineage names the upload (shared.delivery.lineage)
    except ObjectNotFoundError:
        return _gone(source_uri, dropped)
    try:
        hasher = _pii_hasher(settings, contract, dropped.kind)
        if size > MAX_INPUT_BYTES:
            raise too_large(MAX_INPUT_BYTES)
        with store.open_read(source_uri) as stream:
            # A CSV, or an Excel workbook told by its content (shared.ingest.workbook_reader): the same chunks either way.
            expected, _ = expected_columns(contract, dropped.kind)
            chunks = open_table(
                stream, sheet=contract.sheet, header_names=[*expected, *contract.passthrough], max_bytes=MAX_INPUT_BYTES, block_bytes=CSV_BLOCK_BYTES
            )
            workbook = isinstance(chunks, WorkbookChunks)
            # Outputs stream to the store as they are written; none is staged in /tmp (shared.ingest.clean_outputs).
            outputs = outputs_factory(settings.object_uri("clean", dropped.clean_key()), settings.object_uri("quarantine", dropped.quarantine_key()))
            # A big incoming file becomes shards, scored in parallel (shared.delivery.fanout); others one object.
            run = fanout.run_id(generation or info.generation)
            if dropped.kind == "incoming" and not workbook and fanout.is_sharded(size, settings.shard_bytes):
                shards = fanout.ShardedParquet(settings, dropped, run)
            shard_rows = 0  # rows per shard: set from the first chunk
            validator: ChunkValidator | None = None
            quarantine_columns: list[str] = []
            rows_clean = rows_quarantined = unknown_categories = 0
            decimal, decimal_source = (WORKBOOK_DECIMAL, "workbook") if workbook else (contract.decimal, "contract")
            dialect_details: dict[str, Any] = {}
            mapping = None
            out_delimiter, out_decimal = chunks.dialect.delimiter, "."
            try:
                for chunk in chunks:
                    if validator is None:
                        mapping = map_header(list(chunk.columns), contract, dropped.kind, duplicated=chunks.duplicated_names)
                        # A .xlsx is compressed: whether it fans out is decided on its size as text.
                        if workbook and dropped.kind == "incoming" and fanout.is_sharded(chunks.estimated_text_bytes(chunk), settings.shard_bytes):
                            shards = fanout.ShardedParquet(settings, dropped, run)
                        if workbook:
                            # A workbook's numbers come as canonical text (shared.ingest.workbook_reader): one mark, no evidence to weigh.
                            validator = ChunkValidator(contract, dropped.kind, mapping, decimal, dropped.name, hasher=hasher, extra_date_formats=ISO_DATE_FORMATS)
                        else:
                            decimal, decimal_source, decisions, evidence, dialect_details = _decide_dialect(store, source_uri, chunks, chunk, contract, mapping)
                            validator = ChunkValidator(
                                contract, dropped.kind, mapping, decimal, dropped.name, hasher=hasher,
                                decimals=decisions, date_evidence=evidence.dates,
                            )
                        source_dialect = workbook_output_dialect(contract.locale) if workbook else (chunks.dialect.delimiter, decimal)
                        out_delimiter, out_decimal = output_dialect(contract, *source_dialect)
                        outputs.source_described(
                            {
                                "delimiter": chunks.dialect.delimiter, "decimal": decimal, "output_delimiter": out_delimiter, "output_decimal": out_decimal,
                                "passthrough_extra_columns": mapping.extra if contract.extra_columns == "passthrough" else [],
                            }
                        )  # fmt: skip
                        renamed = [mapping.renames.get(h, h) for h in chunks.header]
                        quarantine_columns = QUARANTINE_COLUMNS + [h for h in renamed if not h.startswith("Unnamed: ")]
                        if workbook:  # the cell to look at in Excel ("F12") beside the column's name
                            quarantine_columns.insert(quarantine_columns.index("column") + 1, "cell")
                    if shards is not None and not shard_rows:
                        shard_rows = fanout.rows_per_shard(chunk, settings.shard_bytes)
                    result = validator.validate(chunk, first_row_number=HEADER_ROW + 1 + rows_in, problems=chunks.last_problems)
                    rows_in += len(chunk)
                    progress.advance(len(chunk))  # a terminal's "rows read" (shared.progress)
                    unknown_categories += result.unknown_categories
                    if len(result.clean):
                        # Each clean row keeps its Excel row: with a hashed id, that is how people find it again.
                        clean = result.clean.assign(**{SOURCE_ROW_COLUMN: result.clean_row_numbers})
                        table = pa.Table.from_pandas(clean, schema=outputs.schema or arrow_schema(contract, list(clean.columns)), preserve_index=False)
                        if shards is not None:
                            if shards.before_first_upload is None:
                                shards.before_first_upload = _shard_manifest_writer(
                                    settings, dropped, source_uri, run, chunks, decimal, out_delimiter, out_decimal, mapping, contract, contract_version, generation
                                )
                            shards.write(table)
                        else:
                            outputs.write_clean(table)
                        rows_clean += len(result.clean)
                    if shards is not None and shards.rows_in_shard >= shard_rows:
                        shards.cut()  # this shard holds its share of the source: it appears, the next one starts
                    if len(result.quarantine):
                        quarantined = chunks.with_cells(result.quarantine, mapping.renames) if workbook else result.quarantine
                        outputs.write_quarantine(quarantined, quarantine_columns, out_delimiter)
                        rows_quarantined += len(result.quarantine)
                if shards is not None:
                    shards.close()  # the last, partly filled shard
                if mapping is None or validator is None:
                    spanish, english = both("no_rows")
                    raise BadInputError("no_rows", spanish, english)
                if rows_in != rows_clean + rows_quarantined:  # the accounting invariant: nothing is lost
                    raise RuntimeError(f"{source_uri}: {rows_in} rows in but {rows_clean} clean + {rows_quarantined} quarantined")
                if rows_quarantined != sum(validator.error_counts.values()):
                    raise RuntimeError(f"{source_uri}: {rows_quarantined} rows quarantined but {sum(validator.error_counts.values())} reasons")
                clean_uri = outputs.clean_uri if rows_clean and shards is None else None
                # Quarantine first, clean last: the clean object's appearance is what triggers scoring.
                quarantine_uri = outputs.publish_quarantine()
                result = _clean_result(
                    dropped, source_uri, contract, contract_version, generation, chunks, mapping, validator,
                    rows_in=rows_in, rows_clean=rows_clean, rows_quarantined=rows_quarantined, clean_uri=clean_uri,
                    quarantine_uri=quarantine_uri, decimal=decimal, decimal_source=decimal_source, out_delimiter=out_delimiter,
                    out_decimal=out_decimal, unknown_categories=unknown_categories,
                )
                if workbook:
                    result.details["workbook"] = chunks.describe()
                result.details.update(dialect_details)
                if shards is not None:
                    result.details["fan_out"] = {"run": run, "count": len(shards.shards), "shards": shards.shards, "rows": shards.rows, "shard_bytes": settings.shard_bytes}
                result.manifest_uri = _write_manifest(settings, dropped, result)
                outputs.publish_clean()
            except BaseException:
                outputs.discard(*sys.exc_info())
                if shards is not None:
                    shards.abort(*sys.exc_info())
                raise
            _remove_stale_outputs(settings, dropped, keep={clean_uri, quarantine_uri}, keep_run=run if shards is not None else None)
            temp_sweep.sweep_beside([outputs.clean_uri, outputs.quarantine_uri, result.manifest_uri])  # what killed runs left
            if shards is not None and shards.shards:
                # Every shard may have been scored before this manifest said how many there are.
                predictions_uri = settings.object_uri("predictions", dropped.predictions_key())
                result.details["assembly"] = fanout.assemble_if_complete(settings, dropped, run, len(shards.shards), predictions_uri).status
            logger.info("cleaned %s: %d in, %d clean, %d quarantined", source_uri, rows_in, rows_clean, rows_quarantined)
            return result
    except BadInputError as problem:
        # Permanent: a retry would fail the same way. Report it to the user and return.
        published = shards.shards if shards is not None else []
        fan_out = {"run": run, "withdrawn": len(published)} if published else None
        rejected = _reject(settings, dropped, source_uri, problem, rows_in=rows_in, generation=generation, fan_out=fan_out)
        if published:  # rejected half way (an unclosed quote at row 800 000): take back what its shards produced
            fanout.withdraw(settings, dropped, run, published, generation or None)
        return rejected



def _decide_dialect(store, source_uri: str, chunks: CsvChunks, first_chunk: pd.DataFrame, contract: Contract, mapping: HeaderMapping):  # noqa: ANN001, ANN202
    """(file's decimal mark, why, per-column decisions, the evidence, manifest details) of a CSV.

    The evidence is the first chunk's when that chunk is the whole file, else a counting pass
    over the whole object (shared.ingest.file_evidence says why); the contract's mark, else its
    locale, only decides what the file does not.
    """
    numeric, date_formats = _evidence_columns(contract, mapping)
    if chunks.at_end:
        evidence = FileEvidence()
        evidence.add(first_chunk.rename(columns=mapping.renames), numeric, date_formats)
    else:
        evidence = _whole_file_evidence(store, source_uri, mapping, numeric, date_formats)
    hint, hint_source = (contract.decimal, "contract") if contract.decimal != "auto" else (locale_decimal(contract.locale), "locale")
    decisions = evidence.decide_decimals(numeric, delimiter=chunks.dialect.delimiter, hint=hint, hint_source=hint_source)
    proven = any(d.source in ("column", "file") for d in decisions.values())
    decimal = evidence.file_decimal(decisions, default=hint)
    decimal_source = "file" if proven else (decisions[numeric[0]].source if numeric else hint_source)
    details = {
        "column_decimals": {n: d.mark for n, d in decisions.items() if d.mark != decimal},
        "columns_read_by_proof": sorted(n for n, d in decisions.items() if d.by_proof),  # each value by the mark it proves
        "whole_file_evidence": "first_chunk" if chunks.at_end else "pre_pass",
    }
    return decimal, decimal_source, decisions, evidence, details


def _evidence_columns(contract: Contract, mapping: HeaderMapping) -> tuple[list[str], dict[str, list[str]]]:
    """(numeric columns, date columns with their formats) of the contract that the file carries."""
    present = set(mapping.renames.values())
    numeric = [n for n, spec in contract.columns.items() if spec.type == "numeric" and n in present]
    dates = {n: contract.date_formats_for(spec) for n, spec in contract.columns.items() if spec.type == "date" and n in present}
    return numeric, dates


def _whole_file_evidence(store, source_uri: str, mapping: HeaderMapping, numeric: list[str], date_formats: dict[str, list[str]]) -> FileEvidence:  # noqa: ANN001
    """Read the object once more, only to count what its numbers and dates prove (shared.ingest.file_evidence).

    A file bigger than one chunk is decided on all of its rows, not on its head: a value read in
    the first chunk cannot be unread when a later one proves the column writes the other mark.
    Only counters are kept, so memory stays that of one chunk.
    """
    evidence = FileEvidence()
    wanted = set(numeric) | set(date_formats)
    sources = {source: target for source, target in mapping.renames.items() if target in wanted}
    with store.open_read(source_uri) as stream:
        reader = CsvChunks(stream, max_bytes=MAX_INPUT_BYTES, block_bytes=CSV_BLOCK_BYTES, only_columns=sources)
        for table in reader.column_tables():
            evidence.add(table.rename_columns([sources[name] for name in table.column_names]), numeric, date_formats)
    return evidence


def _clean_result(
    dropped: DroppedFile,
    source_uri: str,
    contract: Contract,
    contract_version: str | None,
    generation: str,
    chunks: CsvChunks | WorkbookChunks,
    mapping: HeaderMapping,
    validator: ChunkValidator,
    *,
    rows_in: int,
    rows_clean: int,
    rows_quarantined: int,
    clean_uri: str | None,
    quarantine_uri: str | None,
    decimal: str,
    decimal_source: str,
    out_delimiter: str,
    out_decimal: str,
    unknown_categories: int,
) -> CleanResult:
    """What the manifest says of a cleaned file: counts, dialect, what was renamed, repaired or quarantined."""
    return CleanResult(
        source_uri=source_uri,
        kind=dropped.kind,
        status="clean",
        rows_in=rows_in,
        rows_clean=rows_clean,
        rows_quarantined=rows_quarantined,
        clean_uri=clean_uri,
        quarantine_uri=quarantine_uri,
        details={
            "generation": generation,
            "encoding": chunks.dialect.encoding,
            "delimiter": chunks.dialect.delimiter,
            "decimal": decimal,
            "decimal_source": decimal_source,
            "locale": contract.locale,
            "output_delimiter": out_delimiter,
            "output_decimal": out_decimal,
            "excel_sep_line": chunks.dialect.excel_sep_line,
            "source_bytes": chunks.bytes_read,
            "renamed_columns": mapping.renamed,
            "extra_columns": [c for c in mapping.extra if c not in contract.passthrough],
            "extra_columns_policy": contract.extra_columns,
            "passthrough_extra_columns": mapping.extra if contract.extra_columns == "passthrough" else [],
            "missing_optional_columns": mapping.missing_optional,
            "unknown_categories": unknown_categories,
            "unknown_categories_by_column": dict(validator.unknown_by_column),
            "unknown_category_examples": {c: v for c, v in validator.unknown_examples.items() if validator.unknown_by_column.get(c)},
            "matched_categories": dict(validator.matched_categories),
            "mixed_encoding": getattr(chunks, "mixed_encoding", None),  # CSVs only: workbooks store text as Unicode
            "date_formats": {
                c: f for c, f in validator.date_formats_used.items() if f != contract.date_formats_for(contract.columns[c])
            },
            "quarantine_reasons": dict(sorted(validator.error_counts.items())),
            "rows_trimmed": chunks.rows_trimmed,
            "repaired_identifiers": {
                column: {"count": len(rows), "rows": rows[:REPORTED_ROWS]} for column, rows in validator.repaired.items()
            },
            "personal_columns": [c for c in contract.personal_columns if c in mapping.expected or c in contract.passthrough],
            # Columns outside the contract masked as personal, and why (name or values: shared.ingest.personal_data).
            "personal_extra_columns": validator.masker.summary(),
            "contract_version": contract_version,
            "processed_at": datetime.now(UTC).isoformat(),
        },
    )


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


def _shard_manifest_writer(settings, dropped, source_uri, run, chunks, decimal, out_delimiter, out_decimal, mapping, contract, contract_version, generation):  # noqa: ANN001, ANN202
    """What runs before the first shard appears: a preliminary manifest (status "cleaning") with
    what the shards' scorers need, the output dialect and passthrough columns."""

    def write() -> None:
        preliminary = CleanResult(
            source_uri=source_uri,
            kind=dropped.kind,
            status="cleaning",
            details={
                "generation": generation,
                "encoding": chunks.dialect.encoding,
                "delimiter": chunks.dialect.delimiter,
                "decimal": decimal,
                "output_delimiter": out_delimiter,
                "output_decimal": out_decimal,
                "passthrough_extra_columns": mapping.extra if contract.extra_columns == "passthrough" else [],
                "contract_version": contract_version,
                "fan_out": {"run": run},
            },
        )
        _write_manifest(settings, dropped, preliminary)

    return write


def _write_manifest(settings: Settings, dropped: DroppedFile, result: CleanResult) -> str:
    manifest_uri = settings.object_uri("clean", dropped.manifest_key())
    body = json.dumps(result.to_dict() | {"manifest_uri": manifest_uri}, ensure_ascii=False, indent=2, default=str)
    services.store(manifest_uri).write_bytes(manifest_uri, body.encode("utf-8"), "application/json")
    return manifest_uri


# Rejections about the system's state, not the file's content (from model_integrity on: shared.handlers' refusals).
FILE_IS_FINE_CODES = frozenset({"no_champion", "pii_key_missing", "model_integrity", "contract_invalid", "pii_key_invalid", "configuration", "settings_invalid"})


def reject_file(settings: Settings, source_uri: str, problem: BadInputError, *, generation: str = "") -> CleanResult | None:
    """The report of a dropped file refused for good by shared.handlers' boundary; None when it is no dropped file."""
    located = locate(settings, source_uri)
    dropped = dropped_file(settings, located[1]) if located and located[0] == "raw" else None
    if dropped is None:
        return None
    return _reject(settings, dropped, source_uri, problem, rows_in=0, generation=generation)


def _reject(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    problem: BadInputError,
    *,
    rows_in: int,
    generation: str = "",
    fan_out: dict[str, Any] | None = None,
) -> CleanResult:
    report_uri = settings.object_uri("quarantine", dropped.report_key("json"))
    # Messages may quote the file (a header row that is really the first data row, a parser's
    # excerpt of a bad line): no e-mail, phone or cédula in them reaches the report in the clear.
    problem = BadInputError(problem.code, mask_text(problem.message_es), mask_text(problem.message_en))
    result = CleanResult(
        source_uri=source_uri,
        kind=dropped.kind,
        status="rejected",
        rows_in=rows_in,
        rows_quarantined=rows_in,
        report_uri=report_uri,
        message_es=problem.message_es,
        message_en=problem.message_en,
        details={"error_code": problem.code, "generation": generation, "processed_at": datetime.now(UTC).isoformat()},
    )
    if fan_out:
        result.details["fan_out"] = fan_out  # the shards' scorers read this and withdraw (shared.delivery.fanout)
    store = services.store(report_uri)
    store.write_bytes(report_uri, json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"), "application/json")
    text_uri = settings.object_uri("quarantine", dropped.report_key("txt"))
    if problem.code in FILE_IS_FINE_CODES:
        # Nothing is wrong with the file itself: do not send the user to "fix" it.
        next_es = "El archivo no tiene ningún problema: nada se perdió y sigue en la carpeta de entrada; vuelva a subirlo cuando se haya resuelto lo anterior."
        next_en = "Nothing is wrong with the file: nothing was lost and it is still in the raw bucket; upload it again once the above is solved."
    else:
        next_es = "Nada se perdió: el archivo original sigue en la carpeta de entrada; corríjalo y vuelva a subirlo."
        next_en = "Nothing was lost: the original file is still in the raw bucket; fix it and upload it again."
    readable = (
        f"Archivo / File: {source_uri}\n\n"
        f"No se procesó el archivo. {problem.message_es}\n"
        f"{next_es}\n\n"
        f"The file was not processed. {problem.message_en}\n"
        f"{next_en}\n"
        f"(code: {problem.code})\n"
    )
    store.write_bytes(text_uri, readable.encode("utf-8-sig"), "text/plain; charset=utf-8")
    result.manifest_uri = _write_manifest(settings, dropped, result)
    _remove_stale_outputs(settings, dropped, keep={report_uri, text_uri})
    logger.warning("rejected %s: %s", source_uri, problem.message_en)
    return result
