"""Synthetic micro-business survey data for the demo (formalization of Ecuadorian micro-businesses).

The frames imitate an EMICRON-style survey: one row per micro-business, 84 feature columns with
Spanish snake_case names (location, owner, economics, formality, finance, technology, survey
metadata), an id column and the binary target ``formalizado`` ("si"/"no", about 10 % "si").

How the data is built, and why:

* A hidden "business capacity" factor drives most features, so they are correlated the way real
  survey answers are (bigger sales go with more workers, a RUC, a bank account, ...).
* The target is drawn from a fixed, non-linear logistic model of *observed* features only
  (thresholds and interactions; ``tiene_ruc``, ``lleva_contabilidad``, ``ventas_mensuales``,
  ``num_empleados`` and ``escolaridad_propietario`` weigh most). Because the hidden factor never
  enters it, P(target | features) is the same in every month and under every drift: only the
  feature distributions move, the concept stays.
* Drift is applied where a feature is generated, so features computed from it follow (drifting
  ``ventas_mensuales`` also moves ``costos_mensuales`` and the chance of having a RUC). Drift draws
  its randomness from its own stream: a drifted batch equals the undrifted batch of the same
  seed and month in everything upstream of the drifted feature.
* Missing answers are punched in at the end (completely at random), after the target is drawn.

Months: ``month=1`` is January 2024 and so on; ``month=0`` (December 2023) is the natural
reference/training month. Ids derive from month and row, so batches of different months never
share an id.

The survey's answers and their shares are in shared.local.survey_vocabulary; how a batch is drawn
from them in shared.local.survey_simulation. This module is the generator's interface: the columns
that matter to dropscore, the drift a batch may carry, the batch itself, and the files made of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from shared.local.survey_simulation import simulate
from shared.local.survey_vocabulary import (
    CATEGORICAL_DRIFT_FEATURES,
    CATEGORY_LABELS,
    NUMERIC_DRIFT_FEATURES,
    NUMERIC_DRIFT_SCALE,
    SI_NO,
)

TARGET_COLUMN = "formalizado"
NEGATIVE_LABEL, POSITIVE_LABEL = SI_NO
ID_COLUMN = "id_negocio"
ID_PREFIX = "MN-"

# Rows per month that keep ids unique: the id is the month followed by a 7-digit row number (from 1).
MAX_ROWS_PER_BATCH = 9_999_999


@dataclass(frozen=True)
class DriftSpec:
    """How one batch departs from the reference distribution.

    ``numeric_shift_sd``: feature -> shift of its mean in standard deviations of the reference
    distribution (see ``NUMERIC_DRIFT_SCALE`` for the scale each feature shifts on).
    ``category_share_shift``: feature -> (category, share points): the category gains that share
    (0.15 = fifteen percentage points; negative loses it) and the other categories shrink (or grow)
    proportionally.
    """

    numeric_shift_sd: Mapping[str, float] = field(default_factory=dict)
    category_share_shift: Mapping[str, tuple[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        numeric = {str(name): float(shift) for name, shift in self.numeric_shift_sd.items()}
        categorical = {
            str(name): (str(category), float(points))
            for name, (category, points) in self.category_share_shift.items()
        }
        for name, shift in numeric.items():
            if name not in NUMERIC_DRIFT_SCALE:
                raise ValueError(
                    f"numeric drift not supported for {name!r}; use one of {NUMERIC_DRIFT_FEATURES}"
                )
            if not np.isfinite(shift):
                raise ValueError(f"numeric drift for {name!r} must be finite, got {shift}")
        for name, (category, points) in categorical.items():
            if name not in CATEGORY_LABELS:
                raise ValueError(
                    f"category drift not supported for {name!r}; use one of {CATEGORICAL_DRIFT_FEATURES}"
                )
            if category not in CATEGORY_LABELS[name]:
                raise ValueError(f"{category!r} is not a category of {name!r}: {CATEGORY_LABELS[name]}")
            if not -1.0 < points < 1.0:
                raise ValueError(f"share shift for {name!r} must be within (-1, 1), got {points}")
        # Frozen all the way down: callers cannot change a spec after building it.
        object.__setattr__(self, "numeric_shift_sd", MappingProxyType(numeric))
        object.__setattr__(self, "category_share_shift", MappingProxyType(categorical))

    @property
    def is_empty(self) -> bool:
        return not self.numeric_shift_sd and not self.category_share_shift


def _ids(n_rows: int, *, month: int) -> np.ndarray:
    """Ids like MN-010000123: two-digit month (more when needed), then the 7-digit row number."""
    numbers = month * (MAX_ROWS_PER_BATCH + 1) + np.arange(1, n_rows + 1, dtype=np.int64)
    if n_rows == 0:
        return np.empty(0, dtype=object)
    return np.char.add(ID_PREFIX, np.char.zfill(numbers.astype(str), 9)).astype(object)


def generate_batch(n_rows: int, *, month: int, seed: int, drift: DriftSpec | None = None) -> pd.DataFrame:
    """One month of micro-businesses, with the target column.

    Same ``n_rows``, ``month``, ``seed`` and ``drift`` give an identical frame. ``month`` counts from
    1 = January 2024; 0 (December 2023) is the usual reference month.
    """
    if n_rows < 0 or n_rows > MAX_ROWS_PER_BATCH:
        raise ValueError(f"n_rows must be between 0 and {MAX_ROWS_PER_BATCH}, got {n_rows}")
    if month < 0:
        raise ValueError(f"month must be 0 or more, got {month}")
    columns, formalizado, _ = simulate(n_rows, month=month, seed=seed, drift=drift or DriftSpec(), drift_scale=lambda name: _reference_scales()[name])
    frame = pd.DataFrame({ID_COLUMN: _ids(n_rows, month=month), **columns})
    frame["fecha_inicio"] = pd.to_datetime(frame["fecha_inicio"])
    frame[TARGET_COLUMN] = np.where(formalizado, POSITIVE_LABEL, NEGATIVE_LABEL).astype(object)
    return frame


def without_target(frame: pd.DataFrame) -> pd.DataFrame:
    """What a user drops for scoring under ``incoming/``: every column but the target."""
    return frame.drop(columns=[TARGET_COLUMN])


def labels_of(frame: pd.DataFrame) -> pd.DataFrame:
    """What arrives a month later under ``labels/``: id and outcome only."""
    return frame[[ID_COLUMN, TARGET_COLUMN]].copy()


def write_excel_csv(frame: pd.DataFrame, path: Path) -> None:
    """Save ``frame`` the way Excel with Spanish (Ecuador) regional settings saves "CSV".

    Windows-1252 text, ``;`` between fields, decimal comma, dates as dd/mm/yyyy, CRLF line ends,
    no index column, blanks for missing values.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(
        path,
        sep=";",
        decimal=",",
        date_format="%d/%m/%Y",
        encoding="cp1252",
        lineterminator="\r\n",
        index=False,
    )


@lru_cache(maxsize=1)
def _reference_scales() -> dict[str, float]:
    """Standard deviation of each numeric drift feature in an undrifted reference batch.

    Measured on the scale the feature drifts on (raw or log1p); computed once per process.
    """
    reference = generate_batch(40_000, month=0, seed=20240101)
    scales: dict[str, float] = {}
    for name, kind in NUMERIC_DRIFT_SCALE.items():
        values = reference[name].dropna().to_numpy(dtype=float)
        scales[name] = float(np.std(np.log1p(values) if kind == "log" else values))
    return scales


# The 84 feature columns in output order (taken from an empty batch so the list cannot drift from the code).
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    name for name in generate_batch(0, month=0, seed=0).columns if name not in (ID_COLUMN, TARGET_COLUMN)
)


def plant_bad_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """A few rows as people really get them wrong (rows 3, 7 and 11), so a quarantine has something to show.

    Sales are written the Excel way (decimal comma, as text) so only the planted cells are wrong:
    sales in words, a negative head count, a missing id.
    """
    frame = frame.copy()
    frame["ventas_mensuales"] = frame["ventas_mensuales"].map(lambda v: "" if v != v else f"{v:.2f}".replace(".", ","))
    frame["num_empleados"] = frame["num_empleados"].astype("object")
    frame.loc[frame.index[3], "ventas_mensuales"] = "mil dólares"
    frame.loc[frame.index[7], "num_empleados"] = -2
    frame.loc[frame.index[11], ID_COLUMN] = None
    return frame
