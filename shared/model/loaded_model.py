"""A model version loaded to score with: its booster, contract, metadata and drift reference sample (read when asked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.ingest.contract import Contract

if TYPE_CHECKING:
    # Type hints only: LightGBM pulls scikit-learn and SciPy (70-80 MiB RSS), which reading a contract never needs.
    import lightgbm as lgb


class _ReadWhenAsked:
    """A field given a frame, or a function that reads it: read on first use, then kept.

    The drift reference sample of a champion (10 000 rows × the features) is only read by the drift
    check; scoring never uses it. Read at every load it cost `dropscore score` and the score function
    ~25 MiB of peak memory and up to 0.1 s before the first batch (issue 16).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    def __get__(self, instance: object, owner: type | None = None) -> pd.DataFrame:
        if instance is None:
            raise AttributeError(self._slot)  # no default: the dataclass field is required
        value = instance.__dict__[self._slot]
        if not isinstance(value, pd.DataFrame):
            value = instance.__dict__[self._slot] = value()
        return value

    def __set__(self, instance: object, value: pd.DataFrame | Callable[[], pd.DataFrame]) -> None:
        instance.__dict__[self._slot] = value


@dataclass
class LoadedModel:
    version: str
    booster: lgb.Booster
    contract: Contract
    meta: dict[str, Any]
    reference_sample: pd.DataFrame = _ReadWhenAsked()  # type: ignore[assignment]  # a frame, or what reads it

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def feature_importance(self) -> dict[str, float]:
        return dict(self.meta["feature_importance"])
