"""The two-sample drift tests: numbers (KS), categories (L-infinity + chi-square), missing rate.

Each compares a *reference* sample (what the champion was trained on) with a *current* window
(what it scored lately) and returns a :class:`shared.monitor.drift_stats.DriftStatistic`; what
the numbers mean and when a feature counts as drifted is :mod:`shared.monitor.drift_stats`.
Pure functions: nothing here reads files, settings or the clock.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from shared.monitor.drift_stats import (
    CHI2_MIN_EXPECTED,
    DEFAULT_MIN_ROWS,
    DEFAULT_RARE_SHARE,
    DEFAULT_SAMPLE_CAP,
    KS_EXACT_MAX_ROWS,
    NUMERIC_BIN_COUNT,
    OTHER_CATEGORY,
    UNSEEN_CATEGORY,
    DriftStatistic,
    insufficient,
    is_insufficient,
    population_stability_index,
    severity_of,
)
from shared.monitor.drift_values import category_labels, finite_numbers, label_counts


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
    reference_values = finite_numbers(reference)
    current_values = finite_numbers(current)
    rows_reference, rows_current = reference_values.size, current_values.size
    if is_insufficient(rows_reference, rows_current, min_rows):
        return insufficient("ks", rows_reference, rows_current)

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
    reference_labels = category_labels(reference)
    current_labels = category_labels(current)
    rows_reference, rows_current = reference_labels.size, current_labels.size
    if is_insufficient(rows_reference, rows_current, min_rows):
        return insufficient("linf_chi2", rows_reference, rows_current)

    random_generator = np.random.default_rng(seed)
    reference_labels, reference_sampled = _sample(reference_labels, sample_cap, random_generator)
    current_labels, current_sampled = _sample(current_labels, sample_cap, random_generator)

    reference_categories, reference_counts = label_counts(reference_labels)
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
    current_categories, current_counts = label_counts(current_labels)
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
    if is_insufficient(reference_rows, current_rows, min_rows):
        return insufficient("missing_rate", int(reference_rows), int(current_rows))

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
