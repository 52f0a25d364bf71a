"""The one reader of outcomes (shared.monitor.labels): measured performance, the dashboard and the
shadow comparison / rollback watch all see the same outcome for an id. Real Parquet files in the
embedded clean area."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.contract import ColumnSpec, Contract
from shared.lifecycle import shadow
from shared.model.features import target_for_task
from shared.monitor import labels, performance
from shared.settings import Settings, load_settings


def binary_contract() -> Contract:
    columns = {"id": ColumnSpec("id", "identifier"), "y": ColumnSpec("y", "categorical", values=["no", "si"])}
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=columns)


def regression_contract() -> Contract:
    columns = {"id": ColumnSpec("id", "identifier"), "y": ColumnSpec("y", "numeric")}
    return Contract(name="t", target="y", positive="", negative="", id_column="id", columns=columns, task="regression")


def drop_labels(home: Path, files: list[pd.DataFrame]) -> Settings:
    folder = home / "buckets" / "clean" / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(files):
        frame.to_parquet(folder / f"etiquetas_{number:03d}.parquet")
    return load_settings({"DROPSCORE_HOME": str(home)})


def test_read_labels_from_the_clean_area_latest_file_wins(tmp_path: Path) -> None:
    settings = drop_labels(
        tmp_path,
        [pd.DataFrame({"id": ["a", "b"], "y": ["si", "no"]}), pd.DataFrame({"id": ["b", "c"], "y": ["si", None]})],
    )
    (tmp_path / "buckets" / "clean" / "labels" / "notes.txt").write_text("not a label file")
    pd.DataFrame({"other": [1]}).to_parquet(tmp_path / "buckets" / "clean" / "labels" / "zz_not_labels.parquet")
    measured = labels.read_labels(settings, binary_contract()).set_index("row_id")["actual"].to_dict()
    assert measured == {"a": 1, "b": 1}, "b relabeled by the later file; c has no outcome yet"
    raw = labels.read_outcomes(settings, binary_contract()).set_index("row_id")["actual"].to_dict()
    assert raw == {"a": "si", "b": "si"}


def test_no_labels_yet_is_an_empty_frame_of_the_right_shape(tmp_path: Path) -> None:
    settings = load_settings({"DROPSCORE_HOME": str(tmp_path)})
    assert list(labels.read_outcomes(settings, binary_contract()).columns) == ["row_id", "actual"]
    assert labels.read_labels(settings, binary_contract()).empty


def test_a_later_unreadable_outcome_counts_the_same_for_performance_and_for_the_shadow(tmp_path: Path) -> None:
    # b was 12.5, then corrected to a word where a number belongs: the latest file is what the
    # person said last, so neither reader may fall back to the older 12.5 (the two old readers
    # disagreed here: measured performance used 12.5, the shadow comparison had no outcome).
    contract = regression_contract()
    settings = drop_labels(
        tmp_path,
        [pd.DataFrame({"id": ["a", "b"], "y": ["3.5", "12.5"]}), pd.DataFrame({"id": ["b"], "y": ["pendiente"]})],
    )
    outcomes = labels.read_outcomes(settings, contract)
    _, usable = target_for_task(outcomes["actual"], contract)
    shadow_ids = set(outcomes["row_id"][usable])
    assert set(labels.read_labels(settings, contract)["row_id"]) == shadow_ids
    assert "b" not in shadow_ids


def test_performance_and_shadow_read_outcomes_through_this_module() -> None:
    assert performance.read_labels is labels.read_labels
    assert shadow.read_outcomes is labels.read_outcomes


OUTCOME = st.one_of(st.none(), st.sampled_from(["si", "no"]))
LABEL_FILE = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), OUTCOME), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None)
@given(files=st.lists(LABEL_FILE, min_size=1, max_size=4))
def test_each_id_gets_its_last_stated_outcome(files: list[list[tuple[str, str | None]]]) -> None:
    expected: dict[str, int] = {}
    for rows in files:  # in file-name order, then row order; a blank outcome states nothing
        for row_id, outcome in rows:
            if outcome is not None:
                expected[row_id] = int(outcome == "si")
    with tempfile.TemporaryDirectory() as home:
        frames = [pd.DataFrame({"id": [r for r, _ in rows], "y": pd.Series([o for _, o in rows], dtype=object)}) for rows in files]
        settings_ = drop_labels(Path(home), frames)
        measured = labels.read_labels(settings_, binary_contract())
    assert dict(zip(measured["row_id"], measured["actual"].astype(int), strict=True)) == expected
    assert measured["row_id"].is_unique and np.isin(measured["actual"], [0, 1]).all()


def test_training_reads_outcomes_as_the_other_readers_do(tmp_path: Path) -> None:
    # Retraining (lifecycle.promotion.labeled_rows) joins the same outcomes to the scored batches:
    # b's later label wins, c's empty outcome is no label, and an id typed as a number in the
    # batch still meets its label written as text.
    from shared.lifecycle import promotion

    settings = drop_labels(
        tmp_path,
        [pd.DataFrame({"id": ["1", "2"], "y": ["si", "no"]}), pd.DataFrame({"id": ["2", "3"], "y": ["si", None]})],
    )
    incoming = tmp_path / "buckets" / "clean" / "incoming"
    incoming.mkdir(parents=True)
    pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4]}).to_parquet(incoming / "mes_1.parquet")
    rows, sources = promotion.labeled_rows(settings, binary_contract())
    assert dict(zip(rows["id"], rows["y"], strict=True)) == {1: "si", 2: "si"}
    assert set(rows["_origin"]) == {"labels"}
    assert any(uri.endswith("etiquetas_001.parquet") for uri in sources)
    assert promotion.read_outcomes is labels.read_outcomes
