"""Score clean rows with a loaded model and say why: the top three features behind each score.

Reasons come from LightGBM's own TreeSHAP (``pred_contrib=True``): exact per-row
contributions to the log-odds, computed by the booster in C++, no extra dependency.
A reason reads "ventas_mensuales alto ↑": the feature, where its value sits against the
training data (quartiles) or its category, and whether it pushed the score up or down.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.features import model_matrix
from shared.registry import LoadedModel

REASON_COUNT = 3
_LEVEL_WORDS = {
    "es": ("bajo", "medio", "alto", "sin dato"),
    "en": ("low", "medium", "high", "missing"),
}


def prediction_columns(id_column: str) -> list[str]:
    return [id_column, "score", "label"] + [f"reason_{i}" for i in range(1, REASON_COUNT + 1)] + ["model_version"]


def score_batch(model: LoadedModel, clean: pd.DataFrame, *, language: str = "es", with_reasons: bool = True) -> pd.DataFrame:
    """Predictions in the documented column order: id, score, label, reason_1..3, model_version, passthrough."""
    contract = model.contract
    features = model.features
    matrix = model_matrix(clean, contract, features)
    scores = model.booster.predict(matrix) if len(matrix) else np.array([], dtype=float)
    # Label from the score as written, so a reader never sees a score and label that disagree at the threshold.
    scores = np.round(scores, 6)
    id_column = contract.output_id_column
    out = pd.DataFrame({id_column: clean[id_column].astype("string").to_numpy() if id_column in clean else pd.array(range(len(clean)), dtype="string")})
    out["score"] = scores
    out["label"] = np.where(scores >= model.threshold, contract.positive, contract.negative)
    if with_reasons and len(matrix):
        contributions = model.booster.predict(matrix, pred_contrib=True)[:, :-1]  # last column is the bias
        for slot, texts in enumerate(_reason_texts(model, matrix, contributions, language), start=1):
            out[f"reason_{slot}"] = texts
    for slot in range(1, REASON_COUNT + 1):  # fewer features than reasons (or no reasons): empty slots
        if f"reason_{slot}" not in out:
            out[f"reason_{slot}"] = pd.Series([None] * len(out), dtype="string")
    out["model_version"] = model.version
    for name in contract.passthrough:
        if name in clean.columns:
            out[name] = clean[name].to_numpy()
    return out


def _reason_texts(model: LoadedModel, matrix: pd.DataFrame, contributions: np.ndarray, language: str) -> list[np.ndarray]:
    words = _LEVEL_WORDS.get(language, _LEVEL_WORDS["es"])
    count = min(REASON_COUNT, contributions.shape[1])
    # argpartition finds the three largest |contribution| without sorting all features.
    magnitude = np.abs(contributions)
    top = np.argpartition(-magnitude, count - 1, axis=1)[:, :count] if contributions.shape[1] > count else np.tile(np.arange(count), (len(matrix), 1))
    order = np.argsort(-np.take_along_axis(magnitude, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    rows = np.arange(len(matrix))
    quartiles = model.meta.get("numeric_quartiles", {})
    slots: list[np.ndarray] = []
    for slot in range(count):
        feature_index = top[:, slot]
        pushes_up = contributions[rows, feature_index] > 0
        texts = np.empty(len(matrix), dtype=object)
        for index in np.unique(feature_index):
            name = matrix.columns[index]
            selected = feature_index == index
            arrows = np.where(pushes_up[selected], "↑", "↓")
            column = matrix[name].to_numpy()[selected]
            if isinstance(matrix[name].dtype, pd.CategoricalDtype):
                values = pd.Series(column, dtype="object")
                descriptions = values.map(lambda v: f"= {v}" if v is not None and v == v else words[3]).to_numpy()
            else:
                low, high = quartiles.get(name, (np.nan, np.nan))
                level = np.where(np.isnan(column), 3, np.where(column < low, 0, np.where(column > high, 2, 1)))
                descriptions = np.asarray(words, dtype=object)[level]
            texts[selected] = [f"{name} {description} {arrow}" for description, arrow in zip(descriptions, arrows, strict=True)]
        slots.append(texts)
    return slots
