"""The `dropscore` command. Thin: parse arguments, call one function in shared, print the result.

With ``--json`` exactly one JSON object goes to stdout — the result, or the error with its
stable ``code`` — and everything else (progress, logs, library chatter) goes to stderr so
scripts can parse stdout safely. Exit codes are :class:`shared.local.cli_errors.ExitCode`; messages
follow ``--lang`` / ``DROPSCORE_LANG``; tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared import formatting as fmt
from shared import progress
from shared.errors import ModelNotFoundError
from shared.local.cli_argparse import argparse_language, parser_class
from shared.local.cli_errors import (
    CliError,
    ExitCode,
    Failure,
    UsageError,
    describe,
    exit_code_table,
    result_exit_code,
)
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


# -- checks that turn a Python exception into a sentence with the next step -------------------


def _input_file(path_text: str) -> Path:
    path = Path(path_text)
    if path.is_dir():
        raise CliError("input_is_folder", ExitCode.USAGE, path=path_text)
    if not path.is_file():
        raise CliError("input_not_found", ExitCode.USAGE, path=path_text)
    return path


def _gate_failures_text(failures: list[str], language: str) -> str:
    return fmt.gate_failures_text(failures, language)


def _no_champion_error(settings: Settings) -> CliError:
    """No champion: say whether a trained version exists and why it was not promoted."""
    from shared.backends import services

    versions = services.registry(settings).versions()
    if not versions:
        return CliError("no_champion", ExitCode.NOT_READY)
    latest = versions[-1]
    failures = latest.get("gate_failures") or []
    error = CliError("not_promoted", ExitCode.NOT_READY, version=latest["version"], failures=_gate_failures_text(failures, "en"))
    spanish = CliError("not_promoted", ExitCode.NOT_READY, version=latest["version"], failures=_gate_failures_text(failures, "es"))
    error.failure = type(error.failure)(error.failure.code, error.failure.exit_code, spanish.failure.message_es, error.failure.message_en)
    return error


def _require_champion(settings: Settings) -> None:
    from shared.backends import services
    from shared.backends.registry import CHAMPION

    if services.registry(settings).version_of(CHAMPION) is None:
        raise _no_champion_error(settings)


# -- commands ----------------------------------------------------------------------------------


def cmd_contract_infer(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.ingest.contract_inference import infer_contract_from_file

    path = _input_file(args.file)
    inferred = infer_contract_from_file(path, target=args.target, positive=args.positive, id_column=args.id, name=args.name, task=args.task)
    contract = inferred.contract
    text = contract.to_yaml()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    elif not args.json:
        print(text)
    if not args.json:
        _say_personal_columns(settings, contract)
    if args.output and not args.json:
        kind_names = {"es": {"numeric": "numéricas", "categorical": "categóricas", "date": "de fecha", "text": "de texto", "id": "identificador"}, "en": {}}
        language = settings.language
        kinds_text = ", ".join(f"{fmt.integer(count, language)} {kind_names.get(language, {}).get(kind, kind)}" for kind, count in inferred.column_types.items())
        _say(
            settings,
            f"Contrato escrito en {args.output}: {fmt.integer(len(contract.columns), 'es')} columnas ({kinds_text}), objetivo «{contract.target}» (positivo «{contract.positive}»).",
            f"Contract written to {args.output}: {fmt.integer(len(contract.columns), 'en')} columns ({kinds_text}), target '{contract.target}' (positive '{contract.positive}').",
        )
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


def _say_personal_columns(settings: Settings, contract: Any) -> None:
    """Which columns were marked personal and why, and the key they need (on stderr: stdout may hold the YAML)."""
    personal = contract.personal_columns
    if not personal:
        return
    lines_es = [f"Columnas marcadas como datos personales (se guardarán como hash con clave): {', '.join(personal)}."]
    lines_en = [f"Columns marked as personal data (stored as a keyed hash): {', '.join(personal)}."]
    for name in personal:
        # contract infer writes "personal: <why in Spanish> / <why in English>" (shared.ingest.personal_data).
        description = contract.columns[name].description.removeprefix("personal:").strip()
        if description:
            why_es, _, why_en = description.partition(" / ")
            lines_es.append(f"  {name}: {why_es}")
            lines_en.append(f"  {name}: {why_en or why_es}")
    if not os.environ.get("DROPSCORE_PII_KEY", "").strip():
        lines_es.append("Falta la clave DROPSCORE_PII_KEY: créela una vez con `dropscore key new`, guárdela como un secreto y expórtela antes de entrenar o puntuar.")
        lines_en.append("DROPSCORE_PII_KEY is not set: create it once with `dropscore key new`, keep it as a secret and export it before training or scoring.")
    print("\n".join(lines_es if settings.language == "es" else lines_en), file=sys.stderr)


def _load_contract(args: argparse.Namespace, settings: Settings):
    from shared.backends import services
    from shared.ingest.contract import Contract

    if args.contract:
        return Contract.from_yaml(_input_file(args.contract).read_text(encoding="utf-8"))
    try:
        return services.registry(settings).load("champion").contract
    except ModelNotFoundError as exc:
        raise CliError("no_contract_no_champion", ExitCode.NOT_READY) from exc


_METRIC_NAMES = {
    "es": {"roc_auc": "ROC-AUC", "precision": "precisión", "recall": "sensibilidad", "macro_f1": "F1 macro", "accuracy": "exactitud", "rmse": "RMSE", "r2": "R²", "mae": "MAE"},
    "en": {"roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "macro_f1": "macro F1", "accuracy": "accuracy", "rmse": "RMSE", "r2": "R²", "mae": "MAE"},
}
_SHOWN_METRICS = {"binary": ("roc_auc", "precision", "recall"), "multiclass": ("macro_f1", "accuracy"), "regression": ("rmse", "r2", "mae")}


def _metrics_text(metrics: dict[str, Any], task: str, threshold: float | None, language: str) -> str:
    names = _METRIC_NAMES[language]
    text = ", ".join(f"{names[k]} {fmt.decimal(metrics[k], language, 3)}" for k in _SHOWN_METRICS.get(task, ()) if k in metrics)
    if task == "binary" and threshold is not None:
        text += f" ({'umbral' if language == 'es' else 'threshold'} {fmt.decimal(threshold, language, 3)})"
    return text


def _print_training(settings: Settings, outcome: Any) -> None:
    """The training report in a few lines: metrics and decision, leaks, expected value, fairness, model card."""
    for language in (settings.language,):
        metrics = _metrics_text(outcome.metrics, outcome.task, outcome.threshold, language)
        if language == "es":
            print(f"Modelo v{outcome.model_version}: {metrics}. {outcome.reason_es}")
        else:
            print(f"Model v{outcome.model_version}: {metrics}. {outcome.reason_en}")
    language = settings.language
    if outcome.expected_value_per_1000 is not None:
        value = fmt.decimal(outcome.expected_value_per_1000, language, 2)
        _say(
            settings,
            f"  Valor esperado por {fmt.integer(1000, 'es')} filas puntuadas: {value} (datos reservados).",
            f"  Expected value per {fmt.integer(1000, 'en')} scored rows: {value} (held-out data).",
        )
    for leak in outcome.leakage:
        verdict_es = "excluida" if leak["excluded"] else "permitida por el contrato"
        verdict_en = "excluded" if leak["excluded"] else "allowed by the contract"
        value = fmt.decimal(leak["value"], language, 3)
        _say(
            settings,
            f"  Fuga de datos: «{leak['column']}» predice el objetivo casi a la perfección ({leak['statistic']} {value}); {verdict_es}.",
            f"  Data leakage: '{leak['column']}' predicts the target almost perfectly ({leak['statistic']} {value}); {verdict_en}.",
        )
    min_ratio = getattr(outcome, "fairness_min_ratio", None)
    for flag in outcome.fairness_flags:
        from shared.i18n.monitoring import metric_name

        ratio = fmt.decimal(flag["ratio"], language, 2)
        limit = fmt.decimal(min_ratio if min_ratio is not None else 0.8, language, 2)
        metric = metric_name(flag["metric"], language)
        _say(
            settings,
            f"  Equidad: {flag['column']} = {flag['group']}: su {metric} es {ratio} veces la del grupo mejor tratado (el contrato pide al menos {limit}).",
            f"  Fairness: {flag['column']} = {flag['group']}: its {metric} is {ratio} times the best-treated group's (the contract asks for at least {limit}).",
        )
    if outcome.model_card:
        _say(settings, f"  Ficha del modelo: {outcome.model_card}", f"  Model card: {outcome.model_card}")


def cmd_train(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    path = _input_file(args.file)
    if args.contract:
        _input_file(args.contract)
    from shared.lifecycle.promotion import train_from_csv

    contract = _load_contract(args, settings)
    outcome = train_from_csv(settings, path, contract, seed=args.seed, time_budget_seconds=args.time_budget)
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def _print_drop(settings: Settings, result: dict[str, Any]) -> None:
    language = settings.language
    if result.get("status") == "rejected":
        _say(settings, f"Archivo rechazado: {result.get('message_es')}", f"File rejected: {result.get('message_en')}")
        if result.get("quarantine"):
            _say(settings, f"  Informe: {result.get('quarantine')}", f"  Report: {result.get('quarantine')}")
        return
    if result.get("status") == "uploaded":
        _say(settings, f"Archivo subido: {result.get('source')}. Las funciones lo procesarán.", f"File uploaded: {result.get('source')}. The functions will process it.")
        return
    rows_in, rows_quarantined = fmt.integer(result.get("rows_in") or 0, language), fmt.integer(result.get("rows_quarantined") or 0, language)
    if result.get("kind", "incoming") == "incoming":
        rows_scored = fmt.integer(result.get("rows_scored") or 0, language)
        _say(
            settings,
            f"Filas: {rows_in} recibidas, {rows_scored} puntuadas, {rows_quarantined} en cuarentena.",
            f"Rows: {rows_in} in, {rows_scored} scored, {rows_quarantined} quarantined.",
        )
        if result.get("unknown_categories"):
            count = fmt.integer(result["unknown_categories"], language)
            _say(
                settings,
                f"  {count} valores de categoría desconocidos para el modelo se puntuaron como faltantes:",
                f"  {count} category values the model does not know were scored as missing:",
            )
            examples = result.get("unknown_category_examples") or {}
            for column, column_count in sorted((result.get("unknown_categories_by_column") or {}).items()):
                shown = ", ".join(f"«{value}»" for value in examples.get(column, []))
                print(f"    {column}: {fmt.integer(column_count, language)} ({shown})")
        outputs = (("output", "Predicciones", "Predictions"), ("quarantine", "Cuarentena", "Quarantine"), ("manifest", "Manifiesto", "Manifest"))
    else:
        kept = fmt.integer(result.get("rows_clean") if result.get("rows_clean") is not None else (result.get("rows_in") or 0) - (result.get("rows_quarantined") or 0), language)
        what_es, what_en = ("resultados reales (etiquetas)", "real outcomes (labels)") if result.get("kind") == "labels" else ("filas de entrenamiento", "training rows")
        _say(
            settings,
            f"Filas: {rows_in} recibidas, {kept} guardadas como {what_es}, {rows_quarantined} en cuarentena.",
            f"Rows: {rows_in} in, {kept} kept as {what_en}, {rows_quarantined} quarantined.",
        )
        outputs = (("output", "Guardadas en", "Kept at"), ("quarantine", "Cuarentena", "Quarantine"), ("manifest", "Manifiesto", "Manifest"))
    for key, spanish, english in outputs:
        if result.get(key):
            _say(settings, f"  {spanish}: {result[key]}", f"  {english}: {result[key]}")


def cmd_drop(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    path = _input_file(args.file)
    from shared.local.chain import drop_file

    if args.kind == "incoming" and settings.embedded:
        _require_champion(settings)
    result = drop_file(settings, path, args.kind)
    if not args.json:
        _print_drop(settings, result)
    return result


def cmd_score(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    path = _input_file(args.file)
    from shared.local.direct_scoring import score_file

    _require_champion(settings)
    result = score_file(settings, path, Path(args.output))
    if not args.json:
        _print_drop(settings, result)
    return result


def cmd_drift(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.steps.drift import run_drift_check

    try:
        result = run_drift_check(settings, allow_retrain=not args.no_retrain)
    except ModelNotFoundError as exc:
        raise _no_champion_error(settings) from exc
    if not args.json:
        _say(settings, result.reason_es, result.reason_en)
        _say(settings, f"  Informe: {result.report_html}", f"  Report: {result.report_html}")
        if result.retrain:
            _say(settings, f"  Reentrenamiento: {result.retrain.get('reason_es')}", f"  Retraining: {result.retrain.get('reason_en')}")
    return result.summary()


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services
    from shared.backends.registry import CHAMPION
    from shared.lifecycle.promotion import run_retrain

    if services.registry(settings).version_of(CHAMPION) is None:
        raise _no_champion_error(settings)
    try:
        outcome = run_retrain(settings, reason=args.reason, trigger="cli", time_budget_seconds=args.time_budget)
    except ModelNotFoundError as exc:
        if "labeled" in str(exc):
            raise CliError("no_labeled_data", ExitCode.NOT_READY) from exc
        raise
    if not args.json:
        _print_training(settings, outcome)
    return outcome.to_dict()


def cmd_models(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services

    versions = services.registry(settings).versions()
    language = settings.language
    if not args.json:
        if not versions:
            _say(settings, "Todavía no hay modelos registrados.", "No models registered yet.")
        for version in versions:
            metrics = version["metrics"]
            aliases = ", ".join(version["aliases"]) or "-"
            task = version.get("task") or "binary"
            figures = "  ".join(f"{_METRIC_NAMES[language].get(k, k)} {fmt.decimal(metrics.get(k), language, 3)}" for k in _SHOWN_METRICS.get(task, ()))
            if "expected_value_per_1000" in metrics:
                figures += ("  valor/1000 " if language == "es" else "  value/1000 ") + fmt.decimal(metrics["expected_value_per_1000"], language, 1)
            threshold = ""
            if task == "binary" and version["threshold"] is not None:
                threshold = ("  umbral " if language == "es" else "  threshold ") + fmt.decimal(version["threshold"], language, 3)
            if version["gates_passed"]:
                gates = "umbrales ok" if language == "es" else "gates ok"
            else:
                gates = ("NO supera: " if language == "es" else "FAILS: ") + _gate_failures_text(version.get("gate_failures") or [], language)
            created = fmt.when(datetime.fromisoformat(version["created_at"]), language, settings.timezone) if version.get("created_at") else ""
            print(f"v{version['version']:>3}  [{aliases:<20}]  {task}  {figures}{threshold}  {gates}  {created}")
            lineage = version.get("lineage") or {}
            for uri, content in (lineage.get("sources") or {}).items():
                print(f"       {uri}  {content}")
            if lineage.get("code_version"):
                print(f"       {'código' if language == 'es' else 'code'} {lineage['code_version']}  ({version.get('purpose')})")
            if version.get("excluded_features"):
                print(f"       {'excluidas por fuga' if language == 'es' else 'excluded as leakage'}: {', '.join(version['excluded_features'])}")
    return {"name": settings.model_name, "tracking_uri": settings.tracking_uri, "versions": versions}


def cmd_promote(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.backends import services
    from shared.lifecycle.promotion import normalize_version, promote

    try:
        version = normalize_version(args.version)
    except ValueError as exc:
        raise CliError("bad_version", ExitCode.USAGE, value=args.version) from exc
    versions = services.registry(settings).versions()
    found = next((v for v in versions if v["version"] == version), None)
    if found is None:
        existing = ", ".join(f"v{v['version']}" for v in versions) or "–"
        raise CliError("no_such_version", ExitCode.NOT_READY, model=settings.model_name, version=version, versions=existing)
    already_champion = "champion" in (found.get("aliases") or [])
    if not already_champion and not found.get("gates_passed", True) and found.get("gate_failures") and not args.force:
        error = CliError("gates_failed", ExitCode.NOT_READY, version=version, failures=_gate_failures_text(found["gate_failures"], "en"))
        spanish = CliError("gates_failed", ExitCode.NOT_READY, version=version, failures=_gate_failures_text(found["gate_failures"], "es"))
        error.failure = type(error.failure)(error.failure.code, error.failure.exit_code, spanish.failure.message_es, error.failure.message_en)
        raise error
    result = promote(settings, version, reason=args.reason, force=args.force)
    if not args.json:
        if result.get("unchanged"):
            _say(settings, f"v{version} ya es el campeón: no se cambió nada.", f"v{version} is already the champion: nothing changed.")
        elif result.get("previous"):
            _say(settings, f"v{version} es ahora el campeón (antes: v{result['previous']}).", f"v{version} is now the champion (before: v{result['previous']}).")
        else:
            _say(settings, f"v{version} es ahora el campeón (no había uno antes).", f"v{version} is now the champion (there was none before).")
    return result


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.lifecycle.promotion import rollback

    try:
        result = rollback(settings, reason=args.reason)
    except ModelNotFoundError as exc:
        raise CliError("no_previous", ExitCode.NOT_READY) from exc
    if not args.json:
        _say(
            settings,
            f"Vuelta atrás: v{result['model_version']} es de nuevo el campeón (v{result['previous']} queda como «previous»).",
            f"Rolled back: v{result['model_version']} is the champion again (v{result['previous']} is now 'previous').",
        )
    return result


def cmd_report(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.reporting.dashboard import build_dashboard

    result = build_dashboard(settings)
    if not args.json:
        print(result.path or result.uri)
    return result.to_dict()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.local.demo import run_demo

    return run_demo(settings, rows_per_month=args.rows, training_rows=args.training_rows, seed=args.seed, workdir=Path(args.workdir) if args.workdir else None, quiet=args.json)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """`dropscore serve`: run the local cloud until Ctrl-C; `dropscore serve tick drift|retrain`: fire a trigger."""
    from shared.local.stack.cli import serve, tick

    if args.action == "tick":
        if args.target is None:
            raise CliError("serve_tick_target", ExitCode.USAGE)
        return tick(args, settings, say=lambda spanish, english: _say(settings, spanish, english))
    if args.action is not None or args.target is not None:
        raise CliError("serve_tick_target", ExitCode.USAGE)
    return serve(args, settings, say=lambda spanish, english: _say(settings, spanish, english))


# -- parser ------------------------------------------------------------------------------------


HelpText = str | tuple[str, str]


def installed_version() -> str:
    """The installed distribution's version (package metadata); the package's own in a function zip."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dropscore")
    except PackageNotFoundError:  # shared/ copied without being installed (a function zip, a model's code)
        import shared

        return shared.__version__


def build_parser(language: str = "es") -> argparse.ArgumentParser:
    """The whole command line, its help in ``language`` (call inside :func:`argparse_language`)."""

    def h(text: HelpText) -> str:
        if isinstance(text, tuple):
            return text[0] if language == "es" else text[1]
        return text

    epilog = (
        ("Configuración: variables DROPSCORE_* (DROPSCORE_HOME, por defecto ./.dropscore; DROPSCORE_LANG; DROPSCORE_TIMEZONE).\n" "Códigos de salida:\n")
        if language == "es"
        else ("Settings: DROPSCORE_* environment variables (DROPSCORE_HOME, default ./.dropscore; DROPSCORE_LANG; DROPSCORE_TIMEZONE).\n" "Exit codes:\n")
    ) + exit_code_table(language)
    parser = parser_class(language)(
        prog="dropscore",
        description=h(
            (
                "Suelte un CSV y reciba predicciones con sus motivos; control de deriva, reentrenamiento y vuelta atrás.",
                "Drop a CSV, get predictions with reasons; drift checks, retraining and rollback.",
            )
        ),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if language == "es":
        parser._optionals.title = "opciones"
    common = {
        "--lang": dict(choices=["es", "en"], help=h(("idioma de los mensajes (por defecto DROPSCORE_LANG o es)", "language of messages (default: DROPSCORE_LANG or es)"))),
        "--debug": dict(action="store_true", help=h(("mostrar el detalle técnico (traceback) de un error", "show the technical detail (traceback) of an error"))),
        "--verbose": dict(action="store_true", help=h(("mostrar los registros de dropscore y de las bibliotecas (MLflow, avisos)", "show dropscore's and the libraries' logs (MLflow, warnings)"))),
    }
    for flag, options in common.items():
        parser.add_argument(flag, **options)
    parser.add_argument("--version", action="version", version=f"dropscore {installed_version()}", help=h(("muestra la versión y termina", "show the version and exit")))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND" if language == "en" else "COMANDO", title=h(("comandos", "commands")))

    def command(name: str, handler: Callable, help_text: HelpText, parent=commands, exit_code: Callable[[dict[str, Any]], ExitCode] | None = None) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=h(help_text), description=h(help_text), epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--json", action="store_true", help=h(("imprimir un solo objeto JSON en stdout y nada más", "print one JSON object on stdout and nothing else")))
        for flag, options in common.items():
            sub.add_argument(flag, default=argparse.SUPPRESS, **options)
        sub.set_defaults(handler=handler, exit_code_of=exit_code)
        return sub

    demo = command("demo", cmd_demo, ("ejecutar toda la historia con datos sintéticos y la configuración integrada", "run the whole story on embedded defaults with synthetic data"))
    demo.add_argument("--rows", type=int, default=2000, help=h(("filas por archivo mensual (por defecto 2000)", "rows per monthly file (default 2000)")))
    demo.add_argument("--training-rows", type=int, default=12000, help=h(("filas del primer archivo de entrenamiento (por defecto 12000)", "rows in the first training file (default 12000)")))
    demo.add_argument("--seed", type=int, default=2024, help=h(("semilla aleatoria", "random seed")))
    demo.add_argument("--workdir", help=h(("dónde escribir los CSV de la demo (por defecto DROPSCORE_HOME/demo)", "where to write the demo's CSV files (default: DROPSCORE_HOME/demo)")))

    contract_help = ("comandos del contrato de datos", "data contract commands")
    contract = commands.add_parser("contract", help=h(contract_help), description=h(contract_help))
    contract_commands = contract.add_subparsers(dest="contract_command", required=True, metavar="SUBCOMMAND" if language == "en" else "SUBCOMANDO")
    infer = command("infer", cmd_contract_infer, ("proponer un contrato YAML editable a partir de un CSV de entrenamiento", "infer an editable YAML contract from a training CSV"), contract_commands)
    infer.add_argument("file", metavar="FILE" if language == "en" else "ARCHIVO", help=h(("CSV o Excel con la columna objetivo", "CSV or Excel file holding the target column")))
    infer.add_argument("--target", required=True, help=h(("la columna a predecir", "the column to predict")))
    infer.add_argument("--positive", help=h(("el valor del objetivo que cuenta como positivo (por defecto sí/yes/1/true o la clase minoritaria)", "the target value that counts as positive (default: si/yes/1/true or the minority class)")))
    infer.add_argument("--id", help=h(("la columna identificadora (por defecto ninguna: se generan ids de fila)", "the id column (default: none; row ids are generated)")))
    infer.add_argument("--name", help=h(("un nombre para el contrato (por defecto el del archivo)", "a name for the contract (default: the file name)")))
    infer.add_argument("-o", "--output", help=h(("escribir el contrato aquí (por defecto se imprime)", "write the contract here (default: print it)")))
    infer.add_argument("--task", choices=["binary", "multiclass", "regression"], default="binary", help=h(("qué es el objetivo (por defecto binary)", "what the target is (default: binary)")))

    train = command("train", cmd_train, ("entrenar un modelo con un CSV etiquetado, registrarlo y hacerlo campeón si supera los umbrales", "train a model on a labeled CSV, register it, make it champion if it passes the gates"))
    train.add_argument("file", metavar="FILE" if language == "en" else "ARCHIVO", help=h(("CSV o Excel etiquetado", "labeled CSV or Excel file")))
    train.add_argument("--contract", help=h(("contrato YAML (por defecto el del campeón)", "contract YAML (default: the champion's contract)")))
    train.add_argument("--seed", type=int, default=42, help=h(("semilla aleatoria", "random seed")))
    train.add_argument("--time-budget", type=float, help=h(("segundos para la búsqueda de configuración (por defecto los del contrato, 60)", "seconds for the configuration search (default: the contract's, 60)")))

    drop = command("drop", cmd_drop, ("dejar un archivo en el bucket de entrada; en modo integrado, limpiarlo y puntuarlo enseguida", "drop a file into the raw bucket; in embedded mode run clean and score at once"), exit_code=result_exit_code)
    drop.add_argument("file", metavar="FILE" if language == "en" else "ARCHIVO", help=h(("el CSV o Excel a dejar", "the CSV or Excel file to drop")))
    drop.add_argument("--kind", choices=["incoming", "labels", "training"], default="incoming", help=h(("incoming: para puntuar; labels: resultados reales (id + objetivo); training: filas etiquetadas", "incoming: to score; labels: real outcomes (id + target); training: labeled rows")))

    score = command("score", cmd_score, ("limpiar y puntuar un archivo directamente, sin buckets ni almacén de datos", "clean and score a file directly, without buckets or warehouse"), exit_code=result_exit_code)
    score.add_argument("file", metavar="FILE" if language == "en" else "ARCHIVO", help=h(("el CSV o Excel a puntuar", "the CSV or Excel file to score")))
    score.add_argument("-o", "--output", required=True, help=h(("el CSV de predicciones a escribir", "predictions CSV to write")))

    drift = command("drift", cmd_drift, ("ejecutar ahora el control de deriva programado", "run the scheduled drift check now"))
    drift.add_argument("--no-retrain", action="store_true", help=h(("solo informar; no pedir reentrenamiento", "report only; do not request retraining")))

    retrain = command("retrain", cmd_retrain, ("entrenar un retador con todos los datos etiquetados y promoverlo si gana", "train a challenger on all labeled data and promote it if it wins"))
    retrain.add_argument("--reason", default="manual retrain", help=h(("por qué (queda registrado)", "why (recorded)")))
    retrain.add_argument("--time-budget", type=float, help=h(("segundos para la búsqueda de configuración (por defecto los del contrato, 60)", "seconds for the configuration search (default: the contract's, 60)")))

    command("models", cmd_models, ("listar versiones del modelo, alias, métricas y umbrales", "list model versions, aliases, metrics and gates"))

    promote = command("promote", cmd_promote, ("hacer campeona a una versión (la anterior queda como «previous»)", "make a version the champion (the old one becomes 'previous')"))
    promote.add_argument("version", metavar="VERSION" if language == "en" else "VERSIÓN", help=h(("número de versión: 3 o v3", "version number: 3 or v3")))
    promote.add_argument("--reason", default="manual promotion", help=h(("por qué (queda registrado con quién)", "why (recorded with who)")))
    promote.add_argument("--force", action="store_true", help=h(("promover aunque no supere sus umbrales", "promote even a version that failed its gates")))

    rollback = command("rollback", cmd_rollback, ("volver al campeón anterior, de inmediato", "make the previous champion the champion again, at once"))
    rollback.add_argument("--reason", default="manual rollback", help=h(("por qué (queda registrado con quién)", "why (recorded with who)")))

    serve = command("serve", cmd_serve, ("ejecutar localmente la forma de la nube (emuladores, servidor MLflow, funciones, enrutador de eventos) hasta Ctrl-C; `serve tick drift|retrain` dispara un evento", "run the cloud's shape locally (emulators, MLflow server, function servers, event router) until Ctrl-C; `serve tick drift|retrain` fires a trigger"))
    serve.add_argument("action", nargs="?", choices=["tick"], help=h(("tick: disparar un evento programado o enviado de la pila en marcha", "tick: fire a scheduled or pushed trigger of the running stack")))
    serve.add_argument("target", nargs="?", choices=["drift", "retrain"], help=h(("con tick: drift (Cloud Scheduler) o retrain (Pub/Sub)", "with tick: drift (Cloud Scheduler) or retrain (Pub/Sub push)")))
    serve.add_argument("--storage", choices=["gs", "s3"], help=h(("gs: gcp-storage-emulator (por defecto); s3: moto (por defecto si DROPSCORE_STORAGE es s3://)", "gs: gcp-storage-emulator (default); s3: moto (default when DROPSCORE_STORAGE is s3://)")))
    serve.add_argument("--retry-seconds", type=float, default=60.0, help=h(("cuánto reintenta el enrutador un evento que falla antes de apartarlo (por defecto 60)", "how long the router retries a failing event before dead-lettering it (default 60)")))
    serve.add_argument("--max-event-age", type=float, help=h(("DROPSCORE_MAX_EVENT_AGE_SECONDS para las funciones", "DROPSCORE_MAX_EVENT_AGE_SECONDS for the functions")))
    serve.add_argument("--reason", default="manual retrain (tick)", help=h(("con tick retrain: por qué (queda registrado)", "with tick retrain: why (recorded)")))

    command("report", cmd_report, ("construir el tablero de gestión (HTML estático; español por defecto, --lang en) e imprimir su ruta", "build the management dashboard (static HTML, Spanish by default; --lang en) and print its path"))

    from shared.local import deploy_env

    deploy_env.register(command, language)
    from shared.local import pii_key_command

    pii_key_command.register(command, language)
    return parser


# -- running -----------------------------------------------------------------------------------


def _language_of(argv: list[str]) -> str:
    """--lang wins over DROPSCORE_LANG; read before parsing, so parse errors speak it too."""
    for index, word in enumerate(argv):
        if word == "--lang" and index + 1 < len(argv):
            return "en" if argv[index + 1].lower().startswith("en") else "es"
        if word.startswith("--lang="):
            return "en" if word.split("=", 1)[1].lower().startswith("en") else "es"
    return "en" if os.environ.get("DROPSCORE_LANG", "").strip().lower().startswith("en") else "es"


def _quiet_libraries(verbose: bool) -> None:
    """MLflow's INFO lines, alembic's migrations and Python warnings stay out of a user's terminal."""
    level = logging.INFO if verbose else logging.ERROR
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    if not verbose:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # English bars for internal downloads
        for name in ("mlflow", "alembic", "urllib3", "py4j", "matplotlib", "shared", "dropscore"):
            logging.getLogger(name).setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the same for any child process (serve)


def _parse(argv: list[str], language: str) -> argparse.Namespace:
    """Parse in ``language``; a usage error carries argparse's complaint in both languages (for --json)."""
    try:
        with argparse_language(language):
            return build_parser(language).parse_args(argv)
    except UsageError as error:
        other = "en" if language == "es" else "es"
        try:
            with argparse_language(other):
                build_parser(other).parse_args(argv)
        except UsageError as translated:
            both = {language: error.failure, other: translated.failure}
            error.failure = Failure(error.failure.code, error.failure.exit_code, both["es"].message_es, both["en"].message_en)
        raise error


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    language = _language_of(argv)
    as_json = "--json" in argv
    debug = "--debug" in argv
    _quiet_libraries("--verbose" in argv)
    real_stdout = sys.stdout
    try:
        args = _parse(argv, language)
        if getattr(args, "lang", None):
            os.environ["DROPSCORE_LANG"] = args.lang
        settings = load_settings()
        # Libraries (MLflow, alembic) print to stdout; in JSON mode stdout carries only our object.
        # Progress bars only when stderr is a terminal (never in pipes, CI logs or functions).
        display = progress.terminal_display(settings.language)
        with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout), progress.displayed(display):
            result = args.handler(args, settings)
    except SystemExit:
        raise  # --help and argparse's own exits
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one message and a documented exit code
        failure = describe(exc)
        if debug:
            traceback.print_exc(file=sys.stderr)
        if as_json:
            print(json.dumps(failure.to_json(language), ensure_ascii=False), file=real_stdout)
        else:
            print(("error: " if language == "en" else "error: ") + failure.message(language), file=sys.stderr)
        return int(failure.exit_code)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default), file=real_stdout)
    exit_code_of = getattr(args, "exit_code_of", None)
    return int(exit_code_of(result)) if exit_code_of and isinstance(result, dict) else int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
