"""The triggered chain on embedded defaults: drop -> clean -> score -> warehouse, and bad files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from shared.backends import services
from shared.backends.storage import get_store
from shared.local.chain import drop_file, score_file
from shared.settings import Settings
from tests.conftest import MONTH_ROWS, SyntheticFiles


def _read_csv(uri: str) -> pd.DataFrame:
    data = get_store(uri).read_bytes(uri)
    assert data.startswith(b"\xef\xbb\xbf"), "CSV for people opens in Excel: UTF-8 with BOM"
    text = data.decode("utf-8-sig")
    delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;").delimiter
    return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str)


def test_drop_scores_every_row_and_lands_in_the_warehouse(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    result = drop_file(champion_home, synthetic_files.months[1], "incoming")

    assert result["rows_in"] == MONTH_ROWS
    assert result["rows_in"] == result["rows_scored"] + result["rows_quarantined"]
    predictions = _read_csv(result["output"])
    assert list(predictions.columns[:7]) == ["id_negocio", "score", "label", "reason_1", "reason_2", "reason_3", "model_version"]
    assert len(predictions) == result["rows_scored"]
    assert set(predictions["label"]) <= {"si", "no"}
    assert predictions["reason_1"].str.contains("↑|↓").all()
    scores = predictions["score"].str.replace(",", ".").astype(float)
    assert scores.between(0, 1).all()
    # Written back the way it came: ';' and decimal comma
    assert predictions["score"].str.contains(",").any()

    warehouse = services.warehouse(champion_home)
    rows = warehouse.read("predictions")
    assert len(rows) == result["rows_scored"]
    batches = warehouse.read("batches")
    assert batches.iloc[0]["rows_in"] == MONTH_ROWS and batches.iloc[0]["status"] == "scored"


def test_duplicate_drop_does_not_duplicate_warehouse_rows(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    """The same file dropped twice is two uploads: the earlier one's rows are kept for history but
    marked superseded (shared.delivery.lineage), so what is current holds each row once."""
    first = drop_file(champion_home, synthetic_files.months[1], "incoming")
    second = drop_file(champion_home, synthetic_files.months[1], "incoming")

    assert first["rows_scored"] == second["rows_scored"]
    warehouse = services.warehouse(champion_home)
    current = warehouse.read("batches", where={"superseded_by": None})
    assert len(current) == 1
    predictions = warehouse.read("predictions")
    assert int(predictions["batch_key"].isin(set(current["batch_key"])).sum()) == first["rows_scored"]


def test_bad_rows_are_quarantined_with_reasons(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    frame = pd.read_csv(synthetic_files.months[2], sep=";", dtype=str, encoding="cp1252", keep_default_na=False)
    frame.loc[0, "ventas_mensuales"] = "mucho"
    frame.loc[1, "num_empleados"] = "-4"
    frame.loc[2, "id_negocio"] = ""
    frame.loc[3, "id_negocio"] = frame.loc[4, "id_negocio"]
    path = tmp_path / "mes_malo.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")

    result = drop_file(champion_home, path, "incoming")

    assert result["rows_in"] == MONTH_ROWS
    assert result["rows_quarantined"] == 4
    assert result["rows_scored"] == MONTH_ROWS - 4
    quarantine = _read_csv(result["quarantine"])
    assert sorted(quarantine["error_code"]) == ["below_min", "duplicate_id", "missing_id", "not_a_number"]
    assert set(quarantine["row_number"].astype(int)) == {2, 3, 4, 6}  # Excel rows: header is row 1; the later duplicate loses
    assert quarantine["message_es"].str.len().gt(10).all() and quarantine["message_en"].str.len().gt(10).all()


def test_files_that_cannot_be_read_get_a_report_and_no_retry(champion_home: Settings, tmp_path: Path) -> None:
    cases = {
        "vacio.csv": b"",
        "binario.csv": b"PK\x03\x04\x00\x00binary-xlsx",
        "columnas.csv": "nombre;telefono\nAna;0999\n".encode("cp1252"),
        "solo_encabezado.csv": b"a;b;c\n",
    }
    codes = {}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = drop_file(champion_home, path, "incoming")
        assert result["status"] == "rejected", name
        assert result["rows_scored"] == 0
        report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
        assert report["message_es"] and report["message_en"]
        codes[name] = report["details"]["error_code"]
    assert codes == {"vacio.csv": "empty_file", "binario.csv": "corrupt_workbook", "columnas.csv": "no_matching_columns", "solo_encabezado.csv": "no_rows"}


def test_labels_and_training_files_are_kept_not_scored(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    result = drop_file(champion_home, synthetic_files.labels[1], "labels")

    assert result["status"] == "clean" and result["rows_clean"] == MONTH_ROWS
    assert result["output"].endswith("clean/labels/etiquetas_1.csv.parquet")
    assert services.warehouse(champion_home).read("predictions").empty


def test_score_command_path_touches_no_bucket(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    output = tmp_path / "salida" / "predicciones.csv"
    result = score_file(champion_home, synthetic_files.months[3], output)

    assert result["rows_in"] == result["rows_scored"] + result["rows_quarantined"] == MONTH_ROWS
    assert output.exists() and result["output"] == str(output)
    assert len(pd.read_csv(output, sep=";", encoding="utf-8-sig")) == MONTH_ROWS
    raw_area = Path(champion_home.home / "buckets" / "raw" / "incoming")
    assert not raw_area.exists(), "direct scoring must not drop files into the buckets"
