"""The one reader of outcomes: the labels people drop under the clean area's ``labels/``.

A labels file is a clean Parquet with the contract's id column and its target. Measured
performance (:mod:`shared.monitor.performance`), the dashboard and the shadow comparison and
rollback watch (:mod:`shared.lifecycle.shadow`) all read them through here, so they agree on
which outcome an id has: files are read in name order and when an id is labeled twice the
later file wins (and :func:`shared.lifecycle.promotion.labeled_rows` reads them here too, for training).
"""

from __future__ import annotations

import pandas as pd

from shared.backends import services
from shared.delivery.parquet_io import read_parquet
from shared.ingest.contract import Contract
from shared.settings import Settings

LABELS_FOLDER = "labels/"


def read_outcomes(settings: Settings, contract: Contract) -> pd.DataFrame:
    """Every outcome: ``row_id`` (text) and ``actual`` (the target as written in the file), the latest per id.

    Files that are not Parquet, or lack the id or the target column, are not labels and are
    skipped; rows without an id or an outcome are not outcomes yet.
    """
    store = services.store(settings.area_uri("clean"))
    id_column = contract.output_id_column
    frames = []
    for info in sorted(store.list(settings.object_uri("clean", LABELS_FOLDER)), key=lambda info: info.uri):
        if not info.uri.endswith(".parquet"):
            continue
        frame = read_parquet(info.uri, [id_column, contract.target])
        if id_column in frame and contract.target in frame:
            frames.append(frame)
    if not frames:
        return pd.DataFrame({"row_id": pd.Series(dtype="str"), "actual": pd.Series(dtype="object")})
    labels = pd.concat(frames, ignore_index=True).dropna(subset=[id_column, contract.target])
    outcomes = pd.DataFrame({"row_id": labels[id_column].astype(str).to_numpy(), "actual": labels[contract.target].to_numpy()})
    return outcomes.drop_duplicates("row_id", keep="last").reset_index(drop=True)


def as_measured(outcomes: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Outcomes in the form metrics take: 0/1 for a binary task (1 = the contract's positive),
    numbers for regression, class names as text for multiclass; an outcome that is not one of
    those (a word where a number belongs) is dropped."""
    if outcomes.empty:
        return pd.DataFrame({"row_id": pd.Series(dtype="str"), "actual": pd.Series(dtype="Int64")})
    task = getattr(contract, "task", "binary")
    if task == "regression":
        actual = pd.to_numeric(outcomes["actual"], errors="coerce").to_numpy(dtype=float)
    elif task == "multiclass":
        actual = outcomes["actual"].astype(str).to_numpy(dtype=object)
    else:
        actual = (outcomes["actual"].astype(str) == contract.positive).astype(int).to_numpy()
    measured = pd.DataFrame({"row_id": outcomes["row_id"].astype(str).to_numpy(), "actual": actual})
    return measured.dropna(subset=["actual"]).reset_index(drop=True)


def read_labels(settings: Settings, contract: Contract) -> pd.DataFrame:
    """Every outcome, the latest per id, in the form metrics take (:func:`as_measured`)."""
    return as_measured(read_outcomes(settings, contract), contract)
