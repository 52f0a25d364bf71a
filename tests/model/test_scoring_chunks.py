"""The scoring step's work on the leaves goes a slice of rows at a time (``ROWS_PER_SLICE``) and keeps
leaf indices in 32 bits, to keep a batch's temporary arrays small. Every row is computed on its own,
so neither changes a number: scores, labels and reasons are the same to the bit as computed over the
whole batch with 64-bit indices (what the scoring step did before)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shared.model.scoring as scoring
from shared.ingest.contract import Contract
from shared.model.features import model_matrix
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import PathAttribution, numeric_matrix, score_batch
from shared.model.training import TrainedModel, train_model
from tests.model.test_training_scoring import SALES, _contract, _frame, _loaded


@pytest.fixture(scope="module")
def binary() -> tuple[TrainedModel, LoadedModel, pd.DataFrame]:
    labeled = _frame(1200, seed=5)
    trained = train_model(labeled, _contract(), seed=3)
    batch = labeled.drop(columns=["compra"]).reset_index(drop=True)
    batch.loc[:9, SALES] = np.nan
    batch.loc[10:14, "región"] = pd.NA
    return trained, _loaded(trained, _contract()), batch


@pytest.fixture(scope="module")
def multiclass() -> tuple[TrainedModel, LoadedModel, pd.DataFrame]:
    frame = _frame(900, seed=3)
    sales = frame[SALES].to_numpy()
    frame["nivel"] = pd.array(np.where(sales > 1300, "Alto", np.where(sales > 600, "Medio", "Bajo")), dtype="string")
    contract = Contract.from_dict(
        {
            "name": "niveles", "task": "multiclass", "target": {"column": "nivel", "classes": ["Alto", "Medio", "Bajo"]}, "id_column": "cliente_id",
            "training": {"time_budget_seconds": 1},
            "columns": {**{name: spec.to_dict() for name, spec in _contract().columns.items() if name != "compra"}, "nivel": {"type": "categorical", "values": ["Alto", "Medio", "Bajo"]}},
        }
    )
    trained = train_model(frame, contract, seed=1)
    loaded = _loaded(trained, contract)
    loaded.meta.update(task="multiclass", classes=trained.classes)
    return trained, loaded, frame.drop(columns=["nivel", "compra"]).reset_index(drop=True)


def _unsliced_predictions(attribution: PathAttribution, trained: TrainedModel, numeric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leaves and predictions as computed over the whole batch, with 64-bit indices."""
    leaves = trained.booster.predict(numeric, pred_leaf=True).astype(np.int64) + attribution.leaf_offset[None, :]
    values = attribution.leaf_value[leaves]
    if attribution.classes > 1:
        raw = np.stack([values[:, attribution.tree_class == k].sum(axis=1) for k in range(attribution.classes)], axis=1)
        raw -= raw.max(axis=1, keepdims=True)
        exp = np.exp(raw)
        return leaves, exp / exp.sum(axis=1, keepdims=True)
    return leaves, 1.0 / (1.0 + np.exp(-attribution.sigmoid * values.sum(axis=1)))


@pytest.mark.parametrize("case", ["binary", "multiclass"])
def test_leaves_and_predictions_are_the_unsliced_ones_to_the_bit(case: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    trained, loaded, batch = request.getfixturevalue(case)
    numeric = numeric_matrix(model_matrix(batch, loaded.contract, loaded.features))
    attribution = PathAttribution.of(trained.booster)
    expected_leaves, expected = _unsliced_predictions(attribution, trained, numeric)

    monkeypatch.setattr(scoring, "ROWS_PER_SLICE", 7)  # many slices, the last one short
    leaves = attribution.leaves(trained.booster, numeric)
    assert leaves.dtype == np.int32
    assert np.array_equal(leaves, expected_leaves)
    assert np.array_equal(attribution.predictions(leaves), expected)


@pytest.mark.parametrize("case", ["binary", "multiclass"])
def test_score_batch_is_the_same_whatever_the_slice(case: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    _, loaded, batch = request.getfixturevalue(case)
    assert len(batch) < scoring.ROWS_PER_SLICE
    whole = score_batch(loaded, batch)  # one slice
    monkeypatch.setattr(scoring, "ROWS_PER_SLICE", 7)
    sliced = score_batch(loaded, batch)
    pd.testing.assert_frame_equal(sliced, whole, check_exact=True)
    assert whole["reason_1"].notna().all()


@pytest.mark.parametrize("case", ["binary", "multiclass"])
@pytest.mark.parametrize("reasons", [True, False])
def test_score_batch_is_the_same_on_two_threads(case: str, reasons: bool, request: pytest.FixtureRequest) -> None:
    """The score function predicts on the CPUs its instance has (lightgbm_runtime.threads_for_one_step):
    each row is still computed on its own, so the numbers do not move."""
    _, loaded, batch = request.getfixturevalue(case)
    one = score_batch(loaded, batch, with_reasons=reasons, num_threads=1)
    two = score_batch(loaded, batch, with_reasons=reasons, num_threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)
