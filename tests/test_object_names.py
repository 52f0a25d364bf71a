"""Names of dropped files (issue 13, item 4): no key leaves its bucket, different objects never share
outputs, and a name the platform cannot store is a permanent, reported rejection."""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import handlers
from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery.locations import DroppedFile, folded, locate, object_uri_from_event, output_stem
from shared.errors import ObjectNameError
from shared.local.chain import drop_file
from shared.object_names import check_key, climbs
from shared.settings import Settings, load_settings
from shared.steps.refused_names import check_output_names
from tests.conftest import SyntheticFiles
from tests.robustness_helpers import storage_event

# The buckets sit this many folders below the sandbox: every climb the strategy can write (at most
# DEPTH levels) lands inside the sandbox, where the test looks for it.
DEPTH = 8

FRAGMENTS = [
    "..", ".", "/", "\\", "%2e", "%2E", "%2f", "%2F", "%5c", "%252e", "%252f", "%25", "%00", "\x00", "\n", "\r",
    "．", "／", "＼", "‥", "..%2f", "%2e%2e%2f", "..\\", "~", ".tmp-", "A", "é", "e\u0301", "x", "ventas", ".csv", " ",
    "C:", "//",
]


def _sandbox_settings(root: Path) -> Settings:
    deep = root.joinpath(*[f"d{level}" for level in range(DEPTH)])
    return load_settings({"DROPSCORE_HOME": str(deep / "home")})


def _files_outside(sandbox: Path, buckets: Path) -> list[str]:
    inside = os.path.realpath(buckets)
    strays = []
    for folder, _, names in os.walk(sandbox):
        for name in names:
            path = os.path.realpath(os.path.join(folder, name))
            if os.path.commonpath([inside, path]) != inside and not path.endswith(("mlflow.db", ".duckdb", ".wal")):
                strays.append(path)
    return strays


adversarial_names = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map("".join)


# Each example runs the clean handler (registry lookup included): fewer examples, the same alphabet of attacks.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=adversarial_names, kind=st.sampled_from(["incoming", "labels", "training"]))
def test_no_event_name_writes_outside_the_buckets(tmp_path: Path, name: str, kind: str) -> None:
    """A storage event for any name goes through the clean handler (no champion: every drop is
    answered with a report, so outputs named after the file are written) and returns normally;
    no file appears outside the buckets' folder, whatever the name decodes to."""
    sandbox = tmp_path / "sandbox"
    home = _sandbox_settings(sandbox)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DROPSCORE_HOME", str(home.home))
        services.reset()
        result = handlers.handle_clean_event(storage_event("raw", f"{kind}/{name}", "1"))
        services.reset()
    assert result is None or result["status"] in ("rejected", "ignored")
    assert _files_outside(sandbox, home.home / "buckets") == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=adversarial_names)
def test_every_derived_output_stays_in_its_area(tmp_path: Path, name: str) -> None:
    """Writing every output the flow names after a file either is refused or lands inside its area."""
    # A fresh sandbox per example: hypothesis reuses tmp_path, and an earlier example's "é/x" would
    # make this example's "é" a folder already there (a clash between examples, not a finding).
    sandbox = Path(tempfile.mkdtemp(dir=tmp_path, prefix="sandbox-"))
    home = _sandbox_settings(sandbox)
    dropped = DroppedFile.from_raw_key(f"incoming/{name}", case_tag=True)
    if dropped is None:
        return
    keys = [("raw", f"incoming/{name}"), ("clean", dropped.clean_key()), ("clean", dropped.manifest_key()),
            ("quarantine", dropped.quarantine_key()), ("quarantine", dropped.report_key("txt")), ("predictions", dropped.predictions_key())]
    for area, key in keys:
        try:
            uri = home.object_uri(area, key)
        except ObjectNameError:
            continue
        get_store(uri).write_bytes(uri, b"x")
        assert locate(home, uri) == (area, key)  # the URI names exactly that key: nothing decoded twice
    assert _files_outside(sandbox, home.home / "buckets") == []


def test_the_issue_name_is_refused_and_reported_through_functions_framework(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name from the issue, as a real CloudEvent: 2xx, a bilingual report under a short key, nothing outside."""
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent
    from functions_framework import create_app

    sandbox = tmp_path / "sandbox"
    home = _sandbox_settings(sandbox)
    monkeypatch.setenv("DROPSCORE_HOME", str(home.home))
    name = "incoming/" + "%2e%2e%2f" * DEPTH + "X.csv"
    event = CloudEvent({"type": "google.cloud.storage.object.v1.finalized", "source": "//storage.googleapis.com/projects/_/buckets/raw"},
                       {"bucket": "raw", "name": name, "generation": "1"})
    client = create_app(target="clean", source=str(Path(__file__).resolve().parents[1] / "functions" / "clean" / "main.py"), signature_type="cloudevent").test_client()
    headers, body = to_binary(event)
    response = client.post("/", headers=headers, data=body)
    assert response.status_code == 200
    assert _files_outside(sandbox, home.home / "buckets") == []
    reports = list((home.home / "buckets" / "quarantine" / "_refused").glob("*.report.txt"))
    assert len(reports) == 1
    text = reports[0].read_text(encoding="utf-8-sig")
    assert "intenta salir de su carpeta" in text and "tries to leave its folder" in text


def test_a_symlink_inside_a_bucket_does_not_lead_out(tmp_path: Path) -> None:
    home = load_settings({"DROPSCORE_HOME": str(tmp_path / "home")})
    outside = tmp_path / "outside"
    outside.mkdir()
    incoming = home.home / "buckets" / "raw" / "incoming"
    incoming.mkdir(parents=True)
    (incoming / "enlace").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ObjectNameError) as refused:
        home.object_uri("raw", "incoming/enlace/ventas.csv")
    assert "enlace simbólico" in refused.value.message_es and "symbolic link" in refused.value.message_en
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("key", ["a/../b", "%2e%2e/b", "%252e%252e%252fb", "a\\..\\b", "．．／b", "/etc/x", "C:/x", "a//b", "a\x00b", "a\nb", "ok/.tmp-1"])
def test_climbing_and_unstorable_keys_are_refused_on_every_backend(key: str) -> None:
    for local in (True, False):
        with pytest.raises(ObjectNameError):
            check_key(key, local=local)


@pytest.mark.parametrize("key", ["incoming/100% ventas.csv", "incoming/a%20b.csv", "incoming/informe..final.csv", "incoming/año 2026/ñandú #1?.csv"])
def test_odd_but_harmless_names_round_trip_exactly(tmp_path: Path, key: str) -> None:
    """A name holding % or # or ? is stored under exactly that name, listed back as the same URI and key."""
    home = load_settings({"DROPSCORE_HOME": str(tmp_path / "home")})
    assert not climbs(key)
    uri = home.object_uri("raw", key)
    store = get_store(uri)
    store.write_bytes(uri, b"data")
    assert (home.home / "buckets" / "raw" / key).read_bytes() == b"data"
    assert [info.uri for info in store.list(home.area_uri("raw") + "/")] == [uri]
    assert locate(home, uri) == ("raw", key)


def test_event_names_on_cloud_backends_are_checked_too(tmp_path: Path) -> None:
    gcs = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "gs://acme"})
    assert object_uri_from_event(gcs, "acme-raw", "incoming/ventas.csv") == "gs://acme-raw/incoming/ventas.csv"
    with pytest.raises(ObjectNameError):
        object_uri_from_event(gcs, "acme-raw", "incoming/../../ventas.csv")


# -- different objects never share outputs ---------------------------------------------------------


def _with_bad_rows(source: Path, target: Path, bad_rows: int) -> int:
    """A copy of ``source`` whose first ``bad_rows`` data rows hold a value no number parses from; its row count."""
    lines = source.read_text(encoding="cp1252").splitlines()
    header = lines[0].split(";")
    numeric_column = next(i for i, name in enumerate(header) if name.lower().startswith(("ingreso", "monto", "saldo", "edad")))
    for index in range(1, bad_rows + 1):
        cells = lines[index].split(";")
        cells[numeric_column] = "no-es-numero"
        lines[index] = ";".join(cells)
    target.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    return len(lines) - 1


def test_names_differing_in_case_or_extension_keep_their_own_outputs(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    """ventas.csv, ventas.CSV and ventas.txt dropped in turn: three predictions files with every row,
    three quarantine files; before, one predictions file with the last file's rows survived."""
    results = {}
    for month, name in zip((1, 2, 3), ("ventas.csv", "ventas.CSV", "ventas.txt"), strict=True):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        path = folder / name
        rows = _with_bad_rows(synthetic_files.months[month], path, bad_rows=month)
        result = drop_file(champion_home, path)
        assert result["status"] == "scored", result
        assert result["rows_scored"] + result["rows_quarantined"] == rows
        results[name] = result
    outputs = {result["output"] for result in results.values()}
    assert len(outputs) == 3
    for name, result in results.items():
        data = get_store(result["output"]).read_bytes(result["output"]).decode("utf-8-sig").splitlines()
        assert len(data) - 1 == result["rows_scored"], name
        quarantine = get_store(result["quarantine"]).read_bytes(result["quarantine"]).decode("utf-8-sig").splitlines()
        assert len(quarantine) - 1 == result["rows_quarantined"] > 0, name
    # On a folder that ignores case (macOS, Windows) the three must still be three files.
    on_disk = [Path(result["output"].removeprefix("file://")).name for result in results.values()]
    assert len({folded(name) for name in on_disk}) == 3, on_disk
    warehouse = services.warehouse(champion_home).read("predictions")
    assert len(warehouse) == sum(result["rows_scored"] for result in results.values())


names_with_variants = st.text(alphabet=st.sampled_from("abcABCéÉñÑßẞ.~0123456789"), min_size=1, max_size=12)


@given(name=names_with_variants, flips=st.lists(st.booleans(), min_size=12, max_size=12))
def test_output_stems_never_fold_together(name: str, flips: list[bool]) -> None:
    """Two different names never get outputs a case- and normalization-insensitive folder confuses,
    including a name forged to look like another's tagged output."""
    variant = "".join(c.swapcase() if flip else c for c, flip in zip(name, flips, strict=False)) + name[len(flips):]
    candidates = {name, variant, unicodedata.normalize("NFD", name), name.lower(), name.upper()}
    candidates.add(output_stem(variant, case_tag=True))  # a forged name: someone's tagged stem, dropped as is
    stems = {candidate: output_stem(candidate, case_tag=True) for candidate in candidates}
    folded_stems = [folded(stem) for stem in stems.values()]
    assert len(set(folded_stems)) == len(stems), stems


def test_cloud_stores_keep_names_plain_and_folder_stores_tag_only_what_folds(tmp_path: Path) -> None:
    from shared.delivery.locations import dropped_file

    gcs = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "gs://acme"})
    local = load_settings({"DROPSCORE_HOME": str(tmp_path)})
    assert dropped_file(gcs, "incoming/Ventas.CSV").predictions_key() == "Ventas.CSV.predictions.csv"
    assert dropped_file(local, "incoming/ventas.csv").predictions_key() == "ventas.csv.predictions.csv"
    tagged = dropped_file(local, "incoming/Ventas.CSV")
    assert tagged.predictions_key().startswith("Ventas.CSV~") and tagged.name == "Ventas"


# -- names the platform cannot store ---------------------------------------------------------------


def test_a_250_character_name_is_a_reported_permanent_rejection(champion_home: Settings, synthetic_files: SyntheticFiles, tmp_path: Path) -> None:
    """The raw file fits (250 < 255 bytes) but "<name>.quarantine.csv" would not: before, the clean step
    raised a retriable English "Local storage error"; now a bilingual report, 2xx, nothing else written."""
    name = "v" * 246 + ".csv"
    raw = champion_home.home / "buckets" / "raw" / "incoming" / name
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_bytes(synthetic_files.months[1].read_bytes())
    result = handlers.handle_clean_event(storage_event("raw", f"incoming/{name}", str(raw.stat().st_mtime_ns)))
    assert result["status"] == "rejected" and result["details"]["error_code"] == "name_too_long"
    assert "demasiado largo" in result["message_es"] and "too long" in result["message_en"]
    report = json.loads(get_store(result["report_uri"]).read_bytes(result["report_uri"]))
    assert report["status"] == "rejected"
    assert "/_refused/" in result["report_uri"] and len(result["report_uri"].rsplit("/", 1)[1]) < 100
    clean = champion_home.home / "buckets" / "clean" / "incoming"
    assert not clean.exists() or not any(path.is_file() for path in clean.rglob("*"))
    # A duplicate delivery finds the claim done: refused once, reported once.
    again = handlers.handle_clean_event(storage_event("raw", f"incoming/{name}", str(raw.stat().st_mtime_ns)))
    assert again["status"] == "duplicate"


def test_names_whose_outputs_pass_the_cloud_limit_are_refused(tmp_path: Path) -> None:
    gcs = load_settings({"DROPSCORE_HOME": str(tmp_path), "DROPSCORE_STORAGE": "gs://acme"})
    fits = DroppedFile.from_raw_key("incoming/" + "v" * 900 + ".csv")
    check_output_names(gcs, fits)
    too_long = DroppedFile.from_raw_key("incoming/" + "v" * 990 + ".csv")  # the raw name fits 1,024 bytes, its outputs do not
    with pytest.raises(ObjectNameError) as refused:
        check_output_names(gcs, too_long)
    assert refused.value.code == "name_too_long"


def test_a_name_that_looks_like_a_shard_is_refused(tmp_path: Path) -> None:
    local = load_settings({"DROPSCORE_HOME": str(tmp_path)})
    with pytest.raises(ObjectNameError) as refused:
        check_output_names(local, DroppedFile("incoming", "ventas.csv.shard-0123456789ab-00001"))
    assert refused.value.code == "reserved_name"
