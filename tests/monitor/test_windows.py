"""Where a drift window starts and which earlier window it is compared with (shared.monitor.windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.monitor.drift_history import PastCheck
from shared.monitor.windows import window_bounds

T0 = datetime(2025, 1, 31, 6, 0, tzinfo=UTC)


def past(check_id: str, days: int, rows: int | None, start_days: int | None) -> PastCheck:
    start = T0 - timedelta(days=start_days) if start_days is not None else None
    return PastCheck(check_id, T0 - timedelta(days=days), "1", start, T0 - timedelta(days=days), rows, "ok", False)


def test_the_window_starts_at_the_previous_window_end() -> None:
    start, previous = window_bounds([past("c-1", 30, 3000, 60)])
    assert start == T0 - timedelta(days=30) and previous.check_id == "c-1"
    assert window_bounds([]) == (None, None)


def test_a_window_too_small_to_judge_is_carried_over_to_the_next_check() -> None:
    checks = [past("c-2", 10, 120, 30), past("c-1", 30, 3000, 60)]  # newest first: c-2 saw only 120 rows
    start, previous = window_bounds(checks)
    assert start == T0 - timedelta(days=30), "starts where the small window started"
    assert previous.check_id == "c-1", "and compares with the last window that was large enough"
