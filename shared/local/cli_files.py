"""`dropscore contract infer`, `drop` and `score`: the commands that take a file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from shared import formatting as fmt
from shared.ingest.contract import Contract
from shared.local.cli_io import column_types_text, input_file, require_champion, say
from shared.settings import Settings


def cmd_contract_infer(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.ingest.contract_inference import infer_contract_from_file

    path = input_file(args.file)
    inferred = infer_contract_from_file(path, target=args.target, positive=args.positive, id_column=args.id, name=args.name, task=args.task)
    contract = inferred.contract
    if args.output:
        Path(args.output).write_text(contract.to_yaml(), encoding="utf-8")
    elif not args.json:
        print(contract.to_yaml())
    if not args.json:
        _say_personal_columns(settings, contract)
    if args.output and not args.json:
        language = settings.language
        say(
            settings, "cli_contract_written", path=args.output, columns=fmt.integer(len(contract.columns), language),
            kinds=column_types_text(inferred.column_types, language), target=contract.target, positive=contract.positive,
        )  # fmt: skip
    return {
        "contract": str(args.output) if args.output else None,
        "target": contract.target,
        "positive": contract.positive,
        "id_column": contract.id_column,
        "columns": len(contract.columns),
        "column_types": inferred.column_types,
        "features": len(contract.feature_columns),
        "encoding": inferred.encoding,
        "delimiter": inferred.delimiter,
        "decimal": inferred.decimal,
        "personal_columns": contract.personal_columns,
    }


def _say_personal_columns(settings: Settings, contract: Contract) -> None:
    """Which columns were marked personal and why, and the key they need (on stderr: stdout may hold the YAML)."""
    personal = contract.personal_columns
    if not personal:
        return
    say(settings, "cli_personal_columns", stream=sys.stderr, columns=", ".join(personal))
    for name in personal:
        # contract infer writes "personal: <why in Spanish> / <why in English>" (shared.ingest.personal_data).
        description = contract.columns[name].description.removeprefix("personal:").strip()
        if description:
            why_es, _, why_en = description.partition(" / ")
            print(f"  {name}: {why_es if settings.language == 'es' else why_en or why_es}", file=sys.stderr)
    if not os.environ.get("DROPSCORE_PII_KEY", "").strip():
        say(settings, "cli_pii_key_not_set", stream=sys.stderr)


def cmd_drop(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.local.chain import drop_file

    path = input_file(args.file)
    if args.kind == "incoming" and settings.embedded:
        require_champion(settings)
    result = drop_file(settings, path, args.kind)
    if not args.json:
        _print_drop(settings, result)
    return result


def cmd_score(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.local.direct_scoring import score_file

    path = input_file(args.file)
    require_champion(settings)
    result = score_file(settings, path, Path(args.output))
    if not args.json:
        _print_drop(settings, result)
    return result


def _print_drop(settings: Settings, result: dict[str, Any]) -> None:
    """What became of a dropped file: rejected, uploaded, or its rows counted and where the outputs are."""
    language = settings.language
    if result.get("status") == "rejected":
        say(settings, "cli_file_rejected", reason=result.get(f"message_{language}"))
        if result.get("quarantine"):
            say(settings, "cli_file_report_at", path=result.get("quarantine"))
        return
    if result.get("status") == "uploaded":
        say(settings, "cli_file_uploaded", source=result.get("source"))
        return
    rows_in, rows_quarantined = fmt.integer(result.get("rows_in") or 0, language), fmt.integer(result.get("rows_quarantined") or 0, language)
    if result.get("kind", "incoming") == "incoming":
        say(settings, "cli_rows_scored", rows_in=rows_in, rows_scored=fmt.integer(result.get("rows_scored") or 0, language), rows_quarantined=rows_quarantined)
        if result.get("unknown_categories"):
            say(settings, "cli_unknown_categories", count=fmt.integer(result["unknown_categories"], language))
            examples = result.get("unknown_category_examples") or {}
            for column, column_count in sorted((result.get("unknown_categories_by_column") or {}).items()):
                shown = ", ".join(f"«{value}»" for value in examples.get(column, []))
                print(f"    {column}: {fmt.integer(column_count, language)} ({shown})")
        outputs = (("output", "cli_predictions_at"), ("quarantine", "cli_quarantine_at"), ("manifest", "cli_manifest_at"))
    else:
        rows_clean = result.get("rows_clean")
        kept = fmt.integer(rows_clean if rows_clean is not None else (result.get("rows_in") or 0) - (result.get("rows_quarantined") or 0), language)
        code = "cli_rows_kept_as_labels" if result.get("kind") == "labels" else "cli_rows_kept_as_training"
        say(settings, code, rows_in=rows_in, kept=kept, rows_quarantined=rows_quarantined)
        outputs = (("output", "cli_kept_at"), ("quarantine", "cli_quarantine_at"), ("manifest", "cli_manifest_at"))
    for key, code in outputs:
        if result.get(key):
            say(settings, code, path=result[key])
