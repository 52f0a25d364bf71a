"""Known-answer tests for shared.monitor.two_sample_tests: KS, category shares + chi-square, missing rate (pure statistics, no I/O)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from shared.monitor.drift_stats import (
    OTHER_CATEGORY,
    UNSEEN_CATEGORY,
    DriftStatistic,
    benjamini_hochberg,
    is_drifted,
    population_stability_index,
)
from shared.monitor.two_sample_tests import categorical_drift, missing_rate_drift, numeric_drift

# --------------------------------------------------------------------------- KS


def _exact_two_sided_ks_p_value(statistic: float, size: int) -> float:
    """P(D >= statistic) for two samples of ``size`` without ties, by enumerating all splits."""
    total = 2 * size
    at_least = 0
    splits = list(itertools.combinations(range(total), size))
    for first_positions in splits:
        first = set(first_positions)
        gap = 0.0
        first_seen = second_seen = 0
        for position in range(total):
            if position in first:
                first_seen += 1
            else:
                second_seen += 1
            gap = max(gap, abs(first_seen - second_seen) / size)
        if gap >= statistic - 1e-12:
            at_least += 1
    return at_least / len(splits)


def test_ks_statistic_hand_computed() -> None:
    # ECDFs: at x=2 reference 0.5, current 0; at x=4 reference 1, current 0.5 -> D = 0.5
    result = numeric_drift([1, 2, 3, 4], [3, 4, 5, 6], min_rows=4)
    assert result.method == "ks"
    assert result.effect_size == pytest.approx(0.5)
    assert result.severity == "high"
    assert result.higher_means_drift is True
    assert result.rows_reference == 4 and result.rows_current == 4
    assert result.psi is not None and result.psi > 0
    assert 0.0 < result.p_value <= 1.0


def test_ks_exact_p_value_matches_enumeration() -> None:
    # distinct values so the no-ties enumeration applies: [1..4] vs [3.5, 4.5, 5.5, 6.5]
    result = numeric_drift([1, 2, 3, 4], [3.5, 4.5, 5.5, 6.5], min_rows=4)
    assert result.effect_size == pytest.approx(0.75)
    assert result.p_value == pytest.approx(_exact_two_sided_ks_p_value(0.75, 4))  # 8/70


def test_ks_ignores_nan_and_infinities() -> None:
    reference = [1.0, 2.0, float("nan"), 3.0, 4.0, float("inf")]
    current = [3.0, None, 4.0, 5.0, 6.0]
    result = numeric_drift(reference, current, min_rows=4)
    assert result.rows_reference == 4
    assert result.rows_current == 4
    assert result.effect_size == pytest.approx(0.5)


def test_numeric_bins_are_reference_deciles_with_shared_edges() -> None:
    reference = np.arange(1000, dtype=float)
    current = np.arange(500, 1500, dtype=float)
    result = numeric_drift(reference, current)
    edges = result.bins["edges"]
    reference_shares = result.bins["reference_shares"]
    current_shares = result.bins["current_shares"]
    assert len(reference_shares) == len(current_shares) == 10
    assert len(edges) == 11
    assert edges == sorted(edges)
    assert all(math.isfinite(edge) for edge in edges)
    assert edges[0] == 0.0 and edges[-1] == 1499.0
    assert reference_shares == pytest.approx([0.1] * 10)
    # the upper half of the reference range, then everything above it in the open top bin
    assert current_shares == pytest.approx([0.0] * 5 + [0.1] * 4 + [0.6], abs=0.002)
    assert sum(current_shares) == pytest.approx(1.0)
    assert result.psi == pytest.approx(population_stability_index(reference_shares, current_shares))


def test_numeric_bins_deduplicate_edges_of_a_point_mass() -> None:
    reference = np.array([0.0] * 800 + list(range(1, 201)), dtype=float)
    result = numeric_drift(reference, reference)
    edges = result.bins["edges"]
    assert len(edges) == len(set(edges))
    assert edges[0] == 0.0
    assert len(result.bins["reference_shares"]) == len(edges) - 1
    assert result.bins["reference_shares"][0] == pytest.approx(0.8)  # the zeros: bin [0, next edge)
    assert result.effect_size == 0.0
    assert result.psi == pytest.approx(0.0)


def test_normal_against_shifted_normal_is_high_and_drifted() -> None:
    generator = np.random.default_rng(7)
    reference = generator.normal(size=5000)
    current = generator.normal(loc=1.0, size=5000)
    result = numeric_drift(reference, current)
    # population KS distance between N(0,1) and N(1,1) is 2*Phi(0.5)-1 = 0.383
    assert result.effect_size == pytest.approx(2 * stats.norm.cdf(0.5) - 1, abs=0.03)
    assert result.severity == "high"
    adjusted = benjamini_hochberg([result.p_value])[0]
    assert is_drifted(result, adjusted)


def test_normal_against_fresh_normal_is_not_drifted() -> None:
    generator = np.random.default_rng(11)
    result = numeric_drift(generator.normal(size=5000), generator.normal(size=5000))
    assert result.severity == "low"
    assert result.psi < 0.1
    adjusted = benjamini_hochberg([result.p_value])[0]
    assert not is_drifted(result, adjusted)


def test_large_windows_are_sampled_and_still_computed() -> None:
    generator = np.random.default_rng(3)
    reference = generator.normal(size=100_000)
    current = generator.normal(loc=0.02, size=50_000)
    result = numeric_drift(reference, current)
    assert result.sampled is True
    assert result.rows_reference == 100_000
    assert result.rows_current == 50_000
    assert result.severity == "low"

    letters = np.array(list("abcdefgh"))
    categorical = categorical_drift(
        letters[generator.integers(0, 8, 100_000)], letters[generator.integers(0, 8, 50_000)]
    )
    assert categorical.sampled is True
    assert categorical.severity == "low"


def test_sampling_is_seeded() -> None:
    generator = np.random.default_rng(5)
    reference = generator.normal(size=3000)
    current = generator.normal(loc=0.1, size=3000)
    first = numeric_drift(reference, current, sample_cap=1000, seed=42)
    again = numeric_drift(reference, current, sample_cap=1000, seed=42)
    other = numeric_drift(reference, current, sample_cap=1000, seed=43)
    assert first == again
    assert first.sampled is True
    assert first.effect_size != other.effect_size


# --------------------------------------------------------------------------- categorical


def test_linf_of_shares_hand_computed() -> None:
    reference = ["a"] * 500 + ["b"] * 300 + ["c"] * 200
    current = ["a"] * 350 + ["b"] * 300 + ["c"] * 350
    result = categorical_drift(reference, current)
    # shares a .5 -> .35, b .3 -> .3, c .2 -> .35: largest gap 0.15
    assert result.method == "linf_chi2"
    assert result.effect_size == pytest.approx(0.15)
    assert result.severity == "medium"
    assert result.bins["a"] == pytest.approx((0.5, 0.35))
    assert result.bins["c"] == pytest.approx((0.2, 0.35))
    # Pearson chi-square of the 2 x 3 table, by hand: expected = row total * column total / n
    table = np.array([[500, 300, 200], [350, 300, 350]], dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi_square = float(((table - expected) ** 2 / expected).sum())
    assert result.p_value == pytest.approx(stats.chi2.sf(chi_square, df=2), rel=1e-9)
    # PSI by hand: b does not move; __other__ and __unseen__ are empty on both sides (term 0)
    assert result.psi == pytest.approx(
        (0.35 - 0.5) * math.log(0.35 / 0.5) + (0.35 - 0.2) * math.log(0.35 / 0.2)
    )


def test_unseen_categories_counted_in_their_own_bucket() -> None:
    reference = ["a"] * 600 + ["b"] * 400
    current = ["a"] * 500 + ["b"] * 400 + ["new_1"] * 60 + ["new_2"] * 40
    result = categorical_drift(reference, current)
    assert result.bins[UNSEEN_CATEGORY] == pytest.approx((0.0, 0.1))
    assert result.bins[OTHER_CATEGORY] == pytest.approx((0.0, 0.0))
    assert "new_1" not in result.bins
    assert result.effect_size == pytest.approx(0.1)
    assert result.p_value < 1e-10
    # the unseen bucket's empty reference share is floored at epsilon, not infinite
    assert math.isfinite(result.psi)


def test_rare_reference_categories_grouped_as_other() -> None:
    reference = ["a"] * 600 + ["b"] * 380 + ["r1"] * 5 + ["r2"] * 4 + ["r3"] * 1 + ["edge"] * 10
    current = ["a"] * 590 + ["b"] * 380 + ["r1"] * 10 + ["r3"] * 5 + ["edge"] * 15
    result = categorical_drift(reference, current, min_rows=1000)
    assert result.rows_reference == 1000 and result.rows_current == 1000
    assert set(result.bins) == {"a", "b", "edge", OTHER_CATEGORY, UNSEEN_CATEGORY}
    # r1, r2, r3 are below 1% of the reference (10 of 1000 rows together); "edge" is exactly 1%, kept
    assert result.bins[OTHER_CATEGORY] == pytest.approx((0.01, 0.015))
    assert result.bins["edge"] == pytest.approx((0.01, 0.015))
    assert result.bins[UNSEEN_CATEGORY] == pytest.approx((0.0, 0.0))
    assert list(result.bins)[:3] == ["a", "b", "edge"]  # by reference share, largest first
    assert result.effect_size == pytest.approx(0.01)
    assert result.severity == "low"


def test_category_exactly_at_rare_share_is_kept() -> None:
    reference = ["a"] * 990 + ["b"] * 10
    result = categorical_drift(reference, reference)
    assert "b" in result.bins
    assert result.effect_size == 0.0
    assert result.p_value == pytest.approx(1.0)


def test_values_compared_as_strings_float_and_integer_agree() -> None:
    reference = [1.0, 2.0, float("nan"), None] * 300
    current = np.array([1, 2] * 300, dtype=np.int64)
    result = categorical_drift(reference, current)
    assert result.rows_reference == 600
    assert set(result.bins) == {"1", "2", OTHER_CATEGORY, UNSEEN_CATEGORY}
    assert result.effect_size == 0.0


def test_single_category_on_both_sides_is_not_drift() -> None:
    result = categorical_drift(["x"] * 600, ["x"] * 700)
    assert result.effect_size == 0.0
    assert result.p_value == 1.0
    assert not is_drifted(result, result.p_value)


# --------------------------------------------------------------------------- missing rate


def test_missing_rate_two_proportion_z_test_hand_computed() -> None:
    result = missing_rate_drift(50, 1000, 100, 1000)
    pooled = 150 / 2000
    z_score = 0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert result.method == "missing_rate"
    assert result.effect_size == pytest.approx(0.05)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z_score))
    # the same test as Pearson's chi-square on the 2 x 2 table without continuity correction
    chi2_p = stats.chi2_contingency([[50, 950], [100, 900]], correction=False).pvalue
    assert result.p_value == pytest.approx(chi2_p)
    assert result.psi is None
    assert result.bins["missing"] == pytest.approx((0.05, 0.1))


def test_missing_rate_two_to_twenty_percent_is_drifted() -> None:
    result = missing_rate_drift(100, 5000, 1000, 5000)
    assert result.effect_size == pytest.approx(0.18)
    assert result.severity == "medium"
    assert is_drifted(result, benjamini_hochberg([result.p_value])[0])


def test_missing_rate_exactly_ten_points_is_medium_despite_float_rounding() -> None:
    # 0.12 - 0.02 is 0.09999999999999999 in binary floating point
    result = missing_rate_drift(20, 1000, 120, 1000)
    assert result.severity == "medium"


def test_missing_rate_nothing_missing_anywhere() -> None:
    result = missing_rate_drift(0, 1000, 0, 1000)
    assert result.effect_size == 0.0
    assert result.p_value == 1.0
    assert result.severity == "low"


def test_missing_rate_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        missing_rate_drift(11, 10, 0, 1000)
    with pytest.raises(ValueError):
        missing_rate_drift(0, 1000, -1, 1000)


# --------------------------------------------------------------------------- insufficient data


@pytest.mark.parametrize(
    "statistic",
    [
        numeric_drift(np.arange(499.0), np.arange(10_000.0) + 1e6),
        numeric_drift(np.arange(10_000.0), [np.nan] * 5000 + [1.0] * 499),
        categorical_drift(["a"] * 499, ["b"] * 5000),
        missing_rate_drift(0, 499, 499, 499),
        numeric_drift([], [], min_rows=0),
    ],
    ids=["numeric-reference", "numeric-current-non-null", "categorical", "missing-rate", "empty-min-rows-0"],
)
def test_insufficient_data_below_min_rows(statistic: DriftStatistic) -> None:
    assert statistic.insufficient_data is True
    assert statistic.severity == "insufficient_data"
    assert statistic.effect_size is None
    assert statistic.p_value is None
    assert statistic.psi is None
    assert statistic.bins == {}
    assert is_drifted(statistic, 0.0) is False
    assert benjamini_hochberg([statistic.p_value, 0.01]) == [None, 0.01]


def test_exactly_min_rows_is_enough() -> None:
    result = numeric_drift(np.arange(500.0), np.arange(500.0) + 1000)
    assert not result.insufficient_data
    assert result.effect_size == 1.0


# --------------------------------------------------------------------------- sparse counts


def test_sparse_buckets_are_pooled_before_chi_square() -> None:
    # one unseen value among 1 000 current rows against 20 000 reference rows: its expected count
    # is 0.05, and left alone it would read as p < 1e-4 for a difference of one row
    reference = ["a"] * 12_000 + ["b"] * 8_000
    current = ["a"] * 600 + ["b"] * 399 + ["nuevo"]
    result = categorical_drift(reference, current)
    assert result.bins[UNSEEN_CATEGORY] == pytest.approx((0.0, 0.001))
    # the unseen bucket joins the sparsest kept bucket ("b") for the test
    pooled = stats.chi2_contingency([[12_000, 8_000], [600, 400]], correction=False).pvalue
    assert result.p_value == pytest.approx(pooled)
    unpooled = stats.chi2_contingency([[12_000, 8_000, 0], [600, 399, 1]], correction=False).pvalue
    assert unpooled < 1e-4 < result.p_value


def test_rare_missing_values_use_fishers_exact_test() -> None:
    result = missing_rate_drift(1, 1000, 6, 1000)
    assert result.p_value == pytest.approx(stats.fisher_exact([[1, 999], [6, 994]]).pvalue)
    assert result.effect_size == pytest.approx(0.005)
