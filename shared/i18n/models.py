"""The sentences about models and about what could not run: the error boundary's refusals (shared.handlers),
training, gates, leakage, promotion, shadow comparison and rollback. (es, en)"""

from __future__ import annotations

MODELS: dict[str, tuple[str, str]] = {
    # -- the error boundary (shared.handlers): a permanent failure, told where the user looks --------
    # A file's report (quarantine/<kind>/<name>.report.txt) starts "No se procesó el archivo." and goes on with these.
    "refused_contract": (
        "El contrato de datos del modelo en uso no se puede leer, así que no se sabe cómo validar el archivo. "
        "Avise al administrador. Detalle técnico: {detail}",
        "The data contract of the model in use cannot be read, so there is no telling how to validate the file. "
        "Tell the administrator. Technical detail: {detail}",
    ),
    "refused_model_integrity": (
        "Los archivos del modelo v{version} no coinciden con los registrados (posible manipulación). "
        "Se avisó al administrador; vuelva a subir el archivo cuando lo haya resuelto.",
        "Model v{version}'s files do not match the registered ones (possible tampering). "
        "The administrator was alerted; upload the file again once it is resolved.",
    ),
    "refused_pii_key": (
        "La clave de seudonimización (DROPSCORE_PII_KEY) no sirve, y sin ella no se guardan datos personales. "
        "Avise al administrador. Detalle técnico: {detail}",
        "The pseudonymization key (DROPSCORE_PII_KEY) is not usable, and without it no personal data is stored. "
        "Tell the administrator. Technical detail: {detail}",
    ),
    "refused_configuration": (
        "dropscore no tiene el permiso o la configuración que necesita para trabajar con este archivo "
        "(almacenamiento, registro de modelos o almacén de datos). Avise al administrador. Detalle técnico: {detail}",
        "dropscore lacks the permission or the configuration it needs to work on this file "
        "(storage, model registry or warehouse). Tell the administrator. Technical detail: {detail}",
    ),
    # The score step's report: the file was cleaned (its clean rows are kept), scoring was refused.
    "not_scored": (
        "El archivo se limpió pero no se puntuó. {reason}",
        "The file was cleaned but not scored. {reason}",
    ),
    # The administrator's alert when a scheduled check or a retrain request cannot run, ever, as things stand.
    "check_refused_title": (
        "La revisión mensual de deriva no se pudo hacer: {reason}",
        "The monthly drift check could not run: {reason}",
    ),
    "retrain_refused_title": (
        "El reentrenamiento pedido ({request}) no se pudo hacer: {reason}",
        "The requested retraining ({request}) could not run: {reason}",
    ),
    "refused_action": (
        "Corrija la causa (permisos, configuración o modelo); la próxima ejecución programada lo vuelve a intentar.",
        "Fix the cause (permissions, configuration or model); the next scheduled run tries again.",
    ),
    # -- shadow comparison and the watch after a promotion (shared.lifecycle.shadow) ------------------
    "review_refused_title": (
        "La revisión del modelo con los resultados recibidos no se pudo hacer: {reason}",
        "The model review on the outcomes received could not run: {reason}",
    ),
    "review_refused_action": (
        "Las etiquetas quedaron guardadas. Corrija la causa; la próxima entrega de resultados vuelve a revisar el modelo.",
        "The labels were kept. Fix the cause; the next outcomes file reviews the model again.",
    ),
    "shadow_promoted_reason": (
        "Comparación en sombra sobre {labeled} filas etiquetadas: retador v{challenger} {metric} {challenger_value} frente a "
        "{champion_value} del campeón v{champion} (margen {margin}), umbrales cumplidos: promovido automáticamente.",
        "Shadow comparison on {labeled} labeled rows: challenger v{challenger} {metric} {challenger_value} vs champion "
        "v{champion} {champion_value} (margin {margin}), gates passed: promoted automatically.",
    ),
    "shadow_promoted_title": (
        "v{version} promovido a campeón tras la comparación en sombra",
        "v{version} promoted to champion after the shadow comparison",
    ),
    "shadow_promoted_action": (
        "Nada que hacer; `dropscore rollback` vuelve al anterior si hiciera falta.",
        "Nothing to do; `dropscore rollback` returns to the previous one if needed.",
    ),
    "rollback_reason": (
        "Vuelta atrás automática: el campeón v{champion}, medido en {labeled} filas etiquetadas, {why}; v{previous} vuelve a ser el campeón.",
        "Automatic rollback: champion v{champion} on {labeled} labeled rows: {why}; v{previous} is the champion again.",
    ),
    "rollback_why_decayed": (
        "{metric} cae más de un {tolerance} bajo su validación ({value} frente a {validation})",
        "{metric} {value} is more than {tolerance} below its validation {validation}",
    ),
    "rollback_why_gates": ("no cumple los umbrales ({failures})", "it misses the gates ({failures})"),
    "rollback_title": (
        "Vuelta atrás automática: v{previous} vuelve a ser el campeón (v{champion} rendía mal)",
        "Automatic rollback: v{previous} is the champion again (v{champion} underperformed)",
    ),
    "rollback_action": (
        "Revise los datos recientes y el informe de deriva antes de reentrenar; el modelo retirado queda como «previous».",
        "Review recent data and the drift report before retraining; the withdrawn model stays as 'previous'.",
    ),
    # What joins two reasons in a sentence.
    "reasons_and": (" y ", " and "),
    # -- training (shared.model.training) and promotion (shared.lifecycle.promotion) ------------------
    "training_too_few_binary": (
        "Muy pocos datos para entrenar: {rows} filas, {positives} positivos (mínimo {min_rows} filas y {min_class} por clase).",
        "Too little data to train: {rows} rows, {positives} positives (minimum {min_rows} rows and {min_class} per class).",
    ),
    "training_too_few_multiclass": (
        "Muy pocos datos para entrenar: {rows} filas ({counts}); mínimo {min_rows} filas y {min_class} en al menos dos clases.",
        "Too little data to train: {rows} rows ({counts}); minimum {min_rows} rows and {min_class} in at least two classes.",
    ),
    "training_too_few_regression": (
        "Muy pocos datos para entrenar: {rows} filas con valor objetivo (mínimo {min_rows}, y que varíen).",
        "Too little data to train: {rows} rows with a target value (minimum {min_rows}, and they must vary).",
    ),
    "training_no_features": ("El contrato no tiene columnas útiles para el modelo.", "The contract has no usable feature columns."),
    "training_only_leaky_features": (
        "Todas las columnas predicen el objetivo casi a la perfección (fuga de datos): {columns}",
        "Every column predicts the target almost perfectly (data leakage): {columns}",
    ),
    "training_file_no_rows": ("El archivo de entrenamiento no tiene filas válidas.", "The training file has no valid rows."),
    "leaky_columns_excluded": (
        " Columnas excluidas por fuga de datos (predicen el objetivo casi a la perfección): {columns}.",
        " Columns excluded as data leakage (they predict the target almost perfectly): {columns}.",
    ),
    "leak_excluded": ("excluida", "excluded"),
    "leak_allowed": ("permitida por el contrato", "allowed by the contract"),
    "train_promoted": ("Supera los umbrales del negocio; es el nuevo campeón.", "Passes the business gates; it is the new champion."),
    "train_kept": (
        "No supera los umbrales del negocio ({failures}); no se promueve.",
        "Does not pass the business gates ({failures}); not promoted.",
    ),
    "train_force_hint": (
        " Para usarlo igualmente: «dropscore promote {version} --force»; o cambie los umbrales del contrato y vuelva a entrenar.",
        " To use it anyway: 'dropscore promote {version} --force'; or change the contract's gates and train again.",
    ),
    "retrain_promoted": (
        "Retador v{version} promovido: {metric} {challenger_value} frente a {champion_value} del campeón v{champion} "
        "en el mismo holdout (margen exigido {margin}) y supera los umbrales del negocio.",
        "Challenger v{version} promoted: {metric} {challenger_value} vs {champion_value} for champion v{champion} "
        "on the same holdout (required margin {margin}) and it passes the business gates.",
    ),
    "retrain_kept": (
        "Se mantiene el campeón v{champion}; el retador v{version} queda como «challenger» porque {why}. "
        "Puntuará en sombra cada lote; con {labels} filas etiquetadas se comparará de nuevo.",
        "Champion v{champion} stays; challenger v{version} is kept as 'challenger' because {why}. "
        "It will shadow-score every batch and be compared again once {labels} rows are labeled.",
    ),
    "retrain_why_gates": ("no supera los umbrales del negocio ({failures})", "it does not pass the business gates ({failures})"),
    "retrain_why_margin": (
        "su {metric} {challenger_value} no supera {champion_value} del campeón v{champion} + margen {margin}",
        "its {metric} {challenger_value} does not beat champion v{champion}'s {champion_value} + margin {margin}",
    ),
    "promote_gates_failed": (
        "v{version} no supera los umbrales ({failures}); use --force para promoverla igualmente",
        "v{version} fails its gates ({failures}); use --force to promote it anyway",
    ),
    "integrity_alert_title": (
        "Los archivos del modelo v{version} no coinciden con sus huellas registradas ({names}): no se usa",
        "Model v{version}'s artifacts do not match their registered hashes ({names}): it will not be used",
    ),
    "integrity_alert_action": (
        "Revise quién cambió el almacén de artefactos de MLflow; vuelva a la versión anterior (dropscore rollback) o reentrene.",
        "Check who changed the MLflow artifact store; roll back (dropscore rollback) or retrain.",
    ),
}

# The leakage guard's statistics as a reader sees them (shared.model.leakage), by language.
LEAKAGE_STATISTIC_NAMES: dict[str, dict[str, str]] = {
    "es": {"roc_auc": "ROC-AUC", "cramers_v": "V de Cramér", "spearman": "Spearman", "correlation_ratio": "η"},
    "en": {"roc_auc": "ROC-AUC", "cramers_v": "Cramér's V", "spearman": "Spearman", "correlation_ratio": "η"},
}
