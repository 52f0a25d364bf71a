"""Helpers for the input-robustness tests: a corpus champion, storage events, and output checks."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery.events import STORAGE_FINALIZED
from shared.delivery.lineage import clean_uri_of
from shared.delivery.parquet_io import read_parquet
from shared.ingest.contract import Contract
from shared.ingest.spreadsheet_safety import is_dangerous
from shared.settings import Settings
from tests.corpus import generate

PII_KEY = "corpus-test-key-0123456789abcdef"  # a test key; real keys come from Secret Manager
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def train_corpus_champion(settings: Settings, folder: Path) -> Contract:
    from shared.lifecycle.promotion import train_from_csv

    contract = Contract.from_yaml(generate.CONTRACT_YAML)
    outcome = train_from_csv(settings, generate.training_file(folder / "entrenamiento.csv"), contract, seed=3)
    assert outcome.promoted, outcome.reason_en
    return contract


def storage_event(bucket: str, name: str, generation: str) -> dict[str, Any]:
    """What Eventarc delivers for a finalized object (dict-shaped, as the handlers accept)."""
    return {
        "type": STORAGE_FINALIZED,
        "id": uuid.uuid4().hex,
        "time": datetime.now(UTC).isoformat(),
        "data": {"bucket": bucket, "name": name, "generation": generation},
    }


def put_raw(settings: Settings, path: Path, key: str) -> tuple[str, str]:
    """Upload a file to the raw area; (uri, generation)."""
    uri = settings.object_uri("raw", key)
    store = get_store(uri)
    store.upload_file(uri, path, "text/csv")
    return uri, store.stat(uri).generation


def read_csv_for_people(uri: str) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, delimiter) of a CSV dropscore wrote for people; checks BOM and sniffs the delimiter."""
    data = get_store(uri).read_bytes(uri)
    assert data.startswith(b"\xef\xbb\xbf"), f"{uri}: CSVs for people are UTF-8 with BOM"
    text = data.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t|", key=first.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return records[0], records[1:], delimiter


def assert_safe_cells(header: list[str], rows: list[list[str]], where: str) -> None:
    for row in [header, *rows]:
        for cell in row:
            assert not is_dangerous(cell), f"{where}: cell {cell!r} could run as a formula in Excel"


def check_outputs(settings: Settings, result: dict[str, Any], *, personal: list[str]) -> dict[str, Any]:
    """The invariants every cleaned file must meet; returns what was read for further checks."""
    seen: dict[str, Any] = {}
    assert result["rows_in"] == result["rows_clean"] + result["rows_quarantined"], result
    manifest_uri = result["manifest_uri"]
    manifest = json.loads(get_store(manifest_uri).read_bytes(manifest_uri))
    assert manifest["rows_in"] == manifest["rows_clean"] + manifest["rows_quarantined"]
    seen["manifest"] = manifest
    if result["clean_uri"]:
        clean = read_parquet(result["clean_uri"])
        assert len(clean) == result["rows_clean"]
        for name in personal:
            if name in clean:
                values = clean[name].dropna().astype(str)
                assert values.str.match(TOKEN).all(), f"personal column {name} is not pseudonymized"
        seen["clean"] = clean
    else:
        assert result["rows_clean"] == 0
    if result["quarantine_uri"]:
        header, rows, _ = read_csv_for_people(result["quarantine_uri"])
        assert len(rows) == result["rows_quarantined"]
        assert header[:5] == ["row_number", "column", "error_code", "message_es", "message_en"]
        frame = pd.DataFrame(rows, columns=header)
        assert frame["row_number"].astype(int).is_unique
        assert (frame["message_es"].str.len() > 5).all() and (frame["message_en"].str.len() > 5).all()
        assert frame["message_es"].ne(frame["message_en"]).all()
        for name in personal:
            if name in frame:
                values = frame[name][frame[name] != ""]
                assert values.str.match(TOKEN).all(), f"quarantine shows personal column {name} in the clear"
        assert_safe_cells(header, rows, result["quarantine_uri"])
        assert Counter(frame["error_code"]) == Counter(manifest["details"]["quarantine_reasons"])
        seen["quarantine"] = frame
    else:
        assert result["rows_quarantined"] == 0
    return seen


def check_predictions(settings: Settings, scored: dict[str, Any], rows_clean: int, id_column: str) -> pd.DataFrame:
    header, rows, _ = read_csv_for_people(scored["output"])
    assert len(rows) == rows_clean == scored["rows_scored"]
    assert header[:7] == [id_column, "score", "label", "reason_1", "reason_2", "reason_3", "model_version"]
    assert_safe_cells(header, rows, scored["output"])
    frame = pd.DataFrame(rows, columns=header)
    assert frame[id_column].str.match(TOKEN).all(), "the personal id leaves only as a token"
    assert frame["source_row"].astype(int).ge(2).all(), "a hashed id comes with the row it came from"
    scores = frame["score"].str.replace(",", ".").astype(float)
    assert scores.between(0, 1).all()
    predictions = services.warehouse(settings).read("predictions")
    warehouse = predictions[predictions["batch_key"].map(clean_uri_of) == scored["clean_uri"]]
    assert len(warehouse) == rows_clean, "one warehouse row per scored row, no duplicates"
    assert warehouse["row_id"].astype(str).str.match(TOKEN).all()
    return frame


def corpus_champion_home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A DROPSCORE_HOME with the corpus champion trained under PII_KEY (for module-scoped fixtures)."""
    from shared.settings import load_settings

    folder = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DROPSCORE_HOME", str(folder / "home"))
        patch.setenv("DROPSCORE_PII_KEY", PII_KEY)
        services.reset()
        train_corpus_champion(load_settings(), folder)
        services.reset()
    return folder


class MovableClock:
    """A clock tests move by hand (``shared.delivery.claims.utc_now`` stand-in): claims expire without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)
