"""The model card of a version, in Markdown and HTML, in Spanish and English.

Built from what the registry keeps for the version (``meta.json``: metrics, gates, threshold,
expected value, importances, leakage findings, fairness figures, lineage) and its contract.
One list of sections renders to both formats, so the two never disagree.
"""

from __future__ import annotations

import html
from typing import Any

from shared import formatting as fmt
from shared.ingest.contract import Contract

Table = tuple[list[str], list[list[str]]]
Section = tuple[str, list[Any]]  # title, blocks: str (paragraph), list[str] (bullets) or Table

_METRIC_NAMES = {
    "es": {
        "roc_auc": "ROC-AUC", "precision": "precisión", "recall": "sensibilidad", "f1": "F1", "accuracy": "exactitud",
        "positive_rate": "tasa de positivos", "rows": "filas", "macro_f1": "F1 macro", "macro_precision": "precisión macro",
        "macro_recall": "sensibilidad macro", "log_loss": "log-loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²",
        "interval_coverage": "cobertura del intervalo", "expected_value_per_1000": "valor esperado por 1 000 filas",
    },
    "en": {
        "roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "f1": "F1", "accuracy": "accuracy",
        "positive_rate": "positive rate", "rows": "rows", "macro_f1": "macro F1", "macro_precision": "macro precision",
        "macro_recall": "macro recall", "log_loss": "log-loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²",
        "interval_coverage": "interval coverage", "expected_value_per_1000": "expected value per 1,000 rows",
    },
}
_TASK_NAMES = {
    "es": {"binary": "clasificación binaria", "multiclass": "clasificación multiclase", "regression": "regresión"},
    "en": {"binary": "binary classification", "multiclass": "multiclass classification", "regression": "regression"},
}
_THRESHOLD_METHODS = {
    "es": {
        "expected_value": "maximiza el valor esperado respetando los mínimos de precisión y sensibilidad",
        "expected_value_floors_unmet": "maximiza el valor esperado (ningún umbral cumple los mínimos)",
        "floors_widest_margin": "cumple los mínimos de precisión y sensibilidad con el mayor margen",
        "best_f1": "mejor F1 (ningún umbral cumple los mínimos)",
    },
    "en": {
        "expected_value": "maximizes expected value subject to the precision and recall floors",
        "expected_value_floors_unmet": "maximizes expected value (no threshold meets the floors)",
        "floors_widest_margin": "meets the precision and recall floors with the widest margin",
        "best_f1": "best F1 (no threshold meets the floors)",
    },
}


def _number(value: Any, digits: int = 4, language: str = "es") -> str:
    """A figure of the card in its language's CLDR format (shared.formatting)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return "—"
    if abs(number - round(number)) < 1e-9 and abs(number) >= 1:
        return fmt.integer(number, language)
    return fmt.decimal(number, language, digits)


def _when(stamp: Any, language: str) -> str:
    """The training time in the deployment's zone (DROPSCORE_TIMEZONE; America/Guayaquil by default)."""
    import os
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(stamp))
    except (TypeError, ValueError):
        return str(stamp or "—")
    zone = os.environ.get("DROPSCORE_TIMEZONE")  # the same variable Settings reads; the card has no Settings
    return fmt.when(moment, language, zone, with_zone=True)


def sections(meta: dict[str, Any], contract: Contract, version: str, language: str) -> tuple[str, list[Section]]:
    es = language == "es"

    def _num(value: Any, digits: int = 4) -> str:
        return _number(value, digits, language)

    names = _METRIC_NAMES["es" if es else "en"]
    task = meta.get("task") or contract.task or "binary"
    title = f"Ficha del modelo «{contract.name}» v{version}" if es else f"Model card: '{contract.name}' v{version}"
    out: list[Section] = []

    # Summary
    target_text = {
        "binary": (f"«{contract.target}» = «{meta.get('positive') or contract.positive}»" if es else f"'{contract.target}' = '{meta.get('positive') or contract.positive}'"),
        "multiclass": f"«{contract.target}»: {', '.join(meta.get('classes') or contract.classes)}",
        "regression": f"«{contract.target}»",
    }[task]
    params = meta.get("params") or {}
    summary = [
        (f"Tarea: {_TASK_NAMES['es'][task]}; objetivo {target_text}." if es else f"Task: {_TASK_NAMES['en'][task]}; target {target_text}."),
        (f"Entrenado el {_when(meta.get('trained_at'), language)} ({meta.get('purpose', '—')}); LightGBM, configuración «{params.get('configuration', '—')}», "
         f"{params.get('best_iteration', '—')} árboles, en {_num(meta.get('training_seconds'), 1)} s."
         if es else
         f"Trained {_when(meta.get('trained_at'), language)} ({meta.get('purpose', '—')}); LightGBM, configuration '{params.get('configuration', '—')}', "
         f"{params.get('best_iteration', '—')} trees, in {_num(meta.get('training_seconds'), 1)} s."),
    ]
    out.append(("Resumen" if es else "Summary", summary))

    # Data
    rows = meta.get("rows") or {}
    lineage = meta.get("lineage") or {}
    sources = lineage.get("sources") or meta.get("sources") or {}
    data_blocks: list[Any] = [
        (f"{_num(rows.get('train'))} filas de desarrollo (validación cruzada en {rows.get('cv_folds', '—')} particiones) y "
         f"{_num(rows.get('holdout'))} filas reservadas que el modelo nunca vio, para las métricas."
         if es else
         f"{_num(rows.get('train'))} development rows (cross-validated in {rows.get('cv_folds', '—')} folds) and "
         f"{_num(rows.get('holdout'))} held-out rows the model never saw, for the metrics."),
        (f"{len(meta.get('features') or [])} variables. Versión del código: {lineage.get('code_version', '—')}; LightGBM {lineage.get('lightgbm', '—')}."
         if es else f"{len(meta.get('features') or [])} features. Code version: {lineage.get('code_version', '—')}; LightGBM {lineage.get('lightgbm', '—')}."),
    ]
    if sources:
        data_blocks.append((["Archivo" if es else "File", "sha256 / generación" if es else "sha256 / generation"], [[uri, str(tag)] for uri, tag in sources.items()]))
    out.append(("Datos usados" if es else "Data used", data_blocks))

    # Metrics
    holdout, validation = meta.get("metrics") or {}, meta.get("validation_metrics") or {}
    keys = [k for k in holdout if k != "rows"]
    out.append((
        "Métricas" if es else "Metrics",
        [(["Métrica" if es else "Metric", "Reservadas (holdout)" if es else "Holdout", "Validación cruzada" if es else "Cross-validation"],
          [[names.get(k, k), _num(holdout.get(k)), _num(validation.get(k))] for k in keys])],
    ))

    # Gates
    gates = meta.get("gates") or contract.gates
    failures = meta.get("gate_failures") or []
    gate_rows = []
    for metric, limit in gates.items():
        value = holdout.get(metric)
        failed = any(f.startswith(f"{metric} ") for f in failures)
        sign = "≤" if metric in ("rmse", "mae", "log_loss") else "≥"
        gate_rows.append([names.get(metric, metric), f"{sign} {_num(limit, 2)}", _num(value), ("NO" if failed else "sí") if es else ("FAIL" if failed else "pass")])
    gate_blocks: list[Any] = [(["Umbral" if es else "Gate", "Límite" if es else "Limit", "Valor" if es else "Value", "Cumple" if es else "Result"], gate_rows)]
    other = [f for f in failures if not any(f.startswith(f"{m} ") for m in gates)]
    if other:
        gate_blocks.append(other)
    out.append(("Umbrales del negocio" if es else "Business gates", gate_blocks))

    # Threshold and expected value
    info = meta.get("threshold_info") or {}
    if task == "binary":
        method = _THRESHOLD_METHODS["es" if es else "en"].get(info.get("method", ""), info.get("method", "—"))
        blocks: list[Any] = [
            (f"Umbral de decisión {_num(meta.get('threshold'))}: {method}; elegido sobre las puntuaciones fuera de partición de las filas de desarrollo."
             if es else f"Decision threshold {_num(meta.get('threshold'))}: {method}; chosen on the out-of-fold scores of the development rows.")
        ]
        decision = info.get("decision") or {}
        if decision:
            blocks.append([f"{key}: {_num(value, 2)}" for key, value in decision.items()])
            blocks.append(
                f"Valor esperado por 1 000 filas puntuadas: {_num(info.get('holdout_expected_value_per_1000'), 2)} en las filas reservadas "
                 f"({_num(info.get('expected_value_per_1000'), 2)} en validación cruzada)."
                 if es else
                 f"Expected value per 1,000 scored rows: {_num(info.get('holdout_expected_value_per_1000'), 2)} on the held-out rows "
                 f"({_num(info.get('expected_value_per_1000'), 2)} in cross-validation)."
            )
        else:
            blocks.append("Sin valores ni costos en el contrato (sección decision): no se calcula valor esperado." if es else "No values or costs in the contract (decision section): no expected value computed.")
        out.append(("Umbral y valor esperado" if es else "Threshold and expected value", blocks))
    elif task == "regression" and meta.get("interval"):
        interval = meta["interval"]
        out.append((
            "Intervalo de predicción" if es else "Prediction interval",
            [(f"Intervalo del {fmt.percent(interval.get('level', 0.9), language, 0)}: predicción ± {_num(interval.get('half_width'))} (conformal, de los residuos fuera de partición)."
              if es else f"{fmt.percent(interval.get('level', 0.9), language, 0)} interval: prediction ± {_num(interval.get('half_width'))} (split-conformal, from out-of-fold residuals).")],
        ))

    # Top features
    importance = sorted((meta.get("feature_importance") or {}).items(), key=lambda item: -item[1])[:10]
    out.append((
        "Variables más importantes" if es else "Top features",
        [(["Variable" if es else "Feature", "Importancia (ganancia)" if es else "Importance (gain)"], [[name, fmt.percent(value, language, 1)] for name, value in importance])],
    ))

    # Leakage
    leaks = meta.get("leakage") or []
    if leaks:
        leak_rows = [[leak["column"], leak["statistic"], _num(leak["value"]), _num(leak["limit"], 2), ("excluida" if leak["excluded"] else "permitida") if es else ("excluded" if leak["excluded"] else "allowed")] for leak in leaks]
        out.append((
            "Columnas con fuga de datos" if es else "Leaky columns",
            [("Cada una predice el objetivo casi a la perfección por sí sola: casi siempre se escribe después del resultado." if es else "Each predicts the target almost perfectly on its own: it is nearly always written after the outcome."),
             (["Columna" if es else "Column", "Estadístico" if es else "Statistic", "Valor" if es else "Value", "Límite" if es else "Limit", "Decisión" if es else "Decision"], leak_rows)],
        ))
    else:
        out.append(("Columnas con fuga de datos" if es else "Leaky columns", ["Ninguna columna predice el objetivo casi a la perfección por sí sola." if es else "No column predicts the target almost perfectly on its own."]))

    # Fairness
    fairness = meta.get("fairness")
    if fairness:
        blocks = [
            (f"Por grupo, en las filas reservadas; cociente frente al grupo mejor tratado; se marca un cociente menor que {fairness.get('min_ratio', 0.8)} (regla de los cuatro quintos) en grupos de al menos {fairness.get('min_group_rows', 30)} filas."
             if es else f"Per group, on the held-out rows; ratio to the best-treated group; a ratio below {fairness.get('min_ratio', 0.8)} (the four-fifths rule) is flagged for groups of at least {fairness.get('min_group_rows', 30)} rows.")
        ]
        for column, detail in (fairness.get("columns") or {}).items():
            groups = detail.get("groups") or []
            if not groups:
                blocks.append(f"{column}: " + ("columna ausente" if es else "column missing"))
                continue
            metrics = [k for k in groups[0] if k not in ("group", "rows") and not k.endswith("_ratio")]
            header = [column, "filas" if es else "rows"] + [names.get(m, m) + (" (cociente)" if es else " (ratio)") if f"{m}_ratio" in groups[0] else names.get(m, m) for m in metrics]
            table_rows = []
            for group in groups:
                cells = [group["group"], str(group["rows"])]
                for metric in metrics:
                    ratio = group.get(f"{metric}_ratio")
                    flag = " ⚠" if ratio is not None and ratio < fairness.get("min_ratio", 0.8) and group["rows"] >= fairness.get("min_group_rows", 30) else ""
                    cells.append(_num(group.get(metric), 3) + (f" ({_num(ratio, 2)}){flag}" if f"{metric}_ratio" in group else ""))
                table_rows.append(cells)
            blocks.append((header, table_rows))
        flags = fairness.get("flags") or []
        blocks.append(
            [f"⚠ {f['column']} = {f['group']}: {names.get(f['metric'], f['metric'])} {('cociente' if es else 'ratio')} {fmt.decimal(f['ratio'], language, 2)}" for f in flags]
            or [("Ningún grupo por debajo de la regla de los cuatro quintos." if es else "No group below the four-fifths rule.")]
        )
        out.append(("Equidad" if es else "Fairness", blocks))

    # Search
    search = meta.get("search") or []
    if search:
        out.append((
            "Búsqueda de configuración" if es else "Configuration search",
            [(["Configuración" if es else "Configuration", "Puntaje CV" if es else "CV score", "Árboles" if es else "Trees", "Segundos" if es else "Seconds", "Elegida" if es else "Chosen"],
              [[s["name"], _num(s.get("cv_score")), _num(s.get("rounds")), _num(s.get("seconds"), 1), ("sí" if es else "yes") if s.get("chosen") else (s.get("skipped") and ("omitida: tiempo" if es else "skipped: time") or "")] for s in search])],
        ))

    # Outside dropscore: the version is an MLflow pyfunc (shared/model/pyfunc_model.py)
    out.append((
        "Uso fuera de dropscore" if es else "Use outside dropscore",
        [[
            (f"Esta versión es también un modelo MLflow (pyfunc) que limpia y valida las filas como dropscore: "
             f"mlflow.pyfunc.load_model(\"models:/<nombre>/{version}\"), mlflow models predict y mlflow.pyfunc.spark_udf "
             "dan las mismas puntuaciones que dropscore score; una fila que dropscore pondría en cuarentena vuelve con su motivo."
             if es else
             f"This version is also an MLflow model (pyfunc) that cleans and validates rows as dropscore does: "
             f"mlflow.pyfunc.load_model(\"models:/<name>/{version}\"), mlflow models predict and mlflow.pyfunc.spark_udf "
             "give the scores dropscore score gives; a row dropscore would quarantine comes back with its reason."),
            ("Detalles: README, sección «MLflow interoperability»." if es else "Details: README, section 'MLflow interoperability'."),
        ]],
    ))

    # Known limits
    limits_es = [
        "Las métricas vienen de datos del pasado; con datos que cambian (deriva) el rendimiento real puede bajar: el control mensual lo vigila.",
        "Los motivos de cada predicción se calculan por atribución de caminos (Saabas): suman exactamente la puntuación del modelo, pero pueden diferir de SHAP en el orden de los motivos.",
        "Una categoría que el modelo no conoce se puntúa como dato faltante.",
        "No se remuestrea (SMOTE) ni se pondera por defecto: el punto de operación lo fija el umbral.",
    ]
    limits_en = [
        "Metrics come from past data; when data move (drift) real performance can drop: the monthly check watches it.",
        "Each prediction's reasons come from path attribution (Saabas): they add up exactly to the model's score, but their order can differ from SHAP's.",
        "A category the model has never seen is scored as missing.",
        "No resampling (SMOTE) or weighting by default: the operating point is set by the threshold.",
    ]
    if fairness:
        limits_es.append("El cociente de equidad toma como mejor trato la tasa más alta; si la clase positiva es desfavorable (un impago), léalo al revés.")
        limits_en.append("The fairness ratio takes the highest rate as the best treatment; when the positive class is unfavourable (a default), read it the other way round.")
    if task == "regression":
        limits_es.append("El intervalo de predicción tiene el mismo ancho para todas las filas.")
        limits_en.append("The prediction interval has the same width for every row.")
    out.append(("Limitaciones conocidas" if es else "Known limits", [limits_es if es else limits_en]))
    return title, out


def render_markdown(title: str, content: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for heading, blocks in content:
        lines += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, str):
                lines += [block, ""]
            elif isinstance(block, list):
                lines += [f"- {item}" for item in block] + [""]
            else:
                header, rows = block
                lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
                lines.append("|" + "---|" * len(header))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
                lines.append("")
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2933}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:left}"
    "th{background:#f0f4f8}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.6rem;border-bottom:1px solid #e4e7eb}"
)


def render_html(title: str, content: list[Section], language: str) -> str:
    parts = [f"<!doctype html><html lang=\"{language}\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in content:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            if isinstance(block, str):
                parts.append(f"<p>{html.escape(block)}</p>")
            elif isinstance(block, list):
                parts.append("<ul>" + "".join(f"<li>{html.escape(str(item))}</li>" for item in block) + "</ul>")
            else:
                header, rows = block
                parts.append(
                    "<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr></thead><tbody>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
                    + "</tbody></table>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def model_cards(meta: dict[str, Any], contract: Contract, version: str) -> dict[str, str]:
    """``{"model_card.es.md": ..., "model_card.es.html": ..., "model_card.en.md": ..., "model_card.en.html": ...}``."""
    files = {}
    for language in ("es", "en"):
        title, content = sections(meta, contract, version, language)
        files[f"model_card.{language}.md"] = render_markdown(title, content)
        files[f"model_card.{language}.html"] = render_html(title, content, language)
    return files
