"""The predictions' warehouse rows (shared.lifecycle.shadow.warehouse_rows) are built as Arrow columns;
they store exactly what the pandas frame of object columns they replace stored, for every task, with
missing values, NaN and odd text: the same Arrow table staged for DuckDB, the same frame for BigQuery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.backends.warehouse.frames import conform_arrow, conform_rows, conformed_arrow, conformed_frame
from shared.lifecycle.shadow import class_scores_json, warehouse_rows
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import class_score_column, model_classes, model_task
from tests.model.test_training_scoring import _contract

KEY = "file:///home/buckets/clean/incoming/a.csv.parquet#7"
odd_text = st.one_of(
    st.sampled_from(["", "nan", "None", "sí", "no", "%s", "%%", '"q"', "a\\b", "línea\nnueva", "😀", "Alto", "1"]),
    st.text(max_size=6),
)
probability = st.one_of(st.floats(0, 1), st.just(0.0), st.just(1e-06), st.just(0.123456))
value = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))


def _frame_rows(predictions: pd.DataFrame, model: LoadedModel, *, role: str, source_uri: str | None, scored_at: datetime) -> pd.DataFrame:
    """The rows as a pandas frame of object columns: how warehouse_rows built them before issue 16."""
    task = model_task(model)
    id_column = model.contract.output_id_column
    empty = pd.Series([None] * len(predictions), dtype="string")
    rows = pd.DataFrame(
        {
            "source_uri": source_uri,
            "row_id": predictions[id_column].astype("string").to_numpy(),
            "score": (predictions["prediction"] if task == "regression" else predictions["score"]).astype(float).to_numpy(),
            "label": predictions["label"].astype("string").to_numpy() if "label" in predictions else empty.to_numpy(),
            **{f"reason_{slot}": predictions[f"reason_{slot}"].to_numpy() for slot in (1, 2, 3)},
            "model_version": model.version,
            "model_role": role,
            "scored_at": scored_at,
        }
    )
    if task == "regression":
        rows["prediction_low"] = predictions["prediction_low"].astype(float).to_numpy()
        rows["prediction_high"] = predictions["prediction_high"].astype(float).to_numpy()
    elif task == "multiclass":
        classes = model_classes(model)
        values = predictions[[class_score_column(name) for name in classes]].to_numpy(dtype=float) if len(predictions) else np.zeros((0, len(classes)))
        rows["class_scores"] = [json.dumps(dict(zip(classes, map(float, row), strict=True)), ensure_ascii=False) for row in values]
    return rows


def _text_column(draw: st.DrawFn, size: int) -> pd.Series:
    """Text as scoring makes it: pandas' string dtype, missing values included, from Python or from Arrow."""
    values = draw(st.lists(st.one_of(st.none(), odd_text), min_size=size, max_size=size))
    if draw(st.booleans()):
        return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values, pa.string())])))
    return pd.Series(pd.array(values, dtype="string"))


@st.composite
def scored_batches(draw: st.DrawFn) -> tuple[pd.DataFrame, LoadedModel, datetime, str | None]:
    """A model of some task and a batch of its predictions in score_batch's columns and dtypes."""
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    size = draw(st.integers(0, 6))
    meta: dict = {"task": task}
    predictions = pd.DataFrame({"cliente_id": _text_column(draw, size)})
    floats = lambda values: np.asarray(draw(st.lists(values, min_size=size, max_size=size)), dtype=float)  # noqa: E731
    if task == "regression":
        predictions["prediction"] = floats(value)
        predictions["prediction_low"] = floats(value)
        predictions["prediction_high"] = floats(value)
    elif task == "multiclass":
        classes = draw(st.lists(odd_text, min_size=2, max_size=4, unique=True))
        meta["classes"] = classes
        predictions["score"] = floats(probability)
        predictions["label"] = _text_column(draw, size)
        for name in classes:  # NaN or infinity now and then: json.dumps' own spelling of them
            predictions[class_score_column(name)] = floats(st.one_of(probability, st.sampled_from([np.nan, np.inf])) if draw(st.booleans()) else probability)
    else:
        predictions["score"] = floats(st.one_of(probability, st.just(np.nan)))
        scores = predictions["score"].to_numpy()
        predictions["label"] = np.where(scores >= 0.5, draw(odd_text), draw(odd_text))  # NumPy text, as score_batch makes it
    for slot in (1, 2, 3):
        predictions[f"reason_{slot}"] = _text_column(draw, size)
    predictions["model_version"] = "4"
    predictions["region"] = draw(st.lists(odd_text, min_size=size, max_size=size))  # a passthrough column: not stored
    model = LoadedModel(draw(st.sampled_from(["4", "12"])), None, _contract(), meta, pd.DataFrame())  # type: ignore[arg-type]
    scored_at = draw(
        st.sampled_from(
            [datetime(2026, 12, 5, 22, 56, 18, 391458, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 0, 1), datetime(2026, 6, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))]
        )
    )
    return predictions, model, scored_at, draw(st.one_of(st.none(), odd_text))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scored_batches(), st.sampled_from(["champion", "challenger"]))
def test_arrow_rows_store_what_the_frame_rows_stored(case: tuple[pd.DataFrame, LoadedModel, datetime, str | None], role: str) -> None:
    predictions, model, scored_at, source_uri = case
    rows = warehouse_rows(predictions, model, role=role, source_uri=source_uri, scored_at=scored_at)
    before = _frame_rows(predictions, model, role=role, source_uri=source_uri, scored_at=scored_at)
    assert isinstance(rows, pa.Table) and rows.num_rows == len(predictions)
    staged = conform_arrow("predictions", rows, KEY)
    expected = conformed_arrow("predictions", before, KEY)
    assert staged.schema == expected.schema
    assert staged.equals(expected), (staged.to_pydict(), expected.to_pydict())  # what DuckDB inserts, NULLs and all
    pd.testing.assert_frame_equal(conformed_frame("predictions", rows, KEY), conform_rows("predictions", before, KEY))  # what BigQuery loads


@given(st.lists(odd_text, min_size=1, max_size=5, unique=True), st.lists(st.lists(st.one_of(probability, st.sampled_from([np.nan, np.inf, -np.inf, -0.0, 1e300])), min_size=5, max_size=5), max_size=4))
def test_class_scores_are_json_dumps_text(classes: list[str], rows: list[list[float]]) -> None:
    values = np.asarray([row[: len(classes)] for row in rows], dtype=float).reshape(len(rows), len(classes))
    expected = [json.dumps(dict(zip(classes, map(float, row), strict=True)), ensure_ascii=False) for row in values]
    assert class_scores_json(classes, values) == expected
