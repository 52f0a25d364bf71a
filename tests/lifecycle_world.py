"""Small, fast tables for the model-lifecycle tests: a sales table with real signal, its contract,
and helpers to write CSVs, train and register models on an embedded home."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shared.ingest.contract import Contract
from shared.settings import Settings

REGIONS = ["Costa", "Sierra", "Oriente"]
SEXES = ["hombre", "mujer"]


def sales_table(rows: int, seed: int, *, start: int = 0, signal: float = 1.0, flip: float = 0.0) -> pd.DataFrame:
    """id, ventas, empleados, region, sexo, ruido -> compra (sí/no, about 35 % sí).

    ``signal`` scales how much the features matter (0: pure noise); ``flip`` is the share of
    labels turned around afterwards (a world that changed under the model).
    """
    rng = np.random.default_rng(seed)
    ventas = rng.gamma(2.0, 500.0, rows)
    empleados = rng.integers(1, 30, rows).astype(float)
    region = rng.choice(REGIONS, rows)
    sexo = rng.choice(SEXES, rows)
    ruido = rng.normal(size=rows)
    logit = signal * (2.0 * (ventas - 1000) / 700 + 0.08 * (empleados - 15) + np.where(region == "Costa", 1.0, 0.0)) - 0.7
    compra = rng.random(rows) < 1 / (1 + np.exp(-logit))
    if flip:
        turned = rng.random(rows) < flip
        compra = np.where(turned, ~compra, compra)
    return pd.DataFrame(
        {
            "id": [f"C{start + i:06d}" for i in range(rows)],
            "ventas": np.round(ventas, 2),
            "empleados": empleados,
            "region": region,
            "sexo": sexo,
            "ruido": np.round(ruido, 4),
            "compra": np.where(compra, "sí", "no"),
        }
    )


def contract_yaml(**sections: object) -> str:
    """The table's contract; keyword arguments replace or add top-level sections (gates, decision, ...)."""
    import yaml

    data: dict[str, object] = {
        "name": "ventas",
        "task": "binary",
        "target": {"column": "compra", "positive": "sí", "negative": "no"},
        "id_column": "id",
        "gates": {"roc_auc": 0.60, "precision": 0.30, "recall": 0.30},
        "training": {"time_budget_seconds": 2},
        "columns": {
            "id": {"type": "identifier"},
            "ventas": {"type": "numeric", "min": 0},
            "empleados": {"type": "numeric", "min": 0},
            "region": {"type": "categorical", "values": REGIONS},
            "sexo": {"type": "categorical", "values": SEXES},
            "ruido": {"type": "numeric"},
            "compra": {"type": "categorical", "values": ["no", "sí"], "nullable": False},
        },
    }
    data.update(sections)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def contract(**sections: object) -> Contract:
    return Contract.from_yaml(contract_yaml(**sections))


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def features_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["compra"])


def labels_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["id", "compra"]]


_TEMPLATE_DB: Path | None = None


def _template_mlflow_db() -> Path:
    """An MLflow sqlite database with its tables created, made once per test process.

    Creating the tables (alembic migrations) takes several seconds; copying the file takes none.
    """
    global _TEMPLATE_DB
    if _TEMPLATE_DB is None:
        import tempfile

        from mlflow import MlflowClient

        folder = Path(tempfile.mkdtemp(prefix="dropscore-mlflow-template-"))
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
        _TEMPLATE_DB = folder / "mlflow.db"
    return _TEMPLATE_DB


def embedded_home(tmp_path: Path, monkeypatch) -> Settings:  # noqa: ANN001 - pytest's MonkeyPatch
    """A fresh embedded DROPSCORE_HOME whose MLflow database is already initialized."""
    import shutil

    from shared.settings import load_settings

    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(_template_mlflow_db(), home / "mlflow.db")
    monkeypatch.setenv("DROPSCORE_HOME", str(home))
    return load_settings()
