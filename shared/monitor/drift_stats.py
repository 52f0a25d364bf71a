"""Drift statistics: pure functions with one signature and one result dataclass.

Every function here compares a *reference* sample (what the champion was trained
on) with a *current* window (what it scored lately) and returns a
:class:`DriftStatistic`. Nothing here reads files, settings or the clock; the
drift check (elsewhere) chooses the test per feature, corrects the p-values for
multiple testing with :func:`benjamini_hochberg` and decides with
:func:`is_drifted`.

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
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

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

_DECLARED_NUMERIC_TYPES = frozenset(
    {"numeric", "number", "float", "double", "decimal", "integer", "int", "real"}
)
_DECLARED_CATEGORICAL_TYPES = frozenset(
    {"categorical", "category", "string", "str", "text", "boolean", "bool"}
)

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


# --------------------------------------------------------------------------- helpers


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


# --------------------------------------------------------------------------- tests


def numeric_drift(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    seed: int = 0,
) -> DriftStatistic:
    """Two-sample Kolmogorov–Smirnov test; effect size is the KS statistic D.

    D is the largest gap between the two empirical distribution functions, in
    [0, 1]: higher means more drift. The p-value (lower = more drift) is exact up
    to :data:`KS_EXACT_MAX_ROWS` values per side and asymptotic above. PSI uses
    ten bins on reference deciles (duplicate edges dropped, outer bins
    open-ended), epsilon-smoothed.

    NaN, infinities and values that are not numbers are ignored here (the missing
    rate is its own signal, see :func:`missing_rate_drift`). Fewer than
    ``min_rows`` remaining values on either side -> ``insufficient_data``. Sides
    larger than ``sample_cap`` are sampled without replacement, seeded by ``seed``.
    """
    reference_values = _finite_numbers(reference)
    current_values = _finite_numbers(current)
    rows_reference, rows_current = reference_values.size, current_values.size
    if _is_insufficient(rows_reference, rows_current, min_rows):
        return _insufficient("ks", rows_reference, rows_current)

    random_generator = np.random.default_rng(seed)
    reference_values, reference_sampled = _sample(reference_values, sample_cap, random_generator)
    current_values, current_sampled = _sample(current_values, sample_cap, random_generator)

    method = "exact" if max(reference_values.size, current_values.size) <= KS_EXACT_MAX_ROWS else "asymp"
    result = stats.ks_2samp(reference_values, current_values, method=method)

    interior_edges = _reference_quantile_edges(reference_values, NUMERIC_BIN_COUNT)
    reference_shares = _bin_shares(reference_values, interior_edges)
    current_shares = _bin_shares(current_values, interior_edges)
    lowest = float(min(reference_values.min(), current_values.min()))
    highest = float(max(reference_values.max(), current_values.max()))
    drawn_edges = [lowest, *(float(edge) for edge in interior_edges), highest]
    if interior_edges.size and interior_edges[0] <= lowest:
        # the smallest value carries a point mass (say, many zeros): the bin below it
        # is empty on both sides by construction, so it is not drawn (its PSI term is 0)
        drawn_edges = drawn_edges[1:]
        reference_shares, current_shares = reference_shares[1:], current_shares[1:]

    effect_size = float(result.statistic)
    return DriftStatistic(
        method="ks",
        effect_size=effect_size,
        p_value=float(result.pvalue),
        psi=population_stability_index(reference_shares, current_shares),
        severity=severity_of(effect_size),
        insufficient_data=False,
        rows_reference=rows_reference,
        rows_current=rows_current,
        higher_means_drift=True,
        bins={
            "edges": drawn_edges,
            "reference_shares": [float(share) for share in reference_shares],
            "current_shares": [float(share) for share in current_shares],
        },
        sampled=reference_sampled or current_sampled,
    )


def categorical_drift(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    rare_share: float = DEFAULT_RARE_SHARE,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    seed: int = 0,
) -> DriftStatistic:
    """L-infinity distance of category shares plus a chi-square p-value.

    Effect size: the largest absolute difference between a category's reference
    share and its current share, in [0, 1]; higher means more drift. Categories
    whose reference share is below ``rare_share`` are grouped into
    ``__other__``; current values absent from the reference are counted in
    ``__unseen__``. The chi-square p-value (lower = more drift) and the PSI (higher
    = more drift) use the same grouped categories; for the p-value, buckets with an
    expected count under :data:`CHI2_MIN_EXPECTED` are pooled first.

    Values are compared as strings (``1``, ``1.0`` and ``np.int64(1)`` are the
    same category ``"1"``, so a column read as float in one window and as integer
    in the other does not drift by itself); None/NaN are ignored. Fewer than
    ``min_rows`` non-null values on either side -> ``insufficient_data``.
    """
    reference_labels = _category_labels(reference)
    current_labels = _category_labels(current)
    rows_reference, rows_current = reference_labels.size, current_labels.size
    if _is_insufficient(rows_reference, rows_current, min_rows):
        return _insufficient("linf_chi2", rows_reference, rows_current)

    random_generator = np.random.default_rng(seed)
    reference_labels, reference_sampled = _sample(reference_labels, sample_cap, random_generator)
    current_labels, current_sampled = _sample(current_labels, sample_cap, random_generator)

    reference_categories, reference_counts = _label_counts(reference_labels)
    reference_total = reference_labels.size
    reference_share_of = dict(
        zip(reference_categories.tolist(), (reference_counts / reference_total).tolist(), strict=True)
    )
    kept_categories = sorted(
        (category for category, share in reference_share_of.items() if share >= rare_share),
        key=lambda category: (-reference_share_of[category], category),
    )
    kept = set(kept_categories)

    def grouped(category: str) -> str:
        if category in kept:
            return category
        if category in reference_share_of:
            return OTHER_CATEGORY
        return UNSEEN_CATEGORY

    buckets = [*kept_categories, OTHER_CATEGORY, UNSEEN_CATEGORY]
    reference_bucket_counts = dict.fromkeys(buckets, 0)
    current_bucket_counts = dict.fromkeys(buckets, 0)
    for category, count in zip(reference_categories.tolist(), reference_counts.tolist(), strict=True):
        reference_bucket_counts[grouped(category)] += int(count)
    current_categories, current_counts = _label_counts(current_labels)
    for category, count in zip(current_categories.tolist(), current_counts.tolist(), strict=True):
        current_bucket_counts[grouped(category)] += int(count)

    reference_counts_array = np.array([reference_bucket_counts[bucket] for bucket in buckets], dtype=float)
    current_counts_array = np.array([current_bucket_counts[bucket] for bucket in buckets], dtype=float)
    reference_shares = reference_counts_array / reference_counts_array.sum()
    current_shares = current_counts_array / current_counts_array.sum()
    effect_size = float(np.max(np.abs(reference_shares - current_shares)))

    # chi2_contingency on the 2 x k table (a test of homogeneity) rather than
    # chisquare against the reference shares: the reference is itself a sample, and
    # treating its shares as exact understates the noise and overstates
    # significance when the reference is small. It also needs no epsilon: a bucket
    # empty on one side still has a positive expected count, and buckets empty on
    # both sides are dropped. With a single bucket left there is nothing to test
    # (scipy returns statistic 0, p 1).
    observed_buckets = (reference_counts_array + current_counts_array) > 0
    table = _pool_sparse_columns(
        np.vstack([reference_counts_array[observed_buckets], current_counts_array[observed_buckets]])
    )
    # Yates's continuity correction is off so that 2 and k buckets are tested alike.
    p_value = float(stats.chi2_contingency(table, correction=False).pvalue) if table.shape[1] > 1 else 1.0

    return DriftStatistic(
        method="linf_chi2",
        effect_size=effect_size,
        p_value=p_value,
        psi=population_stability_index(reference_shares, current_shares),
        severity=severity_of(effect_size),
        insufficient_data=False,
        rows_reference=rows_reference,
        rows_current=rows_current,
        higher_means_drift=True,
        bins={
            bucket: (float(reference_share), float(current_share))
            for bucket, reference_share, current_share in zip(
                buckets, reference_shares, current_shares, strict=True
            )
        },
        sampled=reference_sampled or current_sampled,
    )


def missing_rate_drift(
    reference_missing: int,
    reference_rows: int,
    current_missing: int,
    current_rows: int,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> DriftStatistic:
    """Change of the missing-value rate, as its own signal.

    Effect size: ``|current rate - reference rate|`` in [0, 1]; higher means more
    drift. P-value (lower = more drift): two-sided two-proportion z test with the
    pooled rate, which for two groups is the same test as Pearson's chi-square on
    the 2 x 2 table without continuity correction; when an expected cell count is
    under :data:`CHI2_MIN_EXPECTED`, Fisher's exact test instead. PSI is not reported (None).
    ``min_rows`` applies to all rows here (missing ones are the point); fewer on
    either side -> ``insufficient_data``.
    """
    for missing, rows, side in (
        (reference_missing, reference_rows, "reference"),
        (current_missing, current_rows, "current"),
    ):
        if rows < 0 or missing < 0 or missing > rows:
            raise ValueError(f"{side}: need 0 <= missing ({missing}) <= rows ({rows})")
    if _is_insufficient(reference_rows, current_rows, min_rows):
        return _insufficient("missing_rate", int(reference_rows), int(current_rows))

    reference_rate = reference_missing / reference_rows
    current_rate = current_missing / current_rows
    pooled_rate = (reference_missing + current_missing) / (reference_rows + current_rows)
    standard_error = math.sqrt(pooled_rate * (1 - pooled_rate) * (1 / reference_rows + 1 / current_rows))
    pooled_missing = reference_missing + current_missing
    pooled_present = reference_rows + current_rows - pooled_missing
    smallest_expected = min(pooled_missing, pooled_present) * min(reference_rows, current_rows) / (reference_rows + current_rows)
    if standard_error == 0:
        # nothing missing anywhere, or everything missing everywhere: the rates are equal
        p_value = 1.0
    elif smallest_expected < CHI2_MIN_EXPECTED:
        # a handful of missing values: the normal approximation runs hot there; count exactly
        table = [[reference_missing, reference_rows - reference_missing], [current_missing, current_rows - current_missing]]
        p_value = float(stats.fisher_exact(table).pvalue)
    else:
        z_score = (current_rate - reference_rate) / standard_error
        p_value = float(2 * stats.norm.sf(abs(z_score)))

    effect_size = abs(current_rate - reference_rate)
    return DriftStatistic(
        method="missing_rate",
        effect_size=effect_size,
        p_value=p_value,
        psi=None,
        severity=severity_of(effect_size),
        insufficient_data=False,
        rows_reference=int(reference_rows),
        rows_current=int(current_rows),
        higher_means_drift=True,
        bins={
            "missing": (float(reference_rate), float(current_rate)),
            "present": (float(1 - reference_rate), float(1 - current_rate)),
        },
    )


# --------------------------------------------------------------------------- private


def _pool_sparse_columns(table: np.ndarray, min_expected: float = CHI2_MIN_EXPECTED) -> np.ndarray:
    """The 2 x k table with its sparse buckets pooled so that every expected count reaches ``min_expected``.

    Buckets whose smaller expected count is under the floor are added together; if the pooled
    bucket is still under it, it joins the sparsest of the others. Chi-square's p-value is
    only trustworthy with expected counts of about five or more: a single unseen value among
    1 000 rows (expected 0.05 on the current side) would otherwise read as p < 1e-10.
    """

    def expected_minimum(columns: np.ndarray) -> np.ndarray:
        total = columns.sum()
        return (columns.sum(axis=1, keepdims=True) * columns.sum(axis=0, keepdims=True) / total).min(axis=0)

    sparse = expected_minimum(table) < min_expected
    if not sparse.any():
        return table
    kept = table[:, ~sparse]
    pooled = table[:, sparse].sum(axis=1, keepdims=True)
    if kept.shape[1] == 0:
        return pooled
    merged = np.hstack([kept, pooled])
    if expected_minimum(merged)[-1] < min_expected:
        sparsest = int(np.argmin(expected_minimum(kept)))
        kept = kept.copy()
        kept[:, sparsest] += pooled[:, 0]
        return kept
    return merged


def _is_insufficient(rows_reference: int, rows_current: int, min_rows: int) -> bool:
    # at least one row even when min_rows is 0: no statistic exists on an empty side
    floor = max(int(min_rows), 1)
    return rows_reference < floor or rows_current < floor


def _insufficient(method: str, rows_reference: int, rows_current: int) -> DriftStatistic:
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


def _as_one_dimensional(values: ArrayLike) -> Any:
    # lists and tuples go to pandas as they are, so it infers a numeric dtype and
    # the conversions below stay vectorised
    if isinstance(values, np.ndarray):
        return values.reshape(-1)
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column, not a DataFrame")
    return values


def _finite_numbers(values: ArrayLike) -> np.ndarray:
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


def _label_counts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels (sorted) and their counts.

    A hash count (pandas) rather than ``np.unique``: sorting an object array of strings
    compares Python objects one pair at a time, which dominated the check's run time.
    """
    counts = pd.Series(labels, dtype=object).value_counts(sort=False)
    order = np.argsort(counts.index.to_numpy(dtype=object).astype(str), kind="stable")
    return counts.index.to_numpy(dtype=object)[order], counts.to_numpy(dtype=np.int64)[order]


def _category_labels(values: ArrayLike) -> np.ndarray:
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


def _sample(
    values: np.ndarray, sample_cap: int, random_generator: np.random.Generator
) -> tuple[np.ndarray, bool]:
    if sample_cap < 1:
        raise ValueError("sample_cap must be at least 1")
    if values.size <= sample_cap:
        return values, False
    chosen = random_generator.choice(values.size, size=sample_cap, replace=False)
    return values[chosen], True


def _reference_quantile_edges(reference_values: np.ndarray, bin_count: int) -> np.ndarray:
    # interior edges only: the outer bins are open-ended so current values outside
    # the reference range still land in a bin
    quantiles = np.quantile(reference_values, np.linspace(0.0, 1.0, bin_count + 1)[1:-1])
    return np.unique(quantiles)


def _bin_shares(values: np.ndarray, interior_edges: np.ndarray) -> np.ndarray:
    # bins are [edge_i, edge_i+1): a value equal to an edge goes to the bin above it
    bin_indexes = np.searchsorted(interior_edges, values, side="right")
    counts = np.bincount(bin_indexes, minlength=interior_edges.size + 1)
    return counts / values.size
