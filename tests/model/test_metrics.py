"""shared.model.metrics: the one set of metric functions, checked against scikit-learn's definitions
and shown to be what training, the shadow comparison and measured performance use."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from shared.model import metrics

LABELS = st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(rows=LABELS, threshold=st.floats(0.05, 0.95))
def test_binary_metrics_are_scikit_learns(rows: list[tuple[int, float]], threshold: float) -> None:
    actual = np.array([r[0] for r in rows])
    scores = np.array([r[1] for r in rows])
    predicted = (scores >= threshold).astype(int)
    got = metrics.binary_metrics(actual, scores, threshold)
    assert got["precision"] == pytest.approx(precision_score(actual, predicted, zero_division=0))
    assert got["recall"] == pytest.approx(recall_score(actual, predicted, zero_division=0))
    assert got["f1"] == pytest.approx(f1_score(actual, predicted, zero_division=0))
    if len(set(actual)) == 2:
        assert got["roc_auc"] == pytest.approx(roc_auc_score(actual, scores))
    else:
        assert np.isnan(got["roc_auc"]) and metrics.roc_auc(actual, scores) is None


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=50))
def test_macro_f1_is_scikit_learns_over_the_given_classes(pairs: list[tuple[int, int]]) -> None:
    actual = np.array([p[0] for p in pairs])
    predicted = np.array([p[1] for p in pairs])
    classes = np.arange(4)
    assert metrics.macro_f1(actual, predicted, classes) == pytest.approx(f1_score(actual, predicted, average="macro", labels=classes, zero_division=0))


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=50))
def test_regression_metrics_are_scikit_learns(pairs: list[tuple[float, float]]) -> None:
    actual = np.array([p[0] for p in pairs])
    predicted = np.array([p[1] for p in pairs])
    got = metrics.regression_metrics(actual, predicted)
    assert got["rmse"] == pytest.approx(np.sqrt(mean_squared_error(actual, predicted)), rel=1e-9, abs=1e-9)
    assert got["mae"] == pytest.approx(mean_absolute_error(actual, predicted), rel=1e-9, abs=1e-9)
    if np.sum((actual - actual.mean()) ** 2) > 1e-9:
        assert got["r2"] == pytest.approx(r2_score(actual, predicted), rel=1e-6, abs=1e-6)


def test_training_the_shadow_and_measured_performance_share_them() -> None:
    from shared.lifecycle import promotion, shadow
    from shared.model import training
    from shared.monitor import performance

    assert training.binary_metrics is metrics.binary_metrics
    assert promotion.regression_metrics is metrics.regression_metrics
    assert shadow.metrics is metrics
    assert performance.roc_auc is metrics.roc_auc and performance.macro_f1 is metrics.macro_f1
