"""Which drift test a feature gets (shared.monitor.drift_values)."""

from __future__ import annotations

import numpy as np

from shared.monitor.drift_values import choose_kind

# --------------------------------------------------------------------------- kind


def test_choose_kind() -> None:
    many_numbers = np.arange(100.0)
    assert choose_kind(many_numbers) == "numeric"
    assert choose_kind(list(range(100)) + [None]) == "numeric"
    assert choose_kind([0, 1, 2, 3] * 50) == "categorical"  # low cardinality
    assert choose_kind(np.arange(20.0)) == "categorical"
    assert choose_kind(np.arange(21.0)) == "numeric"
    assert choose_kind(np.arange(21.0), max_categories=30) == "categorical"
    assert choose_kind(["north", "south"] * 50) == "categorical"
    assert choose_kind([True, False] * 50) == "categorical"
    assert choose_kind([str(number) for number in range(100)]) == "numeric"  # digits, undeclared
    # the declared type wins over what the values look like
    assert choose_kind([str(number) for number in range(100)], declared_type="string") == "categorical"
    assert choose_kind(many_numbers, declared_type="categorical") == "categorical"
    assert choose_kind(many_numbers.astype(str), declared_type="float") == "numeric"
    # declared numeric with few distinct values is still low cardinality
    assert choose_kind([1, 2, 3] * 100, declared_type="integer") == "categorical"
