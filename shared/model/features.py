"""From clean, typed rows to the matrix the model sees (the same code at training and scoring)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.ingest.contract import Contract


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


def class_codes(values: pd.Series, contract: Contract) -> np.ndarray:
    """Multiclass target as codes in the contract's class order; -1 for a value outside the classes or missing."""
    lookup = {name: code for code, name in enumerate(contract.classes)}
    text = values.astype("object").where(values.notna(), None)
    return np.array([lookup.get(str(v), -1) if v is not None else -1 for v in text], dtype=np.int64)


def regression_target(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def target_for_task(values: pd.Series, contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """(target, usable): 0/1, class codes or numbers by the contract's task, and which rows have a usable one."""
    if contract.task == "multiclass":
        codes = class_codes(values, contract)
        return codes, codes >= 0
    if contract.task == "regression":
        numbers = regression_target(values)
        return numbers, np.isfinite(numbers)
    return target_vector(values, contract), values.notna().to_numpy()
