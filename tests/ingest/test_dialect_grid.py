"""Any dialect against any contract (issue 13, item 1): the scoring file's dialect is the file's.

The property: the same rows, written in any dialect of the grid (encoding x BOM x delimiter x
decimal mark x thousands grouping x line ending x header case x date order), are read into the
same clean rows and get the same score, row for row, as the plain file, whether the model was
trained on the plain file or on a Spanish-Excel export. Training reads the same way, so the
contract inferred and the rows trained on do not depend on the training file's dialect either.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.backends import services
from shared.delivery.locations import DroppedFile
from shared.delivery.parquet_io import read_parquet
from shared.ingest.contract import Contract
from shared.ingest.contract_inference import infer_contract_from_file
from shared.local import synthetic
from shared.model.loaded_model import LoadedModel
from shared.model.scoring import score_batch
from shared.model.training import train_model
from shared.settings import Settings, load_settings
from shared.steps.clean import clean_file

ROWS = 60


@dataclass(frozen=True)
class Dialect:
    encoding: str = "utf-8"      # utf-8 | cp1252 | utf-16
    bom: bool = False
    delimiter: str = ","
    decimal: str = "."
    thousands: bool = False      # "1.234,5" / "1,234.5"
    line_ending: str = "\n"
    header: str = "as_is"        # as_is | upper | title
    day_first: bool = True


PLAIN = Dialect()
SPANISH_EXCEL = Dialect(encoding="cp1252", delimiter=";", decimal=",", line_ending="\r\n", header="upper")

dialects = st.builds(
    Dialect,
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]),
    bom=st.booleans(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    decimal=st.sampled_from([".", ","]),
    thousands=st.booleans(),
    line_ending=st.sampled_from(["\n", "\r\n"]),
    header=st.sampled_from(["as_is", "upper", "title"]),
    day_first=st.booleans(),
)


def _number_text(value: float, decimal: str, thousands: bool) -> str:
    if pd.isna(value):
        return ""
    text = repr(float(value)) if not float(value).is_integer() else str(int(value))
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    if thousands:
        group = "." if decimal == "," else ","
        whole = f"{int(whole):,}".replace(",", group)
    return sign + whole + (decimal + fraction if fraction else "")


def render(frame: pd.DataFrame, dialect: Dialect) -> bytes:
    """``frame`` (typed, as the generator makes it) written the way ``dialect`` writes files."""
    text = pd.DataFrame(index=frame.index)
    for name, values in frame.items():
        if pd.api.types.is_datetime64_any_dtype(values):
            text[name] = values.dt.strftime("%d/%m/%Y" if dialect.day_first else "%m/%d/%Y").fillna("")
        elif pd.api.types.is_numeric_dtype(values):
            text[name] = [_number_text(v, dialect.decimal, dialect.thousands) for v in values]
        else:
            text[name] = values.astype("object").where(values.notna(), "")
    headers = {"as_is": str, "upper": str.upper, "title": str.title}[dialect.header]
    text.columns = [headers(name) for name in text.columns]
    body = text.to_csv(sep=dialect.delimiter, index=False, lineterminator=dialect.line_ending)
    if dialect.encoding == "utf-16":
        return body.encode("utf-16" if dialect.bom else "utf-16-le")  # "utf-16" writes its BOM
    encoded = body.encode(dialect.encoding)
    return (b"\xef\xbb\xbf" + encoded) if dialect.bom and dialect.encoding == "utf-8" else encoded


def clean_rows(settings: Settings, data: bytes, contract: Contract, kind: str, name: str) -> pd.DataFrame:
    """What the clean step makes of ``data``: the typed rows, by id."""
    uri = settings.object_uri("raw", f"{kind}/{name}.csv")
    services.store(uri).write_bytes(uri, data, "text/csv")
    result = clean_file(settings, DroppedFile(kind, f"{name}.csv"), uri, contract)
    assert result.status == "clean", (result.message_en, result.details)
    assert result.rows_quarantined == 0, result.details.get("quarantine_reasons")
    return read_parquet(result.clean_uri).set_index(synthetic.ID_COLUMN).sort_index()


def _infer(path: Path, output: Path) -> Contract:
    inferred = infer_contract_from_file(path, target=synthetic.TARGET_COLUMN, positive="si", id_column=synthetic.ID_COLUMN, name="grid")
    output.write_text(inferred.contract.to_yaml(), encoding="utf-8")
    return Contract.from_yaml(output.read_text(encoding="utf-8"))


def _loaded(trained, contract: Contract, version: str) -> LoadedModel:  # noqa: ANN001
    meta = {
        "features": trained.features, "threshold": trained.threshold, "feature_importance": trained.feature_importance,
        "numeric_quartiles": trained.numeric_quartiles, "task": trained.task, "classes": trained.classes, "interval": trained.interval,
    }
    return LoadedModel(version=version, booster=trained.booster, contract=contract, meta=meta, reference_sample=trained.reference_sample)


# A slice of the generator's columns: accented categories, money with decimals, counts, amounts in
# the thousands, a date, a factor with four decimals; few enough that an example takes a tenth of a second.
COLUMNS = [
    synthetic.ID_COLUMN, "provincia", "sector", "escolaridad_propietario", "tiene_ruc", "fecha_inicio", "anios_operacion",
    "num_empleados", "edad_propietario", "ventas_mensuales", "costos_mensuales", "valor_activos", "monto_credito",
    "distancia_mercado_km", "factor_expansion", synthetic.TARGET_COLUMN,
]
EXCEL_TRAINING = Dialect(encoding="cp1252", delimiter=";", decimal=",", thousands=True, line_ending="\r\n", day_first=False)


@dataclass(frozen=True)
class World:
    settings: Settings
    models: dict[str, LoadedModel]     # "plain": trained on the plain file; "excel": on a Spanish-Excel export, month-first
    month: pd.DataFrame                # rows to score (typed, no target)
    plain_scores: dict[str, pd.Series]  # each model's scores of the plain file


def _scores(models: dict[str, LoadedModel], data: bytes, settings: Settings, name: str) -> dict[str, pd.Series]:
    scores = {}
    for model_name, model in models.items():
        clean = clean_rows(settings, data, model.contract, "incoming", f"{name}-{model_name}")
        scored = score_batch(model, clean.reset_index(), with_reasons=False)
        scores[model_name] = pd.Series(scored["score"].to_numpy(), index=clean.index)
    return scores


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("dialects")
    settings = load_settings({"DROPSCORE_HOME": str(folder / "home")})
    training = synthetic.generate_batch(600, month=0, seed=3)[COLUMNS]
    plain_training = folder / "training_plain.csv"
    plain_training.write_bytes(render(training, PLAIN))
    plain_contract = _infer(plain_training, folder / "contract_plain.yaml")
    # Training in another dialect infers the same contract (but for the date order it records) and reads the same rows.
    excel_training = folder / "training_excel.csv"  # headers as written: a contract's names are its training file's
    excel_training.write_bytes(render(training, EXCEL_TRAINING))
    excel_contract = _infer(excel_training, folder / "contract_excel.yaml")
    assert excel_contract.columns["fecha_inicio"].format == "%m/%d/%Y" and plain_contract.columns["fecha_inicio"].format == "%d/%m/%Y"
    excel_as_dict, plain_as_dict = excel_contract.to_dict(), plain_contract.to_dict()
    excel_as_dict["columns"]["fecha_inicio"].pop("format"), plain_as_dict["columns"]["fecha_inicio"].pop("format")
    assert excel_as_dict == plain_as_dict
    plain_rows = clean_rows(settings, plain_training.read_bytes(), plain_contract, "training", "plain")
    excel_rows = clean_rows(settings, excel_training.read_bytes(), excel_contract, "training", "excel")
    pd.testing.assert_frame_equal(excel_rows, plain_rows)
    models = {
        "plain": _loaded(train_model(plain_rows.reset_index(), plain_contract, seed=5, time_budget_seconds=1.0), plain_contract, "plain"),
        "excel": _loaded(train_model(excel_rows.reset_index(), excel_contract, seed=6, time_budget_seconds=1.0), excel_contract, "excel"),
    }
    month = synthetic.without_target(synthetic.generate_batch(ROWS, month=1, seed=7)[COLUMNS])
    return World(settings, models, month, _scores(models, render(month, PLAIN), settings, "plain"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dialect=dialects)
@example(dialect=SPANISH_EXCEL)
@example(dialect=Dialect(encoding="utf-16", bom=True, delimiter="\t", decimal=",", thousands=True, day_first=False, header="title"))
@example(dialect=Dialect(delimiter=",", decimal=",", thousands=True, day_first=False))  # quoted decimal commas in a comma file
def test_every_dialect_scores_like_the_plain_file(world: World, dialect: Dialect) -> None:
    services.reset()
    for name, scores in _scores(world.models, render(world.month, dialect), world.settings, "grid").items():
        expected = world.plain_scores[name]
        assert len(scores) == ROWS and scores.index.equals(expected.index)
        assert np.array_equal(scores.to_numpy(), expected.to_numpy()), (name, dialect)


def test_a_contract_that_names_the_other_mark_does_not_overrule_the_file(world: World) -> None:
    """`contract infer` used to write the training file's mark, and scoring obeyed it: a Spanish export
    against `decimal: .` quarantined 99.6 % of its rows. The contract's mark is only a hint now."""
    model = world.models["plain"]
    for mark, dialect in ((".", SPANISH_EXCEL), (",", PLAIN)):
        contract = Contract.from_dict({**model.contract.to_dict(), "locale": {"name": model.contract.locale, "decimal": mark}})
        hinted = dataclasses.replace(model, contract=contract)
        services.reset()
        scores = _scores({"plain": hinted}, render(world.month, dialect), world.settings, f"hint{mark}")["plain"]
        assert np.array_equal(scores.to_numpy(), world.plain_scores["plain"].to_numpy())
