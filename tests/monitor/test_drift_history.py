"""Known answers of the drift history's helpers (shared.monitor.drift_history): rising, projection, check interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.monitor import drift_history
from shared.monitor.drift_history import check_interval, is_rising, project_crossing, rising_run

T0 = datetime(2025, 1, 31, 6, 0, tzinfo=UTC)


def test_rising_needs_three_never_falling_points_and_a_real_rise() -> None:
    assert is_rising([0.02, 0.05, 0.09])
    assert not is_rising([0.05, 0.09])
    assert not is_rising([0.05, 0.04, 0.09])
    assert not is_rising([0.050, 0.055, 0.060]), "a 0.01 rise is noise"
    assert rising_run([0.3, 0.1, 0.12, 0.2]) == [0.1, 0.12, 0.2]


def test_projection_of_a_straight_line_meets_the_retraining_line_where_expected() -> None:
    times = [T0 + timedelta(days=30 * i) for i in range(3)]
    projection = project_crossing("f", "numeric", times, [0.10, 0.15, 0.20])
    assert projection.slope_per_check == pytest.approx(0.05)
    assert projection.checks_to_line == pytest.approx(2.0)
    assert projection.crossing_date == times[-1] + timedelta(days=60)
    assert project_crossing("f", "numeric", times, [0.2, 0.1, 0.05]) is None
    crossed = project_crossing("f", "numeric", times, [0.1, 0.2, 0.35])
    assert crossed.already_crossed and crossed.checks_to_line == 0.0


def test_checks_run_closer_than_a_day_project_in_monthly_steps() -> None:
    assert check_interval([T0, T0 + timedelta(minutes=5)]) == drift_history.DEFAULT_CHECK_INTERVAL
    assert check_interval([T0, T0 + timedelta(days=7), T0 + timedelta(days=14)]) == timedelta(days=7)
