"""A file saved without its header row: the first row is a person's data, and nothing of it may be
repeated in a report people read (masking finds the cédula and the e-mail, never the name beside them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.backends.storage import get_store
from shared.errors import BadInputError
from shared.ingest.contract import Contract
from shared.ingest.validation import map_header
from shared.local.chain import drop_file
from shared.settings import Settings
from tests.conftest import SyntheticFiles

NAME = "Ana Pérez Secreta"


def _outside_raw(home: Path, text: str) -> list[str]:
    """Every file under the home, but the raw bucket and the databases, that holds ``text``."""
    needle = text.encode("utf-8")
    return [
        str(path.relative_to(home))
        for path in home.rglob("*")
        if path.is_file() and "raw" not in path.relative_to(home).parts and path.suffix != ".db" and needle in path.read_bytes()
    ]


def test_a_file_without_its_header_row_is_refused_without_repeating_the_row(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path
) -> None:
    rows = synthetic_files.months[1].read_text(encoding="cp1252").splitlines()[1:30]
    dropped = tmp_path / "sin_encabezado.csv"
    dropped.write_text("\n".join([f"0912345675;{NAME};ana.perez@correo.ec;0991234567", *rows]) + "\n", encoding="cp1252")

    result = drop_file(champion_home, dropped, "incoming")

    assert result["status"] == "rejected" and result["code"] == "header_is_data"
    assert "primera fila" in result["message_es"] and "first row" in result["message_en"]
    report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
    assert report["details"]["error_code"] == "header_is_data"
    assert _outside_raw(Path(os.environ["DROPSCORE_HOME"]), NAME) == []  # was in the report (.json, .txt) and the manifest


@pytest.mark.parametrize("personal", ["0912345675", "ANA.PEREZ@CORREO.EC", "+593 99 123 4567", "1790011674001"])
def test_any_personal_looking_header_with_no_contract_column_is_a_data_row(synthetic_files: SyntheticFiles, personal: str) -> None:
    contract = Contract.from_yaml(synthetic_files.contract.read_text(encoding="utf-8"))
    with pytest.raises(BadInputError) as caught:
        map_header(["x1", NAME, personal], contract, "incoming")
    assert caught.value.code == "header_is_data"
    assert NAME not in caught.value.message_es and personal not in caught.value.message_en


def test_a_real_header_missing_columns_still_lists_what_it_found(synthetic_files: SyntheticFiles) -> None:
    contract = Contract.from_yaml(synthetic_files.contract.read_text(encoding="utf-8"))
    with pytest.raises(BadInputError) as caught:
        map_header(["nombre_cliente", "monto"], contract, "incoming")
    assert caught.value.code == "no_matching_columns" and "nombre_cliente" in caught.value.message_es
