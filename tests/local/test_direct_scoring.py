"""`dropscore score`: one pass in one process (issue 16), with the answer of the two functions.

The command used to drop the file into throwaway buckets and run clean (Parquet) then score
(reading it back, a DuckDB warehouse); it now scores each batch of clean rows as the clean
step validates it. Same validation, same quarantine, same predictions, to the byte.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shared.backends import services
from shared.backends.storage import get_store
from shared.local.chain import drop_file, score_file
from shared.settings import Settings
from tests.conftest import MONTH_ROWS, SyntheticFiles


def _with_bad_rows(source: Path, target: Path) -> Path:
    """The month's file with three rows the clean step must quarantine, each for its own reason."""
    frame = pd.read_csv(source, sep=";", dtype=str, encoding="cp1252", keep_default_na=False)
    frame.loc[4, "ventas_mensuales"] = "doce mil"      # not a number
    frame.loc[8, "id_negocio"] = ""                   # no id
    frame.loc[12, "id_negocio"] = frame.loc[11, "id_negocio"]  # a duplicate id
    frame.to_csv(target, sep=";", encoding="cp1252", index=False, lineterminator="\r\n")
    return target


def test_score_gives_what_the_clean_and_score_functions_give(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    source = _with_bad_rows(synthetic_files.months[2], tmp_path / "mes_con_errores.csv")
    output = tmp_path / "salida" / "predicciones.csv"

    direct = score_file(champion_home, source, output)
    dropped = drop_file(champion_home, source, "incoming")  # the cloud's path: clean -> Parquet -> score

    assert direct["rows_in"] == dropped["rows_in"] == MONTH_ROWS
    assert direct["rows_quarantined"] == dropped["rows_quarantined"] == 3
    assert direct["rows_scored"] == dropped["rows_scored"] == MONTH_ROWS - 3  # every row scored or quarantined
    assert (direct["status"], direct["model_version"]) == (dropped["status"], dropped["model_version"])
    assert output.read_bytes() == get_store(dropped["output"]).read_bytes(dropped["output"])
    assert Path(direct["quarantine"]).read_bytes() == get_store(dropped["quarantine"]).read_bytes(dropped["quarantine"])


def test_score_writes_no_parquet_and_opens_no_warehouse(
    champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    def no_parquet(*args: object, **kwargs: object) -> None:
        raise AssertionError("dropscore score wrote the clean rows as Parquet")

    def no_warehouse(settings: Settings) -> None:
        raise AssertionError("dropscore score opened a warehouse")

    monkeypatch.setattr(pq, "ParquetWriter", no_parquet)
    monkeypatch.setattr(services, "warehouse", no_warehouse)
    output = tmp_path / "predicciones.csv"

    result = score_file(champion_home, synthetic_files.months[1], output)

    assert result["rows_scored"] == MONTH_ROWS and result["rows_quarantined"] == 0
    assert len(pd.read_csv(output, sep=";", encoding="utf-8-sig")) == MONTH_ROWS


def test_a_file_with_no_valid_row_writes_no_predictions(champion_home: Settings, tmp_path: Path, synthetic_files: SyntheticFiles) -> None:
    frame = pd.read_csv(synthetic_files.months[1], sep=";", dtype=str, encoding="cp1252", keep_default_na=False).head(20)
    frame["ventas_mensuales"] = "n/d?"
    source = tmp_path / "todo_malo.csv"
    frame.to_csv(source, sep=";", encoding="cp1252", index=False, lineterminator="\r\n")
    output = tmp_path / "predicciones.csv"

    result = score_file(champion_home, source, output)

    assert (result["rows_in"], result["rows_scored"], result["rows_quarantined"]) == (20, 0, 20)
    assert result["output"] is None and not output.exists()
    assert len(pd.read_csv(result["quarantine"], sep=";", encoding="utf-8-sig")) == 20
