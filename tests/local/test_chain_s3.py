"""The same chain with S3 as storage: boto3 against a moto server over HTTP."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from shared.backends import services
from shared.local.chain import drop_file
from shared.settings import load_settings
from tests.conftest import MONTH_ROWS, SyntheticFiles, train_champion
from tests.conftest_services import moto_server, s3_bucket_uri  # noqa: F401  (fixtures)


def test_train_drop_and_score_on_s3(s3_bucket_uri: str, moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic_files: SyntheticFiles) -> None:  # noqa: F811
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DROPSCORE_STORAGE", f"{s3_bucket_uri}/dropscore")
    settings = load_settings()
    assert settings.area_uri("raw") == f"{s3_bucket_uri}/dropscore/raw"

    train_champion(settings, synthetic_files)
    result = drop_file(settings, synthetic_files.months[1], "incoming", run_chain=True)

    assert result["rows_in"] == MONTH_ROWS == result["rows_scored"] + result["rows_quarantined"]
    bucket = s3_bucket_uri.removeprefix("s3://")
    keys = {o["Key"] for o in boto3.client("s3", endpoint_url=moto_server).list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "dropscore/raw/incoming/mes_1.csv",
        "dropscore/clean/incoming/mes_1.csv.parquet",
        "dropscore/clean/manifests/incoming/mes_1.csv.json",
        "dropscore/predictions/mes_1.csv.predictions.csv",
        "dropscore/raw/archive/training/entrenamiento.csv",
    } <= keys
    assert result["output"] == f"{s3_bucket_uri}/dropscore/predictions/mes_1.csv.predictions.csv"
    assert len(services.warehouse(settings).read("predictions")) == MONTH_ROWS


def test_drop_to_a_real_cloud_only_uploads(s3_bucket_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic_files: SyntheticFiles) -> None:  # noqa: F811
    """Off embedded mode the upload itself triggers the functions, so `drop` must not run the chain too."""
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DROPSCORE_STORAGE", f"{s3_bucket_uri}/x")
    result = drop_file(load_settings(), synthetic_files.months[2])
    assert result["status"] == "uploaded" and result["source"] == f"{s3_bucket_uri}/x/raw/incoming/mes_2.csv"
