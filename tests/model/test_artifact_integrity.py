"""Every artifact a model version is scored with is checked against its registered hash (real sqlite MLflow).

The corpus champion has a cédula as its personal id: editing its ``contract.yaml`` in the artifact
store (``personal: true`` off) or its ``meta.json`` (threshold 0) used to be accepted silently, and raw
cédulas reached the warehouse. Now each tampered artifact is refused by name, with a critical alert,
and nothing is written for users.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.backends import services
from shared.backends.registry import CHAMPION, MlflowRegistry
from shared.backends.storage import get_store
from shared.errors import ModelIntegrityError
from shared.lifecycle.promotion import load_model
from shared.local.chain import drop_file
from shared.model import artifact_integrity, registered
from shared.model.pyfunc_saving import MODEL_FILE
from shared.model.registered import MANIFEST_PATH
from shared.settings import Settings, load_settings
from shared.steps import clean as cleaning
from tests.corpus import generate
from tests.robustness_helpers import PII_KEY, corpus_champion_home

SCORED_WITH = ["MLmodel", MODEL_FILE, "dropscore/contract.yaml", "dropscore/meta.json", "dropscore/reference_sample.parquet"]


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus_champion_home(tmp_path_factory, "integrity")


@pytest.fixture
def settings(corpus_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("DROPSCORE_HOME", str(corpus_home / "home"))
    monkeypatch.setenv("DROPSCORE_PII_KEY", PII_KEY)
    cleaning._CONTRACTS.clear()  # each test reads the champion's artifacts afresh, as a new instance would
    services.reset()
    yield load_settings()
    cleaning._CONTRACTS.clear()
    services.reset()


def _version_folder(settings: Settings) -> Path:
    fresh = MlflowRegistry(settings.tracking_uri, settings.model_name)
    return Path(fresh.client.get_model_version(settings.model_name, "1").source.removeprefix("file://"))


@contextmanager
def tampered(settings: Settings, relative: str, edit) -> Iterator[Path]:  # noqa: ANN001 - bytes -> bytes | None (None deletes)
    """Edit one file of version 1 in the artifact store, as someone with bucket access could; restore it after."""
    path = _version_folder(settings) / relative
    original = path.read_bytes()
    try:
        changed = edit(original)
        if changed is None:
            path.unlink()
        else:
            assert changed != original
            path.write_bytes(changed)
        cleaning._CONTRACTS.clear()
        services.reset()
        yield path
    finally:
        path.write_bytes(original)
        cleaning._CONTRACTS.clear()
        services.reset()


def _model_alerts(settings: Settings):  # noqa: ANN202
    alerts = services.warehouse(settings).read("alerts")
    return alerts[alerts["category"] == "model"]


def _predictions_count(settings: Settings) -> int:
    warehouse = services.warehouse(settings)
    try:
        return len(warehouse.read("predictions"))
    except Exception:  # no table yet: nothing was ever written
        return 0


def _personal_off(text: bytes) -> bytes:
    changed = text.replace(b"personal: true", b"personal: false")
    assert changed != text
    return changed


def _threshold_zero(text: bytes) -> bytes:
    meta = json.loads(text)
    meta["threshold"] = 0.0
    return json.dumps(meta, indent=2).encode()


def test_registration_records_every_artifact_under_a_registry_tag(settings: Settings) -> None:
    folder = _version_folder(settings)
    tags = MlflowRegistry(settings.tracking_uri, settings.model_name).client.get_model_version(settings.model_name, "1").tags
    manifest = (folder / MANIFEST_PATH).read_bytes()
    assert tags[artifact_integrity.MANIFEST_TAG] == artifact_integrity.sha256_of_bytes(manifest)
    files = json.loads(manifest)["sha256"]
    assert set(SCORED_WITH) <= set(files)
    assert all(files[name] == artifact_integrity.sha256_of(folder / name) for name in files)


def test_each_tampered_artifact_is_refused_by_name_with_an_alert(settings: Settings) -> None:
    files = json.loads((_version_folder(settings) / MANIFEST_PATH).read_bytes())["sha256"]
    alerts_before = len(_model_alerts(settings))
    for relative in sorted(files):
        for edit in (lambda data: data + b"\n", lambda data: None):  # an edit, then a deletion
            with tampered(settings, relative, edit):
                with pytest.raises(ModelIntegrityError) as caught:
                    load_model(settings, CHAMPION)
                assert caught.value.artifacts == [relative], relative  # type: ignore[attr-defined]
                alert = _model_alerts(settings).iloc[-1]
                assert alert["severity"] == "critical" and relative in alert["title_en"] and relative in alert["title_es"]
                assert json.loads(alert["evidence"])["artifacts"] == [relative]
    assert len(_model_alerts(settings)) == alerts_before + 2 * len(files)
    assert load_model(settings, CHAMPION).version == "1"  # restored: scores again


def test_a_tampered_contract_rejects_the_file_before_anything_is_kept(settings: Settings, tmp_path: Path) -> None:
    """personal: true turned off in the artifact store must not let raw cédulas reach the clean data or the warehouse."""
    source = tmp_path / "clientes.csv"
    batch = generate.rows(20, 5)
    source.write_bytes(generate.excel_es(batch))
    with tampered(settings, "dropscore/contract.yaml", _personal_off):
        result = drop_file(settings, source, "incoming")
        assert result["status"] == "rejected" and result["output"] is None and result["clean"] is None
        report = json.loads(get_store(result["quarantine"]).read_bytes(result["quarantine"]))
        assert report["details"]["error_code"] == "model_integrity"
        assert "v1" in report["message_es"] and "administrador" in report["message_es"] and "tampering" in report["message_en"]
        alert = _model_alerts(settings).iloc[-1]
        assert "dropscore/contract.yaml" in alert["title_en"] and alert["severity"] == "critical"
    assert _predictions_count(settings) == 0
    assert not get_store(settings.area_uri("clean")).list(settings.object_uri("clean", "incoming/"))
    # restored: the same file goes through, its cédulas as tokens
    result = drop_file(settings, source, "incoming")
    assert result["rows_scored"] == 20
    stored = set(services.warehouse(settings).read("predictions")["row_id"].astype(str))
    assert not stored & set(batch["cedula"])


def test_a_tampered_threshold_refuses_to_score(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "clientes.csv"
    source.write_bytes(generate.excel_es(generate.rows(20, 6)))
    before = _predictions_count(settings)
    with tampered(settings, "dropscore/meta.json", _threshold_zero):
        with pytest.raises(ModelIntegrityError, match="meta.json"):
            drop_file(settings, source, "incoming")
        assert "dropscore/meta.json" in _model_alerts(settings).iloc[-1]["title_en"]
    assert _predictions_count(settings) == before
    assert not get_store(settings.area_uri("predictions")).list(settings.object_uri("predictions", "incoming/"))


def test_editing_the_manifest_to_match_does_not_help(settings: Settings) -> None:
    """Whoever edits contract.yaml and rewrites the manifest to match still misses the digest in the registry."""
    folder = _version_folder(settings)
    contract_path = folder / "dropscore" / "contract.yaml"
    forged_contract = _personal_off(contract_path.read_bytes())

    def forge(manifest: bytes) -> bytes:
        files = json.loads(manifest)["sha256"]
        files["dropscore/contract.yaml"] = artifact_integrity.sha256_of_bytes(forged_contract)
        return artifact_integrity.manifest_bytes(files)

    with tampered(settings, "dropscore/contract.yaml", lambda _: forged_contract), tampered(settings, MANIFEST_PATH, forge):
        with pytest.raises(ModelIntegrityError) as caught:
            registered.read_file(services.registry(settings), "1", "contract.yaml")
        assert caught.value.artifacts == [MANIFEST_PATH]  # type: ignore[attr-defined]
        with pytest.raises(ModelIntegrityError):
            load_model(settings, CHAMPION)


def test_the_contract_read_alone_is_verified_too(settings: Settings) -> None:
    """The clean step reads only contract.yaml (not the booster): that read is checked on its own."""
    with tampered(settings, "dropscore/contract.yaml", _personal_off):
        with pytest.raises(ModelIntegrityError, match="contract.yaml"):
            registered.read_file(services.registry(settings), "1", "contract.yaml")
    assert "personal: true" in registered.read_file(services.registry(settings), "1", "contract.yaml")


def test_a_version_without_a_manifest_checks_its_model_file_and_warns(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Versions registered before manifests: the model file's hash is still checked; the rest cannot be, and the log says so."""
    client = MlflowRegistry(settings.tracking_uri, settings.model_name).client
    digest = client.get_model_version(settings.model_name, "1").tags[artifact_integrity.MANIFEST_TAG]
    client.delete_model_version_tag(settings.model_name, "1", artifact_integrity.MANIFEST_TAG)
    registered._warned_unverifiable.clear()
    try:
        services.reset()
        with caplog.at_level(logging.WARNING, logger="shared.model.registered"):
            assert load_model(settings, CHAMPION).version == "1"
        assert "without an artifact manifest" in caplog.text and "contract.yaml" in caplog.text
        with tampered(settings, MODEL_FILE, lambda data: data.replace(b"tree", b"Tree", 1)), pytest.raises(ModelIntegrityError, match="model.lgb"):
            load_model(settings, CHAMPION)
    finally:
        client.set_model_version_tag(settings.model_name, "1", artifact_integrity.MANIFEST_TAG, digest)
        services.reset()


def test_the_score_function_answers_a_refused_batch_with_a_report_instead_of_a_retry(settings: Settings, tmp_path: Path) -> None:
    """A real CloudEvent to the score function: 2xx (permanent, not retried), a report for the user, nothing scored."""
    from shared.steps.clean import clean_object
    from tests.robustness_helpers import put_raw
    from tests.test_handlers import _app, _post, _storage_event

    source = tmp_path / "refusado.csv"
    source.write_bytes(generate.excel_es(generate.rows(12, 7)))
    raw_uri, generation = put_raw(settings, source, "incoming/refusado.csv")
    assert clean_object(settings, raw_uri, generation=generation).status == "clean"
    before = _predictions_count(settings)
    with tampered(settings, "dropscore/meta.json", _threshold_zero):
        response = _post(_app("score", "cloudevent"), _storage_event("clean", "incoming/refusado.csv.parquet"))
        assert response.status_code == 200
        assert "dropscore/meta.json" in _model_alerts(settings).iloc[-1]["title_en"]
    report_uri = settings.object_uri("quarantine", "incoming/refusado.csv.report.json")
    report = json.loads(get_store(report_uri).read_bytes(report_uri))
    assert report["status"] == "refused" and report["details"]["error_code"] == "model_integrity"
    assert report["details"]["artifacts"] == ["dropscore/meta.json"] and "v1" in report["message_es"]
    assert _predictions_count(settings) == before
    assert not get_store(settings.area_uri("predictions")).list(settings.object_uri("predictions", "incoming/"))
