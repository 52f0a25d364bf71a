"""What the clean step writes about a file: its result, the manifest, and the report of a file it refused.

A cleaned file gets a manifest (``clean/manifests/<kind>/<name>.json``: counts, dialect, what was
renamed, repaired or quarantined); a refused one gets a report in the quarantine area, as JSON and
as text a user reads in both languages, saying why and that nothing was lost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.backends import services
from shared.delivery.locations import DroppedFile
from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.personal_data import mask_text
from shared.settings import Settings

# Rejections about the system's state, not the file's content (from model_integrity on: shared.handlers' refusals).
FILE_IS_FINE_CODES = frozenset({"no_champion", "pii_key_missing", "model_integrity", "contract_invalid", "pii_key_invalid", "configuration", "settings_invalid"})


@dataclass
class CleanResult:
    source_uri: str
    kind: str | None
    status: str                     # "clean" | "rejected" | "ignored" | "duplicate" | "cleaning" (a preliminary manifest)
    rows_in: int = 0
    rows_clean: int = 0
    rows_quarantined: int = 0
    clean_uri: str | None = None
    quarantine_uri: str | None = None
    report_uri: str | None = None
    manifest_uri: str | None = None
    message_es: str | None = None
    message_en: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def processed_at() -> str:
    return datetime.now(UTC).isoformat()


def write_manifest(settings: Settings, dropped: DroppedFile, result: CleanResult) -> str:
    manifest_uri = settings.object_uri("clean", dropped.manifest_key())
    body = json.dumps(result.to_dict() | {"manifest_uri": manifest_uri}, ensure_ascii=False, indent=2, default=str)
    services.store(manifest_uri).write_bytes(manifest_uri, body.encode("utf-8"), "application/json")
    return manifest_uri


def readable_report(shown_name: str, problem: BadInputError, next_step: str) -> str:
    """The text report of a refused file, Spanish then English: what happened, and what to do (``next_step``, a catalogue code)."""
    label_es, label_en = both("report_file_label")
    not_es, not_en = both("file_not_processed")
    next_es, next_en = both(next_step)
    return (
        f"{label_es} / {label_en}: {shown_name}\n\n"
        f"{not_es} {problem.message_es}\n"
        f"{next_es}\n\n"
        f"{not_en} {problem.message_en}\n"
        f"{next_en}\n"
        f"(code: {problem.code})\n"
    )


def write_report(settings: Settings, json_key: str, text_key: str, result: CleanResult, text: str) -> tuple[str, str]:
    """Write a refusal's report (JSON, then the text people open) under the quarantine area; returns their URIs."""
    report_uri = settings.object_uri("quarantine", json_key)
    text_uri = settings.object_uri("quarantine", text_key)
    store = services.store(report_uri)
    store.write_bytes(report_uri, json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"), "application/json")
    store.write_bytes(text_uri, text.encode("utf-8-sig"), "text/plain; charset=utf-8")
    return report_uri, text_uri


def rejection(
    settings: Settings,
    dropped: DroppedFile,
    source_uri: str,
    problem: BadInputError,
    *,
    rows_in: int,
    generation: str = "",
    fan_out: dict[str, Any] | None = None,
) -> CleanResult:
    """Report a file refused whole (JSON, text, manifest) and return its result. The caller removes stale outputs."""
    # Messages may quote the file (a header row that is really the first data row, a parser's
    # excerpt of a bad line): no e-mail, phone or cédula in them reaches the report in the clear.
    problem = BadInputError(problem.code, mask_text(problem.message_es), mask_text(problem.message_en))
    result = CleanResult(
        source_uri=source_uri,
        kind=dropped.kind,
        status="rejected",
        rows_in=rows_in,
        rows_quarantined=rows_in,
        report_uri=settings.object_uri("quarantine", dropped.report_key("json")),
        message_es=problem.message_es,
        message_en=problem.message_en,
        details={"error_code": problem.code, "generation": generation, "processed_at": processed_at()},
    )
    if fan_out:
        result.details["fan_out"] = fan_out  # the shards' scorers read this and withdraw (shared.delivery.fanout)
    # Nothing is wrong with the file itself when the system is what failed: do not send the user to "fix" it.
    next_step = "next_file_is_fine" if problem.code in FILE_IS_FINE_CODES else "next_fix_the_file"
    write_report(settings, dropped.report_key("json"), dropped.report_key("txt"), result, readable_report(source_uri, problem, next_step))
    result.manifest_uri = write_manifest(settings, dropped, result)
    return result
