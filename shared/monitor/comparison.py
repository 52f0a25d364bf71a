"""How one window of scored rows is compared: with the reference, with the previous window, with history.

Every feature's values and missing rate, and the score, are tested against a baseline
(:mod:`shared.monitor.two_sample_tests`, Benjamini–Hochberg over all of them together); the
comparison with the previous window marks jumps (*sudden* drift); the history of earlier
checks gives each result its pattern, persistence and, for a gradual rise, a projection.
What the results mean for the model is decided in :mod:`shared.monitor.decision`.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from shared.ingest.contract import Contract
from shared.monitor import drift_history
from shared.monitor.drift_stats import (
    CATEGORICAL_KIND,
    DEFAULT_ALPHA,
    DEFAULT_MIN_ROWS,
    DEFAULT_SAMPLE_CAP,
    DriftStatistic,
    benjamini_hochberg,
    is_drifted,
)
from shared.monitor.drift_values import choose_kind
from shared.monitor.results import (
    MISSING_RATE_KIND,
    PATTERN_GRADUAL,
    PATTERN_SUDDEN,
    PATTERN_SUSTAINED,
    PATTERN_UNDETERMINED,
    SCORE_FEATURE,
    FeatureDrift,
)
from shared.monitor.two_sample_tests import categorical_drift, missing_rate_drift, numeric_drift

KEY_FEATURE_COUNT = 10
"""The most important features: the top ten by the model's gain..."""
KEY_FEATURE_MIN_IMPORTANCE = 0.01
"""...that carry at least 1 % of it (a model may lean on fewer than ten)."""


def kinds_of(reference: pd.DataFrame, contract: Contract, features: list[str]) -> dict[str, str]:
    """Which test each feature gets: declared categoricals and low-cardinality numbers compare shares."""
    kinds = {}
    for name in features:
        if name not in reference.columns:
            continue
        declared = contract.columns[name].type if name in contract.columns else None
        kinds[name] = choose_kind(reference[name], declared)
    return kinds


def _statistic_to_drift(feature: str, kind: str, statistic: DriftStatistic, importance: float) -> FeatureDrift:
    return FeatureDrift(
        feature=feature,
        kind=kind,
        method=statistic.method,
        effect_size=statistic.effect_size,
        p_value=statistic.p_value,
        p_value_adjusted=None,
        psi=statistic.psi,
        severity=statistic.severity,
        drifted=False,
        insufficient_data=statistic.insufficient_data,
        importance=importance,
        rows_reference=statistic.rows_reference,
        rows_current=statistic.rows_current,
        bins=statistic.bins,
    )


def compare_windows(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    contract: Contract,
    features: list[str],
    importance: dict[str, float],
    *,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = DEFAULT_MIN_ROWS,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    kinds: dict[str, str] | None = None,
) -> list[FeatureDrift]:
    """Every feature (its values and its missing rate) and the score, BH-corrected together.

    ``reference`` is the baseline (the champion's reference sample, or the previous window);
    a feature is drifted only when significant after the correction *and* at least medium.
    """
    kinds = kinds if kinds is not None else kinds_of(reference, contract, features)
    key_features = most_important(importance)
    results: list[tuple[FeatureDrift, DriftStatistic]] = []
    with_score = SCORE_FEATURE in reference.columns and SCORE_FEATURE in current.columns
    for name in features + ([SCORE_FEATURE] if with_score else []):
        if name not in reference.columns or name not in current.columns:
            continue
        is_score = name == SCORE_FEATURE
        kind = SCORE_FEATURE if is_score else kinds.get(name, CATEGORICAL_KIND)
        if kind == CATEGORICAL_KIND:
            statistic = categorical_drift(
                reference[name], current[name],
                min_rows=min_rows, sample_cap=sample_cap, seed=seed,
            )  # fmt: skip
        else:
            statistic = numeric_drift(
                pd.to_numeric(reference[name], errors="coerce"), pd.to_numeric(current[name], errors="coerce"),
                min_rows=min_rows, sample_cap=sample_cap, seed=seed,
            )  # fmt: skip
        weight = float(importance.get(name, 0.0))
        drift = _statistic_to_drift(name, kind, statistic, weight)
        drift.key_feature = name in key_features
        results.append((drift, statistic))
        if not is_score:
            missing = missing_rate_drift(
                int(reference[name].isna().sum()), len(reference), int(current[name].isna().sum()), len(current), min_rows=min_rows
            )
            missing_drift = _statistic_to_drift(name, MISSING_RATE_KIND, missing, weight)
            missing_drift.key_feature = drift.key_feature
            results.append((missing_drift, missing))
    adjusted = benjamini_hochberg([statistic.p_value for _, statistic in results])
    for (drift, statistic), p_adjusted in zip(results, adjusted, strict=True):
        drift.p_value_adjusted = p_adjusted
        drift.drifted = is_drifted(statistic, p_adjusted, alpha)
    return [drift for drift, _ in results]


def most_important(importance: dict[str, float]) -> set[str]:
    """The key features: top :data:`KEY_FEATURE_COUNT` by gain with at least :data:`KEY_FEATURE_MIN_IMPORTANCE`."""
    ranked = sorted(importance.items(), key=lambda item: (-item[1], item[0]))
    return {name for name, gain in ranked[:KEY_FEATURE_COUNT] if gain >= KEY_FEATURE_MIN_IMPORTANCE}


def attach_previous(features: list[FeatureDrift], against_previous: list[FeatureDrift]) -> None:
    """Copy the comparison with the previous window onto each result; a drifted one there is a jump."""
    by_key = {(f.feature, f.kind): f for f in against_previous}
    for feature in features:
        previous = by_key.get((feature.feature, feature.kind))
        if previous is None or previous.insufficient_data:
            continue
        feature.effect_size_previous = previous.effect_size
        feature.p_value_previous_adjusted = previous.p_value_adjusted
        feature.jump = previous.drifted


def attach_history(
    features: list[FeatureDrift],
    history: pd.DataFrame,
    recent_check_ids: list[str],
    checked_at: datetime,
    *,
    had_previous_window: bool,
    alpha: float = DEFAULT_ALPHA,
) -> None:
    """Pattern (sudden / gradual / sustained / undetermined), persistence and projection per result."""
    for feature in features:
        if feature.insufficient_data or feature.effect_size is None:
            continue
        series = drift_history.effect_series(history, feature.feature, feature.kind)
        times = [at for at, _ in series] + [checked_at]
        effects = [effect for _, effect in series] + [float(feature.effect_size)]
        feature.trend = [round(effect, 6) for effect in effects[-drift_history.HISTORY_CHECKS :]]
        rising = drift_history.is_rising(effects)
        earlier_hits = drift_history.drifted_in(
            history, feature.feature, feature.kind, recent_check_ids[: drift_history.PERSISTENCE_CHECKS - 1]
        )
        if feature.drifted:
            feature.persistence = 1 + earlier_hits
            if feature.jump:
                feature.pattern = PATTERN_SUDDEN
            elif rising:
                feature.pattern = PATTERN_GRADUAL
            elif earlier_hits and had_previous_window:
                feature.pattern = PATTERN_SUSTAINED
            else:
                feature.pattern = PATTERN_UNDETERMINED
        elif (
            rising
            and feature.effect_size >= drift_history.WATCH_FLOOR
            and feature.p_value_adjusted is not None
            and feature.p_value_adjusted <= alpha
        ):
            feature.pattern = PATTERN_GRADUAL  # still below medium: an early warning, not drift yet
        if feature.pattern == PATTERN_GRADUAL:
            projection = drift_history.project_crossing(feature.feature, feature.kind, times, effects)
            feature.projection = projection.to_dict() if projection else None
