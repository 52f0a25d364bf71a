"""Training (threshold, gates, metrics, splits) and scoring with reasons, on a small synthetic frame."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from shared.errors import BadInputError
from shared.ingest.contract import GENERATED_ID_COLUMN, ColumnSpec, Contract
from shared.model.features import model_matrix, target_vector
from shared.model.loaded_model import LoadedModel
from shared.model.metrics import binary_metrics
from shared.model.scoring import PathAttribution, prediction_columns, score_batch
from shared.model.training import (
    TrainedModel,
    choose_threshold,
    gate_failures,
    split_rows,
    train_model,
)

ROWS = 1500
SALES = "ventas mensuales"  # a space in the name: LightGBM renames such features internally
REGIONS = ["Norte", "Sur", "Este", "Oeste"]
FEATURES = [SALES, "región", "antigüedad", "ruido"]


def _contract(columns: list[str] = FEATURES, *, id_column: str | None = "cliente_id") -> Contract:
    specs = {
        "cliente_id": ColumnSpec("cliente_id", "identifier", nullable=False),
        SALES: ColumnSpec(SALES, "numeric", min=0.0),
        "región": ColumnSpec("región", "categorical", values=REGIONS),
        "antigüedad": ColumnSpec("antigüedad", "numeric"),
        "ruido": ColumnSpec("ruido", "numeric"),
        "alta": ColumnSpec("alta", "date", format="%d/%m/%Y"),
        "compra": ColumnSpec("compra", "categorical", values=["no", "sí"], nullable=False),
    }
    keep = [name for name in specs if name in columns or name in ("compra", "alta") or name == id_column]
    return Contract(
        name="ventas",
        target="compra",
        positive="sí",
        negative="no",
        id_column=id_column,
        columns={name: specs[name] for name in keep},
        gates={"roc_auc": 0.70, "precision": 0.50, "recall": 0.50},
    )


def _frame(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """Clean, typed labeled rows with real signal in sales, region and tenure; 'ruido' is noise."""
    rng = np.random.default_rng(seed)
    sales = rng.gamma(2.0, 500.0, rows)
    region = rng.choice(REGIONS, rows)
    tenure = rng.integers(0, 120, rows).astype(float)
    tenure[rng.random(rows) < 0.1] = np.nan
    noise = rng.normal(size=rows)
    logit = 2.2 * (sales - 1000) / 700 + np.select([region == "Norte", region == "Sur"], [1.5, -1.0], 0.0) - 0.02 * np.nan_to_num(tenure, nan=60.0) + 0.5
    bought = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "cliente_id": pd.array([f"C{i:05d}" for i in range(rows)], dtype="string"),
            SALES: sales,
            "región": pd.array(region, dtype="string"),
            "antigüedad": tenure,
            "ruido": noise,
            "alta": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
            "compra": pd.array(np.where(bought, "sí", "no"), dtype="string"),
        }
    )


@pytest.fixture(scope="module")
def labeled() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def trained(labeled: pd.DataFrame) -> TrainedModel:
    return train_model(labeled, _contract(), seed=42)


def _loaded(trained: TrainedModel, contract: Contract, version: str = "7") -> LoadedModel:
    meta = {
        "features": trained.features,
        "threshold": trained.threshold,
        "feature_importance": trained.feature_importance,
        "numeric_quartiles": trained.numeric_quartiles,
    }
    return LoadedModel(version=version, booster=trained.booster, contract=contract, meta=meta, reference_sample=trained.reference_sample)


@pytest.fixture(scope="module")
def model(trained: TrainedModel) -> LoadedModel:
    return _loaded(trained, _contract())


# -- threshold, gates, metrics (hand-built cases) ---------------------------------------------------

# Sorted scores with their labels. Thresholds in (0.3, 0.4] give precision 0.8 / recall 1.0 (best F1,
# 0.889); thresholds in (0.6, 0.7] give precision 1.0 / recall 0.75: with floors 0.6 / 0.5 its smaller
# slack (0.25) is the widest of all.
HAND_Y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
HAND_SCORES = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])


def test_choose_threshold_meets_floors_with_the_widest_margin() -> None:
    threshold = choose_threshold(HAND_Y, HAND_SCORES, {"precision": 0.6, "recall": 0.5})
    assert 0.6 < threshold <= 0.7
    metrics = binary_metrics(HAND_Y, HAND_SCORES, threshold)
    assert metrics["precision"] == 1.0
    assert metrics["recall"] == 0.75


def test_choose_threshold_falls_back_to_best_f1_when_floors_are_unreachable() -> None:
    threshold = choose_threshold(HAND_Y, HAND_SCORES, {"precision": 0.99, "recall": 0.99})
    assert 0.3 < threshold <= 0.4
    metrics = binary_metrics(HAND_Y, HAND_SCORES, threshold)
    assert metrics["precision"] == pytest.approx(0.8)
    assert metrics["recall"] == 1.0
    assert metrics["f1"] == pytest.approx(8 / 9)


def test_choose_threshold_high_recall_floor_moves_it_down() -> None:
    # recall >= 0.9 needs every positive (threshold <= 0.4); precision >= 0.7 then needs threshold > 0.3
    threshold = choose_threshold(HAND_Y, HAND_SCORES, {"precision": 0.7, "recall": 0.9})
    assert 0.3 < threshold <= 0.4


def test_binary_metrics_hand_computed() -> None:
    y = np.array([1, 1, 0, 0, 1])
    scores = np.array([0.9, 0.4, 0.6, 0.2, 0.7])
    metrics = binary_metrics(y, scores, 0.5)  # predicted 1, 0, 1, 0, 1: TP 2, FP 1, FN 1, TN 1
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["positive_rate"] == pytest.approx(3 / 5)
    assert metrics["roc_auc"] == pytest.approx(5 / 6)  # 5 of 6 positive/negative pairs ranked right
    assert metrics["rows"] == 5.0


def test_binary_metrics_single_class_has_no_auc() -> None:
    metrics = binary_metrics(np.array([0, 0, 0]), np.array([0.1, 0.6, 0.2]), 0.5)
    assert np.isnan(metrics["roc_auc"])
    assert metrics["precision"] == 0.0
    assert metrics["accuracy"] == pytest.approx(2 / 3)


def test_gate_failures() -> None:
    gates = {"roc_auc": 0.80, "precision": 0.60, "recall": 0.65}
    assert gate_failures({"roc_auc": 0.85, "precision": 0.60, "recall": 0.70}, gates) == []
    assert gate_failures({"roc_auc": 0.79, "precision": 0.70, "recall": 0.50}, gates) == [
        "roc_auc 0.790 < 0.80",
        "recall 0.500 < 0.65",
    ]
    assert gate_failures({"roc_auc": float("nan"), "precision": 0.9}, gates) == [
        "roc_auc nan < 0.80",
        "recall n/a < 0.65",  # a metric that was not computed fails its gate
    ]


# -- training -------------------------------------------------------------------------------------


def test_train_model_holdout_metrics(trained: TrainedModel, labeled: pd.DataFrame) -> None:
    assert set(trained.metrics) >= {"roc_auc", "precision", "recall", "f1", "accuracy", "positive_rate", "rows"}
    assert trained.metrics["roc_auc"] > 0.8  # the frame has real signal
    assert trained.metrics["rows"] == trained.rows["holdout"] == len(trained.holdout_index)
    assert 0.0 < trained.threshold < 1.0
    assert trained.features == FEATURES
    # development rows are cross-validated (every one is a validation row once), the holdout is apart
    assert trained.rows["train"] + trained.rows["holdout"] == len(labeled)
    assert trained.rows["validation"] == trained.rows["train"] and trained.rows["cv_folds"] == 4
    assert trained.rows["positives"] == int((labeled["compra"] == "sí").sum())
    assert trained.gate_failures == gate_failures(trained.metrics, _contract().gates)
    assert trained.gates_passed == (trained.gate_failures == [])
    assert trained.params["best_iteration"] >= 1
    # the holdout metrics are what the saved booster gives on the holdout rows
    holdout = labeled.iloc[trained.holdout_index]
    scores = trained.booster.predict(model_matrix(holdout, _contract(), FEATURES))
    y = target_vector(holdout["compra"], _contract())
    assert binary_metrics(y, scores, trained.threshold) == pytest.approx(trained.metrics)


def test_train_model_holdout_is_disjoint_from_training(trained: TrainedModel, labeled: pd.DataFrame) -> None:
    y = target_vector(labeled["compra"], _contract())
    development_idx, holdout_idx = split_rows(y, 42)
    assert np.array_equal(trained.holdout_index, np.sort(holdout_idx))
    assert not set(trained.holdout_index) & set(development_idx)
    assert len(np.unique(trained.holdout_index)) == len(trained.holdout_index)
    assert len(holdout_idx) == round(0.15 * len(labeled))
    # the reference sample is made of development rows only
    expected = labeled.iloc[np.sort(development_idx)][FEATURES].reset_index(drop=True)
    pd.testing.assert_frame_equal(trained.reference_sample[FEATURES], expected)


def test_train_model_reference_sample_and_importances(trained: TrainedModel) -> None:
    reference = trained.reference_sample
    assert list(reference.columns) == FEATURES + ["score"]
    assert len(reference) == trained.rows["train"]
    assert reference["score"].between(0, 1).all()
    assert reference["score"].std() > 0.1
    assert set(trained.feature_importance) == set(FEATURES)  # the contract's names, not LightGBM's
    assert sum(trained.feature_importance.values()) == pytest.approx(1.0)
    assert all(value >= 0 for value in trained.feature_importance.values())
    assert trained.feature_importance[SALES] == max(trained.feature_importance.values())
    assert trained.feature_importance["ruido"] < trained.feature_importance[SALES]


def test_train_model_numeric_quartiles(trained: TrainedModel, labeled: pd.DataFrame) -> None:
    assert set(trained.numeric_quartiles) == {SALES, "antigüedad", "ruido"}
    low, high = trained.numeric_quartiles["antigüedad"]
    assert low == pytest.approx(np.nanquantile(labeled["antigüedad"], 0.25))
    assert high == pytest.approx(np.nanquantile(labeled["antigüedad"], 0.75))


def test_train_model_honours_an_explicit_holdout_mask(labeled: pd.DataFrame) -> None:
    mask = np.zeros(len(labeled), dtype=bool)
    mask[-400:] = True  # e.g. the most recent rows, which the champion never saw
    result = train_model(labeled, _contract(), seed=3, holdout_mask=mask)
    assert np.array_equal(result.holdout_index, np.arange(len(labeled) - 400, len(labeled)))
    assert result.rows["holdout"] == 400
    assert result.metrics["rows"] == 400.0
    assert result.rows["train"] == len(labeled) - 400
    assert len(result.reference_sample) == result.rows["train"]


def test_train_model_refuses_too_little_data(labeled: pd.DataFrame) -> None:
    with pytest.raises(BadInputError) as caught:
        train_model(labeled.head(60), _contract())
    assert caught.value.code == "too_few_rows"
    assert "60" in caught.value.message_es and "60" in caught.value.message_en
    one_class = labeled[labeled["compra"] == "no"].head(300)
    with pytest.raises(BadInputError, match="0 positives"):
        train_model(one_class, _contract())


def test_train_model_needs_features(labeled: pd.DataFrame) -> None:
    with pytest.raises(BadInputError) as caught:
        train_model(labeled, _contract(columns=[]))
    assert caught.value.code == "no_features"


# -- scoring --------------------------------------------------------------------------------------

REASON = re.compile(r"^(?P<feature>.+) (?P<level>bajo|medio|alto|sin dato|= .+) (?P<arrow>[↑↓])$")
REASON_EN = re.compile(r"^(?P<feature>.+) (?P<level>low|medium|high|missing|= .+) (?P<arrow>[↑↓])$")


@pytest.fixture(scope="module")
def batch(labeled: pd.DataFrame) -> pd.DataFrame:
    rows = labeled.iloc[:200].drop(columns=["compra"]).reset_index(drop=True)
    rows.loc[:9, SALES] = np.nan  # missing values must read "sin dato"
    rows.loc[10:14, "región"] = pd.NA
    return rows


@pytest.fixture(scope="module")
def predictions(model: LoadedModel, batch: pd.DataFrame) -> pd.DataFrame:
    return score_batch(model, batch)


def test_score_batch_column_order_and_ids(predictions: pd.DataFrame, batch: pd.DataFrame) -> None:
    assert list(predictions.columns) == ["cliente_id", "score", "label", "reason_1", "reason_2", "reason_3", "model_version"]
    assert list(predictions.columns) == prediction_columns("cliente_id")
    assert predictions["cliente_id"].tolist() == batch["cliente_id"].tolist()
    assert (predictions["model_version"] == "7").all()
    assert len(predictions) == len(batch)


def test_score_batch_scores_and_labels(predictions: pd.DataFrame, model: LoadedModel, batch: pd.DataFrame) -> None:
    raw = model.booster.predict(model_matrix(batch, model.contract, model.features))
    assert predictions["score"].to_numpy() == pytest.approx(raw, abs=1e-6)
    assert predictions["score"].between(0, 1).all()
    positive = (predictions["label"] == "sí").to_numpy()
    assert np.array_equal(positive, (predictions["score"] >= model.threshold).to_numpy())
    assert set(predictions["label"]) == {"sí", "no"}


def test_label_agrees_with_the_written_score_at_the_threshold(trained: TrainedModel, batch: pd.DataFrame) -> None:
    contract = _contract()
    raw = trained.booster.predict(model_matrix(batch, contract, FEATURES))
    # a row whose score rounds down: put the threshold between the written and the exact score
    row = int(np.flatnonzero(np.round(raw, 6) < raw - 1e-9)[0])
    model = _loaded(trained, contract)
    model.meta["threshold"] = float(raw[row] - 1e-9)
    out = score_batch(model, batch, with_reasons=False)
    assert out.loc[row, "score"] < model.threshold
    assert out.loc[row, "label"] == "no"
    assert np.array_equal((out["label"] == "sí").to_numpy(), (out["score"] >= model.threshold).to_numpy())


def test_reasons_name_features_with_direction_and_level(predictions: pd.DataFrame, model: LoadedModel, batch: pd.DataFrame) -> None:
    matrix = model_matrix(batch, model.contract, model.features)
    contributions = PathAttribution.of(model.booster).contributions(model.booster, matrix)
    for row in range(len(batch)):
        named = []
        for slot in (1, 2, 3):
            match = REASON.match(predictions.loc[row, f"reason_{slot}"])
            assert match, predictions.loc[row, f"reason_{slot}"]
            feature = match["feature"]
            assert feature in FEATURES
            index = FEATURES.index(feature)
            assert (match["arrow"] == "↑") == (contributions[row, index] > 0)
            value = batch.loc[row, feature]
            if feature == "región":
                assert match["level"] == ("sin dato" if pd.isna(value) else f"= {value}")
            elif pd.isna(value):
                assert match["level"] == "sin dato"
            else:
                low, high = model.meta["numeric_quartiles"][feature]
                assert match["level"] == ("bajo" if value < low else "alto" if value > high else "medio")
            named.append(index)
        assert len(set(named)) == 3
        # strongest first
        magnitudes = np.abs(contributions[row, named])
        assert list(magnitudes) == sorted(magnitudes, reverse=True)
        assert magnitudes[0] == np.abs(contributions[row]).max()


def test_reasons_cover_every_level_word(predictions: pd.DataFrame) -> None:
    text = " ".join(predictions[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel())
    for word in ("alto", "bajo", "medio", "sin dato", "= Norte"):
        assert word in text


def test_reasons_in_english(model: LoadedModel, batch: pd.DataFrame) -> None:
    english = score_batch(model, batch, language="en")
    texts = english[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel()
    assert all(REASON_EN.match(text) for text in texts)
    joined = " ".join(texts)
    assert "missing" in joined and "high" in joined
    assert "alto" not in joined and "sin dato" not in joined


def test_score_batch_without_reasons_and_empty(model: LoadedModel, batch: pd.DataFrame) -> None:
    plain = score_batch(model, batch.head(5), with_reasons=False)
    assert list(plain.columns) == prediction_columns("cliente_id")
    assert plain[["reason_1", "reason_2", "reason_3"]].isna().all().all()
    empty = score_batch(model, batch.head(0))
    assert list(empty.columns) == prediction_columns("cliente_id")
    assert len(empty) == 0


def test_score_batch_passthrough_and_generated_ids(trained: TrainedModel, batch: pd.DataFrame) -> None:
    contract = _contract(id_column=None)
    contract.passthrough = ["vendedor"]
    clean = batch.drop(columns=["cliente_id"]).head(3).assign(
        row_id=["ventas-2", "ventas-3", "ventas-4"], vendedor=["Ana", "Luis", "Eva"]
    )
    out = score_batch(_loaded(trained, contract), clean)
    assert list(out.columns) == prediction_columns(GENERATED_ID_COLUMN) + ["vendedor"]
    assert out[GENERATED_ID_COLUMN].tolist() == ["ventas-2", "ventas-3", "ventas-4"]
    assert out["vendedor"].tolist() == ["Ana", "Luis", "Eva"]


def test_model_with_fewer_features_than_reasons(labeled: pd.DataFrame) -> None:
    contract = _contract(columns=[SALES, "región"])
    small = train_model(labeled.head(600), contract, seed=1)
    out = score_batch(_loaded(small, contract), labeled.head(20))
    assert list(out.columns) == prediction_columns("cliente_id")
    assert out["reason_1"].str.match(r"^(ventas mensuales|región) ").all()
    assert out["reason_2"].notna().all()
    assert out["reason_3"].isna().all()


# -- path attribution (the reasons' method) -----------------------------------------------------------


def test_path_attribution_adds_up_to_the_raw_score_and_scores_match_predict(trained: TrainedModel, batch: pd.DataFrame) -> None:
    from shared.model.scoring import numeric_matrix

    matrix = model_matrix(batch, _contract(), trained.features)
    attribution = PathAttribution.of(trained.booster)
    assert PathAttribution.of(trained.booster) is attribution  # built once per booster
    contributions = attribution.contributions(trained.booster, matrix)
    raw = trained.booster.predict(matrix, raw_score=True)
    dump = trained.booster.dump_model()
    expected_value = sum(t["tree_structure"].get("internal_value", t["tree_structure"].get("leaf_value", 0.0)) for t in dump["tree_info"])
    assert contributions.sum(axis=1) + expected_value == pytest.approx(raw, abs=1e-9)  # local accuracy, like SHAP
    leaves = attribution.leaves(trained.booster, numeric_matrix(matrix))
    assert attribution.predictions(leaves) == pytest.approx(trained.booster.predict(matrix), abs=1e-12)
    # the strongest reason points the same way TreeSHAP does on (nearly) every row
    shap = trained.booster.predict(matrix, pred_contrib=True)[:, :-1]
    top = np.abs(contributions).argmax(axis=1)
    rows = np.arange(len(matrix))
    assert (np.sign(shap[rows, top]) == np.sign(contributions[rows, top])).mean() > 0.9


def test_scores_with_and_without_reasons_are_identical(model: LoadedModel, batch: pd.DataFrame) -> None:
    plain = score_batch(model, batch, with_reasons=False)
    explained = score_batch(model, batch, with_reasons=True)
    assert plain["score"].tolist() == explained["score"].tolist()
    assert plain["label"].tolist() == explained["label"].tolist()


def test_multiclass_reasons_follow_the_predicted_class() -> None:

    rng = np.random.default_rng(3)
    rows = 900
    frame = _frame(rows, seed=3)
    sales = frame[SALES].to_numpy()
    frame["nivel"] = pd.array(np.where(sales > 1300, "Alto", np.where(sales > 600, "Medio", "Bajo")), dtype="string")
    frame.loc[rng.random(rows) < 0.1, "nivel"] = "Medio"
    contract = Contract.from_dict(
        {
            "name": "niveles", "task": "multiclass", "target": {"column": "nivel", "classes": ["Alto", "Medio", "Bajo"]}, "id_column": "cliente_id",
            "training": {"time_budget_seconds": 1},
            "columns": {**{name: spec.to_dict() for name, spec in _contract().columns.items() if name != "compra"}, "nivel": {"type": "categorical", "values": ["Alto", "Medio", "Bajo"]}},
        }
    )
    trained = train_model(frame, contract, seed=1)
    assert trained.task == "multiclass" and trained.metrics["macro_f1"] > 0.7
    loaded = _loaded(trained, contract)
    loaded.meta.update(task="multiclass", classes=trained.classes)
    out = score_batch(loaded, frame.head(50))
    assert list(out.columns) == prediction_columns("cliente_id", "multiclass", ["Alto", "Medio", "Bajo"])
    probabilities = out[["score_Alto", "score_Medio", "score_Bajo"]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    matrix = model_matrix(frame.head(50), contract, trained.features)
    raw = trained.booster.predict(matrix, raw_score=True)
    predicted = probabilities.argmax(axis=1)
    attribution = PathAttribution.of(trained.booster)
    contributions = attribution.contributions(trained.booster, matrix, predicted)
    dump = trained.booster.dump_model()
    per_class = np.zeros(3)
    for index, tree in enumerate(dump["tree_info"]):
        per_class[index % 3] += tree["tree_structure"].get("internal_value", tree["tree_structure"].get("leaf_value", 0.0))
    assert contributions.sum(axis=1) + per_class[predicted] == pytest.approx(raw[np.arange(50), predicted], abs=1e-9)
    assert out["reason_1"].str.startswith(SALES).mean() > 0.8  # sales decide the level
