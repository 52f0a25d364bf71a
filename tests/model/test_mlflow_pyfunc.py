"""The registered model is a plain MLflow pyfunc: MLflow's own tools score raw rows as `dropscore score` does.

Real sqlite MLflow, the session's trained champion, and a Spanish-Excel month file with a few rows
dropscore quarantines. The round trip: `dropscore score` on the file, then the same rows through
``mlflow.pyfunc.load_model("models:/dropscore@champion").predict``, ``mlflow models predict -t csv``
(a subprocess, as a user runs it) and, where PySpark and Java are installed, ``spark_udf``
(``make test-spark``): scores equal to 1e-9, labels and reasons equal, every quarantined row back
in place with its reason.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.ingest.contract import Contract
from shared.ingest.parsing import to_numbers
from shared.ingest.pii import PiiHasher
from shared.local.chain import score_file
from shared.model import registered
from shared.model.frame_scoring import _cell_text, input_columns, score_frame
from shared.model.pyfunc_saving import CODE_ARCHIVE, MODEL_FILE, PYFUNC_REQUIREMENTS
from shared.model.registered import LEGACY_MODEL_FILE
from shared.settings import Settings
from tests.conftest import SyntheticFiles
from tests.robustness_helpers import PII_KEY

MODEL_URI = "models:/dropscore@champion"
ROWS = 120
TOLERANCE = 1e-9
MLFLOW = Path(sys.executable).with_name("mlflow")
# Rows (0-based positions in the frame) made bad the way users' files are, and what dropscore says of them.
BROKEN = {3: "not_a_number", 5: "duplicate_id", 7: "bad_date", 9: "empty_row", 13: "missing_value"}


@pytest.fixture
def mlflow_env(champion_home: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """MLflow's own variable pointing at the champion's registry: how an MLflow user finds the model."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion_home.tracking_uri)
    return {**os.environ, "MLFLOW_TRACKING_URI": champion_home.tracking_uri}


@pytest.fixture
def month(synthetic_files: SyntheticFiles, tmp_path: Path) -> pd.DataFrame:
    """A month's rows as text, as the user's file holds them, with some rows dropscore quarantines."""
    raw = pd.read_csv(synthetic_files.months[1], sep=";", encoding="cp1252", dtype=str, keep_default_na=False).head(ROWS)
    raw.loc[3, "ventas_mensuales"] = "mucho"
    raw.loc[5, "id_negocio"] = raw.loc[4, "id_negocio"]
    raw.loc[7, "fecha_inicio"] = "31/02/2020"
    raw.loc[9, :] = ""
    raw.loc[11, "ventas_mensuales"] = " 1.234,5 "  # thousands mark and spaces: read as 1234.5 by both
    raw.loc[13, "gasto_publicidad"] = "n/a"        # a missing-value token in a column that must have one
    return raw


def _dropscore_score(settings: Settings, raw: pd.DataFrame, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, quarantine) of `dropscore score` on the file the user would drop (cp1252, ';')."""
    source = folder / "mes.csv"
    raw.to_csv(source, sep=";", encoding="cp1252", index=False, lineterminator="\r\n")
    result = score_file(settings, source, folder / "mes.predictions.csv")
    services.reset()
    predictions = pd.read_csv(result["output"], sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    predictions["score"] = predictions["score"].str.replace(",", ".").astype(float)
    quarantine = pd.read_csv(result["quarantine"], sep=";", dtype=str, encoding="utf-8-sig") if result["quarantine"] else pd.DataFrame(columns=["row_number", "error_code"])
    return predictions, quarantine


def _assert_same_as_dropscore(out: pd.DataFrame, predictions: pd.DataFrame, quarantine: pd.DataFrame, rows: int) -> float:
    """Scores, labels, reasons and quarantine reasons row by row; returns the largest score difference."""
    assert len(out) == rows  # a pyfunc keeps every row
    quarantined = {int(n) - 2: code for n, code in zip(quarantine["row_number"], quarantine["error_code"], strict=True)}
    assert {position: out["quarantine_code"][position] for position in quarantined} == quarantined
    assert out.loc[list(quarantined), "score"].isna().all()
    scored = [position for position in range(rows) if position not in quarantined]
    assert len(scored) == len(predictions) and (out.loc[scored, "quarantine_code"] == "").all()
    mine = out.loc[scored].reset_index(drop=True)
    assert mine["id_negocio"].tolist() == predictions["id_negocio"].tolist()
    for column in ("label", "reason_1", "reason_2", "reason_3"):
        assert mine[column].tolist() == predictions[column].tolist(), column
    assert out.loc[list(quarantined), "quarantine_message"].str.len().gt(0).all()
    return float(np.max(np.abs(mine["score"].to_numpy(dtype=float) - predictions["score"].to_numpy())))


def test_the_version_is_a_pyfunc_from_code_with_a_signature(champion_home: Settings) -> None:
    from mlflow.models import Model

    registry = services.registry(champion_home)
    champion = registered.load(registry, CHAMPION)
    folder = Path(registry.client.get_model_version(champion_home.model_name, champion.version).source.removeprefix("file://"))
    model = Model.load(str(folder / "MLmodel"))
    pyfunc = model.flavors["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model" and "python_model" not in pyfunc  # no pickle
    assert not [path for path in folder.rglob("*") if path.suffix in (".pkl", ".pickle")]
    assert (folder / "code" / CODE_ARCHIVE).is_file() and (folder / MODEL_FILE).is_file()
    columns, required = input_columns(champion.contract)
    inputs = model.signature.inputs
    assert inputs.input_names() == columns and set(inputs.required_input_names()) == required
    assert {"score", "label", "reason_1", "quarantine_code", "quarantine_message"} <= set(model.signature.outputs.input_names())
    assert model.flavors["lightgbm"]["data"] == MODEL_FILE
    assert json.loads((folder / "dropscore" / "meta.json").read_text(encoding="utf-8"))["model_file"] == MODEL_FILE
    for language in ("es", "en"):  # the model card tells its readers the model runs outside dropscore too
        assert f"models:/<{'nombre' if language == 'es' else 'name'}>/{champion.version}" in registered.read_file(registry, champion.version, f"model_card.{language}.md")


def test_pyfunc_predict_scores_raw_rows_as_dropscore_score_does(
    champion_home: Settings, mlflow_env: dict[str, str], month: pd.DataFrame, tmp_path: Path
) -> None:
    import mlflow.pyfunc

    predictions, quarantine = _dropscore_score(champion_home, month, tmp_path)
    assert sorted(int(n) - 2 for n in quarantine["row_number"]) == sorted(BROKEN)
    assert dict(zip(quarantine["row_number"].astype(int) - 2, quarantine["error_code"], strict=True)) == BROKEN
    model = mlflow.pyfunc.load_model(MODEL_URI)
    text = model.predict(month)
    assert _assert_same_as_dropscore(text, predictions, quarantine, ROWS) <= TOLERANCE
    assert text["quarantine_message"][3].startswith("La columna") or "ventas_mensuales" in text["quarantine_message"][3]
    # The same rows typed by pandas (numbers as numbers, gaps as NaN): the same answers.
    csv_path = tmp_path / "raw.csv"
    month.to_csv(csv_path, index=False)
    typed = pd.read_csv(csv_path)
    assert sum(pd.api.types.is_numeric_dtype(dtype) for dtype in typed.dtypes) > 10  # numbers typed by pandas
    assert _assert_same_as_dropscore(model.predict(typed), predictions, quarantine, ROWS) <= TOLERANCE
    english = model.predict(month.head(2), params={"language": "en"})
    assert english["reason_1"].str.contains(r" = | (low|medium|high|missing) ").all()


def test_mlflow_models_predict_on_a_raw_csv_gives_dropscores_scores(
    champion_home: Settings, mlflow_env: dict[str, str], month: pd.DataFrame, tmp_path: Path
) -> None:
    predictions, quarantine = _dropscore_score(champion_home, month, tmp_path)
    csv_path, out_path = tmp_path / "raw.csv", tmp_path / "mlflow.json"
    month.to_csv(csv_path, index=False)  # what a CSV for MLflow looks like: UTF-8, commas; cells as the user wrote them
    done = subprocess.run(
        [str(MLFLOW), "models", "predict", "-m", MODEL_URI, "-i", str(csv_path), "-t", "csv", "--env-manager", "local", "-o", str(out_path)],
        capture_output=True, text=True, timeout=300, env=mlflow_env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = pd.DataFrame(json.loads(out_path.read_text(encoding="utf-8"))["predictions"])
    assert _assert_same_as_dropscore(out, predictions, quarantine, ROWS) <= TOLERANCE


IMPORTED_DISTRIBUTIONS = """
import json, os, sys
from importlib.metadata import distributions

def imported_distributions():
    # By file, not by top-level name: "google" is a namespace shared by a dozen distributions.
    # Only module files, and no symlink resolution per installed file (100,000 stat calls took a
    # minute): the few module paths are looked up both as written and resolved.
    owner = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        for file in dist.files or ():
            if str(file).endswith((".py", ".so", ".pyd")):
                owner[os.path.normpath(str(dist.locate_file(file)))] = name
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        for candidate in (os.path.normpath(path), os.path.realpath(path)):
            if candidate in owner:
                found.add(owner[candidate])
                break
    return sorted(found)
"""

LOAD_AND_REPORT = IMPORTED_DISTRIBUTIONS + """
import mlflow.pyfunc
import pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
out = model.predict(pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False))
import shared
print(json.dumps({"shared": shared.__file__, "rows": len(out), "distributions": imported_distributions()}))
"""

MLFLOW_ALONE = IMPORTED_DISTRIBUTIONS + """
import mlflow.pyfunc
mlflow.MlflowClient().search_registered_models()  # the store's own imports (sqlite: alembic, mako, pygments)
print(json.dumps(imported_distributions()))
"""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependency_closure(names: tuple[str, ...]) -> set[str]:
    """The distributions `pip install` of ``names`` brings (their requirements, recursively, no extras)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = _canonical(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_the_model_runs_its_own_code_and_needs_only_its_requirements(
    champion_home: Settings, mlflow_env: dict[str, str], month: pd.DataFrame, tmp_path: Path
) -> None:
    """A fresh process imports ``shared`` from the version's code/shared.zip, not from this checkout, and
    everything it imports comes with the distributions the model's requirements.txt names."""
    csv_path = tmp_path / "raw.csv"
    month.head(20).to_csv(csv_path, index=False)
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_REPORT, MODEL_URI, str(csv_path)], capture_output=True, text=True, timeout=300, env=mlflow_env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == 20
    assert f"{CODE_ARCHIVE}/shared/__init__.py" in report["shared"].replace(os.sep, "/")
    # What MLflow loads by itself (its optional integrations, when installed: PySpark...) and the interpreter's
    # own hooks (an editable install's finder) are not the model's doing.
    bare = subprocess.run([sys.executable, "-c", MLFLOW_ALONE], capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path, env=mlflow_env)
    allowed = _dependency_closure(PYFUNC_REQUIREMENTS) | {_canonical(name) for name in json.loads(bare.stdout)}
    imported = {_canonical(name) for name in report["distributions"]}
    assert imported <= allowed, sorted(imported - allowed)


def test_a_frame_dropscore_would_reject_comes_back_whole_with_the_reason(
    champion_home: Settings, mlflow_env: dict[str, str], month: pd.DataFrame, tmp_path: Path
) -> None:
    """Day-first and month-first dates mixed in one column: dropscore rejects the file ("03/04" could be
    either), the pyfunc marks every row so. (A file month-first throughout is read month-first: issue 13.)"""
    import mlflow.pyfunc

    rows = month.head(30).copy()
    rows.loc[9, :] = rows.loc[8, :].to_numpy()
    rows["id_negocio"] = [f"X-{n}" for n in range(len(rows))]
    rows["fecha_inicio"] = [f"{1 + n % 12:02d}/{13 + n % 15}/2019" if n % 2 else f"{13 + n % 15}/{1 + n % 12:02d}/2019" for n in range(len(rows))]
    source = tmp_path / "mes.csv"
    rows.to_csv(source, sep=";", encoding="cp1252", index=False)
    result = score_file(champion_home, source, tmp_path / "out.csv")
    report = json.loads(Path(result["quarantine"]).read_text(encoding="utf-8"))
    assert result["status"] == "rejected" and report["details"]["error_code"] == "mixed_date_order"
    out = mlflow.pyfunc.load_model(MODEL_URI).predict(rows)
    assert len(out) == len(rows) and out["score"].isna().all()
    assert (out["quarantine_code"] == "mixed_date_order").all()
    assert out["id_negocio"].tolist() == rows["id_negocio"].tolist()


def test_versions_registered_before_the_pyfunc_still_load(champion_home: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A registry that already holds versions in the old layout (model.lgb at the root, no model_file in
    meta.json) keeps scoring with them after the upgrade."""
    registry = services.registry(champion_home)
    champion = registered.load(registry, CHAMPION)
    legacy = tmp_path / "legacy"
    (legacy / "dropscore").mkdir(parents=True)
    champion.booster.save_model(str(legacy / LEGACY_MODEL_FILE))
    meta = {key: value for key, value in champion.meta.items() if key != "model_file"}
    (legacy / "dropscore" / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (legacy / "dropscore" / "contract.yaml").write_text(champion.contract.to_yaml(), encoding="utf-8")
    champion.reference_sample.to_parquet(legacy / "dropscore" / "reference_sample.parquet", index=False)
    client = registry.client
    run_id = client.create_run(registry._experiment_id()).info.run_id
    client.log_artifacts(run_id, str(legacy), artifact_path="model")
    version = client.create_model_version(champion_home.model_name, f"{client.get_run(run_id).info.artifact_uri}/model", run_id=run_id).version
    client.set_model_version_tag(champion_home.model_name, version, "model_sha256", champion.meta["model_sha256"])
    loaded = registered.load(registry, str(version))
    sample = np.random.default_rng(0).normal(size=(5, len(champion.features)))
    assert np.array_equal(loaded.booster.predict(sample), champion.booster.predict(sample))
    assert loaded.contract.fingerprint() == champion.contract.fingerprint()


def test_a_personal_id_leaves_as_the_token_dropscore_writes_and_never_in_the_clear(champion_home: Settings, month: pd.DataFrame) -> None:
    """With ``personal: true`` on the id, the pyfunc returns the keyed-hash token (the one the predictions
    CSV and warehouse hold); without DROPSCORE_PII_KEY it scores nothing and echoes no id, as dropscore refuses the file."""
    champion = registered.load(services.registry(champion_home), CHAMPION)
    contract = Contract.from_yaml(champion.contract.to_yaml())
    contract.columns["id_negocio"] = dataclasses.replace(contract.columns["id_negocio"], personal=True)
    model = dataclasses.replace(champion, contract=contract)
    rows = month.head(12)
    keyed = score_frame(model, rows, pii_key=PII_KEY)
    expected = PiiHasher(PII_KEY).tokens(rows["id_negocio"].astype("string"), contract.columns["id_negocio"].type)
    scored = keyed["quarantine_code"] == ""
    assert keyed.loc[scored, "id_negocio"].tolist() == expected[scored.to_numpy()].tolist()
    assert not (set(keyed["id_negocio"]) & set(rows["id_negocio"])) - {""}  # (row 9 is empty)
    unkeyed = score_frame(model, rows, pii_key=None)
    assert (unkeyed["quarantine_code"] == "pii_key_missing").all() and unkeyed["score"].isna().all()
    assert (unkeyed["id_negocio"] == "").all()


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([",", "."]))
def test_a_typed_number_reads_back_as_itself(number: float, decimal: str) -> None:
    """A number pandas or Spark already typed is written back as text the cleaner parses to the same float."""
    text = _cell_text(number, decimal, None)
    parsed = to_numbers(pd.Series([text], dtype="string"), decimal)[0]
    assert parsed == number or (number == 0 and parsed == 0)


@pytest.mark.parametrize("value,expected", [(3.0, "3"), (np.int64(7), "7"), (float("nan"), None), (True, "true"), (pd.Timestamp("2024-03-05"), "05/03/2024")])
def test_typed_cells_become_the_text_a_spreadsheet_holds(value: object, expected: str | None) -> None:
    assert _cell_text(value, ",", "%d/%m/%Y") == expected


SPARK_READY = importlib.util.find_spec("pyspark") is not None and shutil.which("java") is not None


@pytest.mark.spark
@pytest.mark.skipif(not SPARK_READY, reason="needs PySpark and a Java runtime: `make test-spark` installs both")
def test_spark_udf_scores_a_spark_dataframe_as_dropscore_score_does(
    champion_home: Settings, mlflow_env: dict[str, str], month: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import struct

    predictions, quarantine = _dropscore_score(champion_home, month, tmp_path)
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[1]").appName("dropscore-pyfunc")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ROWS))  # one batch: one "file" (duplicate ids)
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp_path}")
        .getOrCreate()
    )  # fmt: skip
    try:
        frame = spark.createDataFrame(month.astype(object).where(month != "", None)).coalesce(1)
        udf = mlflow.pyfunc.spark_udf(spark, MODEL_URI, env_manager="local")
        scored = frame.withColumn("prediction", udf(struct(*frame.columns))).select("prediction.*").toPandas()
    finally:
        spark.stop()
    scored["score"] = scored["score"].astype(float)
    assert _assert_same_as_dropscore(scored, predictions, quarantine, ROWS) <= TOLERANCE
    assert not math.isnan(scored["score"][0])
