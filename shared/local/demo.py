"""`dropscore demo`: the whole story on embedded defaults, told as a readable story (Spanish by default).

train the first champion -> drop months 1-3 (labels arrive a month later) -> the drift
check finds nothing -> a drifted month -> the check names the drifted features and asks
for retraining -> the challenger is promoted or kept, with the reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from shared import formatting as fmt
from shared.backends import services
from shared.settings import Settings, load_settings

DRIFTED_MONTH = 4


def _story(language: str, quiet: bool):
    def say(spanish: str, english: str = "") -> None:
        if not quiet:
            print(spanish if language == "es" or not english else english, flush=True)

    return say


_KIND_NAMES = {
    "es": {"numeric": "numéricas", "categorical": "categóricas", "date": "de fecha", "text": "de texto", "identifier": "identificador"},
    "en": {"numeric": "numeric", "categorical": "categorical", "date": "date", "text": "text", "identifier": "identifier"},
}


def _kinds(column_types: dict[str, int], language: str) -> str:
    """{'numeric': 36, ...} as a reader says it: "36 numéricas, 48 categóricas"."""
    return ", ".join(f"{fmt.integer(count, language)} {_KIND_NAMES[language].get(kind, kind)}" for kind, count in column_types.items())


def _plant_bad_rows(frame):
    """A few rows as people really get them wrong, so the quarantine has something to show."""
    # As text written the Excel way (decimal comma), so only the planted cells are wrong.
    frame = frame.copy()
    frame["ventas_mensuales"] = frame["ventas_mensuales"].map(lambda v: "" if v != v else f"{v:.2f}".replace(".", ","))
    frame["num_empleados"] = frame["num_empleados"].astype("object")
    frame.loc[frame.index[3], "ventas_mensuales"] = "mil dólares"
    frame.loc[frame.index[7], "num_empleados"] = -2
    frame.loc[frame.index[11], "id_negocio"] = None
    return frame


def run_demo(
    settings: Settings,
    *,
    rows_per_month: int = 2000,
    training_rows: int = 12000,
    seed: int = 2024,
    workdir: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    from shared.ingest.contract import Contract
    from shared.ingest.contract_inference import infer_contract_from_file
    from shared.lifecycle.promotion import train_from_csv
    from shared.local import synthetic
    from shared.local.chain import drop_file
    from shared.steps.drift import run_drift_check

    language = settings.language
    say = _story(language, quiet)
    # A dedicated home, emptied first, so the story is the same every time it runs.
    demo_home = settings.home / "demo"
    if demo_home.exists():
        shutil.rmtree(demo_home)
    demo_settings = load_settings({"DROPSCORE_HOME": str(demo_home), "DROPSCORE_LANG": language})
    services.reset()
    files = Path(workdir) if workdir else demo_home / "files"
    files.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"home": str(demo_home), "files": str(files), "months": []}

    say("\n=== dropscore: demostración completa ===", "\n=== dropscore: the whole story ===")
    say(
        f"Todo vive en {demo_home} (carpetas como buckets, MLflow en sqlite, DuckDB como almacén).",
        f"Everything lives in {demo_home} (folders as buckets, sqlite MLflow, DuckDB as the warehouse).",
    )

    # 1. Training data and contract
    training = synthetic.generate_batch(training_rows, month=0, seed=seed)
    training_path = files / "entrenamiento_2023-12.csv"
    synthetic.write_excel_csv(training, training_path)
    positive_rate = float((training[synthetic.TARGET_COLUMN] == "si").mean())
    say(
        f"\n1) Datos de entrenamiento: {fmt.integer(len(training), 'es')} micronegocios, {len(synthetic.FEATURE_COLUMNS)} variables, "
        f"{fmt.percent(positive_rate, 'es')} formalizados. Archivo de Excel en español (cp1252, ';', coma decimal): {training_path.name}",
        f"\n1) Training data: {fmt.integer(len(training), 'en')} micro-businesses, {len(synthetic.FEATURE_COLUMNS)} features, "
        f"{fmt.percent(positive_rate, 'en')} formalized. Spanish Excel file (cp1252, ';', decimal comma): {training_path.name}",
    )
    contract_path = files / "contrato.yaml"
    # The same inference `dropscore contract infer` runs; training reads the YAML back, as a person's edited copy would be.
    inferred = infer_contract_from_file(training_path, target=synthetic.TARGET_COLUMN, positive="si", id_column=synthetic.ID_COLUMN, name="formalizacion")
    contract_path.write_text(inferred.contract.to_yaml(), encoding="utf-8")
    contract = Contract.from_yaml(contract_path.read_text(encoding="utf-8"))

    def g(gate: str, language: str) -> str:
        return fmt.number(contract.gates[gate], language)

    say(
        f"   Contrato inferido ({contract_path.name}): {fmt.integer(len(contract.columns), 'es')} columnas ({_kinds(inferred.column_types, 'es')}); "
        f"umbrales: ROC-AUC ≥ {g('roc_auc', 'es')}, precisión ≥ {g('precision', 'es')}, sensibilidad ≥ {g('recall', 'es')}.",
        f"   Inferred contract ({contract_path.name}): {fmt.integer(len(contract.columns), 'en')} columns ({_kinds(inferred.column_types, 'en')}); "
        f"gates: ROC-AUC ≥ {g('roc_auc', 'en')}, precision ≥ {g('precision', 'en')}, recall ≥ {g('recall', 'en')}.",
    )

    # 2. First champion
    first = train_from_csv(demo_settings, training_path, contract, seed=seed)
    m = first.metrics
    say(
        f"\n2) Modelo v{first.model_version} (LightGBM): ROC-AUC {fmt.decimal(m['roc_auc'], 'es', 3)}, precisión {fmt.decimal(m['precision'], 'es', 3)}, "
        f"sensibilidad {fmt.decimal(m['recall'], 'es', 3)} en datos reservados, umbral {fmt.decimal(first.threshold, 'es', 3)}. {first.reason_es}",
        f"\n2) Model v{first.model_version} (LightGBM): ROC-AUC {fmt.decimal(m['roc_auc'], 'en', 3)}, precision {fmt.decimal(m['precision'], 'en', 3)}, "
        f"recall {fmt.decimal(m['recall'], 'en', 3)} on held-out data, threshold {fmt.decimal(first.threshold, 'en', 3)}. {first.reason_en}",
    )
    summary["first_model"] = {"version": first.model_version, "metrics": m, "promoted": first.promoted}
    if not first.promoted:
        say("   Sin un campeón no se puede puntuar; la demostración termina aquí.", "   Without a champion nothing can be scored; the demo stops here.")
        return summary

    # 3. Months 1..3, labels one month late
    say("\n3) Llegan los archivos mensuales:", "\n3) Monthly files arrive:")
    batches = {}
    for month in range(1, DRIFTED_MONTH):
        batch = synthetic.generate_batch(rows_per_month, month=month, seed=seed)
        batches[month] = batch
        incoming = synthetic.without_target(batch)
        if month == 2:
            incoming = _plant_bad_rows(incoming)
        path = files / f"micronegocios_2024-{month:02d}.csv"
        synthetic.write_excel_csv(incoming, path)
        result = drop_file(demo_settings, path, "incoming")
        summary["months"].append({"month": month, **{k: result[k] for k in ("rows_in", "rows_scored", "rows_quarantined", "output", "quarantine")}})
        say(
            f"   Mes {month}: {result['rows_in']} filas → {result['rows_scored']} puntuadas, {result['rows_quarantined']} en cuarentena.",
            f"   Month {month}: {result['rows_in']} rows → {result['rows_scored']} scored, {result['rows_quarantined']} quarantined.",
        )
        if result["rows_quarantined"]:
            say(f"      Cuarentena (con el motivo de cada fila): {result['quarantine']}", f"      Quarantine (each row with its reason): {result['quarantine']}")
        if month > 1:
            _drop_labels(demo_settings, files, batches[month - 1], month - 1, say)
    first_predictions = summary["months"][0]["output"]
    say(f"   Ejemplo de predicciones: {first_predictions}", f"   Predictions, for example: {first_predictions}")

    # 4. A quiet check
    quiet_check = run_drift_check(demo_settings)
    summary["check_1"] = {"drifted_features": quiet_check.drifted_features, "retrain_requested": quiet_check.retrain_requested, "report": quiet_check.report_html}
    say(
        f"\n4) Control mensual de deriva ({quiet_check.rows_current} filas): {quiet_check.reason_es}\n   Informe: {quiet_check.report_html}",
        f"\n4) Monthly drift check ({quiet_check.rows_current} rows): {quiet_check.reason_en}\n   Report: {quiet_check.report_html}",
    )

    # 5. A drifted month
    drift = synthetic.DriftSpec(
        numeric_shift_sd={"ventas_mensuales": 1.0, "num_empleados": 1.0},
        category_share_shift={"sector": ("comercio", 0.20)},
    )
    drifted = synthetic.generate_batch(rows_per_month, month=DRIFTED_MONTH, seed=seed, drift=drift)
    path = files / f"micronegocios_2024-{DRIFTED_MONTH:02d}.csv"
    synthetic.write_excel_csv(synthetic.without_target(drifted), path)
    result = drop_file(demo_settings, path, "incoming")
    say(
        f"\n5) Mes {DRIFTED_MONTH}: el mercado cambia (ventas y empleados suben una desviación estándar; el comercio gana 20 puntos). "
        f"{result['rows_in']} filas → {result['rows_scored']} puntuadas.",
        f"\n5) Month {DRIFTED_MONTH}: the market moves (sales and employees up one standard deviation; retail gains 20 points). "
        f"{result['rows_in']} rows → {result['rows_scored']} scored.",
    )
    _drop_labels(demo_settings, files, batches[DRIFTED_MONTH - 1], DRIFTED_MONTH - 1, say)
    _drop_labels(demo_settings, files, drifted, DRIFTED_MONTH, say)

    # 6. The check that finds it, and what retraining decided
    check = run_drift_check(demo_settings)
    say(
        f"\n6) Control de deriva ({check.rows_current} filas): {check.reason_es}\n   Informe: {check.report_html}",
        f"\n6) Drift check ({check.rows_current} rows): {check.reason_en}\n   Report: {check.report_html}",
    )
    summary["check_2"] = {"drifted_features": check.drifted_features, "retrain_requested": check.retrain_requested, "report": check.report_html}
    if check.retrain:
        say(f"   Reentrenamiento: {check.retrain['reason_es']}", f"   Retraining: {check.retrain['reason_en']}")
        summary["retrain"] = {k: check.retrain.get(k) for k in ("model_version", "promoted", "metrics", "reason_es", "reason_en", "champion_metrics")}

    # 7. Where things are
    versions = services.registry(demo_settings).versions()
    summary["models"] = versions
    say("\n7) Modelos registrados:", "\n7) Registered models:")
    for version in versions:
        aliases = ", ".join(version["aliases"]) or "-"
        say(
            f"   v{version['version']} [{aliases}] ROC-AUC {fmt.decimal(version['metrics'].get('roc_auc'), 'es', 3)}",
            f"   v{version['version']} [{aliases}] ROC-AUC {fmt.decimal(version['metrics'].get('roc_auc'), 'en', 3)}",
        )
    say(
        f"\nVolver al modelo anterior es un comando: DROPSCORE_HOME={demo_home} dropscore rollback",
        f"\nGoing back to the previous model is one command: DROPSCORE_HOME={demo_home} dropscore rollback",
    )
    services.reset()
    return summary


def _drop_labels(settings: Settings, files: Path, batch, month: int, say) -> None:
    from shared.local import synthetic
    from shared.local.chain import drop_file

    path = files / f"etiquetas_2024-{month:02d}.csv"
    synthetic.write_excel_csv(synthetic.labels_of(batch), path)
    result = drop_file(settings, path, "labels")
    say(
        f"   Llegan las etiquetas del mes {month}: {result['rows_clean']} resultados guardados para monitoreo y reentrenamiento.",
        f"   Labels for month {month} arrive: {result['rows_clean']} outcomes kept for monitoring and retraining.",
    )
