"""Personal data: keyed hash (HMAC-SHA256) before anything leaves the raw area; no key, no processing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery.lineage import clean_uri_of
from shared.delivery.parquet_io import read_parquet
from shared.errors import ContractError, PiiKeyError
from shared.ingest.contract import Contract
from shared.ingest.pii import TOKEN_HEX_CHARS, PiiHasher, normalize_value
from shared.local.chain import drop_file
from shared.settings import load_settings
from tests.corpus import generate
from tests.robustness_helpers import PII_KEY, TOKEN, corpus_champion_home

KEY = "una-clave-de-prueba-suficientemente-larga"


def test_tokens_are_keyed_stable_and_normalized() -> None:
    hasher = PiiHasher(KEY)
    token = hasher.token("1710034065", "cedula")
    assert TOKEN.match(token) and len(token) == TOKEN_HEX_CHARS
    assert token == PiiHasher(KEY).token("1710034065", "cedula")  # same key + value -> same token (joins work)
    assert token != PiiHasher(KEY + "x").token("1710034065", "cedula")  # another key, another token
    assert token != hashlib.sha256(b"1710034065").hexdigest()[:TOKEN_HEX_CHARS]  # not a plain hash anyone can recompute
    expected = hmac.new(KEY.encode(), b"dropscore-pii-v1\x00" + b"1710034065", hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]
    assert token == expected  # documented derivation: HMAC-SHA256(key, domain || value)
    assert hasher.token("  Ana   PÉREZ ") == hasher.token("ana pérez")
    assert hasher.token("ANA@CORREO.EC") == hasher.token("ana@correo.ec")
    assert normalize_value(" 0912345600 ", "cedula") == "0912345600"


def test_tokens_of_a_column_keep_missing_values_missing() -> None:
    values = pd.Series(["a", None, "a", "b"], dtype="string")
    tokens = PiiHasher(KEY).tokens(values)
    assert tokens.isna().tolist() == [False, True, False, False]
    assert tokens.iloc[0] == tokens.iloc[2] != tokens.iloc[3]


def test_the_key_is_never_shown() -> None:
    hasher = PiiHasher(KEY)
    assert KEY not in repr(hasher) and KEY not in str(hasher)
    with pytest.raises(PiiKeyError) as caught:
        PiiHasher("corta")
    assert "corta" not in str(caught.value)


def test_personal_columns_must_be_text_like() -> None:
    data = {
        "target": {"column": "y", "positive": "si"},
        "columns": {"y": {"type": "categorical", "values": ["si", "no"]}, "edad": {"type": "numeric", "personal": True}},
    }
    with pytest.raises(ContractError, match="personal"):
        Contract.from_dict(data)
    data["columns"]["edad"] = {"type": "text", "personal": True}
    contract = Contract.from_dict(data)
    assert contract.personal_columns == ["edad"]
    assert Contract.from_yaml(contract.to_yaml()).personal_columns == ["edad"]


@pytest.fixture(scope="module")
def personal_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus_champion_home(tmp_path_factory, "pii")


def test_without_a_key_personal_columns_are_refused_not_stored(personal_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DROPSCORE_HOME", str(personal_home / "home"))
    settings = load_settings()
    assert settings.pii_key is None
    source = tmp_path / "clientes.csv"
    source.write_bytes(generate.excel_es(generate.rows(10, 1)))
    with caplog.at_level(logging.INFO):
        result = drop_file(settings, source, "incoming")
    assert result["status"] == "rejected"
    report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
    assert report["details"]["error_code"] == "pii_key_missing"
    assert "DROPSCORE_PII_KEY" in report["message_es"] and "cedula" in report["message_en"]
    assert result["clean"] is None and result["output"] is None
    assert not get_store(settings.area_uri("clean")).list(settings.object_uri("clean", "incoming/"))


def test_labels_join_on_the_hashed_id(personal_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A cédula as id: predictions and labels carry the same token, so outcomes still meet their predictions."""
    monkeypatch.setenv("DROPSCORE_HOME", str(personal_home / "home"))
    monkeypatch.setenv("DROPSCORE_PII_KEY", PII_KEY)
    settings = load_settings()
    batch = generate.rows(50, 77, labeled=True)
    incoming, labels = tmp_path / "nuevos.csv", tmp_path / "etiquetas.csv"
    incoming.write_bytes(generate.excel_es(batch.drop(columns=["compro"])))
    labels_frame = batch[["cedula", "compro"]].copy()
    labels_frame["cedula"] = [c[1:] if c.startswith("0") else c for c in labels_frame["cedula"]]  # Excel lost the zero here
    labels.write_bytes(generate.excel_es(labels_frame))
    with caplog.at_level(logging.DEBUG):
        scored = drop_file(settings, incoming, "incoming")
        labeled = drop_file(settings, labels, "labels")
    assert scored["rows_scored"] == 50 and labeled["rows_clean"] == 50
    predicted = set(services.warehouse(settings).read("predictions").loc[lambda rows: rows["batch_key"].map(clean_uri_of) == scored["clean"]]["row_id"])
    outcomes = set(read_parquet(labeled["output"])["cedula"])
    assert predicted == outcomes and all(TOKEN.match(t) for t in predicted)
    assert PII_KEY not in caplog.text
    assert not any(c in caplog.text for c in batch["cedula"])  # no cédula in the logs either
