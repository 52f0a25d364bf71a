"""Drift statistics: the result of a test, what its numbers mean, and when a feature counts as drifted.

The tests themselves (:mod:`shared.monitor.two_sample_tests`) compare a *reference* sample
(what the champion was trained on) with a *current* window (what it scored lately) and return
a :class:`DriftStatistic`; which test a feature gets is :mod:`shared.monitor.drift_values`.
Here: the thresholds, :func:`severity_of`, PSI, the Benjamini–Hochberg correction for
multiple testing and :func:`is_drifted`. Nothing here reads files, settings or the clock.

Which way every threshold points (stated, not hidden):

- effect size (KS D, L-infinity distance of shares, absolute difference of
  missing rates): **higher means more drift**; severity is ``low`` below
  :data:`SEVERITY_MEDIUM`, ``medium`` from :data:`SEVERITY_MEDIUM` up to (not
  including) :data:`SEVERITY_HIGH`, ``high`` from :data:`SEVERITY_HIGH` up;
- p-value (and the Benjamini–Hochberg adjusted p-value): **lower means more
  drift**; significant when the adjusted p-value is ``<= alpha``;
- PSI: **higher means more drift**; it is reported for every feature but does not
  decide anything (the common reading is < 0.1 stable, 0.1–0.25 moderate,
  > 0.25 major shift);
- minimum sample: fewer than ``min_rows`` non-null rows on either side means
  ``insufficient_data``, never drift.

A feature counts as drifted only when it is significant after correction **and**
its severity is at least ``medium``: with tens of thousands of rows a test flags
differences too small to matter, and the effect size is what keeps those quiet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

SEVERITY_MEDIUM: float = 0.1
"""Effect size from which a change is ``medium`` (higher effect = more drift)."""
SEVERITY_HIGH: float = 0.3
"""Effect size from which a change is ``high`` (higher effect = more drift)."""

DEFAULT_MIN_ROWS: int = 500
"""Fewer non-null rows than this on either side: ``insufficient_data``, never drift."""

DEFAULT_SAMPLE_CAP: int = 50_000
"""Largest number of non-null values compared per side; larger sides are sampled (seeded).

Why 50 000: the sampling error of the effect sizes is already far below the
``medium`` threshold there (the KS D of two same-distribution samples of 50 000
is around 0.006, the standard error of a share at most 0.0023), so the decision
cannot change with more rows, while memory and time (a Cloud Function has a
memory cap and 540 s per event) keep growing with them.
"""

DEFAULT_ALPHA: float = 0.05
"""False discovery rate for the Benjamini–Hochberg correction (lower p = more drift)."""

DEFAULT_RARE_SHARE: float = 0.01
"""Reference categories with a share below this are grouped into ``__other__``."""

NUMERIC_BIN_COUNT: int = 10
"""Numeric PSI bins: deciles of the reference."""

PSI_EPSILON: float = 1e-4
"""Floor for an empty bin's share in PSI, so that log(0) never happens."""

KS_EXACT_MAX_ROWS: int = 10_000
"""Largest side for which the KS p-value is computed exactly.

Up to here the exact distribution costs about 20 ms and matters for small
samples; above it the asymptotic p-value agrees to about three digits, while the
exact one grows with n_reference × n_current (close to a second at 100 000 vs
50 000) and scipy may give up on it with a warning.
"""

CHI2_MIN_EXPECTED: float = 5.0
"""Smallest expected count a chi-square bucket keeps on its own; sparser buckets are pooled.

The same floor sends the missing-rate test to Fisher's exact test (see :func:`missing_rate_drift`).
"""

OTHER_CATEGORY: str = "__other__"
"""Bucket of categories that are rare in the reference (share < ``rare_share``)."""
UNSEEN_CATEGORY: str = "__unseen__"
"""Bucket of current values never seen in the reference."""

SEVERITY_LOW = "low"
SEVERITY_LABEL_MEDIUM = "medium"
SEVERITY_LABEL_HIGH = "high"
SEVERITY_INSUFFICIENT = "insufficient_data"

NUMERIC_KIND = "numeric"
CATEGORICAL_KIND = "categorical"

# Effect sizes come out of subtractions of shares (0.12 - 0.02 = 0.09999999999999999);
# rounding before comparing keeps a change of exactly 0.1 from reading as "low".
_SEVERITY_ROUNDING_DIGITS = 12


@dataclass(frozen=True)
class DriftStatistic:
    """The outcome of one drift test on one feature.

    ``effect_size`` and ``psi``: higher means more drift. ``p_value`` (raw, before
    the multiple-testing correction): lower means more drift.
    ``higher_means_drift`` states the direction of ``effect_size`` explicitly for
    whoever draws or compares it. ``rows_reference`` / ``rows_current`` count the
    rows that were available (non-null rows for numeric and categorical values, all
    rows for the missing rate), before any sampling; ``sampled`` says whether a
    side was cut to the sample cap.

    ``bins`` holds what a report needs to draw reference against current:

    - numeric: ``{"edges": [...], "reference_shares": [...], "current_shares": [...]}``
      with ``len(edges) == len(shares) + 1``; bins are ``[edge, next edge)``; the
      outer bins are open-ended when counting, and their outer edges are shown at
      the smallest and largest value compared, so every number is finite
      (JSON-safe); when the largest value carries a point mass the last bin has
      zero width (it holds exactly that value);
    - categorical: ``{category: (reference share, current share)}`` including
      :data:`OTHER_CATEGORY` and :data:`UNSEEN_CATEGORY`;
    - missing rate: ``{"missing": (ref, cur), "present": (ref, cur)}``;
    - empty when the data are insufficient.
    """

    method: str
    effect_size: float | None
    p_value: float | None
    psi: float | None
    severity: str
    insufficient_data: bool
    rows_reference: int
    rows_current: int
    higher_means_drift: bool = True
    bins: dict[str, Any] = field(default_factory=dict)
    sampled: bool = False


def severity_of(effect_size: float | None) -> str:
    """Severity label from an effect size; higher effect means more drift.

    ``None`` -> ``"insufficient_data"``; below :data:`SEVERITY_MEDIUM` -> ``"low"``;
    from :data:`SEVERITY_MEDIUM` (inclusive) -> ``"medium"``; from
    :data:`SEVERITY_HIGH` (inclusive) -> ``"high"``.
    """
    if effect_size is None:
        return SEVERITY_INSUFFICIENT
    if math.isnan(effect_size):
        raise ValueError("effect size is NaN")
    rounded = round(abs(float(effect_size)), _SEVERITY_ROUNDING_DIGITS)
    if rounded >= SEVERITY_HIGH:
        return SEVERITY_LABEL_HIGH
    if rounded >= SEVERITY_MEDIUM:
        return SEVERITY_LABEL_MEDIUM
    return SEVERITY_LOW


def population_stability_index(
    reference_shares: ArrayLike, current_shares: ArrayLike, epsilon: float = PSI_EPSILON
) -> float:
    """PSI = sum over bins of (current - reference) * ln(current / reference).

    Higher means more drift (0 for identical distributions). Both inputs are
    normalised to sum to 1 (so counts work too); then every share is floored at
    ``epsilon`` so that an empty bin costs a large but finite amount instead of
    infinity.
    """
    reference = np.asarray(reference_shares, dtype=float)
    current = np.asarray(current_shares, dtype=float)
    if reference.ndim != 1 or reference.shape != current.shape:
        raise ValueError("reference and current shares must be 1-D arrays of the same length")
    if reference.size == 0:
        raise ValueError("PSI needs at least one bin")
    if (
        np.any(reference < 0)
        or np.any(current < 0)
        or not (np.all(np.isfinite(reference)) and np.all(np.isfinite(current)))
    ):
        raise ValueError("shares must be finite and non-negative")
    reference_total, current_total = reference.sum(), current.sum()
    if reference_total <= 0 or current_total <= 0:
        raise ValueError("shares must not all be zero")
    reference = np.maximum(reference / reference_total, epsilon)
    current = np.maximum(current / current_total, epsilon)
    return float(np.sum((current - reference) * np.log(current / reference)))


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values (lower means more drift).

    ``adjusted_(i) = min over j >= i of (m / j) * p_(j)`` on the ascending order,
    capped at 1, returned in the input order; monotone in the raw p-values.
    ``None`` (a test that did not run, e.g. insufficient data) passes through and
    does not count in ``m``. Comparing the adjusted values with ``alpha`` controls
    the false discovery rate at ``alpha``.
    """
    positions = [index for index, value in enumerate(p_values) if value is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if not positions:
        return adjusted
    raw = np.array([p_values[index] for index in positions], dtype=float)
    if np.any(np.isnan(raw)) or np.any(raw < 0) or np.any(raw > 1):
        raise ValueError("p-values must lie in [0, 1]")
    count = raw.size
    order = np.argsort(raw, kind="stable")
    scaled = raw[order] * count / np.arange(1, count + 1)
    # running minimum from the largest p-value down keeps the result monotone
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    monotone = np.minimum(monotone, 1.0)
    in_input_order = np.empty(count, dtype=float)
    in_input_order[order] = monotone
    for index, value in zip(positions, in_input_order, strict=True):
        adjusted[index] = float(value)
    return adjusted


def is_drifted(
    statistic: DriftStatistic, adjusted_p_value: float | None, alpha: float = DEFAULT_ALPHA
) -> bool:
    """True when the feature drifted: significant after correction AND at least medium.

    Significant means ``adjusted_p_value <= alpha`` (lower p = more drift); at least
    medium means ``effect_size >= SEVERITY_MEDIUM`` (higher effect = more drift).
    Never true for insufficient data or a missing adjusted p-value.
    """
    if statistic.insufficient_data or adjusted_p_value is None:
        return False
    if statistic.severity not in (SEVERITY_LABEL_MEDIUM, SEVERITY_LABEL_HIGH):
        return False
    return float(adjusted_p_value) <= alpha


def is_insufficient(rows_reference: int, rows_current: int, min_rows: int) -> bool:
    """Too few rows on either side for any test: ``insufficient_data``, never drift."""
    # at least one row even when min_rows is 0: no statistic exists on an empty side
    floor = max(int(min_rows), 1)
    return rows_reference < floor or rows_current < floor


def insufficient(method: str, rows_reference: int, rows_current: int) -> DriftStatistic:
    """The result of a test that could not run for lack of rows."""
    return DriftStatistic(
        method=method,
        effect_size=None,
        p_value=None,
        psi=None,
        severity=SEVERITY_INSUFFICIENT,
        insufficient_data=True,
        rows_reference=rows_reference,
        rows_current=rows_current,
        higher_means_drift=True,
        bins={},
    )
