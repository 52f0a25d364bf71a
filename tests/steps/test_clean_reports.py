"""What the clean step writes about a file: the manifest of a cleaned file, the report of a refused one."""

from __future__ import annotations

import json

from shared.backends import services
from shared.delivery.locations import DroppedFile
from shared.errors import BadInputError
from shared.ingest.contract import ColumnSpec, Contract
from shared.settings import Settings
from shared.steps.clean import clean_file
from shared.steps.clean_reports import rejection


def _contract() -> Contract:
    specs = {
        "id": ColumnSpec("id", "identifier", nullable=False),
        "monto": ColumnSpec("monto", "numeric", min=0),
        "y": ColumnSpec("y", "categorical", values=["no", "si"]),
    }
    return Contract(name="t", target="y", positive="si", negative="no", id_column="id", columns=specs)


def _read_text(uri: str) -> str:
    return services.store(uri).read_bytes(uri).decode("utf-8-sig")


def test_a_refused_file_gets_a_report_in_both_languages_with_the_next_step(home: Settings) -> None:
    dropped = DroppedFile("incoming", "ventas.csv")
    problem = BadInputError("no_rows", "El archivo solo tiene encabezado, sin filas.", "The file has a header but no rows.")
    result = rejection(home, dropped, "file:///raw/incoming/ventas.csv", problem, rows_in=0, generation="7")
    text = _read_text(home.object_uri("quarantine", dropped.report_key("txt")))
    assert text == (
        "Archivo / File: file:///raw/incoming/ventas.csv\n\n"
        "No se procesó el archivo. El archivo solo tiene encabezado, sin filas.\n"
        "Nada se perdió: el archivo original sigue en la carpeta de entrada; corríjalo y vuelva a subirlo.\n\n"
        "The file was not processed. The file has a header but no rows.\n"
        "Nothing was lost: the original file is still in the raw bucket; fix it and upload it again.\n"
        "(code: no_rows)\n"
    )
    report = json.loads(services.store(result.report_uri).read_bytes(result.report_uri))
    assert report["status"] == "rejected" and report["details"]["error_code"] == "no_rows" and report["details"]["generation"] == "7"
    manifest = json.loads(services.store(result.manifest_uri).read_bytes(result.manifest_uri))
    assert manifest["report_uri"] == result.report_uri


def test_a_refusal_about_the_system_does_not_send_the_user_to_fix_the_file(home: Settings) -> None:
    dropped = DroppedFile("incoming", "ventas.csv")
    problem = BadInputError("no_champion", "Todavía no hay un modelo campeón.", "There is no champion model yet.")
    rejection(home, dropped, "file:///raw/incoming/ventas.csv", problem, rows_in=0)
    text = _read_text(home.object_uri("quarantine", dropped.report_key("txt")))
    assert "El archivo no tiene ningún problema" in text and "Nothing is wrong with the file" in text
    assert "corríjalo" not in text


def test_personal_data_quoted_by_a_refusal_is_masked_in_the_report(home: Settings) -> None:
    dropped = DroppedFile("incoming", "ventas.csv")
    problem = BadInputError("ragged_row", "La fila empieza así: «ana.perez@correo.ec;0912345678».", "The row starts: 'ana.perez@correo.ec;0912345678'.")
    result = rejection(home, dropped, "file:///raw/incoming/ventas.csv", problem, rows_in=3)
    text = _read_text(home.object_uri("quarantine", dropped.report_key("txt")))
    assert "ana.perez@correo.ec" not in text and "ana.perez@correo.ec" not in (result.message_es or "")
    assert result.rows_quarantined == 3


def test_a_cleaned_file_has_a_manifest_with_what_its_scorer_reads(home: Settings) -> None:
    uri = home.object_uri("raw", "incoming/ventas.csv")
    services.store(uri).write_bytes(uri, "id;monto\n1;1.250,5\n2;-3\n".encode("cp1252"), "text/csv")
    result = clean_file(home, DroppedFile("incoming", "ventas.csv"), uri, _contract(), generation="g1", contract_version="4")
    assert (result.status, result.rows_in, result.rows_clean, result.rows_quarantined) == ("clean", 2, 1, 1)
    manifest = json.loads(services.store(result.manifest_uri).read_bytes(result.manifest_uri))
    details = manifest["details"]
    for key in ("encoding", "delimiter", "decimal", "output_delimiter", "output_decimal", "passthrough_extra_columns"):
        assert key in details, key
    assert details["generation"] == "g1" and details["contract_version"] == "4"
    assert (details["delimiter"], details["decimal"], details["quarantine_reasons"]) == (";", ",", {"below_min": 1})
    # A refused upload of the same name afterwards takes the earlier outputs away: no stale clean object is scored.
    services.store(uri).write_bytes(uri, b"id;monto\n", "text/csv")
    refused = clean_file(home, DroppedFile("incoming", "ventas.csv"), uri, _contract(), generation="g2")
    assert refused.status == "rejected" and refused.details["error_code"] == "no_rows"
    assert not services.store(result.clean_uri).exists(result.clean_uri)
    assert not services.store(result.quarantine_uri).exists(result.quarantine_uri)
