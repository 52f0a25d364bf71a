"""Personal data outside the contract: one detector (name or values, with its reason), masked wherever people read.

The property tests generate valid cédulas, RUCs, e-mails and Ecuadorian phones in extra columns with
arbitrary names at arbitrary positions, and check that none reaches the quarantine CSV, the report or
the manifest in the clear, while non-personal values stay readable.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.backends import services
from shared.backends.storage import get_store
from shared.ingest.column_names import normalize_name
from shared.ingest.contract import Contract
from shared.ingest.contract_drafting import infer_contract
from shared.ingest.personal_data import (
    MASKED_VALUE,
    PersonalDataMasker,
    judge_column,
    mask_cells,
    mask_text,
    personal_name_word,
    value_kind,
)
from shared.ingest.pii import PiiHasher
from shared.ingest.validation import ChunkValidator, map_header
from shared.local.chain import drop_file
from shared.settings import Settings, load_settings
from shared.steps.clean import clean_object
from tests.corpus import generate
from tests.robustness_helpers import PII_KEY, TOKEN, corpus_champion_home, put_raw

CONTRACT_NAMES = {normalize_name(name) for name in Contract.from_yaml(generate.CONTRACT_YAML).columns} | {"vendedor"}

# ------------------------------------------------------------------------------ generators


def _check_digit(nine: str) -> str:
    products = [int(d) * w for d, w in zip(nine, [2, 1, 2, 1, 2, 1, 2, 1, 2], strict=True)]
    return str((10 - sum(p - 9 if p > 9 else p for p in products) % 10) % 10)


cedulas = st.builds(
    lambda province, third, rest: (nine := f"{province:02d}{third}{rest:06d}") + _check_digit(nine),
    st.integers(1, 24), st.integers(0, 5), st.integers(0, 999_999),
)
rucs = cedulas.map(lambda cedula: cedula + "001")
_local = st.text(string.ascii_lowercase + string.digits + "._-", min_size=1, max_size=12).filter(lambda t: t[0].isalnum())
_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
emails = st.builds(lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}", _local, st.lists(_label, min_size=1, max_size=2), st.sampled_from(["ec", "com", "com.ec", "org", "net"]))
_mobile = st.integers(10_000_000, 99_999_999).map(lambda n: f"9{n}")
phones = st.one_of(
    _mobile.map(lambda d: "0" + d),
    _mobile.map(lambda d: f"0{d[:2]} {d[2:5]} {d[5:]}"),
    _mobile.map(lambda d: f"+593 {d[:2]} {d[2:5]} {d[5:]}"),
    _mobile.map(lambda d: f"+593{d}"),
    st.builds(lambda area, n: f"(0{area}) {n // 10_000:03d}-{n % 10_000:04d}", st.integers(2, 7), st.integers(2_000_000, 9_999_999)),
    st.builds(lambda area, n: f"0{area}{n}", st.integers(2, 7), st.integers(2_000_000, 9_999_999)),
)
personal_values = st.one_of(cedulas, rucs, emails, phones)
# What business files carry besides people: amounts in both marks, dates, words, short codes, small counts.
plain_values = st.one_of(
    st.decimals(0, 10**9, places=2, allow_nan=False).map(lambda d: f"{d:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")),
    st.decimals(0, 10**9, places=2, allow_nan=False).map(lambda d: f"{d:.2f}"),
    st.integers(0, 99_999_999).map(str),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["Agrícola", "Comercio", "sí", "no", "Quito norte", "FAC-001-002-000123456", "pendiente"]),
)
column_names = st.text(string.ascii_letters + "áéíóúñÁÉÍÓÚÑ _", min_size=1, max_size=16).filter(
    lambda name: normalize_name(name) and normalize_name(name) not in CONTRACT_NAMES and name.strip() == name
)


# ------------------------------------------------------------------------------ the detector


@pytest.mark.parametrize(
    ("name", "word"),
    [("cedula_conyuge", "cedula"), ("celular", "celular"), ("correo", "correo"), ("TELF_CONTACTO", "telf"), ("E-mail", "mail"),
     ("Nombres Completos", "nombres"), ("Apellido Materno", "apellido"), ("R.U.C.", "ruc"), ("Dirección domicilio", "direccion"),
     ("Teléfono móvil", "telefono"), ("first_name", "name"), ("Pasaporte", "pasaporte"), ("CI", "ci")],
)
def test_personal_names_are_found_as_tokens_whatever_the_spelling(name: str, word: str) -> None:
    judgement = judge_column(name, pd.Series(["x"], dtype="string"))
    assert judgement.personal and judgement.by == "name" and judgement.word == word
    assert word in judgement.reason("es") and word in judgement.reason("en")


@pytest.mark.parametrize("name", ["monto", "ciudad", "nombre_producto", "tipo_telefono", "tiene_correo", "categoria", "vendedor", "Product Name", "fecha"])
def test_names_about_things_are_not_personal(name: str) -> None:
    assert personal_name_word(name) is None
    assert not judge_column(name, pd.Series(["Agrícola", "12,50"], dtype="string")).personal


def test_a_column_is_personal_by_its_values_with_the_share_that_says_so() -> None:
    values = pd.Series(generate.cedulas(8, 1) + ["", None], dtype="string")
    judgement = judge_column("dato_7", values)
    assert judgement.personal and judgement.by == "values" and judgement.kind == "cedula" and judgement.share == 1.0
    assert "100%" in judgement.reason("es") and "cédulas" in judgement.reason("es")
    mixed = pd.Series(["ana@x.ec", "luis@y.com", "0991234567", "ok", "n/a"], dtype="string")
    assert judge_column("contacto_alterno", mixed).personal  # 3 of 5 look personal
    cedulas_excel_lost_the_zero = pd.Series([c[1:] for c in generate.cedulas(20, 2, province=9)], dtype="string")
    assert judge_column("dato", cedulas_excel_lost_the_zero).kind == "cedula"


def test_account_numbers_that_pass_the_check_by_chance_do_not_make_a_column_personal() -> None:
    """~1.3-1.8 % of random 10-digit numbers pass the cédula check; the 50 % share keeps such a column readable."""
    rng = np.random.default_rng(5)
    accounts = pd.Series([str(n) for n in rng.integers(10**9, 10**10, 2000)], dtype="string")
    passing = accounts.map(lambda v: value_kind(v) == "cedula").mean()
    assert 0.005 < passing < 0.03
    assert not judge_column("numero_cuenta", accounts).personal
    masked = mask_cells(accounts)
    assert (masked == accounts).mean() > 0.97  # only the chance hits are masked, cell by cell


@given(value=personal_values, before=st.sampled_from(["", "Contacto: ", "llamar al ", "(", "ver "]), after=st.sampled_from(["", " urgente", ".", ";", ")"]))
def test_every_personal_value_is_found_and_masked_in_any_text(value: str, before: str, after: str) -> None:
    assert value_kind(value) is not None
    masked = mask_text(before + value + after)
    assert value not in masked and MASKED_VALUE in masked
    assert masked.startswith(before.rstrip()[:1])  # the text around stays readable


@given(value=plain_values)
def test_plain_business_values_are_never_masked(value: str) -> None:
    assert value_kind(value) is None or len(value.replace("-", "")) in (10, 13)
    if len(value) not in (10, 13):
        assert mask_text(value) == value


@given(name=column_names, values=st.lists(plain_values, min_size=1, max_size=30))
def test_columns_of_plain_values_are_not_judged_personal(name: str, values: list[str]) -> None:
    assume(personal_name_word(name) is None)
    assert not judge_column(name, pd.Series(values, dtype="string")).personal


def test_the_masker_tokens_a_personal_column_like_a_contracted_cedula() -> None:
    hasher = PiiHasher(PII_KEY)
    masker = PersonalDataMasker(hasher)
    spouses = generate.cedulas(4, 9, province=9)
    frame = pd.DataFrame({"cedula_conyuge": [spouses[0][1:], *spouses[1:]], "notas": ["ok", "a@b.ec", None, "x"]}, dtype="string")
    masker.judge(frame, ["cedula_conyuge", "notas"])
    tokens = masker.mask("cedula_conyuge", frame["cedula_conyuge"])
    assert tokens.tolist() == [hasher.token(s, "cedula") for s in spouses]  # the zero Excel dropped is restored first
    assert masker.mask("notas", frame["notas"]).tolist()[:2] == ["ok", MASKED_VALUE]
    assert PersonalDataMasker(None, dict(masker.judgements)).mask("cedula_conyuge", frame["cedula_conyuge"]).eq(MASKED_VALUE).all()


def test_passthrough_columns_reach_the_predictions_masked() -> None:
    """extra_columns: passthrough copies extra columns into the clean rows (and so the predictions CSV)."""
    contract = Contract.from_yaml(generate.CONTRACT_YAML.replace("extra_columns: ignore", "extra_columns: passthrough"))
    batch = generate.as_text(generate.rows(6, 4))
    batch["celular"] = ["0991234567"] * 6
    batch["observacion"] = ["llamar a ana@x.ec", "ok", "ok", "", "ok", "ok"]
    mapping = map_header(list(batch.columns), contract, "incoming")
    validator = ChunkValidator(contract, "incoming", mapping, ",", "x.csv", hasher=PiiHasher(PII_KEY))
    clean = validator.validate(batch.astype("string").replace("", pd.NA), first_row_number=2).clean  # as the CSV reader gives it
    assert len(clean) == 6 and clean["celular"].str.match(TOKEN).all()
    assert clean["observacion"].tolist()[:2] == [f"llamar a {MASKED_VALUE}", "ok"]
    assert clean["vendedor"].tolist() == batch["vendedor"].tolist()  # named passthrough, not personal: as sent


def test_contract_infer_marks_personal_columns_with_the_same_detector() -> None:
    rng = np.random.default_rng(3)
    rows = 80
    frame = pd.DataFrame(
        {
            "compro": pd.array(rng.choice(["si", "no"], rows), dtype="string"),
            "monto": rng.gamma(2.0, 300.0, rows),
            "TELF_CONTACTO": pd.array([f"09{n:08d}" for n in rng.integers(0, 10**8, rows)], dtype="string"),
            "dato_7": pd.array(generate.cedulas(rows, 8), dtype="string"),
            "correo": pd.array(rng.choice(["a@x.ec", "b@y.ec", "c@z.ec"], rows), dtype="string"),  # few distinct: looked categorical
            "telefono_llamadas": rng.integers(0, 9, rows).astype(float),  # a count named after phones: stays a feature
            "nombre_producto": pd.array(rng.choice(["Crédito", "Ahorro"], rows), dtype="string"),
        }
    )
    contract = infer_contract(frame, target="compro", positive="si")
    columns = contract.columns
    assert columns["TELF_CONTACTO"].personal and columns["dato_7"].personal and columns["dato_7"].type == "cedula"
    assert columns["correo"].personal and columns["correo"].type == "text" and "correo" not in contract.feature_columns
    assert not columns["telefono_llamadas"].personal and "telefono_llamadas" in contract.feature_columns
    assert not columns["nombre_producto"].personal and not columns["monto"].personal
    assert "«telf»" in columns["TELF_CONTACTO"].description and "cédulas" in columns["dato_7"].description  # the why, in the YAML
    again = Contract.from_yaml(contract.to_yaml()).columns["correo"]
    assert again.personal and "the name contains 'correo'" in again.description


# ------------------------------------------------------------------------------ through the clean step


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus_champion_home(tmp_path_factory, "personal")


@pytest.fixture
def settings(corpus_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DROPSCORE_HOME", str(corpus_home / "home"))
    monkeypatch.setenv("DROPSCORE_PII_KEY", PII_KEY)
    services.reset()
    return load_settings()


def _everything_people_read(result) -> str:  # noqa: ANN001 - a CleanResult
    texts = []
    for uri in (result.quarantine_uri, result.report_uri, result.manifest_uri):
        if uri:
            texts.append(get_store(uri).read_bytes(uri).decode("utf-8-sig"))
    if result.report_uri:
        text_uri = result.report_uri.removesuffix(".json") + ".txt"
        texts.append(get_store(text_uri).read_bytes(text_uri).decode("utf-8-sig"))
    return "\n".join(texts)


def test_spouse_cedula_phone_and_email_columns_never_reach_the_quarantine_in_the_clear(settings: Settings, tmp_path: Path) -> None:
    batch = generate.rows(8, 21)
    spouses = generate.cedulas(8, 22)
    batch["cedula_conyuge"] = spouses
    batch["celular"] = [f"09{n:08d}" for n in range(11111111, 11111119)]
    batch["correo"] = [f"cliente{n}@correo.com.ec" for n in range(8)]
    batch["monto_factura"] = ["1.250,50", "300", "99,90", "12", "7", "45", "8", "9"]
    batch.loc[[1, 3, 5], "monto"] = -5.0
    batch.loc[6, "cedula"] = malformed = "171003406"  # a contracted personal value that is invalid: not shown either
    path = tmp_path / "conyuges.csv"
    path.write_bytes(generate.excel_es(batch))
    result = drop_file(settings, path, "incoming")
    assert result["rows_quarantined"] == 4 and result["rows_scored"] == 4
    quarantine = pd.read_csv(result["quarantine"].removeprefix("file://"), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    text = Path(result["quarantine"].removeprefix("file://")).read_text(encoding="utf-8-sig")
    for secret in [*spouses, *batch["celular"], *batch["correo"], malformed]:
        assert secret not in text
    hasher = PiiHasher(PII_KEY)
    assert quarantine["cedula_conyuge"].tolist() == [hasher.token(spouses[i], "cedula") for i in (1, 3, 5, 6)]
    assert quarantine["celular"].str.match(TOKEN).all() and quarantine["correo"].str.match(TOKEN).all()
    assert quarantine["monto_factura"].tolist() == ["300", "12", "45", "8"]  # not personal: as sent
    manifest = json.loads(get_store(result["manifest"]).read_bytes(result["manifest"]))
    reasons = {item["column"]: item for item in manifest["details"]["personal_extra_columns"]}
    assert set(reasons) == {"cedula_conyuge", "celular", "correo"}
    assert reasons["celular"]["by"] == "name" and "celular" in reasons["celular"]["reason_es"]


def test_a_file_without_a_header_row_is_rejected_without_echoing_its_first_row(settings: Settings, tmp_path: Path) -> None:
    batch = generate.rows(3, 31)
    data = generate.excel_es(batch).split(b"\r\n", 1)[1]  # the header line dropped: the first row is read as one
    path = tmp_path / "sin_encabezado.csv"
    path.write_bytes(data)
    source, generation = put_raw(settings, path, "incoming/sin_encabezado.csv")
    result = clean_object(settings, source, generation=generation)
    assert result.status == "rejected"
    shown = _everything_people_read(result)
    first = batch.iloc[0]
    for secret in (first["cedula"], first["email"], first["telefono"], first["nombre"]):
        assert secret not in shown  # the name too: masking cannot find it, so the row is not repeated at all
    assert result.details["error_code"] == "header_is_data"


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_property_no_generated_personal_value_reaches_what_people_read(settings: Settings, tmp_path: Path, data: st.DataObject) -> None:
    rows = data.draw(st.integers(3, 8), label="rows")
    batch = generate.as_text(generate.rows(rows, data.draw(st.integers(0, 10**6), label="seed"))).astype(object)
    names = data.draw(st.lists(column_names, min_size=2, max_size=3, unique_by=normalize_name), label="extra names")
    personal_name, *plain_names = names
    secrets = data.draw(st.lists(personal_values, min_size=rows, max_size=rows), label="personal values")
    in_text = data.draw(st.lists(personal_values, min_size=rows, max_size=rows), label="values inside notes")
    columns = list(batch.columns)
    for name, values in [(personal_name, secrets), *[(n, data.draw(st.lists(plain_values, min_size=rows, max_size=rows))) for n in plain_names]]:
        batch[name] = values
        columns.insert(data.draw(st.integers(0, len(columns)), label=f"position of {name}"), name)
    batch["notas_internas"] = [f"ver {value} hoy" for value in in_text]
    columns.append("notas_internas")
    quarantined = data.draw(st.sets(st.integers(0, rows - 1), min_size=1, max_size=rows), label="quarantined rows")
    batch.loc[sorted(quarantined), "monto"] = "-5,00"
    path = tmp_path / "prop.csv"
    path.write_bytes(generate.to_bytes(batch[columns]))
    source, generation = put_raw(settings, path, f"incoming/prop-{data.draw(st.integers(0, 10**9))}.csv")
    result = clean_object(settings, source, generation=generation)
    assert result.status == "clean" and result.rows_quarantined == len(quarantined)
    shown = _everything_people_read(result)
    for secret in [*secrets, *in_text]:
        assert secret not in shown, secret
    quarantine = pd.read_csv(result.quarantine_uri.removeprefix("file://"), sep=None, engine="python", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    for name in plain_names:
        if personal_name_word(name) is None:
            sent = batch.loc[sorted(quarantined), name].astype(str).tolist()
            assert [v.lstrip("'") for v in quarantine[name].tolist()] == sent  # not personal: readable as sent
