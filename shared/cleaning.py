"""The clean step: a dropped CSV becomes clean Parquet plus a quarantine file, with a manifest.

Rows stream through in chunks: the object is read as a stream, validated chunk by
chunk, and the outputs are built in local temporary files that are uploaded whole
(atomically) at the end. Permanent problems with the whole file produce a report the
user can read and return normally; transient storage faults propagate so the platform
retries, and because every output is named after the input, a retry overwrites rather
than duplicates.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shared import services
from shared.contract import Contract
from shared.csv_reader import CsvChunks
from shared.errors import BadInputError, ModelNotFoundError
from shared.i18n import both
from shared.locations import DroppedFile, locate
from shared.parsing import detect_decimal
from shared.registry import CHAMPION
from shared.settings import Settings
from shared.validation import HEADER_ROW, ChunkValidator, map_header

logger = logging.getLogger(__name__)


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
        if spec is not None and spec.type == "numeric":
            fields.append(pa.field(name, pa.float64()))
        elif spec is not None and spec.type == "date":
            fields.append(pa.field(name, pa.timestamp("ns")))
        else:
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


def contract_in_force(settings: Settings) -> tuple[Contract, str]:
    """The champion's contract: files are cleaned against what the scoring model was trained on."""
    model = services.registry(settings).load(CHAMPION)
    return model.contract, model.version


def clean_object(settings: Settings, source_uri: str, *, generation: str = "") -> CleanResult:
    located = locate(settings, source_uri)
    dropped = DroppedFile.from_raw_key(located[1]) if located and located[0] == "raw" else None
    if dropped is None:
        logger.info("not a dropped file under incoming/, labels/ or training/: %s", source_uri)
        return CleanResult(source_uri, None, "ignored")
    try:
        contract, contract_version = contract_in_force(settings)
    except ModelNotFoundError:
        spanish, english = both("no_champion")
        return _reject(settings, dropped, source_uri, BadInputError("no_champion", spanish, english), rows_in=0)
    return clean_stream(settings, dropped, source_uri, contract, generation=generation, contract_version=contract_version)


def clean_stream(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    contract: Contract,
    *,
    generation: str = "",
    contract_version: str | None = None,
) -> CleanResult:
    store = services.store(source_uri)
    rows_in = 0
    try:
        with store.open_read(source_uri) as stream, tempfile.TemporaryDirectory(prefix="dropscore-clean-") as scratch:
            chunks = CsvChunks(stream)
            parquet_path = Path(scratch) / "clean.parquet"
            quarantine_path = Path(scratch) / "quarantine.csv"
            validator: ChunkValidator | None = None
            writer: pq.ParquetWriter | None = None
            quarantine_writer = None
            quarantine_file = None
            rows_clean = rows_quarantined = unknown_categories = 0
            decimal = contract.decimal
            mapping = None
            try:
                for chunk in chunks:
                    if validator is None:
                        mapping = map_header(list(chunk.columns), contract, dropped.kind)
                        if decimal == "auto":
                            numeric = [s for s, t in mapping.renames.items() if contract.columns.get(t) and contract.columns[t].type == "numeric"]
                            sample = pd.concat([chunk[c] for c in numeric]) if numeric else pd.Series([], dtype="string")
                            decimal = detect_decimal(sample, chunks.dialect.delimiter)
                        validator = ChunkValidator(contract, dropped.kind, mapping, decimal, dropped.name)
                    result = validator.validate(chunk, first_row_number=HEADER_ROW + 1 + rows_in)
                    rows_in += len(chunk)
                    unknown_categories += result.unknown_categories
                    if len(result.clean):
                        table = pa.Table.from_pandas(result.clean, schema=arrow_schema(contract, list(result.clean.columns)), preserve_index=False)
                        if writer is None:
                            writer = pq.ParquetWriter(parquet_path, table.schema, compression="zstd")
                        writer.write_table(table)
                        rows_clean += len(result.clean)
                    if len(result.quarantine):
                        if quarantine_writer is None:
                            quarantine_file = open(quarantine_path, "w", encoding="utf-8-sig", newline="")
                            quarantine_writer = csv.writer(quarantine_file, delimiter=chunks.dialect.delimiter)
                            quarantine_writer.writerow(result.quarantine.columns)
                        quarantine_writer.writerows(result.quarantine.astype(object).where(result.quarantine.notna(), "").itertuples(index=False))
                        rows_quarantined += len(result.quarantine)
            finally:
                if writer is not None:
                    writer.close()
                if quarantine_file is not None:
                    quarantine_file.close()
            if mapping is None:
                raise BadInputError("no_rows", "El archivo solo tiene encabezado, sin filas.", "The file has a header but no rows.")
            if rows_in != rows_clean + rows_quarantined:  # the accounting invariant: nothing is lost
                raise RuntimeError(f"{source_uri}: {rows_in} rows in but {rows_clean} clean + {rows_quarantined} quarantined")
            clean_uri = settings.object_uri("clean", dropped.clean_key()) if rows_clean else None
            quarantine_uri = settings.object_uri("quarantine", dropped.quarantine_key()) if rows_quarantined else None
            # Quarantine first, clean last: writing the clean object is what triggers scoring.
            if quarantine_uri:
                services.store(quarantine_uri).upload_file(quarantine_uri, quarantine_path, "text/csv")
            result = CleanResult(
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
                    "renamed_columns": mapping.renamed,
                    "extra_columns": mapping.extra,
                    "missing_optional_columns": mapping.missing_optional,
                    "unknown_categories": unknown_categories,
                    "contract_version": contract_version,
                    "processed_at": datetime.now(UTC).isoformat(),
                },
            )
            result.manifest_uri = _write_manifest(settings, dropped, result)
            if clean_uri:
                services.store(clean_uri).upload_file(clean_uri, parquet_path, "application/vnd.apache.parquet")
            logger.info("cleaned %s: %d in, %d clean, %d quarantined", source_uri, rows_in, rows_clean, rows_quarantined)
            return result
    except BadInputError as problem:
        # Permanent: a retry would fail the same way. Report it to the user and return.
        return _reject(settings, dropped, source_uri, problem, rows_in=rows_in)


def _write_manifest(settings: Settings, dropped: DroppedFile, result: CleanResult) -> str:
    manifest_uri = settings.object_uri("clean", dropped.manifest_key())
    body = json.dumps(result.to_dict() | {"manifest_uri": manifest_uri}, ensure_ascii=False, indent=2, default=str)
    services.store(manifest_uri).write_bytes(manifest_uri, body.encode("utf-8"), "application/json")
    return manifest_uri


def _reject(settings: Settings, dropped: DroppedFile, source_uri: str, problem: BadInputError, *, rows_in: int) -> CleanResult:
    report_uri = settings.object_uri("quarantine", dropped.report_key("json"))
    result = CleanResult(
        source_uri=source_uri,
        kind=dropped.kind,
        status="rejected",
        rows_in=rows_in,
        rows_quarantined=rows_in,
        report_uri=report_uri,
        message_es=problem.message_es,
        message_en=problem.message_en,
        details={"error_code": problem.code, "processed_at": datetime.now(UTC).isoformat()},
    )
    store = services.store(report_uri)
    store.write_bytes(report_uri, json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"), "application/json")
    text_uri = settings.object_uri("quarantine", dropped.report_key("txt"))
    readable = (
        f"Archivo / File: {source_uri}\n\n"
        f"No se procesó el archivo. {problem.message_es}\n"
        f"Nada se perdió: el archivo original sigue en la carpeta de entrada; corríjalo y vuelva a subirlo.\n\n"
        f"The file was not processed. {problem.message_en}\n"
        f"Nothing was lost: the original file is still in the raw bucket; fix it and upload it again.\n"
        f"(code: {problem.code})\n"
    )
    store.write_bytes(text_uri, readable.encode("utf-8-sig"), "text/plain; charset=utf-8")
    result.manifest_uri = _write_manifest(settings, dropped, result)
    logger.warning("rejected %s: %s", source_uri, problem.message_en)
    return result
