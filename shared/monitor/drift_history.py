"""What earlier drift checks say about this one: windows, persistence, trends and projections.

The drift check compares one window with the reference; whether a change is *sudden* or
*gradual*, whether a medium drift *persists*, and *when* a slow trend will reach the
retraining line are questions about the sequence of checks. The warehouse's
``drift_results`` table holds that sequence (one row per feature and test per check); the
functions here read it once and answer from the frame, so everything but
:func:`load_history` is pure and testable on constructed frames.

Which way the numbers point: effect sizes are the drift statistics' own (KS D, L-infinity
distance of shares, missing-rate difference), higher means more drift, and the retraining
line is :data:`shared.monitor.drift_stats.SEVERITY_HIGH`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from shared.monitor.drift_stats import SEVERITY_HIGH, SEVERITY_MEDIUM

HISTORY_CHECKS = 12
"""How many earlier checks are read: a year of monthly checks."""

HISTORY_DAYS = 800
"""How far back the warehouse is read for them (bounds the partitions a BigQuery query scans)."""

RISING_MIN_CHECKS = 3
"""A trend needs at least this many checks, this one included, to be called gradual."""

RISING_MIN_TOTAL = 0.03
"""...and its effect size must have grown by at least this much over them (noise moves KS D by ~0.01)."""

WATCH_FLOOR = SEVERITY_MEDIUM / 2
"""A rising trend still below ``medium`` is worth a projection once it reaches this effect size."""

PERSISTENCE_CHECKS = 3
"""A medium-only drift escalates when it shows in ``PERSISTENCE_HITS`` of the last ``PERSISTENCE_CHECKS`` checks."""
PERSISTENCE_HITS = 2

DEFAULT_CHECK_INTERVAL = timedelta(days=30)
"""The scheduler runs monthly; used to turn "checks from now" into a date when checks ran closer together."""

HISTORY_COLUMNS = [
    "check_id", "checked_at", "model_version", "feature", "kind", "effect_size", "severity", "drifted",
    "insufficient_data", "window_start", "window_end", "window_rows", "check_status", "retrain_requested",
]  # fmt: skip


@dataclass(frozen=True)
class PastCheck:
    """One earlier drift check, as the next one needs it."""

    check_id: str
    checked_at: datetime
    model_version: str | None
    window_start: datetime | None
    window_end: datetime | None
    window_rows: int | None
    status: str | None
    retrain_requested: bool


@dataclass(frozen=True)
class Projection:
    """Where a rising effect size meets the retraining line, in checks and as a date."""

    feature: str
    kind: str
    slope_per_check: float
    current_effect: float
    checks_to_line: float | None
    crossing_date: datetime | None
    already_crossed: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "slope_per_check": self.slope_per_check,
            "current_effect": self.current_effect,
            "checks_to_line": self.checks_to_line,
            "crossing_date": self.crossing_date.isoformat() if self.crossing_date else None,
            "already_crossed": self.already_crossed,
        }


def load_history(warehouse, *, before: datetime, exclude_check: str | None = None) -> pd.DataFrame:  # noqa: ANN001 - Warehouse protocol
    """``drift_results`` rows of the checks that ran before ``before`` (newest :data:`HISTORY_CHECKS`)."""
    frame = warehouse.read(
        "drift_results",
        since=before - timedelta(days=HISTORY_DAYS),
        until=before,
        columns=HISTORY_COLUMNS,
    )
    if exclude_check is not None and not frame.empty:
        frame = frame[frame["check_id"] != exclude_check]
    if frame.empty:
        return frame
    newest = (
        frame.groupby("check_id")["checked_at"].max().sort_values(ascending=False).index[:HISTORY_CHECKS]
    )
    return frame[frame["check_id"].isin(set(newest))].reset_index(drop=True)


def past_checks(history: pd.DataFrame) -> list[PastCheck]:
    """Earlier checks, newest first."""
    if history.empty:
        return []
    checks = []
    for check_id, rows in history.groupby("check_id", sort=False):
        first = rows.iloc[0]
        window_rows = rows["window_rows"].dropna()
        retrain = rows["retrain_requested"].dropna()
        statuses = rows["check_status"].dropna()
        checks.append(
            PastCheck(
                check_id=str(check_id),
                checked_at=_to_datetime(rows["checked_at"].max()),
                model_version=None if pd.isna(first["model_version"]) else str(first["model_version"]),
                window_start=_to_datetime(first["window_start"]),
                window_end=_to_datetime(first["window_end"]),
                window_rows=int(window_rows.iloc[0]) if len(window_rows) else None,
                status=str(statuses.iloc[0]) if len(statuses) else None,
                retrain_requested=bool(retrain.iloc[0]) if len(retrain) else False,
            )
        )
    return sorted(checks, key=lambda check: check.checked_at, reverse=True)


def effect_series(history: pd.DataFrame, feature: str, kind: str) -> list[tuple[datetime, float]]:
    """(checked_at, effect size) of one feature and test over earlier checks, oldest first.

    Checks where the test had insufficient data are left out: they carry no effect size.
    """
    if history.empty:
        return []
    rows = history[(history["feature"] == feature) & (history["kind"] == kind) & history["effect_size"].notna()]
    rows = rows.sort_values("checked_at")
    return [(_to_datetime(at), float(effect)) for at, effect in zip(rows["checked_at"], rows["effect_size"], strict=True)]


def drifted_in(history: pd.DataFrame, feature: str, kind: str, check_ids: Sequence[str]) -> int:
    """In how many of ``check_ids`` this feature and test counted as drifted."""
    if history.empty or not check_ids:
        return 0
    rows = history[
        (history["feature"] == feature) & (history["kind"] == kind) & history["check_id"].isin(set(check_ids))
    ]
    return int(rows["drifted"].fillna(False).astype(bool).sum())


def is_rising(effects: Sequence[float], *, min_checks: int = RISING_MIN_CHECKS, min_total: float = RISING_MIN_TOTAL) -> bool:
    """True when the last ``min_checks`` effect sizes never fall and grow by ``min_total`` in all.

    Never falling (rather than a positive fitted slope) is what makes three noisy points
    read as a trend only when they really go one way.
    """
    if len(effects) < min_checks:
        return False
    tail = [float(effect) for effect in effects[-min_checks:]]
    never_falls = all(later >= earlier for earlier, later in zip(tail, tail[1:], strict=False))
    return never_falls and tail[-1] - tail[0] >= min_total


def rising_run(effects: Sequence[float]) -> list[float]:
    """The longest tail of ``effects`` that never falls (the stretch a projection is fitted on)."""
    if not effects:
        return []
    start = len(effects) - 1
    while start > 0 and effects[start - 1] <= effects[start]:
        start -= 1
    return [float(effect) for effect in effects[start:]]


def check_interval(times: Sequence[datetime]) -> timedelta:
    """The usual spacing of checks: their median gap, or a month when they ran less than a day apart."""
    if len(times) < 2:
        return DEFAULT_CHECK_INTERVAL
    gaps = sorted((later - earlier) for earlier, later in zip(times, times[1:], strict=False))
    median = gaps[len(gaps) // 2]
    return median if median >= timedelta(days=1) else DEFAULT_CHECK_INTERVAL


def project_crossing(
    feature: str,
    kind: str,
    times: Sequence[datetime],
    effects: Sequence[float],
    *,
    line: float = SEVERITY_HIGH,
) -> Projection | None:
    """Least-squares line through the rising stretch of effect sizes; where it meets ``line``.

    Fitted per check (not per day), so checks run on the same day still project in checks,
    and the date comes from the usual spacing of checks (:func:`check_interval`). ``None``
    when there are fewer than two points or the fitted slope does not rise.
    """
    run = rising_run(effects)
    if len(run) < 2:
        return None
    positions = np.arange(len(run), dtype=float)
    slope, intercept = np.polyfit(positions, np.asarray(run, dtype=float), 1)
    current = float(run[-1])
    if current >= line:
        return Projection(feature, kind, float(slope), current, 0.0, _to_datetime(times[-1]), True)
    if slope <= 1e-9:
        return None
    fitted_now = intercept + slope * positions[-1]
    checks_to_line = max((line - fitted_now) / slope, 0.0)
    interval = check_interval(list(times))
    crossing = _to_datetime(times[-1]) + interval * float(checks_to_line)
    return Projection(feature, kind, float(slope), current, float(checks_to_line), crossing, False)


def _to_datetime(value: object) -> datetime | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    timestamp = pd.Timestamp(value)
    if timestamp.tzinfo is None:
        timestamp = timestamp.tz_localize("UTC")
    return timestamp.to_pydatetime()
