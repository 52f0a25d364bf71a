"""The registered model as MLflow sees it: a pyfunc "model from code", no pickle anywhere.

MLflow copies this file into every model version and runs it to load the model
(``mlflow.models.set_model`` below); the ``shared`` package travels with it as the version's
``code/shared.zip`` (``code_paths``), which this file puts first on ``sys.path``: the model is
self-contained and runs the code that trained it, needing the libraries in its ``requirements.txt``,
not an installed dropscore. Its artifacts are the native LightGBM file,
the contract and the metadata; its predictions are :func:`shared.model.frame_scoring.score_frame`'s.

Only MLflow's loader imports this module (shared/model/pyfunc_saving.py logs it by path and never imports it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# The model's own copy of the package, beside this file in the version's folder (when MLflow saves the
# model it runs this file from the source tree, where there is none and the installed package serves).
_CODE_ARCHIVE = Path(__file__).resolve().parent / "code" / "shared.zip"
if _CODE_ARCHIVE.is_file() and str(_CODE_ARCHIVE) not in sys.path:
    sys.path.insert(0, str(_CODE_ARCHIVE))

import mlflow  # noqa: E402 - after the path: nothing below may import shared from elsewhere
import pandas as pd  # noqa: E402
from mlflow.pyfunc import PythonModel, PythonModelContext  # noqa: E402

from shared.model.pyfunc_saving import BOOSTER_ARTIFACT, CONTRACT_ARTIFACT, META_ARTIFACT  # noqa: E402


class DropscoreModel(PythonModel):
    """Raw rows in, one row out per row in: score, label and reasons, or the quarantine reason."""

    def load_context(self, context: PythonModelContext) -> None:
        import lightgbm as lgb

        from shared.ingest.contract import Contract
        from shared.model.loaded_model import LoadedModel

        booster_path = Path(context.artifacts[BOOSTER_ARTIFACT])
        meta = json.loads(Path(context.artifacts[META_ARTIFACT]).read_text(encoding="utf-8"))
        _verify_files(booster_path.parents[1], booster_path, meta)
        self.model = LoadedModel(
            version=str(meta.get("version") or ""),
            booster=lgb.Booster(model_file=str(booster_path)),
            contract=Contract.from_yaml(Path(context.artifacts[CONTRACT_ARTIFACT]).read_text(encoding="utf-8")),
            meta=meta,
            reference_sample=pd.DataFrame(),  # drift checks only; never needed to score
        )

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from shared.model.frame_scoring import DEFAULT_SOURCE_NAME, score_frame

        params = params or {}
        language = str(params.get("language") or os.environ.get("DROPSCORE_LANG") or "es").lower()[:2]
        return score_frame(
            self.model,
            model_input,
            language=language if language in ("es", "en") else "es",
            decimal=str(params.get("decimal") or "auto"),
            source_name=str(params.get("source_name") or DEFAULT_SOURCE_NAME),
            # Read where the model runs (a Spark executor gets it through spark.executorEnv), never stored with it.
            pii_key=os.environ.get("DROPSCORE_PII_KEY") or None,
        )


def _verify_files(model_root: Path, booster_path: Path, meta: dict[str, Any]) -> None:
    """Every file of the model against the manifest written when it was registered (dropscore checks
    the same files, and the manifest against the registry's tag, before it scores). MLflow keeps
    artifacts under ``<model>/artifacts/``, so the model is two levels up.

    Here, without the registry's tag and after this code has run, it catches a corrupt or partial
    copy and an edit of the data files, not a forger who rewrote the manifest and the code as well:
    against that, load the version with dropscore first (``shared.model.registered.load`` refuses it).
    """
    from shared.errors import ModelIntegrityError
    from shared.model import artifact_integrity
    from shared.model.registered import MANIFEST_PATH

    manifest = model_root / MANIFEST_PATH
    if manifest.is_file():
        files = json.loads(manifest.read_bytes())["sha256"]
        artifact_integrity.verify_files(model_root.name, model_root, files)
    actual = artifact_integrity.sha256_of(booster_path)
    if actual != meta["model_sha256"]:
        raise ModelIntegrityError(f"{booster_path.name} sha256 {actual[:12]}… is not the registered {meta['model_sha256'][:12]}…; refusing to score with it")


mlflow.models.set_model(DropscoreModel())
