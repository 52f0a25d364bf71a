"""Files whose *name* cannot be worked with: refused for good, and told to the user.

A name is refused when some spelling of it climbs out of its folder, when it holds control
characters, when it takes a name our own outputs use (a shard's), or when it or one of the
outputs named after it is longer than the platform stores (shared.object_names). None of these
passes on retry, so the clean step writes a report the user can read and returns (the
function answers 2xx); a retry of such an event would only fail the same way all day.

The report cannot be named after the file (that name is the problem), so it goes under
``quarantine/_refused/<readable excerpt>-<hash of the exact name>.report.json`` (and
``.report.txt``): short, safe on every backend, and different for every refused name.
"""

from __future__ import annotations

import logging

from shared.delivery.locations import KINDS, DroppedFile
from shared.errors import ObjectNameError
from shared.i18n import both
from shared.object_names import printable, short_key
from shared.settings import Settings
from shared.steps.clean_reports import CleanResult, processed_at, readable_report, write_report

logger = logging.getLogger(__name__)

REFUSED_FOLDER = "_refused"
# The longest suffixes the flow adds to a file's stem, per area (see shared.delivery.locations and shared.delivery.fanout):
# a name is storable only if every output named after it is.
_LONGEST_SHARD_INDEX = 99_999


def output_keys(dropped: DroppedFile) -> list[tuple[str, str]]:
    """(area, key) of every object the flow may name after ``dropped``, the longest of each kind included."""
    from shared.delivery.fanout import RUN_LENGTH, Shard, _marker_key, part_key

    run = "f" * RUN_LENGTH
    keys = [
        ("clean", dropped.clean_key()),
        ("clean", dropped.manifest_key()),
        ("quarantine", dropped.quarantine_key()),
        ("quarantine", dropped.report_key("json")),
        ("quarantine", dropped.report_key("txt")),
        ("predictions", dropped.predictions_key()),
    ]
    if dropped.kind == "incoming":
        keys += [
            ("clean", Shard(dropped, run, _LONGEST_SHARD_INDEX).clean_key()),
            ("predictions", part_key(dropped, run, _LONGEST_SHARD_INDEX)),
            ("reports", _marker_key(dropped, run, _LONGEST_SHARD_INDEX)),
        ]
    return keys


def check_output_names(settings: Settings, dropped: DroppedFile) -> None:
    """Raise :class:`ObjectNameError` unless every output of ``dropped`` can be stored where it goes."""
    from shared.delivery.fanout import shard_of

    if shard_of(dropped) is not None:
        spanish, english = both("reserved_name", name=printable(dropped.relative))
        raise ObjectNameError("reserved_name", spanish, english)
    for area, key in output_keys(dropped):
        settings.object_uri(area, key)  # raises ObjectNameError for a key this area cannot store


def refused_report_keys(name: str) -> tuple[str, str]:
    stem = f"{REFUSED_FOLDER}/{short_key(name)}"
    return f"{stem}.report.json", f"{stem}.report.txt"


def kind_of(name: str) -> str | None:
    first = name.split("/", 1)[0]
    return first if first in KINDS and "/" in name else None


def refuse_name(settings: Settings, bucket: str, name: str, problem: ObjectNameError) -> CleanResult:
    """Write the report of a refused name (under a short key of its own) and say so: permanent, no retry."""
    shown = f"{printable(bucket, 60)}/{printable(name)}"
    json_key, txt_key = refused_report_keys(name)
    result = CleanResult(
        source_uri=shown,
        kind=kind_of(name),
        status="rejected",
        report_uri=settings.object_uri("quarantine", json_key),
        message_es=problem.message_es,
        message_en=problem.message_en,
        details={"error_code": problem.code, "object_name": printable(name, 2000), "processed_at": processed_at()},
    )
    write_report(settings, json_key, txt_key, result, readable_report(shown, problem, "next_rename_the_file"))
    logger.warning("refused the name of %s: %s", shown, problem.message_en)
    return result
