"""Fan-out for big files: shards scored in parallel, one predictions file assembled exactly once.

A function has 540 s and a memory cap per event. Above ``settings.shard_bytes``
(``DROPSCORE_SHARD_BYTES``, 256 MiB by default), the clean step writes the file's clean rows
as several shards of about that much source each, every one its own clean object
(``incoming/<name>.shard-<run>-00003.parquet``) uploaded as soon as it is complete, so each
finalize event starts its own score invocation while clean goes on, and the platform scales
out. ``<run>`` names the upload (a hash of the raw object's generation): shards, parts and
markers of two uploads of the same name never mix. The number of shards is known when the
clean step ends; its final manifest records it (``details.fan_out``).

Each shard's score writes its part of the predictions CSV under the predictions area's
``_parts/`` folder (part 0 with the BOM and header, the others rows only), records a marker,
and tries the assembly. The assembly happens when the final manifest names the run and every
shard's marker is there: the parts are joined into ``<name>.predictions.csv`` by the store's
server-side compose (GCS compose, S3 multipart copy, local concatenation). The clean step
tries it too once its manifest is written, for the case where every shard was scored before
clean finished. Delivery is at least once and in any order, so the assembly is claimed like
any other work (:mod:`shared.delivery.claims`): one invocation assembles, a duplicate or a late shard
finds the record and does nothing, a crashed assembly is taken over by the retry of the event
that started it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc

from shared.backends import services
from shared.delivery.claims import ClaimKey, Claims
from shared.delivery.locations import DroppedFile, locate
from shared.errors import ClaimInProgressError, ObjectNotFoundError
from shared.settings import Settings

logger = logging.getLogger(__name__)

PARTS_FOLDER = "_parts"
RUN_LENGTH = 12
_SHARD_SUFFIX = re.compile(rf"^(?P<base>.+)\.shard-(?P<run>[0-9a-f]{{{RUN_LENGTH}}})-(?P<index>\d{{5}})$")


@dataclass(frozen=True)
class Shard:
    """One shard of a dropped file: ``whole`` is the file as the user dropped it, ``run`` its upload."""

    whole: DroppedFile
    run: str
    index: int

    @property
    def dropped(self) -> DroppedFile:
        return DroppedFile(self.whole.kind, f"{self.whole.relative}.shard-{self.run}-{self.index:05d}")

    def clean_key(self) -> str:
        return self.dropped.clean_key()


def shard_of(dropped: DroppedFile) -> Shard | None:
    """The shard a clean object is, from its name; None for an unsharded file."""
    match = _SHARD_SUFFIX.match(dropped.relative)
    if not match:
        return None
    return Shard(DroppedFile(dropped.kind, match["base"]), match["run"], int(match["index"]))


def is_sharded(source_bytes: int, shard_bytes: int) -> bool:
    return source_bytes > shard_bytes


def rows_per_shard(raw_chunk: Any, shard_bytes: int) -> int:
    """Rows holding about ``shard_bytes`` of the source, from a chunk of raw (string) rows: the
    length of its cells, delimiters and line ends. (The reader's byte count runs ahead of the rows
    by its read-ahead, so it cannot place the cuts.)"""
    rows = len(raw_chunk)
    if not rows:
        return 1
    if hasattr(raw_chunk, "table"):  # the CSV reader's Arrow text (shared.ingest.text_chunk)
        text = sum(int(pc.sum(pc.utf8_length(column)).as_py() or 0) for column in raw_chunk.table.columns)
    else:
        text = sum(int(raw_chunk[name].str.len().sum()) for name in raw_chunk.columns)
    per_row = text / rows + len(raw_chunk.columns) + 1
    return max(1, int(shard_bytes / per_row))


def run_id(source_generation: str) -> str:
    """The fan-out run of one upload: shards and markers of an earlier upload of the same name never mix with it."""
    return hashlib.sha256(str(source_generation).encode("utf-8")).hexdigest()[:RUN_LENGTH]


def part_key(whole: DroppedFile, run: str, index: int) -> str:
    return f"{PARTS_FOLDER}/{whole.relative}/{run}/part-{index:05d}.csv"


def _marker_key(whole: DroppedFile, run: str, index: int | None = None) -> str:
    base = f"fanout/{whole.kind}/{whole.relative}/{run}"
    return base if index is None else f"{base}/scored-{index:05d}.json"


def _marker_uri(settings: Settings, whole: DroppedFile, run: str, index: int | None = None) -> str:
    return settings.object_uri("reports", _marker_key(whole, run, index))


@dataclass
class ShardScored:
    index: int
    rows_scored: int
    part_uri: str
    clean_uri: str
    scored_at: str


@dataclass
class Assembly:
    status: str                      # "assembled" | "waiting" | "done" (by another invocation) | "in_progress" | "withdrawn" (file rejected)
    predictions_uri: str | None = None
    shards_scored: int = 0
    shards: int = 0
    rows_scored: int = 0
    parts: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_scored(settings: Settings, shard: Shard, *, rows_scored: int, part_uri: str, clean_uri: str) -> None:
    """Say this shard's part is written (overwriting is harmless: a retry writes the same)."""
    marker = ShardScored(shard.index, rows_scored, part_uri, clean_uri, datetime.now(UTC).isoformat())
    uri = _marker_uri(settings, shard.whole, shard.run, shard.index)
    services.store(uri).write_bytes(uri, json.dumps(asdict(marker)).encode("utf-8"), "application/json")


def scored_shards(settings: Settings, whole: DroppedFile, run: str) -> dict[int, ShardScored]:
    base = _marker_uri(settings, whole, run)
    found: dict[int, ShardScored] = {}
    for info in services.store(base).list(base + "/"):
        if not info.uri.rsplit("/", 1)[-1].startswith("scored-"):
            continue
        try:
            marker = ShardScored(**json.loads(services.store(info.uri).read_bytes(info.uri)))
        except (ObjectNotFoundError, ValueError, TypeError):
            continue
        found[marker.index] = marker
    return found


def _record_file_row(settings: Settings, whole: DroppedFile, predictions_uri: str) -> None:
    """The file's own row in the warehouse's batches table, beside one row per shard.

    Shard rows count their clean rows (rows_in = rows_clean = rows_scored); this row carries the
    file's quarantined rows and no clean ones (and no clean_uri, so the drift window skips it),
    so sums over a file's rows still give rows in = clean + quarantined.
    """
    import pandas as pd

    from shared.delivery import lineage

    manifest = read_manifest(settings, whole)
    quarantined = int(manifest.get("rows_quarantined") or 0)
    generation = str((manifest.get("details") or {}).get("generation") or "") or None
    row = {
        "kind": whole.kind,
        "source_uri": manifest.get("source_uri"),
        "predictions_uri": predictions_uri,
        "quarantine_uri": manifest.get("quarantine_uri"),
        "rows_in": quarantined,
        "rows_clean": 0,
        "rows_quarantined": quarantined,
        "rows_scored": 0,
        "unknown_categories": int((manifest.get("details") or {}).get("unknown_categories") or 0),
        "status": "assembled",
        "processed_at": datetime.now(UTC),
        "source_generation": generation,
    }
    services.warehouse(settings).write_batch("batches", pd.DataFrame([row]), batch_key=lineage.batch_key(predictions_uri, generation) + "#file")


def rejected_run(manifest: dict[str, Any], run: str) -> bool:
    """Whether the clean step rejected the file of ``run`` after publishing some of its shards."""
    fan_out = (manifest.get("details") or {}).get("fan_out") or {}
    return manifest.get("status") == "rejected" and fan_out.get("run") == run


def withdraw(settings: Settings, whole: DroppedFile, run: str, shard_clean_uris: list[str], generation: str | None = None) -> None:
    """Take back what the shards of a file rejected half way produced: their warehouse rows, their
    predictions parts and their markers. A rejected file has no predictions, not some of them.

    Run by the clean step once its rejection manifest is written, and by a shard's score that
    finds that manifest after writing (the same handshake as the assembly): whichever looks
    last sees the other's writes, so no shard's rows survive the rejection.
    """
    import pandas as pd

    from shared.delivery import lineage

    warehouse = services.warehouse(settings)
    for uri in shard_clean_uris:
        for table in ("predictions", "batches"):
            # No rows: the batch's rows are deleted (keyed as the score step keyed them, shared.delivery.lineage).
            warehouse.write_batch(table, pd.DataFrame(), batch_key=lineage.batch_key(uri, generation))
    for prefix in (settings.object_uri("predictions", f"{PARTS_FOLDER}/{whole.relative}/{run}"), _marker_uri(settings, whole, run)):
        store = services.store(prefix)
        for info in store.list(prefix + "/"):
            store.delete(info.uri)
    logger.info("withdrew %d shard(s) of rejected run %s of %s", len(shard_clean_uris), run, whole.relative)


def shards_in_manifest(manifest: dict[str, Any], run: str) -> int | None:
    """How many shards the clean step made for ``run``, once its final manifest says so (else None)."""
    fan_out = (manifest.get("details") or {}).get("fan_out") or {}
    if fan_out.get("run") != run or manifest.get("status") != "clean":
        return None
    return int(fan_out.get("count") or 0) or None


def assemble_if_complete(settings: Settings, whole: DroppedFile, run: str, count: int | None, predictions_uri: str, *, content_type: str = "text/csv") -> Assembly:
    """When the ``count`` shards of ``run`` are all scored, compose their parts into ``predictions_uri`` once.

    Called by each shard's score after :func:`record_scored` (``count`` from the final manifest,
    None while clean is still writing shards) and by the clean step at its end. Returns what
    happened; raises only on storage faults (the platform retries the event, which gets here again).
    """
    scored = scored_shards(settings, whole, run)
    if count is None or any(index not in scored for index in range(count)):
        return Assembly("waiting", shards_scored=len(scored), shards=count or 0)
    claims = Claims(settings, ClaimKey("assemble", "predictions", whole.predictions_key(), run))
    try:
        acquired = claims.acquire()
    except ClaimInProgressError:
        # Another invocation is assembling right now; if it dies, its event's retry takes over.
        return Assembly("in_progress", shards_scored=len(scored), shards=count)
    if acquired.done is not None:
        record = acquired.record()
        return Assembly("done", record.get("predictions_uri"), len(scored), count, int(record.get("rows_scored") or 0))
    parts = [scored[index].part_uri for index in range(count)]
    try:
        services.store(predictions_uri).compose(predictions_uri, parts, content_type)
        _record_file_row(settings, whole, predictions_uri)
    except BaseException as exc:
        acquired.release(f"{type(exc).__name__}: {exc}")
        raise
    assembly = Assembly("assembled", predictions_uri, len(scored), count, sum(scored[index].rows_scored for index in range(count)), parts)
    acquired.finish(assembly.to_dict())
    logger.info("assembled %s from %d shards (%d rows)", predictions_uri, count, assembly.rows_scored)
    for part in parts:  # the parts served their purpose; a leftover is clutter, not an error
        try:
            services.store(part).delete(part)
        except Exception as exc:  # noqa: BLE001 - best effort
            logger.warning("could not delete predictions part %s: %s", part, exc)
    return assembly


class ShardedParquet:
    """The clean rows of a big file as shards: the caller :meth:`write` s chunks and :meth:`cut` s
    when a shard holds enough of the source. Each shard streams to the store as it is written
    (nothing in ``/tmp``, which counts against a function's memory) and appears when it is cut,
    so scoring starts while clean goes on.

    ``before_first_upload`` runs once, before the first shard appears (the clean step writes a
    preliminary manifest there: the shards' scorers read the file's dialect from it).
    """

    def __init__(self, settings: Settings, whole: DroppedFile, run: str, *, before_first_upload: Any = None) -> None:
        self.settings, self.whole, self.run = settings, whole, run
        self.shards: list[str] = []
        self.rows: list[int] = []
        self.before_first_upload = before_first_upload
        self._writer: Any = None
        self._upload = contextlib.ExitStack()  # the current shard's streamed upload (ObjectStore.open_write)
        self.rows_in_shard = 0

    def _uri(self) -> str:
        return self.settings.object_uri("clean", Shard(self.whole, self.run, len(self.shards)).clean_key())

    def write(self, table: Any) -> None:
        """Append a pyarrow Table of clean rows to the current shard."""
        # Imported here: it loads pyarrow.parquet, which only a shard's writer needs.
        from shared.delivery.parquet_io import clean_parquet_writer

        if not table.num_rows:
            return
        if self._writer is None:
            uri = self._uri()
            stream = self._upload.enter_context(services.store(uri).open_write(uri, "application/vnd.apache.parquet"))
            self._writer = clean_parquet_writer(stream, table)
        self._writer.write_table(table)
        self.rows_in_shard += table.num_rows

    def cut(self) -> None:
        """Finish the current shard (if it holds rows): it appears, and the next write starts another."""
        if self._writer is None:
            return
        self._writer.close()  # the footer, still into the upload
        self._writer = None
        if self.before_first_upload is not None and not self.shards:
            self.before_first_upload()
        uri = self._uri()
        self._upload.close()  # the shard appears whole: its finalize event starts its score
        self.shards.append(uri)
        self.rows.append(self.rows_in_shard)
        self.rows_in_shard = 0

    def close(self) -> None:
        """Finish the last shard."""
        self.cut()

    def abort(self, exc_type: Any = None, exc: BaseException | None = None, traceback: Any = None) -> None:
        """Drop the shard being written (shards already finished stay: the caller deals with them)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the upload may be what failed
                self._writer.close()
            self._writer = None
        self._upload.__exit__(exc_type or RuntimeError, exc or RuntimeError("shard aborted"), traceback)
        self.rows_in_shard = 0


def stale_shards(settings: Settings, whole: DroppedFile, keep_run: str | None) -> list[str]:
    """Clean shards of earlier uploads of the same file (another run), to delete."""
    folder_key, _, stem = f"{whole.kind}/{whole.relative}".rpartition("/")
    prefix = settings.object_uri("clean", folder_key) if folder_key else settings.area_uri("clean")
    found = []
    for info in services.store(prefix).list(prefix + "/"):
        key = (locate(settings, info.uri) or ("", ""))[1]
        name = key.rsplit("/", 1)[-1]
        if not name.startswith(f"{stem}.shard-") or not name.endswith(".parquet"):
            continue
        located = DroppedFile.from_clean_key(key)
        shard = shard_of(located) if located else None
        if shard is not None and shard.whole == whole and shard.run != keep_run:
            found.append(info.uri)
    return found


@dataclass(frozen=True)
class PredictionsTarget:
    """Where one clean batch's predictions go: the file itself, or a shard's part of it."""

    whole: DroppedFile            # the file as dropped: its manifest and its predictions file
    shard: Shard | None
    uri: str                      # what this invocation writes
    predictions_uri: str          # the predictions file users get
    header: bool                  # BOM and header row: the whole file or part 0 only


def predictions_target(settings: Settings, dropped: DroppedFile) -> PredictionsTarget:
    shard = shard_of(dropped)
    whole = shard.whole if shard else dropped
    predictions_uri = settings.object_uri("predictions", whole.predictions_key())
    if shard is None:
        return PredictionsTarget(whole, None, predictions_uri, predictions_uri, True)
    part_uri = settings.object_uri("predictions", part_key(whole, shard.run, shard.index))
    return PredictionsTarget(whole, shard, part_uri, predictions_uri, shard.index == 0)


def read_manifest(settings: Settings, whole: DroppedFile) -> dict[str, Any]:
    uri = settings.object_uri("clean", whole.manifest_key())
    try:
        return json.loads(services.store(uri).read_bytes(uri))
    except (ObjectNotFoundError, ValueError):
        return {}


def shard_scored(settings: Settings, target: PredictionsTarget, *, rows_scored: int, clean_uri: str) -> Assembly:
    """A shard's part is written: record it and assemble the file if it was the last one.

    The marker is written before the manifest is read, and the clean step writes its final
    manifest before it lists the markers: whichever comes last sees both, so a file whose last
    shard is scored just as clean finishes is still assembled.
    """
    assert target.shard is not None
    record_scored(settings, target.shard, rows_scored=rows_scored, part_uri=target.uri, clean_uri=clean_uri)
    manifest = read_manifest(settings, target.whole)
    if rejected_run(manifest, target.shard.run):
        withdraw(settings, target.whole, target.shard.run, [clean_uri], str((manifest.get("details") or {}).get("generation") or "") or None)
        return Assembly("withdrawn")
    count = shards_in_manifest(manifest, target.shard.run)
    return assemble_if_complete(settings, target.whole, target.shard.run, count, target.predictions_uri)
