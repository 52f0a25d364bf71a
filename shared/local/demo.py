"""`dropscore demo`: the whole story on embedded defaults, told as a readable story (Spanish by default).

train the first champion -> drop months 1-3 (labels arrive a month later) -> the drift
check finds nothing -> a drifted month -> the check names the drifted features and asks
for retraining -> the challenger is promoted or kept, with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from shared import formatting as fmt
from shared.backends import services
from shared.i18n import message
from shared.local.cli_io import column_types_text
from shared.settings import Settings, load_settings

DRIFTED_MONTH = 4

# Tells one line of the story: a catalogue code and its values.
Say = Callable[..., None]


def _story(language: str, quiet: bool) -> Say:
    def say(code: str, **values: object) -> None:
        if not quiet:
            print(message(code, language, **values), flush=True)

    return say


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

    def number(value: float, digits: int = 3) -> str:
        return fmt.decimal(value, language, digits)

    def reason(outcome: Any) -> str:
        """A result's reason in the reader's language (results carry reason_es and reason_en)."""
        if isinstance(outcome, dict):
            return str(outcome.get(f"reason_{language}"))
        return str(getattr(outcome, f"reason_{language}"))

    # A dedicated home, emptied first, so the story is the same every time it runs.
    demo_home = settings.home / "demo"
    if demo_home.exists():
        shutil.rmtree(demo_home)
    demo_settings = load_settings({"DROPSCORE_HOME": str(demo_home), "DROPSCORE_LANG": language})
    services.reset()
    files = Path(workdir) if workdir else demo_home / "files"
    files.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"home": str(demo_home), "files": str(files), "months": []}

    say("demo_title")
    say("demo_home", home=demo_home)

    # 1. Training data and contract
    training = synthetic.generate_batch(training_rows, month=0, seed=seed)
    training_path = files / "entrenamiento_2023-12.csv"
    synthetic.write_excel_csv(training, training_path)
    positive_rate = float((training[synthetic.TARGET_COLUMN] == synthetic.POSITIVE_LABEL).mean())
    say(
        "demo_training_data", rows=fmt.integer(len(training), language), features=len(synthetic.FEATURE_COLUMNS),
        positive_rate=fmt.percent(positive_rate, language), file=training_path.name,
    )  # fmt: skip
    contract_path = files / "contrato.yaml"
    # The same inference `dropscore contract infer` runs; training reads the YAML back, as a person's edited copy would be.
    inferred = infer_contract_from_file(
        training_path, target=synthetic.TARGET_COLUMN, positive=synthetic.POSITIVE_LABEL, id_column=synthetic.ID_COLUMN, name="formalizacion"
    )
    contract_path.write_text(inferred.contract.to_yaml(), encoding="utf-8")
    contract = Contract.from_yaml(contract_path.read_text(encoding="utf-8"))
    gates = {gate: fmt.number(contract.gates[gate], language) for gate in ("roc_auc", "precision", "recall")}
    say(
        "demo_contract", file=contract_path.name, columns=fmt.integer(len(contract.columns), language),
        kinds=column_types_text(inferred.column_types, language), **gates,
    )  # fmt: skip

    # 2. First champion
    first = train_from_csv(demo_settings, training_path, contract, seed=seed)
    m = first.metrics
    say(
        "demo_first_model", version=first.model_version, roc_auc=number(m["roc_auc"]), precision=number(m["precision"]),
        recall=number(m["recall"]), threshold=number(first.threshold), reason=reason(first),
    )  # fmt: skip
    summary["first_model"] = {"version": first.model_version, "metrics": m, "promoted": first.promoted}
    if not first.promoted:
        say("demo_no_champion")
        return summary

    # 3. Months 1..3, labels one month late
    say("demo_monthly_files")
    batches = {}
    for month in range(1, DRIFTED_MONTH):
        batch = synthetic.generate_batch(rows_per_month, month=month, seed=seed)
        batches[month] = batch
        incoming = synthetic.without_target(batch)
        if month == 2:
            incoming = synthetic.plant_bad_rows(incoming)
        path = files / f"micronegocios_2024-{month:02d}.csv"
        synthetic.write_excel_csv(incoming, path)
        result = drop_file(demo_settings, path, "incoming")
        summary["months"].append({"month": month, **{k: result[k] for k in ("rows_in", "rows_scored", "rows_quarantined", "output", "quarantine")}})
        say("demo_month", month=month, **_counts(result, language))
        if result["rows_quarantined"]:
            say("demo_quarantine", path=result["quarantine"])
        if month > 1:
            _drop_labels(demo_settings, files, batches[month - 1], month - 1, say)
    say("demo_predictions", path=summary["months"][0]["output"])

    # 4. A quiet check
    quiet_check = run_drift_check(demo_settings)
    summary["check_1"] = {"drifted_features": quiet_check.drifted_features, "retrain_requested": quiet_check.retrain_requested, "report": quiet_check.report_html}
    say("demo_quiet_check", rows=fmt.integer(quiet_check.rows_current, language), reason=reason(quiet_check), report=quiet_check.report_html)

    # 5. A drifted month
    drift = synthetic.DriftSpec(
        numeric_shift_sd={"ventas_mensuales": 1.0, "num_empleados": 1.0},
        category_share_shift={"sector": ("comercio", 0.20)},
    )
    drifted = synthetic.generate_batch(rows_per_month, month=DRIFTED_MONTH, seed=seed, drift=drift)
    path = files / f"micronegocios_2024-{DRIFTED_MONTH:02d}.csv"
    synthetic.write_excel_csv(synthetic.without_target(drifted), path)
    result = drop_file(demo_settings, path, "incoming")
    say("demo_drifted_month", month=DRIFTED_MONTH, **_counts(result, language))
    _drop_labels(demo_settings, files, batches[DRIFTED_MONTH - 1], DRIFTED_MONTH - 1, say)
    _drop_labels(demo_settings, files, drifted, DRIFTED_MONTH, say)

    # 6. The check that finds it, and what retraining decided
    check = run_drift_check(demo_settings)
    say("demo_drift_check", rows=fmt.integer(check.rows_current, language), reason=reason(check), report=check.report_html)
    summary["check_2"] = {"drifted_features": check.drifted_features, "retrain_requested": check.retrain_requested, "report": check.report_html}
    if check.retrain:
        say("demo_retraining", reason=reason(check.retrain))
        summary["retrain"] = {k: check.retrain.get(k) for k in ("model_version", "promoted", "metrics", "reason_es", "reason_en", "champion_metrics")}

    # 7. Where things are
    versions = services.registry(demo_settings).versions()
    summary["models"] = versions
    say("demo_models")
    for version in versions:
        aliases = ", ".join(version["aliases"]) or "-"
        say_line = f"   v{version['version']} [{aliases}] ROC-AUC {number(version['metrics'].get('roc_auc'))}"
        if not quiet:
            print(say_line, flush=True)
    say("demo_rollback", home=demo_home)
    services.reset()
    return summary


def _counts(result: dict[str, Any], language: str) -> dict[str, str]:
    """A dropped file's row counts, written the reader's way."""
    return {key: fmt.integer(result[key], language) for key in ("rows_in", "rows_scored", "rows_quarantined")}


def _drop_labels(settings: Settings, files: Path, batch: pd.DataFrame, month: int, say: Say) -> None:
    from shared.local import synthetic
    from shared.local.chain import drop_file

    path = files / f"etiquetas_2024-{month:02d}.csv"
    synthetic.write_excel_csv(synthetic.labels_of(batch), path)
    result = drop_file(settings, path, "labels")
    say("demo_labels", month=month, rows=fmt.integer(result["rows_clean"], settings.language))
