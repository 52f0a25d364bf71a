"""The `dropscore` command. Thin: parse arguments, call one function in shared, print the result.

With ``--json`` exactly one JSON object goes to stdout; everything else (logs, library
chatter) goes to stderr so scripts can parse stdout safely.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.errors import DropscoreError, PermanentError, SettingsError
from shared.settings import Settings, load_settings

logger = logging.getLogger("dropscore")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _say(settings: Settings, spanish: str, english: str) -> None:
    print(spanish if settings.language == "es" else english)


# -- commands ----------------------------------------------------------------------------------


def cmd_contract_infer(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.contract import Contract, infer_contract
    from shared.file_evidence import MIXED, POINT, FileEvidence
    from shared.i18n import locale_decimal
    from shared.parsing import infer_types
    from shared.workbook_reader import read_whole_table

    with open(args.file, "rb") as stream:
        raw, dialect = read_whole_table(stream)  # a CSV or an Excel workbook's first sheet
    # Each column's decimal mark is what its values prove, decided as scoring decides it (shared.file_evidence).
    evidence = FileEvidence()
    evidence.add(raw, list(raw.columns), {})
    hint = locale_decimal(Contract.locale)
    decisions = evidence.decide_decimals(list(raw.columns), delimiter=dialect.delimiter, hint=hint, hint_source="locale")
    decimal = evidence.file_decimal(decisions, default=hint)
    typed, date_columns = infer_types(raw, {name: POINT if d.mark == MIXED else d.mark for name, d in decisions.items()})
    contract = infer_contract(
        typed,
        target=args.target,
        positive=args.positive,
        id_column=args.id,
        name=args.name or Path(args.file).stem,
        # The training file's mark is not the scoring files' rule: each file is read in its own dialect.
        decimal="auto",
        date_columns=date_columns,
        task=getattr(args, "task", None) or "binary",
    )
    text = contract.to_yaml()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    elif not args.json:
        print(text)
    kinds: dict[str, int] = {}
    for spec in contract.columns.values():
        kinds[spec.type] = kinds.get(spec.type, 0) + 1
    result = {
        "contract": str(args.output) if args.output else None,
        "target": contract.target,
        "positive": contract.positive,
        "id_column": contract.id_column,
        "columns": len(contract.columns),
        "column_types": kinds,
        "features": len(contract.feature_columns),
        "encoding": dialect.encoding,
        "delimiter": dialect.delimiter,
        "decimal": decimal,
    }
    if args.output and not args.json:
        _say(
            settings,
            f"Contrato escrito en {args.output}: {len(contract.columns)} columnas {kinds}, objetivo «{contract.target}» (positivo «{contract.positive}»).",
            f"Contract written to {args.output}: {len(contract.columns)} columns {kinds}, target '{contract.target}' (positive '{contract.positive}').",
        )
    return result


def _load_contract(args: argparse.Namespace, settings: Settings):
    from shared import services
    from shared.contract import Contract
    from shared.errors import ContractError, ModelNotFoundError

    if args.contract:
        return Contract.from_yaml(Path(args.contract).read_text(encoding="utf-8"))
    try:
        return services.registry(settings).load("champion").contract
    except ModelNotFoundError as exc:
        raise ContractError(
            "no contract given and no champion yet: run `dropscore contract infer FILE --target COL -o contract.yaml` first "
            "/ sin contrato ni campeón: ejecute primero `dropscore contract infer`"
        ) from exc


def _metrics_text(outcome: Any, language: str) -> str:
    metrics = outcome.metrics
    names = {
        "es": {"roc_auc": "ROC-AUC", "precision": "precisión", "recall": "sensibilidad", "macro_f1": "F1 macro", "accuracy": "exactitud", "rmse": "RMSE", "r2": "R²", "mae": "MAE"},
        "en": {"roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "macro_f1": "macro F1", "accuracy": "accuracy", "rmse": "RMSE", "r2": "R²", "mae": "MAE"},
    }[language]
    shown = {"binary": ("roc_auc", "precision", "recall"), "multiclass": ("macro_f1", "accuracy"), "regression": ("rmse", "r2", "mae")}.get(outcome.task, ())
    text = ", ".join(f"{names[k]} {metrics[k]:.3f}" for k in shown if k in metrics)
    if outcome.task == "binary":
        text += f" ({'umbral' if language == 'es' else 'threshold'} {outcome.threshold:.3f})"
    return text


def _print_training(settings: Settings, outcome: Any) -> None:
    """The training report in a few lines: metrics and decision, leaks, expected value, fairness, model card."""
    _say(
        settings,
        f"Modelo v{outcome.model_version}: {_metrics_text(outcome, 'es')}. {outcome.reason_es}",
        f"Model v{outcome.model_version}: {_metrics_text(outcome, 'en')}. {outcome.reason_en}",
    )
    if outcome.expected_value_per_1000 is not None:
        _say(
            settings,
            f"  Valor esperado por 1 000 filas puntuadas: {outcome.expected_value_per_1000:,.2f} (datos reservados).",
            f"  Expected value per 1,000 scored rows: {outcome.expected_value_per_1000:,.2f} (held-out data).",
        )
    for leak in outcome.leakage:
        verdict_es = "excluida" if leak["excluded"] else "permitida por el contrato"
        verdict_en = "excluded" if leak["excluded"] else "allowed by the contract"
        _say(
            settings,
            f"  Fuga de datos: «{leak['column']}» predice el objetivo casi a la perfección ({leak['statistic']} {leak['value']:.3f}); {verdict_es}.",
            f"  Data leakage: '{leak['column']}' predicts the target almost perfectly ({leak['statistic']} {leak['value']:.3f}); {verdict_en}.",
        )
    for flag in outcome.fairness_flags:
        _say(
            settings,
            f"  Equidad: {flag['column']} = {flag['group']}: {flag['metric']} es {flag['ratio']:.2f} del mejor grupo (< 0.8).",
            f"  Fairness: {flag['column']} = {flag['group']}: {flag['metric']} is {flag['ratio']:.2f} of the best group's (< 0.8).",
        )
    if outcome.model_card:
        _say(settings, f"  Ficha del modelo: {outcome.model_card}", f"  Model card: {outcome.model_card}")


def cmd_train(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle import train_from_csv

    outcome = train_from_csv(settings, Path(args.file), _load_contract(args, settings), seed=args.seed, time_budget_seconds=args.time_budget)
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def _print_drop(settings: Settings, result: dict[str, Any]) -> None:
    if result.get("status") == "rejected":
        _say(settings, f"Archivo rechazado: {result.get('message_es')}", f"File rejected: {result.get('message_en')}")
        _say(settings, f"  Informe: {result.get('quarantine')}", f"  Report: {result.get('quarantine')}")
        return
    _say(
        settings,
        f"Filas: {result.get('rows_in')} recibidas, {result.get('rows_scored')} puntuadas, {result.get('rows_quarantined')} en cuarentena.",
        f"Rows: {result.get('rows_in')} in, {result.get('rows_scored')} scored, {result.get('rows_quarantined')} quarantined.",
    )
    if result.get("unknown_categories"):
        _say(
            settings,
            f"  {result['unknown_categories']} valores de categoría desconocidos para el modelo se puntuaron como faltantes:",
            f"  {result['unknown_categories']} category values the model does not know were scored as missing:",
        )
        examples = result.get("unknown_category_examples") or {}
        for column, count in sorted((result.get("unknown_categories_by_column") or {}).items()):
            shown = ", ".join(f"«{value}»" for value in examples.get(column, []))
            _say(settings, f"    {column}: {count} ({shown})", f"    {column}: {count} ({shown})")
    for key, spanish, english in (("output", "Predicciones", "Predictions"), ("quarantine", "Cuarentena", "Quarantine"), ("manifest", "Manifiesto", "Manifest")):
        if result.get(key):
            _say(settings, f"  {spanish}: {result[key]}", f"  {english}: {result[key]}")


def cmd_drop(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.chain import drop_file

    result = drop_file(settings, Path(args.file), args.kind)
    if not args.json:
        _print_drop(settings, result)
    return result


def cmd_score(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.chain import score_file

    result = score_file(settings, Path(args.file), Path(args.output))
    if not args.json:
        _print_drop(settings, result)
    return result


def cmd_drift(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.monitoring import run_drift_check

    result = run_drift_check(settings, allow_retrain=not args.no_retrain)
    if not args.json:
        _say(settings, result.reason_es, result.reason_en)
        _say(settings, f"  Informe: {result.report_html}", f"  Report: {result.report_html}")
        if result.retrain:
            _say(settings, f"  Reentrenamiento: {result.retrain.get('reason_es')}", f"  Retraining: {result.retrain.get('reason_en')}")
    return result.summary()


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle import run_retrain

    outcome = run_retrain(settings, reason=args.reason, trigger="cli", time_budget_seconds=args.time_budget)
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def cmd_models(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared import services

    versions = services.registry(settings).versions()
    if not args.json:
        if not versions:
            _say(settings, "Todavía no hay modelos registrados.", "No models registered yet.")
        for version in versions:
            metrics = version["metrics"]
            aliases = ", ".join(version["aliases"]) or "-"
            shown = {"binary": ("roc_auc", "precision", "recall"), "multiclass": ("macro_f1", "accuracy"), "regression": ("rmse", "r2")}.get(version.get("task") or "binary", ())
            figures = "  ".join(f"{k}={metrics.get(k, float('nan')):.3f}" for k in shown)
            if "expected_value_per_1000" in metrics:
                figures += f"  ev/1000={metrics['expected_value_per_1000']:.1f}"
            threshold = f"  threshold={version['threshold']:.3f}" if version.get("task", "binary") == "binary" and version["threshold"] is not None else ""
            gates = "ok" if version["gates_passed"] else "FAIL: " + "; ".join(version.get("gate_failures") or [])
            print(f"v{version['version']:>3}  [{aliases:<20}]  {version.get('task') or 'binary'}  {figures}{threshold}  gates={gates}  {version['created_at']}")
            lineage = version.get("lineage") or {}
            for uri, content in (lineage.get("sources") or {}).items():
                print(f"       {uri}  {content}")
            if lineage.get("code_version"):
                print(f"       code {lineage['code_version']}  ({version.get('purpose')})")
            if version.get("excluded_features"):
                print(f"       {'excluidas por fuga' if settings.language == 'es' else 'excluded as leakage'}: {', '.join(version['excluded_features'])}")
    return {"name": settings.model_name, "tracking_uri": settings.tracking_uri, "versions": versions}


def cmd_promote(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle import promote

    result = promote(settings, str(args.version), reason=args.reason, force=args.force)
    if not args.json:
        _say(settings, f"v{args.version} es ahora el campeón (antes: v{result['previous']}).", f"v{args.version} is now the champion (before: v{result['previous']}).")
    return result


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle import rollback

    result = rollback(settings, reason=args.reason)
    if not args.json:
        _say(settings, f"Vuelta atrás: v{result['model_version']} es de nuevo el campeón (v{result['previous']} queda como «previous»).", f"Rolled back: v{result['model_version']} is the champion again (v{result['previous']} is now 'previous').")
    return result


def cmd_report(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.dashboard import build_dashboard

    result = build_dashboard(settings)
    if not args.json:
        print(result.path or result.uri)
    return result.to_dict()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.demo import run_demo

    return run_demo(settings, rows_per_month=args.rows, training_rows=args.training_rows, seed=args.seed, workdir=Path(args.workdir) if args.workdir else None, quiet=args.json)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """`dropscore serve`: run the local cloud until Ctrl-C; `dropscore serve tick drift|retrain`: fire a trigger."""
    from shared.stack.cli import serve, tick

    if args.action == "tick":
        return tick(args, settings, say=lambda spanish, english: _say(settings, spanish, english))
    if args.action is not None or args.target is not None:
        raise PermanentError("usage: dropscore serve [tick drift|retrain]")
    return serve(args, settings, say=lambda spanish, english: _say(settings, spanish, english))


# -- parser ------------------------------------------------------------------------------------


def installed_version() -> str:
    """The installed distribution's version (package metadata); the package's own in a function zip."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dropscore")
    except PackageNotFoundError:  # shared/ copied without being installed (a function zip, a model's code)
        import shared

        return shared.__version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropscore",
        description="Drop a CSV, get predictions with reasons; drift checks, retraining and rollback. "
        "Settings come from DROPSCORE_* environment variables (DROPSCORE_HOME defaults to ./.dropscore).",
    )
    parser.add_argument("--lang", choices=["es", "en"], help="language of messages (default: DROPSCORE_LANG or es)")
    parser.add_argument("--version", action="version", version=f"dropscore {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable, help_text: str, parent=commands) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
        sub.add_argument("--lang", choices=["es", "en"], default=argparse.SUPPRESS, help="language of messages")
        sub.set_defaults(handler=handler)
        return sub

    demo = command("demo", cmd_demo, "run the whole story on embedded defaults with synthetic data")
    demo.add_argument("--rows", type=int, default=2000, help="rows per monthly file (default 2000)")
    demo.add_argument("--training-rows", type=int, default=12000, help="rows in the first training file (default 12000)")
    demo.add_argument("--seed", type=int, default=2024)
    demo.add_argument("--workdir", help="where to write the demo's CSV files (default: DROPSCORE_HOME/demo)")

    contract = commands.add_parser("contract", help="data contract commands", description="data contract commands")
    contract_commands = contract.add_subparsers(dest="contract_command", required=True, metavar="SUBCOMMAND")
    infer = command("infer", cmd_contract_infer, "infer an editable YAML contract from a training CSV", contract_commands)
    infer.add_argument("file")
    infer.add_argument("--target", required=True, help="the column to predict")
    infer.add_argument("--positive", help="the target value that counts as positive (default: si/yes/1/true or the minority class)")
    infer.add_argument("--id", help="the id column (default: none; row ids are generated)")
    infer.add_argument("--name", help="a name for the contract (default: the file name)")
    infer.add_argument("-o", "--output", help="write the contract here (default: print it)")
    infer.add_argument("--task", choices=["binary", "multiclass", "regression"], default="binary", help="what the target is (default: binary)")

    train = command("train", cmd_train, "train a model on a labeled CSV, register it, make it champion if it passes the gates")
    train.add_argument("file")
    train.add_argument("--contract", help="contract YAML (default: the champion's contract)")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--time-budget", type=float, help="seconds for the configuration search (default: the contract's, 60)")

    drop = command("drop", cmd_drop, "drop a file into the raw bucket; in embedded mode run clean and score at once")
    drop.add_argument("file")
    drop.add_argument("--kind", choices=["incoming", "labels", "training"], default="incoming")

    score = command("score", cmd_score, "clean and score a file directly, without buckets or warehouse")
    score.add_argument("file")
    score.add_argument("-o", "--output", required=True, help="predictions CSV to write")

    drift = command("drift", cmd_drift, "run the scheduled drift check now")
    drift.add_argument("--no-retrain", action="store_true", help="report only; do not request retraining")

    retrain = command("retrain", cmd_retrain, "train a challenger on all labeled data and promote it if it wins")
    retrain.add_argument("--reason", default="manual retrain", help="why (recorded)")
    retrain.add_argument("--time-budget", type=float, help="seconds for the configuration search (default: the contract's, 60)")

    command("models", cmd_models, "list model versions, aliases, metrics and gates")

    promote = command("promote", cmd_promote, "make a version the champion (the old one becomes 'previous')")
    promote.add_argument("version")
    promote.add_argument("--reason", default="manual promotion", help="why (recorded with who)")
    promote.add_argument("--force", action="store_true", help="promote even a version that failed its gates")

    rollback = command("rollback", cmd_rollback, "make the previous champion the champion again, at once")
    rollback.add_argument("--reason", default="manual rollback", help="why (recorded with who)")

    serve = command("serve", cmd_serve, "run the cloud's shape locally (emulators, MLflow server, function servers, event router) until Ctrl-C; `serve tick drift|retrain` fires a trigger")
    serve.add_argument("action", nargs="?", choices=["tick"], help="tick: fire a scheduled or pushed trigger of the running stack")
    serve.add_argument("target", nargs="?", choices=["drift", "retrain"], help="with tick: drift (Cloud Scheduler) or retrain (Pub/Sub push)")
    serve.add_argument("--storage", choices=["gs", "s3"], help="gs: gcp-storage-emulator (default); s3: moto (default when DROPSCORE_STORAGE is s3://)")
    serve.add_argument("--retry-seconds", type=float, default=60.0, help="how long the router retries a failing event before dead-lettering it (default 60)")
    serve.add_argument("--max-event-age", type=float, help="DROPSCORE_MAX_EVENT_AGE_SECONDS for the functions")
    serve.add_argument("--reason", default="manual retrain (tick)", help="with tick retrain: why (recorded)")

    command("report", cmd_report, "build the management dashboard (static HTML, Spanish by default; --lang en) and print its path")

    from shared import deploy_env

    deploy_env.register(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "lang", None):
        os.environ["DROPSCORE_LANG"] = args.lang
    as_json = bool(getattr(args, "json", False))
    try:
        settings = load_settings()
    except SettingsError as exc:  # a setting that cannot work: say which, in the user's language, no traceback
        message = exc.message(getattr(args, "lang", None) or os.environ.get("DROPSCORE_LANG", "es")[:2].lower())
        print(json.dumps({"error": "SettingsError", "message": message}, ensure_ascii=False) if as_json else f"error: {message}", file=sys.stdout if as_json else sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    real_stdout = sys.stdout
    try:
        # Libraries (MLflow, alembic) print to stdout; in JSON mode stdout carries only our object.
        with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout):
            result = args.handler(args, settings)
    except PermanentError as exc:
        message = exc.message(settings.language) if hasattr(exc, "message") and callable(exc.message) else str(exc)
        if as_json:
            print(json.dumps({"error": type(exc).__name__, "code": getattr(exc, "code", None), "message": message}, ensure_ascii=False), file=real_stdout)
        else:
            print(f"error: {message}", file=sys.stderr)
        return 2
    except DropscoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default), file=real_stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
