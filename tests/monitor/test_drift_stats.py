"""Known-answer tests for shared.monitor.drift_stats: severity, PSI, Benjamini–Hochberg, when a feature is drifted."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from shared.monitor.drift_stats import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_ROWS,
    DEFAULT_SAMPLE_CAP,
    SEVERITY_HIGH,
    SEVERITY_MEDIUM,
    DriftStatistic,
    benjamini_hochberg,
    is_drifted,
    population_stability_index,
    severity_of,
)


def test_interface_constants() -> None:
    assert SEVERITY_MEDIUM == 0.1
    assert SEVERITY_HIGH == 0.3
    assert DEFAULT_MIN_ROWS == 500
    assert DEFAULT_SAMPLE_CAP == 50_000
    assert DEFAULT_ALPHA == 0.05


# --------------------------------------------------------------------------- PSI


def test_psi_two_bins_hand_computed() -> None:
    # (0.8-0.5) ln(0.8/0.5) + (0.2-0.5) ln(0.2/0.5) = 0.3 (ln 1.6 + ln 2.5) = 0.3 ln 4
    assert population_stability_index([0.5, 0.5], [0.8, 0.2]) == pytest.approx(0.3 * math.log(4))
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0.0
    # counts are normalised to shares
    assert population_stability_index([50, 50], [80, 20]) == pytest.approx(0.3 * math.log(4))


def test_psi_empty_bin_is_floored_at_epsilon() -> None:
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert population_stability_index([1.0, 0.0], [0.5, 0.5]) == pytest.approx(expected)
    assert population_stability_index([1.0, 0.0], [0.5, 0.5], epsilon=1e-2) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5) + (0.5 - 0.01) * math.log(0.5 / 0.01)
    )


def test_psi_rejects_mismatched_bins() -> None:
    with pytest.raises(ValueError):
        population_stability_index([0.5, 0.5], [1.0])
    with pytest.raises(ValueError):
        population_stability_index([0.0, 0.0], [0.5, 0.5])


# --------------------------------------------------------------------------- Benjamini-Hochberg


def test_benjamini_hochberg_hand_computed() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4/1, x4/2, x4/3, x4/4 = 0.02, 0.02, 0.04, 0.04
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_monotone_capped_and_none_passes_through() -> None:
    # m counts only the three real p-values: 0.5*3/1 = 1.5 -> capped; running minimum keeps order
    adjusted = benjamini_hochberg([0.9, None, 0.5, 0.6])
    assert adjusted[1] is None
    assert adjusted == [pytest.approx(0.9), None, pytest.approx(0.9), pytest.approx(0.9)]
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([None, None]) == [None, None]
    assert benjamini_hochberg([0.8, 0.9]) == pytest.approx([0.9, 0.9])
    with pytest.raises(ValueError):
        benjamini_hochberg([float("nan")])


def test_benjamini_hochberg_matches_scipy() -> None:
    false_discovery_control = getattr(stats, "false_discovery_control", None)
    if false_discovery_control is None:
        pytest.skip("scipy.stats.false_discovery_control needs scipy >= 1.11")
    generator = np.random.default_rng(2)
    p_values = np.concatenate([generator.uniform(size=40), generator.uniform(0, 0.01, size=10), [0.02, 0.02]])
    expected = false_discovery_control(p_values, method="bh")
    assert benjamini_hochberg(list(p_values)) == pytest.approx(list(expected))
    with_gaps: list[float | None] = [float(p) for p in p_values]
    with_gaps[3] = None
    kept = [p for p in with_gaps if p is not None]
    expected_kept = iter(false_discovery_control(kept, method="bh"))
    assert benjamini_hochberg(with_gaps) == [
        None if p is None else pytest.approx(next(expected_kept)) for p in with_gaps
    ]


# --------------------------------------------------------------------------- severity and decision


@pytest.mark.parametrize(
    ("effect_size", "severity"),
    [
        (0.0, "low"),
        (0.0999, "low"),
        (0.1, "medium"),
        (0.2999, "medium"),
        (0.3, "high"),
        (1.0, "high"),
        (None, "insufficient_data"),
    ],
)
def test_severity_boundaries(effect_size: float | None, severity: str) -> None:
    assert severity_of(effect_size) == severity


def _statistic(effect_size: float) -> DriftStatistic:
    return DriftStatistic(
        method="ks",
        effect_size=effect_size,
        p_value=0.001,
        psi=0.5,
        severity=severity_of(effect_size),
        insufficient_data=False,
        rows_reference=1000,
        rows_current=1000,
    )


def test_is_drifted_needs_significance_and_at_least_medium() -> None:
    assert is_drifted(_statistic(0.35), 0.01) is True
    assert is_drifted(_statistic(0.1), 0.05) is True  # adjusted p <= alpha counts as significant
    assert is_drifted(_statistic(0.1), 0.0501) is False
    assert is_drifted(_statistic(0.0999), 1e-12) is False  # significant but too small to matter
    assert is_drifted(_statistic(0.5), None) is False
    assert is_drifted(_statistic(0.2), 0.08, alpha=0.1) is True


def test_result_is_frozen_and_states_its_direction() -> None:
    statistic = _statistic(0.2)
    assert statistic.higher_means_drift is True
    assert statistic.bins == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        statistic.severity = "low"  # type: ignore[misc]
