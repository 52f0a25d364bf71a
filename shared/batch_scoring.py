"""The score step: a clean batch becomes a predictions CSV and warehouse rows."""

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

from shared import services
from shared.errors import ObjectNotFoundError
from shared.locations import DroppedFile, locate
from shared.parquet_io import open_parquet
from shared.registry import CHAMPION
from shared.scoring import prediction_columns, score_batch
from shared.settings import Settings

logger = logging.getLogger(__name__)

PARQUET_BATCH_ROWS = 65_536


@dataclass
class ScoreResult:
    clean_uri: str
    status: str                        # "scored" | "ignored"
    rows_scored: int = 0
    output: str | None = None
    model_version: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_manifest(settings: Settings, dropped: DroppedFile) -> dict[str, Any]:
    uri = settings.object_uri("clean", dropped.manifest_key())
    try:
        return json.loads(services.store(uri).read_bytes(uri))
    except ObjectNotFoundError:
        return {}


def score_object(settings: Settings, clean_uri: str) -> ScoreResult:
    located = locate(settings, clean_uri)
    dropped = DroppedFile.from_clean_key(located[1]) if located and located[0] == "clean" else None
    if dropped is None or dropped.kind != "incoming":
        # labels/ and training/ batches are kept for monitoring and retraining, not scored.
        return ScoreResult(clean_uri, "ignored")
    model = services.registry(settings).load(CHAMPION)
    manifest = read_manifest(settings, dropped)
    details = manifest.get("details", {})
    delimiter = details.get("delimiter") or ","
    decimal = details.get("decimal") or "."
    predictions_uri = settings.object_uri("predictions", dropped.predictions_key())
    scored_at = datetime.now(UTC)
    frames: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="dropscore-score-") as scratch:
        csv_path = Path(scratch) / "predictions.csv"
        parquet = open_parquet(clean_uri)
        # Written back the way the user sent it: same delimiter and decimal mark, UTF-8 with BOM for Excel.
        with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            columns = prediction_columns(model.contract.output_id_column) + [
                c for c in model.contract.passthrough if c in parquet.schema_arrow.names
            ]
            writer.writerow(columns)
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                clean = batch.to_pandas()
                predictions = score_batch(model, clean, language=settings.language)
                frames.append(predictions)
                text = predictions.astype(object).where(predictions.notna(), "")
                if decimal == ",":
                    text["score"] = predictions["score"].map(lambda v: f"{v:.6f}".replace(".", ","))
                writer.writerows(text[columns].itertuples(index=False))
        services.store(predictions_uri).upload_file(predictions_uri, csv_path, "text/csv")
    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=prediction_columns(model.contract.output_id_column))
    rows_scored = len(predictions)
    warehouse = services.warehouse(settings)
    id_column = model.contract.output_id_column
    rows = pd.DataFrame(
        {
            "source_uri": manifest.get("source_uri", clean_uri),
            "row_id": predictions[id_column].astype("string"),
            "score": predictions["score"].astype(float),
            "label": predictions["label"].astype("string"),
            "reason_1": predictions["reason_1"],
            "reason_2": predictions["reason_2"],
            "reason_3": predictions["reason_3"],
            "model_version": model.version,
            "model_role": CHAMPION,
            "scored_at": scored_at,
        }
    )
    # Keyed on the clean object: a duplicate or retried event replaces, never duplicates.
    warehouse.write_batch("predictions", rows, batch_key=clean_uri)
    warehouse.write_batch(
        "batches",
        pd.DataFrame(
            [
                {
                    "kind": dropped.kind,
                    "source_uri": manifest.get("source_uri"),
                    "clean_uri": clean_uri,
                    "predictions_uri": predictions_uri,
                    "quarantine_uri": manifest.get("quarantine_uri"),
                    "rows_in": manifest.get("rows_in"),
                    "rows_clean": manifest.get("rows_clean"),
                    "rows_quarantined": manifest.get("rows_quarantined"),
                    "rows_scored": rows_scored,
                    "model_version": model.version,
                    "status": "scored",
                    "processed_at": scored_at,
                }
            ]
        ),
        batch_key=clean_uri,
    )
    logger.info("scored %s with model %s: %d rows -> %s", clean_uri, model.version, rows_scored, predictions_uri)
    return ScoreResult(clean_uri, "scored", rows_scored, predictions_uri, model.version, manifest)
