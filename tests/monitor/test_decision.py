"""The drift check's decision rules on constructed windows (no I/O): when it speaks and when it stays quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from shared.ingest.contract import ColumnSpec, Contract
from shared.monitor.comparison import attach_history, attach_previous, compare_windows, most_important
from shared.monitor.decision import decide, weighted_drift_share
from shared.monitor.drift_stats import UNSEEN_CATEGORY
from shared.monitor.results import (
    PATTERN_GRADUAL,
    PATTERN_SUDDEN,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    STATUS_RETRAIN,
    STATUS_WARNING,
    FeatureDrift,
)

NUMERIC = [f"f{index}" for index in range(12)]
# The key features are the top ten by gain (f0-f7, sector, workers); f10 and f11 barely matter.
IMPORTANCE = {"f0": 0.40, "f1": 0.20, "f2": 0.10, **{f"f{i}": 0.03 for i in range(3, 10)}, "f10": 0.004, "f11": 0.004, "sector": 0.045, "workers": 0.037}
SECTORS = ["comercio", "servicios", "manufactura", "agricultura", "raro"]
SECTOR_SHARES = [0.45, 0.30, 0.15, 0.095, 0.005]
T0 = datetime(2025, 1, 31, 6, 0, tzinfo=UTC)


def contract() -> Contract:
    columns = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "y": ColumnSpec("y", "categorical", values=["no", "si"], nullable=False),
        **{name: ColumnSpec(name, "numeric") for name in NUMERIC},
        "workers": ColumnSpec("workers", "numeric"),
        "sector": ColumnSpec("sector", "categorical", values=SECTORS),
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=columns)


FEATURES = [*NUMERIC, "workers", "sector"]


def window(rows: int, seed: int, *, shift: dict[str, float] | None = None, sector_shares: list[float] | None = None) -> pd.DataFrame:
    """Rows from the reference distribution, with mean shifts in standard deviations where asked."""
    rng = np.random.default_rng(seed)
    shift = shift or {}
    frame = pd.DataFrame({name: rng.normal(shift.get(name, 0.0), 1.0, rows) for name in NUMERIC})
    frame["workers"] = rng.poisson(1.5, rows) + 1  # few distinct values: compared as categories
    frame["sector"] = rng.choice(SECTORS, size=rows, p=sector_shares or SECTOR_SHARES)
    frame["score"] = 1 / (1 + np.exp(-(rng.normal(-2.0 + shift.get("score", 0.0), 1.0, rows))))
    return frame


REFERENCE = window(5000, seed=1)


def check(current: pd.DataFrame, reference: pd.DataFrame = REFERENCE) -> list[FeatureDrift]:
    return compare_windows(reference, current, contract(), FEATURES, IMPORTANCE)


def result(features: list[FeatureDrift], name: str, kind: str | None = None) -> FeatureDrift:
    return next(f for f in features if f.feature == name and (kind is None or f.kind == kind) and (kind is not None or f.kind != "missing_rate"))


# --------------------------------------------------------------------------- quiet


def test_a_fresh_sample_of_the_reference_is_quiet() -> None:
    features = check(window(2000, seed=2))
    decision = decide(features, window_rows=2000)
    assert decision.status == STATUS_OK and not decision.retrain_requested
    assert not [f for f in features if f.drifted]
    assert decision.reason_es == "Sin deriva significativa." and decision.reason_en == "No significant drift."
    assert all(f.p_value_adjusted is not None for f in features)


def test_correction_keeps_many_null_features_quiet_where_raw_p_values_would_alarm() -> None:
    rng = np.random.default_rng(5)
    names = [f"g{index}" for index in range(100)]
    reference = pd.DataFrame({name: rng.normal(size=3000) for name in names})
    current = pd.DataFrame({name: rng.normal(size=600) for name in names})
    columns = {name: ColumnSpec(name, "numeric") for name in names}
    wide = Contract(name="w", target="y", positive="si", negative="no", id_column=None, columns=columns)
    features = compare_windows(reference, current, wide, names, {})
    raw = [f.p_value for f in features if f.kind == "numeric"]
    assert min(raw) < 0.05, "with 100 tests some raw p-value falls under 0.05 by chance"
    assert not [f for f in features if f.drifted]


def test_low_cardinality_numbers_are_compared_as_categories() -> None:
    features = check(window(2000, seed=3))
    workers = result(features, "workers")
    assert workers.kind == "categorical" and workers.method == "linf_chi2"
    assert result(features, "f0").kind == "numeric" and result(features, "f0").method == "ks"


# --------------------------------------------------------------------------- retrain triggers


def test_high_drift_in_a_key_feature_requests_retraining() -> None:
    features = check(window(2000, seed=4, shift={"f0": 1.0}))
    f0 = result(features, "f0")
    assert f0.drifted and f0.severity == "high" and f0.key_feature
    decision = decide(features, window_rows=2000)
    assert decision.status == STATUS_RETRAIN and decision.retrain_requested
    assert [t.code for t in decision.triggers] == ["key_feature_high"]
    assert decision.triggers[0].features == ["f0"]
    assert "f0" in decision.reason_es and decision.reason_es.endswith("Se solicita reentrenar.")


def test_drifted_features_holding_half_the_gain_request_retraining() -> None:
    # medium shifts (KS about 0.16) in f1..f9: 51 % of the gain, none of them high
    features = check(window(3000, seed=6, shift={f"f{i}": 0.4 for i in range(1, 10)}))
    drifted = [f for f in features if f.drifted]
    assert {f.feature for f in drifted} == {f"f{i}" for i in range(1, 10)}
    assert {f.severity for f in drifted} == {"medium"}
    assert weighted_drift_share(features) == pytest.approx(0.51 / sum(v for k, v in IMPORTANCE.items()), rel=1e-6)
    decision = decide(features, window_rows=3000)
    assert decision.retrain_requested and [t.code for t in decision.triggers] == ["weighted_share"]


def test_high_drift_of_the_score_requests_retraining() -> None:
    features = check(window(2000, seed=7, shift={"score": 1.5}))
    score = result(features, "score", "score")
    assert score.drifted and score.severity == "high"
    decision = decide(features, window_rows=2000)
    assert decision.retrain_requested and "score_high" in [t.code for t in decision.triggers]


# --------------------------------------------------------------------------- warnings and escalation


def test_medium_drift_in_a_minor_feature_is_only_a_warning() -> None:
    features = check(window(3000, seed=8, shift={"f10": 0.4}))
    f10 = result(features, "f10")
    assert f10.drifted and f10.severity == "medium" and not f10.key_feature
    decision = decide(features, window_rows=3000)
    assert decision.status == STATUS_WARNING and not decision.retrain_requested
    assert [w.code for w in decision.warnings] == ["drift_warning"]
    assert "No se reentrena todavía" in decision.reason_es


def test_high_drift_in_a_minor_feature_alone_does_not_retrain() -> None:
    features = check(window(3000, seed=9, shift={"f11": 2.0}))
    assert result(features, "f11").severity == "high"
    decision = decide(features, window_rows=3000)
    assert decision.status == STATUS_WARNING and not decision.retrain_requested


def history_frame(rows: list[tuple[str, datetime, str, str, float, bool]]) -> pd.DataFrame:
    """drift_results rows: (check_id, checked_at, feature, kind, effect_size, drifted)."""
    return pd.DataFrame(
        [
            {
                "check_id": check_id, "checked_at": at, "model_version": "1", "feature": feature, "kind": kind,
                "effect_size": effect, "severity": None, "drifted": drifted, "insufficient_data": False,
                "window_start": at - timedelta(days=30), "window_end": at, "window_rows": 3000,
                "check_status": "warning" if drifted else "ok", "retrain_requested": False,
            }  # fmt: skip
            for check_id, at, feature, kind, effect, drifted in rows
        ]
    )


@pytest.mark.parametrize(
    ("earlier", "escalates"),
    [
        ([True, False], True),    # drifted last month too: 2 of the last 3
        ([False, True], True),    # drifted two months ago: still 2 of the last 3
        ([False, False], False),  # first time: a warning
    ],
)
def test_a_warning_escalates_when_it_persists_in_two_of_the_last_three_checks(earlier: list[bool], escalates: bool) -> None:
    features = check(window(3000, seed=8, shift={"f10": 0.4}))
    checks = ["c-2", "c-1"]  # newest first
    history = history_frame(
        [(check_id, T0 - timedelta(days=30 * (index + 1)), "f10", "numeric", 0.15 if was else 0.02, was)
         for index, (check_id, was) in enumerate(zip(checks, earlier, strict=True))]
        + [("c-3", T0 - timedelta(days=90), "f10", "numeric", 0.16, True)]  # a fourth check back does not count
    )  # fmt: skip
    attach_history(features, history, checks + ["c-3"], T0, had_previous_window=True)
    decision = decide(features, window_rows=3000)
    assert decision.retrain_requested is escalates
    assert ("persistent_drift" in [t.code for t in decision.triggers]) is escalates


# --------------------------------------------------------------------------- never drift without data


def test_below_the_minimum_sample_a_feature_reports_insufficient_data_never_drift() -> None:
    features = check(window(300, seed=10, shift={"f0": 3.0, "score": 3.0}, sector_shares=[0.05, 0.05, 0.05, 0.845, 0.005]))
    assert all(f.insufficient_data and not f.drifted and f.severity == "insufficient_data" for f in features)
    assert all(f.p_value is None and f.p_value_adjusted is None for f in features)
    decision = decide(features, window_rows=300)
    assert decision.status == STATUS_INSUFFICIENT and not decision.retrain_requested
    assert "300" in decision.reason_es and "insuficientes" in decision.reason_es


def test_no_rows_at_all_says_so() -> None:
    empty = window(0, seed=11)
    decision = decide(check(empty), window_rows=0)
    assert decision.status == "no_data" and not decision.retrain_requested


# --------------------------------------------------------------------------- categories and missing values


def test_unseen_categories_are_counted_in_their_own_bucket_and_drift() -> None:
    current = window(2000, seed=12)
    newcomers = np.random.default_rng(12).random(len(current)) < 0.2
    current.loc[newcomers, "sector"] = "comercio electrónico"
    sector = result(check(current), "sector")
    unseen_reference, unseen_current = sector.bins[UNSEEN_CATEGORY]
    assert unseen_reference == 0.0 and unseen_current == pytest.approx(newcomers.mean())
    assert sector.drifted and sector.effect_size == pytest.approx(max(abs(r - c) for r, c in sector.bins.values()))


def test_rare_reference_categories_are_grouped() -> None:
    sector = result(check(window(2000, seed=13)), "sector")
    assert "raro" not in sector.bins and "__other__" in sector.bins


def test_a_missing_rate_change_is_its_own_signal() -> None:
    current = window(3000, seed=14)
    current.loc[np.random.default_rng(14).random(len(current)) < 0.25, "f10"] = np.nan
    features = check(current)
    values, missing = result(features, "f10"), result(features, "f10", "missing_rate")
    assert not values.drifted, "the values that are there did not change"
    assert missing.drifted and missing.effect_size == pytest.approx(current["f10"].isna().mean())
    decision = decide(features, window_rows=3000)
    assert "f10" in decision.warnings[0].features


# --------------------------------------------------------------------------- sudden or gradual


def test_a_jump_against_the_previous_window_is_sudden() -> None:
    previous = window(3000, seed=15)
    current = window(3000, seed=16, shift={"f0": 1.0})
    features = check(current)
    attach_previous(features, compare_windows(previous, current, contract(), FEATURES, IMPORTANCE))
    attach_history(features, history_frame([]), [], T0, had_previous_window=True)
    f0 = result(features, "f0")
    assert f0.jump and f0.pattern == PATTERN_SUDDEN and f0.effect_size_previous > 0.3
    assert not result(features, "f1").jump
    action = decide(features, window_rows=3000).triggers[0].action_es
    assert action.startswith("Cambio súbito") and "origen de los datos" in action


def test_a_rise_against_the_reference_over_three_checks_is_gradual_and_projected() -> None:
    previous = window(3000, seed=17, shift={"f0": 0.4})
    current = window(3000, seed=18, shift={"f0": 0.5})
    features = check(current)
    attach_previous(features, compare_windows(previous, current, contract(), FEATURES, IMPORTANCE))
    history = history_frame(
        [("c-2", T0 - timedelta(days=60), "f0", "numeric", 0.05, False), ("c-1", T0 - timedelta(days=30), "f0", "numeric", 0.12, True)]
    )
    attach_history(features, history, ["c-1", "c-2"], T0, had_previous_window=True)
    f0 = result(features, "f0")
    assert not f0.jump and f0.pattern == PATTERN_GRADUAL
    assert f0.trend[:2] == [0.05, 0.12] and f0.trend[-1] == pytest.approx(f0.effect_size, abs=1e-6)
    projection = f0.projection
    assert projection and not projection["already_crossed"] and projection["checks_to_line"] > 0
    crossing = datetime.fromisoformat(projection["crossing_date"])
    assert T0 < crossing < T0 + timedelta(days=30 * 6)


def test_a_slow_rise_still_below_medium_is_an_early_warning_with_a_date() -> None:
    current = window(5000, seed=19, shift={"f2": 0.2})  # KS about 0.08: significant, below medium
    features = check(current)
    f2 = result(features, "f2")
    assert not f2.drifted and 0.05 <= f2.effect_size < 0.1
    history = history_frame(
        [("c-2", T0 - timedelta(days=60), "f2", "numeric", 0.02, False), ("c-1", T0 - timedelta(days=30), "f2", "numeric", 0.05, False)]
    )
    attach_history(features, history, ["c-1", "c-2"], T0, had_previous_window=True)
    assert f2.pattern == PATTERN_GRADUAL and f2.projection is not None
    decision = decide(features, window_rows=5000)
    assert not decision.retrain_requested
    watch = next(w for w in decision.warnings if w.code == "gradual_trend")
    assert "f2" in watch.features and "hacia" in watch.text_es


def test_key_features_are_the_top_ten_by_gain_with_at_least_one_percent() -> None:
    assert most_important(IMPORTANCE) == {"f0", "f1", "f2", "sector", "workers", "f3", "f4", "f5", "f6", "f7"}
    assert most_important({"a": 0.995, "b": 0.005}) == {"a"}, "a feature under 1 % of the gain is never key"
