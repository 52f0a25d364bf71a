"""Saving a model version as the MLflow model other tools run: a pyfunc "from code" with its signature.

The version's folder is an MLflow model (``mlflow models predict``, ``mlflow.pyfunc.load_model``,
``spark_udf``): shared/model/pyfunc_model.py logged by path (nothing pickled), the ``shared`` package
as its code (one deterministic zip, ``code/shared.zip``: each loose file would be one more download
on every cold start and one more line to check), and as artifacts ``artifacts/model.lgb``
(LightGBM's native text format, also declared as the ``lightgbm`` flavor), the contract and the
metadata. Its input signature is the contract's columns; its output the predictions plus each
quarantined row's reason (:mod:`shared.model.frame_scoring`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.ingest.contract import Contract

MODEL_FILE = "artifacts/model.lgb"  # where MLflow puts the booster artifact in the version's folder (meta.json's "model_file")
PYFUNC_CODE_FILE = Path(__file__).resolve().parent / "pyfunc_model.py"
CODE_ARCHIVE = "shared.zip"  # the package as the pyfunc's code: code/shared.zip in the version's folder
# The pyfunc's artifacts, by the names shared/model/pyfunc_model.py reads them.
BOOSTER_ARTIFACT, CONTRACT_ARTIFACT, META_ARTIFACT = "booster", "contract", "meta"
# Third-party distributions the pyfunc's code imports, pinned in its requirements.txt to the versions
# that trained it (tests/model/test_mlflow_pyfunc.py checks the list against what loading and predicting import).
PYFUNC_REQUIREMENTS = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "scikit-learn",
    "PyYAML",
    "python-stdnum",
    "charset-normalizer",
    "babel",  # shared.formatting: quarantine messages write numbers as the locale does
)


def save_pyfunc(model_dir: Path, booster_file: Path, meta_dir: Path, contract: Contract, task: str, classes: list[str]) -> None:
    """Write a version's MLflow model: a pyfunc from code (shared/model/pyfunc_model.py) with its signature.

    The ``shared`` package goes in as ``code_paths``: a zip of what a function zip ships of it, which
    shared/model/pyfunc_model.py puts on ``sys.path``; so the model needs no dropscore install and nothing
    is pickled. The booster is also declared as the ``lightgbm`` flavor: ``mlflow.lightgbm.load_model``
    hands out the raw booster.
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    import lightgbm as lgb
    import mlflow.pyfunc
    from mlflow.models import Model

    from shared.model.code_archive import shared_package_files, write_deterministic_zip

    with tempfile.TemporaryDirectory() as scratch:
        code = Path(scratch) / CODE_ARCHIVE
        write_deterministic_zip(list(shared_package_files(PYFUNC_CODE_FILE.parents[2])), code)
        mlflow_model = Model()
        mlflow_model.add_flavor("lightgbm", lgb_version=lgb.__version__, data=MODEL_FILE, model_class="lightgbm.basic.Booster", code=None)
        requirements = []
        for name in PYFUNC_REQUIREMENTS:
            try:
                requirements.append(f"{name}=={installed(name)}")
            except PackageNotFoundError:
                requirements.append(name)
        with _quiet_mlflow():
            mlflow.pyfunc.save_model(
                path=str(model_dir),
                python_model=str(PYFUNC_CODE_FILE),
                artifacts={
                    BOOSTER_ARTIFACT: str(booster_file),
                    CONTRACT_ARTIFACT: str(meta_dir / "contract.yaml"),
                    META_ARTIFACT: str(meta_dir / "meta.json"),
                },
                code_paths=[str(code)],
                signature=pyfunc_signature(contract, task, classes),
                pip_requirements=requirements,
                mlflow_model=mlflow_model,
                metadata={"dropscore_contract": contract.fingerprint()},
            )


def pyfunc_signature(contract: Contract, task: str, classes: list[str]):  # noqa: ANN201 - mlflow.models.ModelSignature, imported lazily
    """Input: the columns an incoming file may carry, by name, required as the contract says; output:
    what the pyfunc returns; params: language, decimal mark, source name.

    The input columns are of MLflow's ``Any`` type: the pyfunc takes text as written ("1.234,5",
    "0912345678") and typed values alike (``mlflow models predict -t csv`` reads the CSV with pandas,
    which types numbers; Spark columns are typed), and validates every cell itself as the clean step
    does, quarantining a row rather than failing the request. A "string" column would refuse a
    numeric pandas column before the pyfunc sees it; a "double" one would refuse "1.234,5".
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    from shared.model.frame_scoring import DEFAULT_SOURCE_NAME, input_columns, output_columns_for

    columns, required = input_columns(contract)
    inputs = Schema([ColSpec(AnyType(), name, required=name in required) for name in columns])
    outputs = Schema([ColSpec(kind, name) for name, kind in output_columns_for(contract, task, classes)])
    params = ParamSchema(
        [
            ParamSpec("language", "string", ""),       # reasons and messages: es or en ("" = DROPSCORE_LANG, else es)
            ParamSpec("decimal", "string", "auto"),    # "," or "." for text numbers; auto = as the clean step decides
            ParamSpec("source_name", "string", DEFAULT_SOURCE_NAME),  # ids "<name>-<row>" when the contract has no id
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


@contextlib.contextmanager
def _quiet_mlflow():  # noqa: ANN202 - a context manager
    """MLflow logs and warns while it saves a model (no input example, inferred environments): not the user's business."""
    import warnings

    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        mlflow_logger.setLevel(level)
