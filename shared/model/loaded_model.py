"""A model version loaded to score with: its booster, contract, metadata and drift reference sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.ingest.contract import Contract

if TYPE_CHECKING:
    # Type hints only: LightGBM pulls scikit-learn and SciPy (70-80 MiB RSS), which reading a contract never needs.
    import lightgbm as lgb


@dataclass
class LoadedModel:
    version: str
    booster: lgb.Booster
    contract: Contract
    meta: dict[str, Any]
    reference_sample: pd.DataFrame

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def feature_importance(self) -> dict[str, float]:
        return dict(self.meta["feature_importance"])
