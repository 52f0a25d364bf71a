"""How a column's values are read for the drift tests: as finite numbers or as category labels, and which test a feature gets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from shared.monitor.drift_stats import CATEGORICAL_KIND, NUMERIC_KIND

_DECLARED_NUMERIC_TYPES = frozenset(
    {"numeric", "number", "float", "double", "decimal", "integer", "int", "real"}
)
_DECLARED_CATEGORICAL_TYPES = frozenset(
    {"categorical", "category", "string", "str", "text", "boolean", "bool"}
)


def choose_kind(values: ArrayLike, declared_type: str | None = None, max_categories: int = 20) -> str:
    """``"numeric"`` or ``"categorical"``: which test a feature gets.

    A declared type wins over what the values look like: a declared string,
    category or boolean is categorical even when its values are digits (postal
    codes). Numeric values (declared numeric, or undeclared and all parsing as
    numbers) with at most ``max_categories`` distinct values count as categorical
    too: a low-cardinality column has few, heavily tied values, where comparing
    category shares says more than a KS test. Unknown declared types fall back to
    looking at the values.
    """
    declared = declared_type.strip().lower() if declared_type else None
    if declared in _DECLARED_CATEGORICAL_TYPES:
        return CATEGORICAL_KIND
    series = pd.Series(_as_one_dimensional(values))
    non_null = series[series.notna()]
    if declared not in _DECLARED_NUMERIC_TYPES:
        if pd.api.types.is_bool_dtype(non_null.dtype) or not _looks_numeric(non_null):
            return CATEGORICAL_KIND
    numbers = pd.to_numeric(non_null, errors="coerce")
    distinct_values = int(numbers.dropna().nunique())
    if distinct_values <= max_categories:
        return CATEGORICAL_KIND
    return NUMERIC_KIND


def _as_one_dimensional(values: ArrayLike) -> Any:
    # lists and tuples go to pandas as they are, so it infers a numeric dtype and
    # the conversions below stay vectorised
    if isinstance(values, np.ndarray):
        return values.reshape(-1)
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column, not a DataFrame")
    return values


def finite_numbers(values: ArrayLike) -> np.ndarray:
    """The finite numbers among the values (NaN, infinities and text that is not a number left out)."""
    series = pd.Series(_as_one_dimensional(values))
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(float)
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return numbers[np.isfinite(numbers)]


def _looks_numeric(non_null: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(non_null.dtype):
        return True
    if non_null.empty:
        return False
    return bool(pd.to_numeric(non_null, errors="coerce").notna().all())


def label_counts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels (sorted) and their counts.

    A hash count (pandas) rather than ``np.unique``: sorting an object array of strings
    compares Python objects one pair at a time, which dominated the check's run time.
    """
    counts = pd.Series(labels, dtype=object).value_counts(sort=False)
    order = np.argsort(counts.index.to_numpy(dtype=object).astype(str), kind="stable")
    return counts.index.to_numpy(dtype=object)[order], counts.to_numpy(dtype=np.int64)[order]


def category_labels(values: ArrayLike) -> np.ndarray:
    """The non-null values as strings, so that 1, 1.0 and np.int64(1) are the same category "1"."""
    series = pd.Series(_as_one_dimensional(values))
    non_null = series[series.notna()]
    if non_null.empty:
        return np.array([], dtype=object)
    if pd.api.types.is_string_dtype(non_null.dtype) and pd.api.types.infer_dtype(non_null, skipna=True) == "string":
        # already text (the usual case for declared categoricals): no per-value conversion
        return non_null.to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(non_null.dtype):
        return _float_labels(non_null.to_numpy(dtype=float))
    if pd.api.types.is_integer_dtype(non_null.dtype) or pd.api.types.is_bool_dtype(non_null.dtype):
        return non_null.astype(str).to_numpy(dtype=object)
    return np.array([_label(value) for value in non_null.tolist()], dtype=object)


def _float_labels(numbers: np.ndarray) -> np.ndarray:
    labels = np.empty(numbers.size, dtype=object)
    integral = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)
    labels[integral] = numbers[integral].astype(np.int64).astype(str)
    labels[~integral] = [repr(float(number)) for number in numbers[~integral]]
    return labels


def _label(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return str(_float_labels(np.array([value]))[0])
    return str(value)
