"""The synthetic micro-business generator: determinism, shape, learnability, drift, Excel CSV."""

from __future__ import annotations

import re
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import precision_recall_curve, roc_auc_score

from shared.local import survey_vocabulary, synthetic
from shared.local.survey_vocabulary import CATEGORICAL_DRIFT_FEATURES, NUMERIC_DRIFT_FEATURES
from shared.local.synthetic import (
    ID_COLUMN,
    TARGET_COLUMN,
    DriftSpec,
    generate_batch,
    labels_of,
    without_target,
    write_excel_csv,
)

KS_SAMPLE_ROWS = 5_000


@pytest.fixture(scope="module")
def reference_month() -> pd.DataFrame:
    return generate_batch(KS_SAMPLE_ROWS, month=1, seed=11)


def _model_inputs(frame: pd.DataFrame, categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    """Features as LightGBM takes them: text -> category (train's levels), date -> day number."""
    features = without_target(frame).drop(columns=[ID_COLUMN])
    features["fecha_inicio"] = (features["fecha_inicio"] - pd.Timestamp("1970-01-01")).dt.days
    for name in features.columns:
        if not pd.api.types.is_numeric_dtype(features[name]):
            levels = None if categories is None else categories[name]
            features[name] = pd.Categorical(features[name].astype(object), categories=levels)
    return features


@pytest.fixture(scope="module")
def trained_model() -> tuple[lightgbm.LGBMClassifier, dict[str, pd.Index]]:
    train = generate_batch(15_000, month=0, seed=1)
    features = _model_inputs(train)
    categories = {
        name: features[name].cat.categories
        for name in features.columns
        if isinstance(features[name].dtype, pd.CategoricalDtype)
    }
    # Default parameters; one thread only because OpenMP spinning on a busy shared runner can make
    # the fit tens of times slower, and the thread count does not change what is learned.
    model = lightgbm.LGBMClassifier(n_estimators=200, verbose=-1, n_jobs=1)
    model.fit(features, (train[TARGET_COLUMN] == "si").astype(int))
    return model, categories


def _scores(model_and_levels, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    model, categories = model_and_levels
    scores = model.predict_proba(_model_inputs(frame, categories))[:, 1]
    return (frame[TARGET_COLUMN] == "si").to_numpy(dtype=int), scores


# ---- determinism and ids ------------------------------------------------------------------------


def test_same_seed_and_month_give_the_same_frame() -> None:
    pd.testing.assert_frame_equal(generate_batch(800, month=2, seed=5), generate_batch(800, month=2, seed=5))


def test_other_month_or_seed_gives_other_rows_and_month_ids_never_collide() -> None:
    month_two = generate_batch(800, month=2, seed=5)
    month_three = generate_batch(800, month=3, seed=5)
    other_seed = generate_batch(800, month=2, seed=6)
    assert not np.allclose(month_two["edad_propietario"], month_three["edad_propietario"])
    assert not np.allclose(month_two["edad_propietario"], other_seed["edad_propietario"])
    assert month_two[ID_COLUMN].is_unique
    assert set(month_two[ID_COLUMN]).isdisjoint(month_three[ID_COLUMN])
    all_ids = pd.concat([generate_batch(50, month=month, seed=5)[ID_COLUMN] for month in range(0, 25)])
    assert all_ids.is_unique
    assert all(re.fullmatch(r"MN-\d{9,}", identifier) for identifier in all_ids)


# ---- shape and content -----------------------------------------------------------------------------


def test_frame_has_id_84_features_and_target() -> None:
    frame = generate_batch(2_000, month=1, seed=3)
    features = [name for name in frame.columns if name not in (ID_COLUMN, TARGET_COLUMN)]
    assert len(features) == 84
    assert tuple(features) == synthetic.FEATURE_COLUMNS
    assert frame.columns[0] == ID_COLUMN and frame.columns[-1] == TARGET_COLUMN
    assert set(frame[TARGET_COLUMN]) == {"si", "no"}
    assert frame[TARGET_COLUMN].notna().all()
    for required in (
        "sector", "provincia", "area", "anios_operacion", "num_empleados", "ventas_mensuales",
        "costos_mensuales", "tiene_ruc", "lleva_contabilidad", "edad_propietario",
        "escolaridad_propietario", "sexo_propietario", "tiene_cuenta_bancaria", "usa_internet",
        "acceso_credito", "local_propio", "horas_semana", "fecha_inicio",
    ):  # fmt: skip
        assert required in frame.columns, required


def test_columns_look_like_survey_answers() -> None:
    frame = generate_batch(20_000, month=1, seed=4)
    assert pd.api.types.is_datetime64_any_dtype(frame["fecha_inicio"])
    assert (frame["fecha_inicio"] <= pd.Timestamp("2024-01-15")).all()
    for name in ("num_empleados", "anios_operacion", "edad_propietario", "horas_semana"):
        assert pd.api.types.is_integer_dtype(frame[name]), name
    assert frame["num_empleados"].between(1, 9).all()
    assert frame["edad_propietario"].between(18, 95).all()
    assert set(frame["area"]) == {"urbana", "rural"}
    assert {"Guayas", "Pichincha", "Manabí", "Azuay", "El Oro", "Los Ríos"} <= set(frame["provincia"])
    shares = frame["provincia"].value_counts(normalize=True)
    assert shares.index[0] == "Guayas" and shares.index[1] == "Pichincha"
    assert set(frame["escolaridad_propietario"].dropna()) == set(survey_vocabulary.ESCOLARIDADES)
    assert {"comercio", "servicios", "manufactura", "agricultura"} <= set(frame["sector"])
    assert {"si", "no"} == set(frame["tiene_ruc"]) == set(frame["lleva_contabilidad"])
    # Cents matter: sales carry decimals, so the decimal-comma path is exercised.
    assert (frame["ventas_mensuales"].dropna() % 1 != 0).mean() > 0.9
    assert (frame["ventas_mensuales"].dropna() > 0).all()
    for name, expected in survey_vocabulary.MISSING_SHARES.items():
        assert abs(frame[name].isna().mean() - expected) < 0.01, name
    assert frame[[name for name in frame.columns if name not in survey_vocabulary.MISSING_SHARES]].notna().all().all()


def test_prevalence_is_about_ten_percent() -> None:
    frame = generate_batch(20_000, month=0, seed=2)
    prevalence = (frame[TARGET_COLUMN] == "si").mean()
    assert 0.09 <= prevalence <= 0.12


def test_without_target_and_labels_of() -> None:
    frame = generate_batch(300, month=4, seed=9)
    incoming = without_target(frame)
    labels = labels_of(frame)
    assert TARGET_COLUMN not in incoming.columns and len(incoming.columns) == 85
    assert list(labels.columns) == [ID_COLUMN, TARGET_COLUMN]
    assert labels[ID_COLUMN].tolist() == incoming[ID_COLUMN].tolist()
    assert TARGET_COLUMN in frame.columns  # the input frame is left alone


# ---- learnability and a stable concept ----------------------------------------------------------------


def test_default_lightgbm_meets_the_business_floors_on_the_next_month(trained_model) -> None:
    truth, scores = _scores(trained_model, generate_batch(5_000, month=1, seed=1))
    assert roc_auc_score(truth, scores) >= 0.90
    precision, recall, _ = precision_recall_curve(truth, scores)
    assert np.any((precision >= 0.60) & (recall >= 0.65))


def test_concept_stays_under_feature_drift(trained_model) -> None:
    drift = DriftSpec(
        numeric_shift_sd={"ventas_mensuales": 1.0, "edad_propietario": -0.5},
        category_share_shift={"sector": ("agricultura", 0.15)},
    )
    truth, scores = _scores(trained_model, generate_batch(5_000, month=6, seed=1, drift=drift))
    assert roc_auc_score(truth, scores) >= 0.90


# ---- drift --------------------------------------------------------------------------------------------


def test_undrifted_fresh_sample_has_small_ks(reference_month: pd.DataFrame) -> None:
    fresh = generate_batch(KS_SAMPLE_ROWS, month=2, seed=12)
    for name in NUMERIC_DRIFT_FEATURES:
        statistic = ks_2samp(reference_month[name].dropna(), fresh[name].dropna()).statistic
        assert statistic < 0.05, (name, statistic)


@pytest.mark.parametrize("feature", NUMERIC_DRIFT_FEATURES)
def test_one_sd_numeric_drift_gives_large_ks(reference_month: pd.DataFrame, feature: str) -> None:
    drifted = generate_batch(
        KS_SAMPLE_ROWS, month=2, seed=12, drift=DriftSpec(numeric_shift_sd={feature: 1.0})
    )
    reference_values = reference_month[feature].dropna()
    drifted_values = drifted[feature].dropna()
    assert ks_2samp(reference_values, drifted_values).statistic > 0.3
    assert drifted_values.mean() > reference_values.mean()
    assert pd.api.types.is_integer_dtype(drifted[feature]) == pd.api.types.is_integer_dtype(
        reference_month[feature]
    )
    assert (drifted_values >= 0).all()


def test_numeric_drift_moves_the_mean_by_about_k_sd_on_symmetric_features(
    reference_month: pd.DataFrame,
) -> None:
    drifted = generate_batch(
        KS_SAMPLE_ROWS, month=2, seed=12, drift=DriftSpec(numeric_shift_sd={"horas_semana": -0.5})
    )
    reference = reference_month["horas_semana"]
    assert (drifted["horas_semana"].mean() - reference.mean()) / reference.std() == pytest.approx(
        -0.5, abs=0.08
    )


def test_drift_leaves_upstream_columns_untouched() -> None:
    plain = generate_batch(1_000, month=3, seed=8)
    drifted = generate_batch(
        1_000, month=3, seed=8, drift=DriftSpec(numeric_shift_sd={"costos_mensuales": 1.0})
    )
    pd.testing.assert_series_equal(plain["ventas_mensuales"], drifted["ventas_mensuales"])
    pd.testing.assert_series_equal(plain["provincia"], drifted["provincia"])
    assert not plain["costos_mensuales"].equals(drifted["costos_mensuales"])


@pytest.mark.parametrize(
    ("feature", "category", "points"),
    [
        ("sector", "comercio", 0.15),
        ("tiene_ruc", "si", 0.15),
        ("escolaridad_propietario", "superior", 0.10),
        ("area", "rural", 0.20),
        ("provincia", "Manabí", 0.10),
        ("sector", "comercio", -0.20),
    ],
)
def test_category_share_shift_moves_the_share_by_the_requested_points(
    feature: str, category: str, points: float
) -> None:
    plain = generate_batch(20_000, month=5, seed=21)
    drifted = generate_batch(
        20_000, month=5, seed=21, drift=DriftSpec(category_share_shift={feature: (category, points)})
    )
    plain_shares = plain[feature].value_counts(normalize=True)
    drifted_shares = drifted[feature].value_counts(normalize=True)
    assert drifted_shares[category] - plain_shares[category] == pytest.approx(points, abs=0.02)
    # The other categories shrink (or grow) proportionally.
    others = plain_shares.drop(category)
    expected_others = others * (1 - plain_shares[category] - points) / (1 - plain_shares[category])
    for other, expected in expected_others[expected_others > 0.05].items():
        assert drifted_shares.get(other, 0.0) == pytest.approx(expected, abs=0.015), other


def test_drift_features_exist_and_bad_specs_are_refused() -> None:
    assert set(NUMERIC_DRIFT_FEATURES) <= set(synthetic.FEATURE_COLUMNS)
    assert set(CATEGORICAL_DRIFT_FEATURES) <= set(synthetic.FEATURE_COLUMNS)
    with pytest.raises(ValueError):
        DriftSpec(numeric_shift_sd={"no_such_feature": 1.0})
    with pytest.raises(ValueError):
        DriftSpec(category_share_shift={"sector": ("mineria_espacial", 0.1)})
    with pytest.raises(ValueError):
        DriftSpec(category_share_shift={"sector": ("comercio", 1.5)})
    spec = DriftSpec(numeric_shift_sd={"ventas_mensuales": 1.0})
    with pytest.raises(TypeError):
        spec.numeric_shift_sd["ventas_mensuales"] = 2.0  # type: ignore[index]


# ---- Excel-style CSV --------------------------------------------------------------------------------------


def test_write_excel_csv_looks_like_spanish_excel_and_reads_back(tmp_path: Path) -> None:
    frame = generate_batch(2_000, month=1, seed=13)
    path = tmp_path / "nested" / "negocios.csv"
    write_excel_csv(frame, path)
    raw = path.read_bytes()

    text = raw.decode("cp1252")  # raises if not Windows-1252
    assert "Manabí".encode("cp1252") in raw
    assert raw.count(b"\r\n") == len(frame) + 1
    assert b"\n" not in raw.replace(b"\r\n", b"")
    header, first_row = text.split("\r\n")[:2]
    assert header.split(";")[0] == ID_COLUMN and header.count(";") == len(frame.columns) - 1
    first = dict(zip(header.split(";"), first_row.split(";"), strict=True))
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", first["fecha_inicio"])
    sales_cells = [
        line.split(";")[header.split(";").index("ventas_mensuales")] for line in text.split("\r\n")[1:-1]
    ]
    assert any(re.fullmatch(r"\d+,\d{1,2}", cell) for cell in sales_cells)
    assert not any("." in cell for cell in sales_cells)

    back = pd.read_csv(path, sep=";", decimal=",", encoding="cp1252")
    assert list(back.columns) == list(frame.columns)
    assert back[ID_COLUMN].tolist() == frame[ID_COLUMN].tolist()
    np.testing.assert_allclose(back["ventas_mensuales"], frame["ventas_mensuales"])
    np.testing.assert_allclose(back["distancia_mercado_km"], frame["distancia_mercado_km"])
    assert back["num_empleados"].tolist() == frame["num_empleados"].tolist()
    assert back["provincia"].tolist() == frame["provincia"].tolist()
    pd.testing.assert_series_equal(
        pd.to_datetime(back["fecha_inicio"], format="%d/%m/%Y"), frame["fecha_inicio"], check_dtype=False
    )
    assert back["escolaridad_propietario"].isna().sum() == frame["escolaridad_propietario"].isna().sum()
