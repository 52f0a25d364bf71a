"""The windows a drift check judges: where the current one starts, and the rows scored in it.

A window too small to judge is carried over (the next check starts where it started); the
rows come from the clean batches of the window, sampled batch by batch when there are many,
with the champion's scores joined on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.errors import ObjectNotFoundError
from shared.model.loaded_model import LoadedModel
from shared.monitor import drift_history
from shared.monitor.drift_stats import DEFAULT_MIN_ROWS, DEFAULT_SAMPLE_CAP
from shared.monitor.results import SCORE_FEATURE
from shared.monitor.smoke_rows import is_smoke_uri
from shared.settings import Settings

logger = logging.getLogger(__name__)


def window_bounds(checks: list[drift_history.PastCheck]) -> tuple[datetime | None, drift_history.PastCheck | None]:
    """Where this window starts and which earlier check's window to compare with.

    A check whose window was too small to judge does not move the start: its rows are
    judged with the next ones. The window compared for sudden change is the latest one
    that was large enough.
    """
    if not checks:
        return None, None
    latest = checks[0]
    def too_small(check: drift_history.PastCheck) -> bool:
        return check.window_rows is not None and check.window_rows < DEFAULT_MIN_ROWS

    start = latest.window_start if too_small(latest) else latest.window_end
    previous = next((check for check in checks if not too_small(check)), None)
    return start, previous


def current_window(
    settings: Settings,
    model: LoadedModel,
    window_start: datetime | None,
    window_end: datetime,
    *,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    seed: int = 0,
) -> pd.DataFrame:
    """Features of the rows scored in the window (from the clean batches) plus their champion scores.

    A window larger than ``sample_cap`` rows is sampled (seeded) batch by batch in proportion
    to each batch's size, so memory holds one batch and the sample, never the whole window.
    """
    warehouse = services.warehouse(settings)
    # Superseded uploads are history: a name dropped again counts once, with its latest rows (shared.delivery.lineage).
    batches = warehouse.read(
        "batches", since=window_start, until=window_end, where={"kind": "incoming", "status": "scored", "superseded_by": None}
    )
    if not batches.empty and "source_uri" in batches:
        # The deployment smoke test's rows are real scores of test data, not production traffic.
        batches = batches[~batches["source_uri"].map(is_smoke_uri)]
    if window_start is not None and not batches.empty:
        batches = batches[batches["processed_at"] > pd.Timestamp(window_start)]
    batches = batches.dropna(subset=["clean_uri"]).drop_duplicates("clean_uri", keep="last") if not batches.empty else batches
    wanted = model.features + [model.contract.output_id_column]
    skipped: list[dict[str, Any]] = []
    empty = pd.DataFrame(columns=wanted + [SCORE_FEATURE])
    empty.attrs["skipped_batches"] = skipped
    if batches.empty:
        return empty
    total_rows = float(pd.to_numeric(batches["rows_clean"], errors="coerce").fillna(0).sum())
    fraction = min(1.0, sample_cap / total_rows) if total_rows > 0 else 1.0
    random_generator = np.random.default_rng(seed)
    frames = []
    for clean_uri, key in zip(batches["clean_uri"], batches["batch_key"], strict=True):
        store = services.store(clean_uri)
        try:
            with store.open_read(clean_uri) as stream:
                parquet = pq.ParquetFile(stream)
                table = parquet.read(columns=[c for c in wanted if c in parquet.schema_arrow.names])
        except ObjectNotFoundError:
            # Its clean rows are gone (a later upload of the name was rejected and took them, or someone
            # deleted them): judge the window on the rest and say so in the report, never fail the check.
            logger.warning("drift window: the clean rows of %s are gone; batch skipped", clean_uri)
            skipped.append({"batch_key": str(key), "clean_uri": str(clean_uri), "reason": "clean_data_missing"})
            continue
        frame = table.to_pandas()
        if fraction < 1.0 and len(frame):
            keep = random_generator.random(len(frame)) < fraction
            frame = frame[keep]
        frames.append(frame.assign(_batch=str(key) if pd.notna(key) else str(clean_uri)))
    if not frames:
        return empty
    current = pd.concat(frames, ignore_index=True)
    predictions = warehouse.read(
        "predictions", since=window_start, until=window_end, where={"model_role": CHAMPION, "model_version": model.version}, columns=["batch_key", "row_id", "score"]
    )
    id_column = model.contract.output_id_column
    if not predictions.empty and id_column in current:
        scores = predictions.drop_duplicates(["batch_key", "row_id"]).rename(columns={"batch_key": "_batch", "row_id": id_column})
        current[id_column] = current[id_column].astype(str)
        current = current.merge(scores, on=["_batch", id_column], how="left")
    else:
        current[SCORE_FEATURE] = np.nan
    if len(current) > sample_cap:
        current = current.sample(sample_cap, random_state=seed)
    current = current.drop(columns=["_batch"]).reset_index(drop=True)
    current.attrs["skipped_batches"] = skipped
    return current


# --------------------------------------------------------------------------- the check
