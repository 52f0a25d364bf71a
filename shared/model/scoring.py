"""Score clean rows with a loaded model and say why: the top three features behind each score.

A reason reads "ventas_mensuales alto ↑": the feature, where its value sits against the
training data (quartiles) or its category, and whether it pushed the score up or down (for a
multiclass model: towards or away from the predicted class; for regression: the value up or down).

**Method: path attribution** (Saabas; what ``treeinterpreter`` does). In every tree a row
follows one path from the root to a leaf; each split on the way moves the tree's output from
the parent node's value to the child's, and that change is credited to the split's feature.
Summed over the trees, the contributions plus a constant add up exactly to the model's raw
score (log-odds for binary), like TreeSHAP's. Because a leaf's path is fixed, the per-leaf
credit is computed once per model; scoring then only needs the leaf each row lands in
(LightGBM's ``pred_leaf``, as cheap as a prediction) and one sparse matrix product.

Why not TreeSHAP (``pred_contrib=True``)? Measured here on the demo's model (84 features, a few
hundred trees of 31 leaves) it is 10 to 200 times slower than predicting; path attribution keeps
scoring with reasons above half the throughput of scoring without (bench/bench_quality.py
measures both, and how often the two methods agree on the top reason). Its known weakness: it
credits features near the root a little more than SHAP does; for naming the three strongest
reasons with their direction the two agree on most rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from shared.backends.lightgbm_runtime import NUM_THREADS
from shared.model.features import model_matrix
from shared.model.loaded_model import LoadedModel

if TYPE_CHECKING:
    import lightgbm as lgb  # hints only: boosters come loaded (shared.backends.lightgbm_runtime)

REASON_COUNT = 3
# Rows per slice of the per-row work of a batch: LightGBM's leaves, gathering leaf values, the sparse
# product, the reasons. Every row is computed on its own, so the slice changes no number, only the
# size of the temporary arrays, which have a value per row and tree or per row and feature: over a
# whole 16 384-row batch (the bench's model: 150 trees, 83 features) they were 10-20 MB apiece,
# several alive at once, the largest part of a batch's working memory (78 MiB at its peak; 35 MiB in
# slices of 4 096 rows), and the scoring step is no slower in slices (measured a little faster).
ROWS_PER_SLICE = 4_096
DENSE_CREDIT_CELLS = 4_000_000  # leaves × features kept dense up to 32 MB
_LEVEL_WORDS = {
    "es": ("bajo", "medio", "alto", "sin dato"),
    "en": ("low", "medium", "high", "missing"),
}


def prediction_columns(id_column: str, task: str = "binary", classes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The predictions CSV's columns (before passthrough), by task."""
    reasons = [f"reason_{i}" for i in range(1, REASON_COUNT + 1)]
    if task == "regression":
        return [id_column, "prediction", "prediction_low", "prediction_high", *reasons, "model_version"]
    if task == "multiclass":
        return [id_column, "score", "label", *[class_score_column(name) for name in classes], *reasons, "model_version"]
    return [id_column, "score", "label", *reasons, "model_version"]


def class_score_column(class_name: str) -> str:
    return f"score_{class_name}"


def prediction_columns_for(model: LoadedModel) -> list[str]:
    return prediction_columns(model.contract.output_id_column, model_task(model), model_classes(model))


def model_task(model: LoadedModel) -> str:
    return str(model.meta.get("task") or model.contract.task or "binary")


def model_classes(model: LoadedModel) -> list[str]:
    return list(model.meta.get("classes") or model.contract.classes or [])


# -- path attribution ----------------------------------------------------------------------------


def numeric_matrix(matrix: pd.DataFrame) -> np.ndarray:
    """The model matrix as LightGBM sees it: floats, category codes for categoricals, NaN for missing.

    What LightGBM does itself with a DataFrame (the categories are fixed by the contract, so the
    codes are the training codes); done once here, so predicting and explaining share it.
    """
    out = np.empty(matrix.shape, dtype=np.float64)
    for position, name in enumerate(matrix.columns):
        column = matrix[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, position] = codes
        else:
            out[:, position] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


@dataclass
class PathAttribution:
    """Per-leaf feature credit and leaf values of a booster, precomputed once."""

    leaf_credit: sparse.csr_matrix   # (total leaves, features): summed value changes along each leaf's path
    leaf_value: np.ndarray           # (total leaves,): each leaf's output
    leaf_offset: np.ndarray          # first global leaf index of every tree
    tree_class: np.ndarray           # the class (output column) each tree belongs to
    classes: int                     # 1 for binary and regression
    objective: str                   # "binary", "multiclass", "regression", ...
    sigmoid: float = 1.0

    @classmethod
    def of(cls, booster: lgb.Booster) -> PathAttribution:
        cached = getattr(booster, "_dropscore_attribution", None)
        if cached is not None:
            return cached
        dump = booster.dump_model()
        per_iteration = max(1, int(dump.get("num_tree_per_iteration", 1)))
        features = len(dump.get("feature_names", booster.feature_name()))
        rows, cols, values = [], [], []
        leaf_values: list[float] = []
        offsets = []
        offset = 0
        for tree in dump["tree_info"]:
            offsets.append(offset)
            structure = tree["tree_structure"]
            tree_leaves = np.zeros(max(1, int(tree.get("num_leaves", 1))))
            if "split_feature" not in structure:
                tree_leaves[0] = structure.get("leaf_value", 0.0)
            else:
                stack = [(structure, [])]
                while stack:
                    node, path = stack.pop()
                    for side in ("left_child", "right_child"):
                        child = node[side]
                        child_value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                        step = path + [(node["split_feature"], child_value - node["internal_value"])]
                        if "leaf_index" in child:
                            tree_leaves[child["leaf_index"]] = child["leaf_value"]
                            for feature, change in step:
                                rows.append(offset + child["leaf_index"])
                                cols.append(feature)
                                values.append(change)
                        else:
                            stack.append((child, step))
            leaf_values.extend(tree_leaves.tolist())
            offset += len(tree_leaves)
        credit = sparse.coo_matrix((values, (rows, cols)), shape=(max(offset, 1), features)).tocsr()  # duplicates add up
        objective_text = str(dump.get("objective", "")).split()
        sigmoid = next((float(part.split(":")[1]) for part in objective_text if part.startswith("sigmoid:")), 1.0)
        attribution = cls(
            leaf_credit=credit,
            leaf_value=np.asarray(leaf_values or [0.0]),
            leaf_offset=np.asarray(offsets, dtype=np.int64),
            tree_class=np.arange(len(offsets)) % per_iteration,
            classes=per_iteration,
            objective=objective_text[0] if objective_text else "",
            sigmoid=sigmoid,
        )
        booster._dropscore_attribution = attribution  # type: ignore[attr-defined]
        return attribution

    def leaves(self, booster: lgb.Booster, numeric: np.ndarray, *, num_threads: int = NUM_THREADS) -> np.ndarray:
        """Global leaf index of every row in every tree (one pass of LightGBM, like a prediction).

        Asked of LightGBM a slice of rows at a time (see ROWS_PER_SLICE), since it hands them back
        as 64-bit floats before its 32-bit integers; kept in 32 bits, offset in place: widening to
        64 bits and adding into a new array made two more rows × trees copies per batch.
        """
        index_type = np.int32 if len(self.leaf_value) <= np.iinfo(np.int32).max else np.int64
        out = np.empty((0, len(self.leaf_offset)), dtype=index_type)  # no rows: LightGBM refuses to predict
        for start in range(0, len(numeric), ROWS_PER_SLICE):
            leaves = booster.predict(numeric[start : start + ROWS_PER_SLICE], pred_leaf=True, num_threads=num_threads)
            leaves = leaves.reshape(len(leaves), -1)  # one column per tree it used (best_iteration may stop early)
            if start == 0:
                out = np.empty((len(numeric), leaves.shape[1]), dtype=index_type)
            out[start : start + len(leaves)] = leaves
        out += self.leaf_offset[None, : out.shape[1]].astype(index_type)
        return out

    def predictions(self, global_leaves: np.ndarray) -> np.ndarray:
        """What ``booster.predict`` returns, from the leaves: probabilities or values."""
        if self.classes > 1:
            raw = np.empty((len(global_leaves), self.classes))
        else:
            raw = np.empty(len(global_leaves))
        # Each row's leaf values gathered and summed a slice of rows at a time (see ROWS_PER_SLICE).
        for start in range(0, len(global_leaves), ROWS_PER_SLICE):
            values = self.leaf_value[global_leaves[start : start + ROWS_PER_SLICE]]
            if self.classes > 1:
                trees = self.tree_class[: values.shape[1]]
                for k in range(self.classes):
                    raw[start : start + len(values), k] = values[:, trees == k].sum(axis=1)
            else:
                raw[start : start + len(values)] = values.sum(axis=1)
        if self.classes > 1:
            raw -= raw.max(axis=1, keepdims=True)
            exp = np.exp(raw)
            return exp / exp.sum(axis=1, keepdims=True)
        if self.objective in ("binary", "cross_entropy"):
            return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        return raw

    def contributions_from_leaves(self, global_leaves: np.ndarray, predicted_class: np.ndarray | None = None) -> np.ndarray:
        """(rows, features): each feature's credit for the row's score (for multiclass: its predicted class)."""
        rows, trees = global_leaves.shape
        features = self.leaf_credit.shape[1]
        out = np.zeros((rows, features))
        for start in range(0, rows, ROWS_PER_SLICE):
            stop = min(rows, start + ROWS_PER_SLICE)
            chunk = global_leaves[start:stop]
            if self.classes > 1 and predicted_class is not None:
                # Keep only the trees of each row's predicted class (the same number for every row).
                keep = self.tree_class[None, :trees] == predicted_class[start:stop, None]
                chunk = chunk[keep].reshape(stop - start, -1)
            width = chunk.shape[1]
            # One row of the incidence matrix per data row, one 1 per tree: built directly as CSR.
            incidence = sparse.csr_matrix(
                (np.ones(chunk.size), chunk.ravel(), np.arange(0, chunk.size + 1, width)), shape=(stop - start, self.leaf_credit.shape[0])
            )
            product = incidence @ self.dense_credit() if self.dense_credit() is not None else (incidence @ self.leaf_credit).toarray()
            out[start:stop] = product
        return out

    def dense_credit(self) -> np.ndarray | None:
        """The credit matrix dense when it is small (sparse × dense is the fastest product); else None."""
        if not hasattr(self, "_dense"):
            self._dense = self.leaf_credit.toarray() if self.leaf_credit.shape[0] * self.leaf_credit.shape[1] <= DENSE_CREDIT_CELLS else None
        return self._dense

    def contributions(self, booster: lgb.Booster, matrix: pd.DataFrame, predicted_class: np.ndarray | None = None) -> np.ndarray:
        return self.contributions_from_leaves(self.leaves(booster, numeric_matrix(matrix)), predicted_class)


def features_numeric(model: LoadedModel, clean: pd.DataFrame | pa.Table) -> np.ndarray:
    """``numeric_matrix(model_matrix(clean, ...))`` without the pandas categoricals in between.

    Category codes come from one lookup per column in the contract's fixed category list (what
    ``pd.Categorical(..., categories=...)`` computes, minus building the categorical and
    turning every string into a Python object first); numbers convert as ``model_matrix`` does.
    Half the scoring step's time went into that frame.

    ``clean`` may be the Arrow table of clean rows (the clean Parquet's types): its text categories
    and float columns are read straight from Arrow's buffers, no pandas frame of the batch at all.
    """
    if isinstance(clean, pa.Table):
        return _arrow_features_numeric(model, clean)
    lookups = _category_lookups(model)
    out = np.empty((len(clean), len(model.features)), dtype=np.float64)
    for position, name in enumerate(model.features):
        out[:, position] = _column_numeric(clean[name], lookups.get(name)) if name in clean.columns else np.nan
    return out


def _column_numeric(values: pd.Series, lookup: tuple[pd.Index, pa.Array | None] | None) -> np.ndarray:
    """One feature column as LightGBM sees it: category codes (NaN: missing or unknown) or floats."""
    if lookup is not None:
        index, value_set = lookup
        if value_set is not None and isinstance(values.dtype, pd.StringDtype):
            # Arrow's hash lookup on the Arrow strings the clean Parquet gives: no Python objects.
            return pc.index_in(pa.array(values), value_set=value_set).to_numpy(zero_copy_only=False).astype(np.float64)
        codes = index.get_indexer(values).astype(np.float64)  # missing and unknown values: -1
        codes[codes < 0] = np.nan
        return codes
    if values.dtype == np.float64:  # what the clean Parquet holds for numbers
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _arrow_features_numeric(model: LoadedModel, table: pa.Table) -> np.ndarray:
    """features_numeric of an Arrow table: what the same rows as a pandas frame give, to the bit."""
    lookups = _category_lookups(model)
    out = np.empty((table.num_rows, len(model.features)), dtype=np.float64)
    present = set(table.column_names)
    for position, name in enumerate(model.features):
        if name not in present:
            out[:, position] = np.nan
            continue
        column = table.column(name)
        lookup = lookups.get(name)
        if lookup is not None and lookup[1] is not None and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            _fill_column(out, position, pc.index_in(column, value_set=lookup[1]))  # unknown and missing: null -> NaN
        elif lookup is None and pa.types.is_float64(column.type):
            _fill_column(out, position, column)
        else:  # any other type: as the pandas frame of the batch would hold it (its metadata restores the dtype)
            out[:, position] = _column_numeric(table.select([name]).to_pandas()[name], lookup)
    return out


def _fill_column(out: np.ndarray, position: int, column: pa.ChunkedArray) -> None:
    """Copy one column into the matrix a chunk at a time, nulls as NaN (no intermediate whole-column array)."""
    start = 0
    for chunk in column.chunks:
        out[start : start + len(chunk), position] = chunk.to_numpy(zero_copy_only=False)
        start += len(chunk)


def _category_lookups(model: LoadedModel) -> dict[str, tuple[pd.Index, pa.Array | None]]:
    """Per categorical feature: its categories as an Index, and as an Arrow value set when they are all text."""
    cached = getattr(model.booster, "_dropscore_category_lookups", None)
    if cached is None:
        cached = {}
        for name in model.features:
            spec = model.contract.columns[name]
            if spec.type != "categorical":
                continue
            categories = list(spec.values or [])
            value_set = pa.array(categories, pa.string()) if all(isinstance(value, str) for value in categories) else None
            cached[name] = (pd.Index(categories, dtype=object), value_set)
        model.booster._dropscore_category_lookups = cached  # type: ignore[attr-defined]
    return cached


def _typed_columns(model: LoadedModel) -> pd.DataFrame:
    """The model matrix's columns and dtypes, no rows: what the reason texts are built from."""
    cached = getattr(model.booster, "_dropscore_typed_columns", None)
    if cached is None:
        empty = pd.DataFrame({name: pd.Series([], dtype="object") for name in model.features})
        cached = model_matrix(empty, model.contract, model.features)
        model.booster._dropscore_typed_columns = cached  # type: ignore[attr-defined]
    return cached


# -- scoring -------------------------------------------------------------------------------------------


def score_batch(
    model: LoadedModel, clean: pd.DataFrame | pa.Table, *, language: str = "es", with_reasons: bool = True, num_threads: int = NUM_THREADS
) -> pd.DataFrame:
    """Predictions in the documented column order for the model's task, then passthrough columns.

    binary: id, score, label, reason_1..3, model_version; multiclass: id, score (probability of the
    predicted class), label, score_<class> per class, reasons, model_version; regression: id,
    prediction, prediction_low, prediction_high (the model's 90 % interval), reasons, model_version.

    ``clean``: a pandas frame, or the Arrow table of clean rows (the clean Parquet's schema), of which
    only the id and passthrough columns become pandas: the features are read from Arrow directly.
    ``num_threads``: LightGBM's (shared.backends.lightgbm_runtime); the numbers do not depend on it.
    """
    contract = model.contract
    task = model_task(model)
    numeric = features_numeric(model, clean)
    if isinstance(clean, pa.Table):
        copied = [name for name in dict.fromkeys([contract.output_id_column, *contract.passthrough]) if name in clean.column_names]
        clean = clean.select(copied).to_pandas()  # as many rows as the table, even with no column
    matrix = _typed_columns(model)  # columns and dtypes only: the numbers are in ``numeric``
    raw, global_leaves = None, None
    if len(numeric) and with_reasons:
        # One pass of LightGBM gives every row's leaves: the score and the reasons both come from them.
        attribution = PathAttribution.of(model.booster)
        global_leaves = attribution.leaves(model.booster, numeric, num_threads=num_threads)
        raw = attribution.predictions(global_leaves)
    elif len(numeric):
        raw = model.booster.predict(numeric, num_threads=num_threads)
    id_column = contract.output_id_column
    out = pd.DataFrame({id_column: clean[id_column].astype("string").to_numpy() if id_column in clean else pd.array(range(len(clean)), dtype="string")})
    predicted_class = None
    if task == "regression":
        values = np.round(raw, 6) if raw is not None else np.array([], dtype=float)
        half_width = float((model.meta.get("interval") or {}).get("half_width", np.nan))
        out["prediction"] = values
        out["prediction_low"] = np.round(values - half_width, 6)
        out["prediction_high"] = np.round(values + half_width, 6)
    elif task == "multiclass":
        classes = model_classes(model)
        probabilities = np.round(raw, 6) if raw is not None else np.zeros((0, len(classes)))
        predicted_class = probabilities.argmax(axis=1) if len(probabilities) else np.array([], dtype=int)
        out["score"] = probabilities.max(axis=1) if len(probabilities) else np.array([], dtype=float)
        out["label"] = pd.array(np.asarray(classes, dtype=object)[predicted_class] if len(predicted_class) else [], dtype="string")
        for code, name in enumerate(classes):
            out[class_score_column(name)] = probabilities[:, code] if len(probabilities) else np.array([], dtype=float)
    else:
        # Label from the score as written, so a reader never sees a score and label that disagree at the threshold.
        scores = np.round(raw, 6) if raw is not None else np.array([], dtype=float)
        out["score"] = scores
        out["label"] = np.where(scores >= model.threshold, contract.positive, contract.negative)
    if global_leaves is not None:
        # Contributions and their reasons a slice of rows at a time (see ROWS_PER_SLICE): the
        # rows × features arrays (contributions, their magnitudes, the sort) exist for a slice only.
        attribution = PathAttribution.of(model.booster)
        pieces = []
        for start in range(0, len(global_leaves), ROWS_PER_SLICE):
            rows = slice(start, start + ROWS_PER_SLICE)
            contributions = attribution.contributions_from_leaves(global_leaves[rows], None if predicted_class is None else predicted_class[rows])
            pieces.append(_reason_texts(model, matrix, contributions, language, numeric[rows]))
        for slot, texts in enumerate(zip(*pieces, strict=True), start=1):
            out[f"reason_{slot}"] = pd.array(np.concatenate(texts), dtype="string")
    for slot in range(1, REASON_COUNT + 1):  # fewer features than reasons (or no reasons): empty slots
        if f"reason_{slot}" not in out:
            out[f"reason_{slot}"] = _missing_text(len(out))
    out["model_version"] = model.version
    out = out[prediction_columns(id_column, task, model_classes(model))]
    for name in contract.passthrough:
        if name in clean.columns:
            out[name] = clean[name].to_numpy()
    return out


def _missing_text(rows: int) -> pd.Series:
    """``pd.Series([None] * rows, dtype="string")`` made by Arrow: no list of Python objects to convert."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.nulls(rows, pa.string())])))


def _reason_table(model: LoadedModel, matrix: pd.DataFrame, language: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every possible reason text of every feature, once per model and language.

    A reason is one of few strings per feature: four levels (or its categories, or missing)
    times two arrows. Looking them up keeps text out of the per-row work.
    Returns (texts, offset, is_categorical, categories_count, quartile_low, quartile_high).
    """
    cache = getattr(model.booster, "_dropscore_reason_tables", None)
    if cache is None:
        cache = {}
        model.booster._dropscore_reason_tables = cache  # type: ignore[attr-defined]
    key = (language, tuple(matrix.columns))
    if key in cache:
        return cache[key]
    words = _LEVEL_WORDS.get(language, _LEVEL_WORDS["es"])
    quartiles = model.meta.get("numeric_quartiles", {})
    texts: list[str] = []
    offsets, categorical, counts, lows, highs = [], [], [], [], []
    for name in matrix.columns:
        offsets.append(len(texts))
        dtype = matrix[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            descriptions = [f"= {value}" for value in dtype.categories] + [words[3]]
            categorical.append(True)
            counts.append(len(dtype.categories))
            lows.append(np.nan)
            highs.append(np.nan)
        else:
            descriptions = list(words)
            categorical.append(False)
            counts.append(0)
            low, high = quartiles.get(name, (np.nan, np.nan))
            lows.append(np.nan if low is None else low)
            highs.append(np.nan if high is None else high)
        for description in descriptions:
            texts += [f"{name} {description} ↓", f"{name} {description} ↑"]
    table = (np.asarray(texts, dtype=object), np.asarray(offsets), np.asarray(categorical), np.asarray(counts), np.asarray(lows, dtype=float), np.asarray(highs, dtype=float))
    cache[key] = table
    return table


def _reason_texts(model: LoadedModel, matrix: pd.DataFrame, contributions: np.ndarray, language: str, numeric: np.ndarray | None = None) -> list[np.ndarray]:
    """The reason texts of each slot, for the rows of ``contributions`` (object arrays of str)."""
    count = min(REASON_COUNT, contributions.shape[1])
    numeric = numeric_matrix(matrix) if numeric is None else numeric
    # argpartition finds the three largest |contribution| without sorting all features.
    magnitude = np.abs(contributions)
    top = np.argpartition(-magnitude, count - 1, axis=1)[:, :count] if contributions.shape[1] > count else np.tile(np.arange(count), (len(contributions), 1))
    order = np.argsort(-np.take_along_axis(magnitude, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    rows = np.arange(len(contributions))
    texts, offsets, categorical, counts, lows, highs = _reason_table(model, matrix, language)
    slots = []
    with np.errstate(invalid="ignore"):
        for slot in range(count):
            feature = top[:, slot]
            up = (contributions[rows, feature] > 0).astype(np.int64)
            value = numeric[rows, feature]
            missing = np.isnan(value)
            level = np.where(missing, 3, np.where(value < lows[feature], 0, np.where(value > highs[feature], 2, 1)))
            category = np.where(missing, counts[feature], np.nan_to_num(value, nan=0.0)).astype(np.int64)
            local = np.where(categorical[feature], category, level)
            slots.append(texts[offsets[feature] + 2 * local + up])
    return slots
