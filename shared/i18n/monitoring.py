"""The sentences of the drift check and measured performance: findings, actions, reasons. (es, en)

Also the display names of the model's metrics (:func:`metric_name`), which every page, alert and
CLI line that shows a metric uses.
"""

from __future__ import annotations

METRIC_NAMES: dict[str, dict[str, str]] = {
    "es": {"roc_auc": "ROC-AUC", "precision": "precisión", "recall": "sensibilidad", "macro_f1": "F1 macro", "accuracy": "exactitud", "r2": "R²", "rmse": "RMSE", "mae": "MAE"},
    "en": {"roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "macro_f1": "macro F1", "accuracy": "accuracy", "r2": "R²", "rmse": "RMSE", "mae": "MAE"},
}


SEVERITY_WORDS: dict[str, dict[str, str]] = {
    "es": {"critical": "CRÍTICA", "warning": "AVISO", "info": "INFORMACIÓN"},
    "en": {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"},
}
"""How an alert's severity is written in its headline."""


def metric_name(metric: str, language: str) -> str:
    """How a metric is called in the reader's language ("precision" -> "precisión"); unknown ones as they are."""
    return METRIC_NAMES.get(language, METRIC_NAMES["es"]).get(metric, metric)


MONITORING: dict[str, tuple[str, str]] = {
    # What to do about drift, by how it came (shared.monitor.decision)
    "drift_action_sudden": (
        "Cambio súbito frente al mes anterior: revise primero el origen de los datos (archivo, formato, unidades, sistema que lo exporta). "
        "Si el cambio es real, el reentrenamiento lo incorporará; el retador solo se promueve si supera los umbrales.",
        "Sudden change against the previous window: check the data pipeline first (file, format, units, the exporting system). "
        "If the change is real, retraining will learn it; the challenger is promoted only if it passes the gates.",
    ),
    "drift_action_gradual": (
        "Cambio gradual del mercado: reentrene con datos recientes etiquetados; el retador solo se promueve si supera los umbrales.",
        "Gradual market change: retrain on recent labeled data; the challenger is promoted only if it passes the gates.",
    ),
    "drift_action_retrain": (
        "Reentrenar con los datos etiquetados recientes y revisar el informe de deriva.",
        "Retrain on the recent labeled data and read the drift report.",
    ),
    # Triggers: each asks for retraining
    "drift_key_high": ("Deriva alta en variables clave del modelo: {names}.", "High drift in key model features: {names}."),
    "drift_key_high_also": (
        "Deriva alta en variables clave del modelo: {names}; también con deriva media: {also}.",
        "High drift in key model features: {names}; also drifted (medium): {also}.",
    ),
    "drift_weighted_share": (
        "Las variables con deriva suman el {share} de la importancia del modelo (límite {line}).",
        "Drifted features hold {share} of the model's importance (line {line}).",
    ),
    "drift_score_high": (
        "La distribución de los puntajes del modelo cambió fuertemente (KS {ks}).",
        "The distribution of the model's scores changed strongly (KS {ks}).",
    ),
    "performance_decay_action": (
        "Se solicitó reentrenar con las etiquetas recientes; revise el retador antes de confiar en las predicciones de este mes.",
        "Retraining was requested on the recent labels; review the challenger before trusting this month's predictions.",
    ),
    "drift_persistent": (
        "La deriva persiste en {hits} de los últimos {checks} controles: {names}.",
        "Drift persists in {hits} of the last {checks} checks: {names}.",
    ),
    # Warnings
    "drift_warning_high": ("Deriva alta en {names}; todavía no justifica reentrenar.", "High drift in {names}; not enough to retrain yet."),
    "drift_warning_medium": ("Deriva media en {names}; todavía no justifica reentrenar.", "Medium drift in {names}; not enough to retrain yet."),
    "drift_watch_action": (
        "Vigilar: si se repite en el próximo control se pedirá reentrenar.",
        "Watch it: if it shows again in the next check, retraining will be requested.",
    ),
    "drift_watch_sudden_action": (
        "Revise el origen de los datos: el cambio fue súbito. Vigilar: si se repite en el próximo control se pedirá reentrenar.",
        "Check the data pipeline: the change was sudden. Watch it: if it shows again in the next check, retraining will be requested.",
    ),
    "performance_watch_action": (
        "Vigilar: se necesitan más etiquetas para confirmar la caída.",
        "Watch it: more labels are needed to confirm the drop.",
    ),
    "gradual_trend": (
        "Tendencia creciente (aún bajo el nivel medio) en {names}.",
        "Rising trend (still below medium) in {names}.",
    ),
    "gradual_trend_crossing": (
        "Tendencia creciente (aún bajo el nivel medio) en {names}; al ritmo actual cruzaría la línea de reentrenamiento hacia {date}.",
        "Rising trend (still below medium) in {names}; at the current pace it would cross the retraining line around {date}.",
    ),
    "gradual_trend_action": (
        "Planificar el reentrenamiento antes de esa fecha y reunir etiquetas recientes.",
        "Plan retraining before that date and gather recent labels.",
    ),
    # The check's reason, closing words included
    "retrain_requested": ("Se solicita reentrenar.", "Retraining requested."),
    "retrain_withheld": (
        "Convendría reentrenar, pero no se solicitó (--no-retrain).",
        "Retraining is warranted but was not requested (--no-retrain).",
    ),
    "no_retraining_yet": ("No se reentrena todavía.", "No retraining yet."),
    "drift_no_new_rows": ("No hay filas nuevas puntuadas desde el último control.", "No new scored rows since the last check."),
    "drift_insufficient_data": (
        "Datos insuficientes: {rows} filas en la ventana (mínimo {min_rows} por variable). Sin conclusión de deriva; el próximo control las acumula.",
        "Insufficient data: {rows} rows in the window (at least {min_rows} per feature). No drift conclusion; the next check adds them up.",
    ),
    "drift_none": ("Sin deriva significativa.", "No significant drift."),
    # Measured performance (shared.monitor.performance)
    "performance_insufficient_labels": (
        "Rendimiento medido: etiquetas insuficientes ({labeled} predicciones con resultado; se necesitan {minimum} en un mes).",
        "Measured performance: not enough labels ({labeled} predictions with an outcome; {minimum} in one month are needed).",
    ),
    "performance_labeled_rows": ("{rows} filas etiquetadas de {period}", "{rows} labeled rows from {period}"),
    "performance_gate": ("umbral {value}", "gate {value}"),
    "performance_decay": (
        "El rendimiento medido incumple el umbral del negocio en {metrics} ({rows}): {detail}.",
        "Measured performance misses the business gate in {metrics} ({rows}): {detail}.",
    ),
    "performance_below_gate": (
        "{metrics} fuera del umbral en {rows}, pero dentro del margen de error: vigilar. {detail}.",
        "{metrics} outside the gate in {rows}, but within the margin of error: watch it. {detail}.",
    ),
    "performance_within_gates": (
        "Rendimiento medido dentro de los umbrales ({rows}): {detail}.",
        "Measured performance within the gates ({rows}): {detail}.",
    ),
    # Alerts (shared.reporting.alerts)
    "alert_title": ("Modelo v{version}: {what}{more} {decision}", "Model v{version}: {what}{more} {decision}"),
    "more_findings": ("(+{count} hallazgos más)", "(+{count} more findings)"),
    "alert_report_link": ("Informe: {uri}", "Report: {uri}"),
    # The drift step (shared.steps.drift)
    "clean_rows_gone": (
        "Los datos limpios de este lote ya no existen (otra subida con el mismo nombre fue rechazada, o se borraron): no entra en la ventana.",
        "This batch's clean rows no longer exist (another upload of the same name was rejected, or they were deleted): it is left out of the window.",
    ),
    "retrain_published": (
        "Solicitud de reentrenamiento publicada; la función de reentrenamiento decidirá la promoción.",
        "Retrain request published; the retrain function will decide the promotion.",
    ),
    "retrain_could_not_run": ("No se pudo reentrenar: {error}", "Retraining could not run: {error}"),
}
