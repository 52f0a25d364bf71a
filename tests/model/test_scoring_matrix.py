"""The scoring step's direct feature matrix equals the model matrix LightGBM was trained on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.backends import services
from shared.backends.registry import CHAMPION
from shared.model import registered
from shared.model.features import model_matrix
from shared.model.scoring import features_numeric, numeric_matrix, score_batch
from shared.settings import Settings
from tests.conftest import SyntheticFiles


def test_features_numeric_is_the_model_matrix_as_numbers(champion_home: Settings, synthetic_files: SyntheticFiles) -> None:
    from shared.local import synthetic

    model = registered.load(services.registry(champion_home), CHAMPION)
    clean = synthetic.generate_batch(500, month=1, seed=5)
    categorical = [n for n in model.features if model.contract.columns[n].type == "categorical"]
    numeric = [n for n in model.features if model.contract.columns[n].type != "categorical"]
    for name in categorical:
        clean[name] = clean[name].astype("string")  # what the clean Parquet gives: Arrow strings
    clean.loc[:4, categorical[0]] = "a category the model never saw"
    clean.loc[5:9, categorical[0]] = None
    clean.loc[:2, numeric[0]] = np.nan
    clean = clean.drop(columns=[categorical[-1]])  # a column the file does not carry

    expected = numeric_matrix(model_matrix(clean, model.contract, model.features))
    assert np.array_equal(features_numeric(model, clean), expected, equal_nan=True)
    as_objects = clean.astype({name: object for name in categorical if name in clean})
    assert np.array_equal(features_numeric(model, as_objects), expected, equal_nan=True)

    scored = score_batch(model, clean)
    assert np.allclose(scored["score"].to_numpy(), np.round(model.booster.predict(model_matrix(clean, model.contract, model.features)), 6), atol=1e-6)
    assert scored["reason_1"].notna().all() and isinstance(scored, pd.DataFrame)


def test_an_arrow_table_scores_as_its_pandas_frame(champion_home: Settings) -> None:
    """`dropscore score` hands score_batch the clean rows as Arrow (no pandas frame of the batch): the
    same matrix to the bit, the same predictions, whatever the chunks, nulls and unknown categories."""
    import pyarrow as pa

    from shared.local import synthetic

    model = registered.load(services.registry(champion_home), CHAMPION)
    clean = synthetic.generate_batch(300, month=2, seed=8)
    categorical = [n for n in model.features if model.contract.columns[n].type == "categorical"]
    numeric = [n for n in model.features if model.contract.columns[n].type != "categorical"]
    for name in categorical:
        clean[name] = clean[name].astype("string")
    clean.loc[:4, categorical[1]] = "nunca vista"
    clean.loc[10:30, categorical[1]] = None
    clean.loc[5:40, numeric[1]] = np.nan
    clean[numeric[2]] = clean[numeric[2]].astype("Float64")  # not float64: read as the frame reads it
    clean = clean.drop(columns=[numeric[-1]])
    table = pa.Table.from_pandas(clean, preserve_index=False)
    table = pa.concat_tables([table.slice(0, 7), table.slice(7, 150), table.slice(157)])  # several chunks, as batches come
    frame = table.to_pandas()

    assert np.array_equal(features_numeric(model, table), features_numeric(model, frame), equal_nan=True)
    for reasons in (True, False):
        pd.testing.assert_frame_equal(score_batch(model, table, with_reasons=reasons), score_batch(model, frame, with_reasons=reasons))
