"""From clean, typed rows to the matrix the model sees (the same code at training and scoring)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.contract import Contract


def model_matrix(clean: pd.DataFrame, contract: Contract, features: list[str]) -> pd.DataFrame:
    """Numeric columns as float, categoricals as pandas categories fixed by the contract.

    Fixing the category list (not letting pandas infer it per batch) keeps category codes
    identical between training and every scoring batch; LightGBM's native categorical
    handling relies on that. A missing column becomes all-missing, which LightGBM handles.
    """
    columns: dict[str, pd.Series] = {}
    for name in features:
        spec = contract.columns[name]
        values = clean[name] if name in clean.columns else pd.Series(np.nan, index=clean.index)
        if spec.type == "categorical":
            columns[name] = pd.Categorical(values.astype("object").where(values.notna(), None), categories=spec.values or [])
        else:
            columns[name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.DataFrame(columns, index=clean.index)


def target_vector(values: pd.Series, contract: Contract) -> np.ndarray:
    return (values.astype(str) == contract.positive).to_numpy(dtype=np.int8)
